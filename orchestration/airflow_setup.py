"""Airflow's pools, connections and variables, made from the settings (never by hand in the UI),
and the environment a local Airflow runs in (`tickerhouse airflow setup` / `start`).

Pool sizes follow the vendor limits: a vendor's extractions hold a worker each while they wait
on the quota manager, so more parallel tasks than the plan can serve at once would only park
workers. One slot per request a second the plan sustains, at least one per key; an unlimited
plan gets `UNLIMITED_SLOTS_PER_KEY`. The quota manager still enforces the limits themselves
(across processes); the pools keep the waiting off the workers.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tickerhouse.settings import PROJECT_ROOT, VENDORS, Settings

UNLIMITED_SLOTS_PER_KEY = 4
MAX_SLOTS = 16
DAGS_FOLDER = PROJECT_ROOT / "orchestration" / "dags"
WAREHOUSE_CONNECTION = "tickerhouse_warehouse"
REDIS_CONNECTION = "tickerhouse_redis"
METADATA_DATABASE = "tickerhouse_airflow"


@dataclass(frozen=True)
class PoolSpec:
    name: str
    slots: int
    description: str


def pool_specs(settings: Settings) -> list[PoolSpec]:
    """One pool per vendor, sized from its limits (`TICKERHOUSE_<VENDOR>_LIMITS`) and keys."""
    from orchestration.airflow_tasks import vendor_pool
    from orchestration.vendors import configured_limits

    limits = configured_limits(settings)
    specs = []
    for vendor in VENDORS:
        keys = max(1, len(settings.api_keys(vendor)))
        plan = limits[vendor]
        rates = [count / seconds for count, seconds in
                 ((plan.per_second, 1), (plan.per_minute, 60), (plan.per_day, 86400))
                 if count is not None]
        per_key = UNLIMITED_SLOTS_PER_KEY if not rates else max(1, math.floor(min(rates)))
        slots = min(MAX_SLOTS, keys * per_key)
        limit_text = getattr(settings, f"{vendor}_limits")
        specs.append(PoolSpec(vendor_pool(vendor), slots,
                              f"{vendor} extractions: {limit_text} per key x {keys} key(s) "
                              f"-> {slots} at once (TICKERHOUSE_{vendor.upper()}_LIMITS)"))
    return specs


@dataclass
class SetupReport:
    pools: list[PoolSpec]
    connections: list[str]
    variables: dict[str, str]


def setup(settings: Settings) -> SetupReport:
    """Create or update the pools, connections and variables in Airflow's metadata database
    (the one `AIRFLOW_HOME`/`AIRFLOW__DATABASE__SQL_ALCHEMY_CONN` point at). Idempotent; an
    operator's setting of the paused-vendors variable is kept."""
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    from orchestration.airflow_tasks import PAUSED_VENDORS_VARIABLE
    from tickerhouse.database import resolve_database

    specs = pool_specs(settings)
    for spec in specs:
        Pool.create_or_update_pool(name=spec.name, slots=spec.slots,
                                   description=spec.description, include_deferred=False)

    database = resolve_database(settings)
    connections = {
        WAREHOUSE_CONNECTION: Connection(conn_id=WAREHOUSE_CONNECTION, uri=database.url(),
                                         description="The tickerhouse warehouse "
                                                     "(TICKERHOUSE_DATABASE_URL)"),
        REDIS_CONNECTION: Connection(conn_id=REDIS_CONNECTION, uri=settings.redis_url,
                                     description="The hot cache (TICKERHOUSE_REDIS_URL)"),
    }
    with create_session() as session:
        for conn_id, wanted in connections.items():
            existing = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
            if existing is None:
                session.add(wanted)
                continue
            for attr in ("conn_type", "host", "schema", "login", "port", "description"):
                setattr(existing, attr, getattr(wanted, attr))
            existing.set_password(wanted.password)
            existing.set_extra(wanted.extra)
        paused = session.query(Variable).filter(Variable.key == PAUSED_VENDORS_VARIABLE
                                                ).one_or_none()
        if paused is None:
            session.add(Variable(key=PAUSED_VENDORS_VARIABLE, val="[]",
                                 description="JSON list of vendors whose extraction is skipped "
                                             "(e.g. [\"newsapi\"]) until removed"))
            value = "[]"
        elif paused.val is None:  # written under another Fernet key (a new Airflow home)
            paused.set_val("[]")
            value = "[]"
        else:
            value = paused.val
    return SetupReport(specs, list(connections), {PAUSED_VENDORS_VARIABLE: value})


def local_environment(settings: Settings, *, port: int = 8080, home: Path | None = None,
                      metadata_url: str | None = None) -> dict[str, str]:
    """The environment of a local Airflow (standalone, LocalExecutor, metadata in Postgres):
    its home in the state folder, the project's DAGs, and nothing phoning home. The metadata
    database is `tickerhouse_airflow` beside the warehouse (created when missing) unless
    `metadata_url` (an SQLAlchemy URL) names another."""
    from tickerhouse.database import ensure_database, resolve_database

    home = home or settings.state_dir / "airflow"
    sqlalchemy_url = metadata_url
    if sqlalchemy_url is None:
        metadata = resolve_database(settings).with_database(METADATA_DATABASE)
        ensure_database(metadata)
        # SQLAlchemy wants its driver named.
        sqlalchemy_url = metadata.url().replace("postgresql://", "postgresql+psycopg2://", 1)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(settings.state_dir / "cosmos"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                    os.environ.get("PYTHONPATH")])),
        # `airflow standalone` starts its components as `airflow …` from the PATH.
        "PATH": os.pathsep.join(filter(None, [str(Path(sys.executable).parent),
                                              os.environ.get("PATH")])),
    }
