"""Raw load throughput: a 2-year, 6,000-ticker grouped-daily backfill replayed from the emulator
(limits off) through the project's dlt path, beside a plain COPY of the same rows into the same
Postgres (the ceiling). Run: `.venv/bin/python -m bench.bench_extract [--sessions N]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import tempfile
import time
import urllib.request
from pathlib import Path

from psycopg.conninfo import make_conninfo

from bench._report import write_section
from emulator import Emulator, EmulatorConfig
from extract.http import CallLog, VendorClient
from extract.landing import raw_pipeline
from extract.quota import QuotaManager, VendorLimits
from orchestration.steps import land_grouped_daily, sessions_per_load
from tickerhouse import calendar
from tickerhouse.database import Database

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
UNLIMITED = VendorLimits(None, None, None)
COLUMNS = ("T", "v", "vw", "o", "c", "h", "l", "t", "n")


def scratch(server: Database, name: str) -> Database:
    with server.connect(autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return server.with_database(name)


def fetch_all(url: str, sessions: list[dt.date]) -> list[tuple[dt.date, list[dict]]]:
    payloads = []
    for day in sessions:
        request = urllib.request.Request(
            f"{url}/v2/aggs/grouped/locale/us/market/stocks/{day}?adjusted=true",
            headers={"Authorization": "Bearer bench"})
        with urllib.request.urlopen(request) as answer:
            payloads.append((day, json.load(answer).get("results") or []))
    return payloads


def copy_baseline(database: Database, payloads) -> tuple[int, float]:
    """COPY of the same rows (built in memory first; only the COPY is timed)."""
    buffer = io.StringIO()
    rows = 0
    for day, results in payloads:
        for r in results:
            buffer.write("\t".join("\\N" if r.get(c) is None else str(r[c]) for c in COLUMNS)
                         + f"\t{day}\n")
            rows += 1
    data = buffer.getvalue()
    with database.connect(autocommit=True) as conn:
        conn.execute('create table bars ("T" text, v float8, vw float8, o float8, c float8, '
                     'h float8, l float8, t bigint, n bigint, session_date date)')
        started = time.perf_counter()
        with conn.cursor().copy('copy bars from stdin') as copy:
            copy.write(data)
        elapsed = time.perf_counter() - started
    return rows, elapsed


def daily_run(tickers: int) -> None:
    """One day's extraction for the whole universe with the free plans' limits in force and
    the default per-run budgets: calls per vendor and wall time."""
    import os

    from orchestration import steps
    from orchestration.vendors import choose_source, vendor_access
    from tickerhouse.settings import load_settings

    server = Database(make_conninfo(SERVER))
    database = scratch(server, "th_bench_daily")
    day = dt.date(2026, 11, 20)
    with Emulator(EmulatorConfig(seed=42, n_tickers=tickers)) as emulator, \
            tempfile.TemporaryDirectory() as state:
        for vendor in ("polygon", "finnhub", "alphavantage", "newsapi"):
            os.environ[f"TICKERHOUSE_{vendor.upper()}_API_KEY"] = f"bench-free-{vendor}"
            os.environ[f"TICKERHOUSE_{vendor.upper()}_BASE_URL"] = emulator.url
        settings = load_settings(history_sessions=0, state_dir=Path(state),
                                 redis_url="redis://127.0.0.1:6379/0")
        try:
            steps.prepare_warehouse(database)
            started = time.perf_counter()
            with vendor_access(settings, choose_source(settings, "live")) as access:
                result = steps.extract(settings, database, day, access)
            seconds = time.perf_counter() - started
            counts = emulator.counts()["vendors"]
        finally:
            with server.connect(autocommit=True) as conn:
                conn.execute(f'drop database if exists "{database.name}" with (force)')
    rows = "\n".join(
        f"| {vendor} | {result.planned_calls.get(vendor, 0)} | {result.calls.get(vendor, 0)} | "
        f"{counts.get(vendor, {}).get('total', {}).get('throttled', 0)} |"
        for vendor in ("polygon", "finnhub", "alphavantage", "newsapi"))
    body = f"""
One day's extraction for a {tickers:,}-ticker universe against the emulator's free plans
(limits in force, default per-run budgets, no history to bootstrap): **{seconds:.0f} s** wall
time, {sum(result.rows.values()):,} raw rows. Over-limit answers are what the emulator refused
as throttled (must be 0).

| vendor | planned calls | calls made | over the limit |
|---|---:|---:|---:|
{rows}
"""
    print(body)
    write_section("extract: daily run at the free limits", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=504, help="sessions (504 = 2 years)")
    parser.add_argument("--tickers", type=int, default=6000)
    parser.add_argument("--daily-only", action="store_true", help="only the daily-run section")
    parser.add_argument("--backfill-only", action="store_true", help="only the backfill section")
    args = parser.parse_args()
    if not args.backfill_only:
        daily_run(args.tickers)
    if args.daily_only:
        return

    server = Database(make_conninfo(SERVER))
    end = dt.date(2026, 11, 20)
    sessions = calendar.sessions_before(end, args.sessions)
    config = EmulatorConfig(seed=42, n_tickers=args.tickers, limits_enabled=False,
                            plans={"bench": "paid"})  # paid: the whole history is served
    with Emulator(config) as emulator, tempfile.TemporaryDirectory() as state:
        fetch_all(emulator.url, sessions[:1])  # build the market's checkpoints outside the timing

        started = time.perf_counter()
        payloads = fetch_all(emulator.url, sessions)
        fetch_seconds = time.perf_counter() - started

        ours = scratch(server, "th_bench_extract")
        copy_db = scratch(server, "th_bench_copy")
        try:
            with QuotaManager(None, ours, {"polygon": UNLIMITED}, {"polygon": ["bench"]}) as quota:
                client = VendorClient("polygon", emulator.url, quota, call_log=CallLog())
                phases = {"extract": 0.0, "normalize": 0.0, "load": 0.0}
                ours_rows = 0
                started = time.perf_counter()
                # The project's path, one load-sized chunk per call so that each dlt run's
                # phase timings can be read from its trace.
                size = sessions_per_load(client)
                for first in range(0, len(sessions), size):
                    chunk = sessions[first:first + size]
                    ours_rows += sum(land_grouped_daily(ours, client, chunk,
                                                        Path(state) / "dlt").values())
                    trace = raw_pipeline(ours, "polygon", Path(state) / "dlt").last_trace
                    for step in trace.steps:
                        if step.step in phases:
                            phases[step.step] += (step.finished_at - step.started_at).total_seconds()
                ours_seconds = time.perf_counter() - started
            copy_rows, copy_seconds = copy_baseline(copy_db, payloads)
        finally:
            for database in (ours, copy_db):
                with server.connect(autocommit=True) as conn:
                    conn.execute(f'drop database if exists "{database.name}" with (force)')

    assert ours_rows == copy_rows, (ours_rows, copy_rows)
    landing_seconds = phases["normalize"] + phases["load"]
    copy_rate = copy_rows / copy_seconds
    ours_rate, landing_rate = ours_rows / ours_seconds, ours_rows / landing_seconds
    body = f"""
A {args.sessions}-session, {args.tickers:,}-ticker grouped-daily backfill ({ours_rows:,} rows),
the emulator's limits off (a paid key: {size} sessions per load), one process, the emulator
serving from a thread of the same process.

| path | rows/s | seconds |
|---|---:|---:|
| plain `COPY` of the same rows (already in memory) into a bare table in the same Postgres | {copy_rate:,.0f} | {copy_seconds:.1f} |
| **tickerhouse's load**: dlt normalize + load (Arrow → parquet → ADBC binary COPY straight into the indexed `raw`, after deleting the sessions the load replaces) | {landing_rate:,.0f} | {landing_seconds:.1f} |
| tickerhouse end to end: the above, plus HTTP fetch, JSON and Arrow (dlt extract) and per-run overhead | {ours_rate:,.0f} | {ours_seconds:.1f} |
| fetching and parsing the emulator's JSON alone (no load) | {ours_rows / fetch_seconds:,.0f} | {fetch_seconds:.1f} |

dlt phases: extract (HTTP, JSON, Arrow) {phases["extract"]:.1f} s, normalize
{phases["normalize"]:.1f} s, load {phases["load"]:.1f} s; the rest of the end-to-end time is
dlt's per-run bookkeeping.

Load ratio, ours / COPY: **{landing_rate / copy_rate:.2f}** (target ≥ 0.50). End to end, fetch
included: {ours_rate / copy_rate:.2f}. The fetch is the vendor's side of the bill: here the
emulator generates and serialises every JSON answer on the same two cores; against Polygon it is
network time, and at the free tier's 5 calls a minute it is all of the time.

How: the sessions a load carries are replaced by a delete of those dates (an index lookup)
and an append, exactly once even across a crash (extract.landing), where dlt's merge writes
every row twice (a staging table, then the merge) and probes the key once per row; and no
unique index on the bar key (a load owns whole sessions), whose upkeep doubled the cost of an
insert. What remains of the gap to the bare COPY is the session index dbt reads raw by, its WAL,
and dlt's bookkeeping per load.
"""
    print(body)
    write_section("extract: backfill load throughput", body)


if __name__ == "__main__":
    main()
