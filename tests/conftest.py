"""Shared fixtures: a Postgres database and a Redis db number of the test run's own.

Both are real servers (127.0.0.1:5432 and 127.0.0.1:6379, see `.ci/run`); each run creates
its own database and claims a free Redis db number, and removes both when it ends.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
import redis
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tickerhouse.database import Database

PG_SERVER = os.environ.get("TICKERHOUSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER = os.environ.get("TICKERHOUSE_TEST_REDIS", "redis://127.0.0.1:6379")
_CLAIM_KEY = "tickerhouse:test:claimed-by"


def _server() -> Database:
    return Database(make_conninfo(PG_SERVER))


@pytest.fixture(scope="session")
def pg_server() -> Database:
    server = _server()
    try:
        server.connect().close()
    except Exception as exc:  # pragma: no cover - environment problem, say so plainly
        pytest.exit(f"tests need Postgres at {server.describe()}: {exc}", returncode=3)
    return server


def create_scratch_database(server: Database, prefix: str = "th_test") -> Database:
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with server.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return server.with_database(name)


def drop_database(server: Database, database: Database) -> None:
    with server.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(
            sql.Identifier(database.name)))


@pytest.fixture(scope="session")
def scratch_databases(pg_server):
    """Factory for extra databases (dropped at the end of the run)."""
    made: list[Database] = []

    def make(prefix: str = "th_test") -> Database:
        database = create_scratch_database(pg_server, prefix)
        made.append(database)
        return database

    yield make
    for database in made:
        drop_database(pg_server, database)


@pytest.fixture(scope="session")
def database(scratch_databases) -> Database:
    """One database for the whole run, shared by tests that tolerate each other's rows."""
    return scratch_databases()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis db number nobody else is using, flushed when the run ends."""
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{number}")
        try:
            client.ping()
        except redis.ConnectionError as exc:
            pytest.exit(f"tests need Redis at {REDIS_SERVER}: {exc}", returncode=3)
        if client.dbsize() == 0 and client.set(_CLAIM_KEY, token, nx=True):
            break
    else:
        pytest.exit("no free Redis db number (1-15) for the tests", returncode=3)
    url = f"{REDIS_SERVER}/{number}"
    yield url
    client.flushdb()


def clear_redis(url: str) -> None:
    """Every key of the run's Redis db but the claim, which keeps the db number ours until the
    run ends. For tests that let the product write there (the cache) to leave it clean."""
    client = redis.Redis.from_url(url)
    for key in client.scan_iter():
        if key != _CLAIM_KEY.encode():
            client.delete(key)


@pytest.fixture()
def redis_client(redis_url):
    yield redis.Redis.from_url(redis_url)
    clear_redis(redis_url)


@pytest.fixture()
def pg_conn(database) -> psycopg.Connection:
    with database.connect(autocommit=True) as conn:
        yield conn
