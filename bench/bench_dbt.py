"""The daily dbt build at 1, 5 and 10 years of history (6,000 tickers, about 15M bars).

One warehouse on the local PostgreSQL grows through three stages. Each stage lands its years of
history straight into raw (generated in SQL: a random walk per ticker, one dlt-shaped load per
session) and builds them with `dbt build` (reported, not the measure), then lands the next
session alone and times the `dbt build` that merges it: the daily build, models and every test
included, exactly as `cd dbt_project && dbt build` runs it. The project is run with its
defaults (raw retention of 5 years included). Target: the daily build at 10 years within 1.3x of
the one at 1 year, and under 60 s.

Run: python -m bench.bench_dbt   (about 15 GB of disk while it runs; the database is dropped at
the end unless --keep)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from bench._report import write_section
from tickerhouse import calendar
from tickerhouse.settings import PROJECT_ROOT

N_TICKERS = 6000
SESSIONS_PER_YEAR = 252
STAGE_YEARS = (1, 5, 10)
LAST_DAY = dt.date(2026, 11, 20)  # the last timed session
SERVER = os.environ.get("TICKERHOUSE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DBT = Path(sys.executable).parent / "dbt"
SETUP_SQL = PROJECT_ROOT / "sql" / "timescale_setup.sql"

RAW_DDL = """
create table if not exists raw.polygon_grouped_daily (
    "T" varchar not null, v double precision, vw double precision, o double precision,
    c double precision, h double precision, l double precision, "t" bigint not null, n bigint,
    _source varchar, _request_id varchar, _session_date date not null,
    _fetched_at timestamp with time zone, _dlt_load_id varchar(64) not null
);
create index if not exists polygon_grouped_daily__session_date_idx
    on raw.polygon_grouped_daily (_session_date);
create schema if not exists bench;
create table if not exists bench.last_close (ticker text primary key, close double precision);
"""

# One session's bars for every ticker: a log-normal random walk from each ticker's last close,
# with pseudo-random draws hashed from (ticker, date) so reruns generate the same market.
LAND_SESSIONS = """
with

days as (

    select day::date as session_date,
           row_number() over (order by day) as day_number
    from unnest(%(days)s::date[]) as days (day)

),

draws as (

    select
        tickers.ticker,
        days.session_date,
        days.day_number,
        {normals}
    from bench.last_close as tickers
    cross join days

),

walked as (

    select
        draws.*,
        tickers.close * exp(sum(0.0002 + 0.018 * z1) over (
            partition by draws.ticker order by draws.day_number)) as close
    from draws
    join bench.last_close as tickers using (ticker)

),

bars as (

    select
        ticker,
        session_date,
        greatest(round(close::numeric, 2), 0.01)::double precision as close,
        greatest(round((close * exp(0.004 * z2))::numeric, 2), 0.01)::double precision as open,
        exp(13 + 0.35 * z3) as volume,
        abs(0.006 * z4) as up,
        abs(0.006 * z5) as down
    from walked

)

insert into raw.polygon_grouped_daily
select
    ticker, round(volume), round(((open + close) / 2)::numeric, 4), open, close,
    round((greatest(open, close) * (1 + up))::numeric, 2),
    greatest(round((least(open, close) * (1 - down))::numeric, 2), 0.01),
    (extract(epoch from (session_date + time '16:00') at time zone 'America/New_York') * 1000)::bigint,
    round(volume / 150), 'polygon', md5(session_date::text),
    session_date,
    (session_date + time '18:00') at time zone 'America/New_York',
    -- one dlt load per session, started when the session's data was fetched
    to_char(extract(epoch from (session_date + time '18:00') at time zone 'America/New_York'),
            'FM9999999999.0000000')
from bars
"""


def normal(index: int) -> str:
    """A standard normal draw (Box-Muller) hashed from ticker, date and `index`."""
    u1 = f"((hashtext(ticker || ':' || session_date || ':{index}a')::bigint + 2147483649) / 4294967298.0)"
    u2 = f"((hashtext(ticker || ':' || session_date || ':{index}b')::bigint + 2147483649) / 4294967298.0)"
    return f"sqrt(-2 * ln({u1})) * cos(2 * pi() * {u2}) as z{index}"


def timeline() -> list[dt.date]:
    """10 years of sessions ending with the last timed day, plus the two timed days before it."""
    total = SESSIONS_PER_YEAR * STAGE_YEARS[-1] + 1
    return calendar.sessions_before(LAST_DAY, total - 1) + [LAST_DAY]


def land(url: str, days: list[dt.date]) -> float:
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set work_mem = '512MB'")
        query = LAND_SESSIONS.format(normals=", ".join(normal(i) for i in range(1, 6)))
        for start in range(0, len(days), 126):  # half a year per statement
            chunk = days[start:start + 126]
            conn.execute(query, {"days": chunk})
            conn.execute(
                "insert into bench.last_close select \"T\", c from raw.polygon_grouped_daily "
                "where _session_date = %s on conflict (ticker) do update set close = excluded.close",
                (chunk[-1],))
        conn.execute("analyze raw.polygon_grouped_daily")
    return time.monotonic() - started


def dbt_build(url: str, target: Path) -> dict:
    env = {**os.environ, "TICKERHOUSE_DATABASE_URL": url, "DBT_TARGET_PATH": str(target),
           "DBT_LOG_PATH": str(target / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    started = time.monotonic()
    done = subprocess.run([str(DBT), "build"], cwd=PROJECT_ROOT / "dbt_project", env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-4000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:4]
    finished = re.search(r"in 0 hours (\d+) minutes and ([\d.]+) seconds", done.stdout)
    return {
        "seconds": seconds,
        "dbt_seconds": int(finished.group(1)) * 60 + float(finished.group(2)) if finished else None,
        "nodes": len(results),
        "tests": sum(r["unique_id"].startswith(("test.", "unit_test.")) for r in results),
        "slowest": [(r["unique_id"].split(".")[-1] if r["unique_id"].startswith("model.")
                     else r["unique_id"].split(".")[2], r["execution_time"]) for r in slowest],
    }


def table_sizes(url: str) -> dict[str, tuple[int, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select n.nspname || '.' || c.relname, c.reltuples::bigint, "
            "pg_total_relation_size(c.oid) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.relkind = 'r' and n.nspname in ('raw', 'staging', 'curated') "
            "and c.relname in ('polygon_grouped_daily', 'int_daily_bars_validated', 'fct_daily_bars', "
            "'fct_daily_indicators', 'agg_weekly_bars') order by 1").fetchall()
    return {name: (tuples, size) for name, tuples, size in rows}


def main() -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    name = f"th_bench_dbt_{os.getpid()}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = SERVER.rsplit("/", 1)[0] + "/" + name
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SETUP_SQL.read_text())
            conn.execute(RAW_DDL)
            conn.execute("insert into bench.last_close "
                         "select 'B' || lpad(i::text, 4, '0'), 20 + 180 * ((hashtext(i::text)::bigint "
                         "+ 2147483649) / 4294967298.0) from generate_series(1, %s) as i", (N_TICKERS,))
        days = timeline()
        rows, landed = [], 0
        with tempfile.TemporaryDirectory(prefix="bench_dbt_") as scratch:
            target = Path(scratch)
            for years in STAGE_YEARS:
                stage_end = SESSIONS_PER_YEAR * years
                history = days[landed:stage_end]
                land_seconds = land(url, history)
                history_build = dbt_build(url, target)
                daily_day = days[stage_end]
                land(url, [daily_day])
                daily = dbt_build(url, target)
                landed = stage_end + 1
                bars = SESSIONS_PER_YEAR * years * N_TICKERS
                rows.append((years, len(history), land_seconds, history_build, daily_day, daily, bars))
                print(f"{years} y: history {len(history)} sessions landed in {land_seconds:.0f} s, "
                      f"built in {history_build['seconds']:.0f} s; daily build of {daily_day} "
                      f"in {daily['seconds']:.1f} s", flush=True)
            sizes = table_sizes(url)
    finally:
        if not args.keep:
            with psycopg.connect(SERVER, autocommit=True) as admin:
                admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(name)))

    base = rows[0][5]["seconds"]
    last = rows[-1][5]["seconds"]
    table = ["| history | bars in fct | daily build (wall, s) | dbt's own (s) | vs 1 year | "
             "history build (s) | slowest nodes of the daily build |", "|---|---|---|---|---|---|---|"]
    for years, _, _, history_build, day, daily, bars in rows:
        slowest = ", ".join(f"{node} {seconds:.1f}" for node, seconds in daily["slowest"])
        table.append(f"| {years} y (daily build of {day}) | {bars / 1e6:.1f}M | {daily['seconds']:.1f} | "
                     f"{daily['dbt_seconds'] or 0:.1f} | {daily['seconds'] / base:.2f}x | "
                     f"{history_build['seconds']:.0f} | {slowest} |")
    verdict = ("met" if last <= 1.3 * base and last < 60 else "NOT met")
    size_lines = "\n".join(f"| {name} | {tuples / 1e6:.1f}M | {size / 2**30:.1f} GiB |"
                           for name, (tuples, size) in sizes.items())
    return f"""
The daily incremental `dbt build` (every model, seed, snapshot and test of the project, run as
`cd dbt_project && dbt build`) for one new session of {N_TICKERS:,} tickers, on a warehouse
holding 1, 5 and 10 years of history, generated straight into raw (a random walk per ticker,
one dlt-shaped load per session) and built by dbt stage by stage. PostgreSQL 15, default
settings, the project's defaults (threads 2, raw retention 5 years). Target: the 10-year build
within 1.3x of the 1-year one and under 60 s: **{verdict}** ({last / base:.2f}x, {last:.1f} s).

{chr(10).join(table)}

Daily builds ran {rows[-1][5]['nodes']} nodes, {rows[-1][5]['tests']} of them tests. Sizes at 10 years:

| table | rows | size |
|---|---|---|
{size_lines}
"""


if __name__ == "__main__":
    body = main()
    write_section("dbt daily build", body)
    print(body)
