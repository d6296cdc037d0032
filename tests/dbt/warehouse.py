"""Helpers of the dbt tests: raw bars shaped exactly as dlt lands them, and dbt as a user runs it.

Raw rows are written straight into `raw.polygon_grouped_daily` with the columns and types dlt
gives that table (extract/polygon: the payload's `T`, `v`, `vw`, `o`, `c`, `h`, `l`, `t`, `n`
plus `_source`, `_request_id`, `_session_date`, `_fetched_at`, `_dlt_load_id`), one load id per
landing, as a dlt run would. The bars are a deterministic random walk per ticker.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from tickerhouse import calendar
from tickerhouse.settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
SETUP_SQL = PROJECT_ROOT / "sql" / "timescale_setup.sql"
NEW_YORK = ZoneInfo("America/New_York")

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.polygon_grouped_daily (
    "T" varchar not null,
    v double precision,
    vw double precision,
    o double precision,
    c double precision,
    h double precision,
    l double precision,
    "t" bigint not null,
    n bigint,
    _source varchar,
    _request_id varchar,
    _session_date date not null,
    _fetched_at timestamp with time zone,
    _dlt_load_id varchar(64) not null
);
create index if not exists polygon_grouped_daily__session_date_idx
    on raw.polygon_grouped_daily (_session_date);
"""


@dataclass(frozen=True)
class Bar:
    ticker: str
    session: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: float


def tickers(count: int) -> list[str]:
    """Ticker symbols: TKA, TKB, ..."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [f"T{letters[i // 26]}{letters[i % 26]}" for i in range(count)]


def market(symbols: Sequence[str], sessions: Sequence[dt.date], seed: int = 7) -> list[Bar]:
    """A deterministic random walk per ticker over the sessions (prices in cents)."""
    bars = []
    for ticker in symbols:
        rng = random.Random(f"{seed}:{ticker}")
        price = rng.uniform(5, 400)
        for session in sessions:
            move = rng.gauss(0.0003, 0.02)
            open_ = round(price * math.exp(rng.gauss(0, 0.004)), 2)
            close = round(price * math.exp(move), 2)
            high = round(max(open_, close) * (1 + abs(rng.gauss(0, 0.006))), 2)
            low = round(min(open_, close) * (1 - abs(rng.gauss(0, 0.006))), 2)
            volume = float(int(rng.lognormvariate(13, 0.35)))
            bars.append(Bar(ticker, session, open_, high, low, close, volume))
            price = close
    return bars


def session_end_ms(session: dt.date) -> int:
    """Polygon's grouped-daily `t`: the end of the session window (16:00 New York), epoch ms."""
    end = dt.datetime.combine(session, dt.time(16), NEW_YORK)
    return int(end.timestamp() * 1000)


@dataclass
class RawLander:
    """Lands bars into a warehouse's raw.polygon_grouped_daily, one dlt-like load per call."""

    url: str
    connect_kwargs: dict = field(default_factory=dict)
    _last_load: float = 0.0

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, **self.connect_kwargs)

    def new_load_id(self) -> str:
        # dlt's load id is the load's start in epoch seconds; strictly increasing here
        load = max(time.time(), self._last_load + 0.001)
        self._last_load = load
        return f"{load:.7f}"

    def land(self, bars: Iterable[Bar], *, replace: bool = True) -> str:
        """One load. Like dlt's merge on ("T", "t"), a landed key replaces the row it had."""
        load_id = self.new_load_id()
        rows = [(b.ticker, b.volume, round((b.high + b.low + b.close) / 3, 4), b.open, b.close,
                 b.high, b.low, session_end_ms(b.session), int(b.volume // 150), "polygon",
                 f"req-{load_id}", b.session, dt.datetime.now(dt.UTC), load_id) for b in bars]
        with self.connect() as conn:
            conn.execute(RAW_DDL)
            with conn.transaction():
                if replace:
                    conn.cursor().executemany(
                        'delete from raw.polygon_grouped_daily where "T" = %s and "t" = %s',
                        [(row[0], row[7]) for row in rows])
                with conn.cursor().copy(
                        'copy raw.polygon_grouped_daily ("T", v, vw, o, c, h, l, "t", n, _source, '
                        '_request_id, _session_date, _fetched_at, _dlt_load_id) from stdin') as copy:
                    for row in rows:
                        copy.write_row(row)
        return load_id


REFERENCE_DDL = """
create schema if not exists raw;
create table if not exists raw.polygon_tickers (
    ticker varchar not null,
    name varchar,
    market varchar,
    locale varchar,
    primary_exchange varchar,
    type varchar,
    active boolean,
    currency_name varchar,
    cik varchar,
    composite_figi varchar,
    share_class_figi varchar,
    last_updated_utc varchar,
    delisted_utc varchar,
    _source varchar,
    _request_id varchar,
    _fetched_at timestamp with time zone,
    _dlt_load_id varchar(64) not null
);
"""


def land_reference_tickers(url: str, listings: dict[str, tuple[str, str]], **connect_kwargs) -> None:
    """One listing run into raw.polygon_tickers: {ticker: (name, exchange MIC)}, merged on
    `ticker` as dlt merges that table."""
    load_id = f"{time.time():.7f}"
    with psycopg.connect(url, autocommit=True, **connect_kwargs) as conn:
        conn.execute(REFERENCE_DDL)
        with conn.transaction():
            for ticker, (name, exchange) in listings.items():
                conn.execute("delete from raw.polygon_tickers where ticker = %s", (ticker,))
                conn.execute(
                    "insert into raw.polygon_tickers (ticker, name, market, locale, primary_exchange, "
                    "type, active, currency_name, _source, _request_id, _fetched_at, _dlt_load_id) "
                    "values (%s, %s, 'stocks', 'us', %s, 'CS', true, 'usd', 'polygon', %s, now(), %s)",
                    (ticker, name, exchange, f"req-{load_id}", load_id))


def apply_setup(url: str, **connect_kwargs) -> None:
    """sql/timescale_setup.sql, as orchestration.steps.prepare_warehouse applies it."""
    with psycopg.connect(url, autocommit=True, **connect_kwargs) as conn:
        conn.execute(SETUP_SQL.read_text())


@dataclass
class DbtRun:
    returncode: int
    stdout: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.stdout.splitlines()[-lines:])


def run_dbt(url: str, target_path: Path, *args: str, threads: int = 2,
            extra_env: dict[str, str] | None = None, timeout: int = 900) -> DbtRun:
    """`dbt <args>` in dbt_project, as a user runs it, against the warehouse at `url`."""
    env = {**os.environ, "TICKERHOUSE_DATABASE_URL": url, "DBT_TARGET_PATH": str(target_path),
           "DBT_LOG_PATH": str(target_path / "logs"), "TICKERHOUSE_DBT_THREADS": str(threads),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", **(extra_env or {})}
    started = time.monotonic()
    done = subprocess.run([str(DBT), *args], cwd=DBT_PROJECT_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return DbtRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def sessions(count: int, through: dt.date) -> list[dt.date]:
    """The `count` NYSE sessions ending with `through`."""
    return [*calendar.sessions_before(through, count - 1), through]


def next_session(day: dt.date) -> dt.date:
    return calendar.sessions_between(day + dt.timedelta(days=1), day + dt.timedelta(days=10))[0]


def table_rows(conn: psycopg.Connection, table: str, exclude: Sequence[str] = ()) -> list[tuple]:
    """All rows of `table` without the `exclude` columns (run timestamps, say), sorted."""
    schema, name = table.split(".")
    columns = [row[0] for row in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s "
        "and table_name = %s order by ordinal_position", (schema, name)).fetchall()
        if row[0] not in exclude]
    select = ", ".join(f'"{column}"' for column in columns)
    order = ", ".join(str(position) for position in range(1, len(columns) + 1))
    return conn.execute(f"select {select} from {table} order by {order}").fetchall()


def same_rows(left: list[tuple], right: list[tuple], rel: float = 1e-12) -> bool:
    """Equal rows, floats within `rel` (a sum over rows read in another order differs in the
    last bits)."""
    if len(left) != len(right):
        return False
    for row_a, row_b in zip(left, right, strict=True):
        for a, b in zip(row_a, row_b, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=rel, abs_tol=rel):
                    return False
            elif a != b:
                return False
    return True
