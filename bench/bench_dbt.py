"""The daily dbt build at 1, 5 and 10 years of history (6,000 tickers, about 15M bars).

One warehouse on the local PostgreSQL grows through the stages. Each stage lands its years of
history straight into raw (generated in SQL: a random walk per ticker, one dlt-shaped load per
session) and builds them with `dbt build` (reported, not the measure), then lands the next
sessions one at a time and times the `dbt build` that merges each: the daily build, models and
every test included, as `cd dbt_project && dbt build` runs it on the night after that session
(the median of --repeats days is reported). The project runs with its defaults, its raw
retention of 5 years counted back from the session built (retention_as_of). Each timed build
starts on a settled, quiet machine: dirty pages written out, then no CPU or disk load for 10 s
(bench/_quiet.py), so the CI or another bench may share the machine during the untimed
history builds. Target: the daily build at 10 years within 1.3x of the one at 1 year, and under
60 s. The report also lists the nodes whose daily time grew most from the first stage to the
last: where a cost that grows with history would show.

Run: python -m bench.bench_dbt   (about 15 GB of disk while it runs; the database is dropped at
the end unless --keep). --tickers and --years measure a smaller warehouse (the report says so);
--smoke leaves docs/benchmarks.md alone.
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
import yaml
from psycopg import sql

from bench._quiet import QUIET_CORES, QUIET_DISK_MB_S, disk_megabytes, wait_until_quiet
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
-- in session order, as loads of one session each would lay the rows out (the walk above
-- comes out ticker by ticker)
order by session_date, ticker
"""


def normal(index: int) -> str:
    """A standard normal draw (Box-Muller) hashed from ticker, date and `index`."""
    u1 = f"((hashtext(ticker || ':' || session_date || ':{index}a')::bigint + 2147483649) / 4294967298.0)"
    u2 = f"((hashtext(ticker || ':' || session_date || ':{index}b')::bigint + 2147483649) / 4294967298.0)"
    return f"sqrt(-2 * ln({u1})) * cos(2 * pi() * {u2}) as z{index}"


def timeline(years: int, daily_days: int) -> list[dt.date]:
    """`years` of sessions, then the days timed after the last stage, ending with LAST_DAY."""
    total = SESSIONS_PER_YEAR * years + daily_days
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


def settle(url: str) -> None:
    """Write out what the last load and build left dirty, in PostgreSQL's buffers and then the
    kernel's, as the checkpointer and the kernel do within minutes in a running warehouse: a
    timed build must not share the disk with gigabytes of writeback from the history build."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("checkpoint")
    os.sync()


def raw_retention_years() -> int:
    """dbt_project.yml's raw_retention ("5 years")."""
    declared = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    count, unit = declared["vars"]["raw_retention"].split()
    if unit not in ("year", "years"):
        raise SystemExit(f"bench_dbt: raw_retention {count} {unit}: expected a number of years")
    return int(count)


def retention_as_of(day: dt.date) -> str:
    """The project's raw retention, counted back from the day built, as an interval back from
    today's date (which the retention hook counts from). The bench's sessions lie in the past:
    counted from today, a stage's whole raw history would already be out of retention (stages 1
    and 2 would build with raw empty, stage 3 with five years of it)."""
    years = raw_retention_years()
    cutoff = day.replace(year=day.year - years, day=28 if (day.month, day.day) == (2, 29) else day.day)
    return f"{(dt.date.today() - cutoff).days} days"


def dbt_build(url: str, target: Path, day: dt.date) -> dict:
    """`dbt build` as the night after `day`'s close would run it."""
    env = {**os.environ, "TICKERHOUSE_DATABASE_URL": url, "DBT_TARGET_PATH": str(target),
           "DBT_LOG_PATH": str(target / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    blocks_before, disk_read_before = blocks_read(url), disk_megabytes(written=False)
    started = time.monotonic()
    raw_retention = json.dumps({"raw_retention": retention_as_of(day)})
    done = subprocess.run([str(DBT), "build", "--vars", raw_retention],
                          cwd=PROJECT_ROOT / "dbt_project", env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    disk_read = disk_megabytes(written=False) - disk_read_before
    blocks = blocks_read(url) - blocks_before
    if done.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-4000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    features = feature_nodes(target)
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:4]
    finished = re.search(r"in 0 hours (\d+) minutes and ([\d.]+) seconds", done.stdout)
    return {
        "seconds": seconds,
        "dbt_seconds": int(finished.group(1)) * 60 + float(finished.group(2)) if finished else None,
        # Where the pages came from: PostgreSQL read `blocks` (8 kB) from outside its buffers,
        # the page cache or the disk; the disk itself gave `disk_read_mb` (the whole machine).
        "blocks_read": blocks,
        "disk_read_mb": disk_read,
        "nodes": len(results),
        "tests": sum(r["unique_id"].startswith(("test.", "unit_test.")) for r in results),
        "slowest": [(node_name(r["unique_id"]), r["execution_time"]) for r in slowest],
        "times": {node_name(r["unique_id"]): r["execution_time"] for r in results},
        # summed over nodes (two threads run at once): the warehouse's vs the ML feature table's
        "warehouse_node_seconds": sum(r["execution_time"] for r in results if r["unique_id"] not in features),
        "features_node_seconds": sum(r["execution_time"] for r in results if r["unique_id"] in features),
    }


def blocks_read(url: str) -> int:
    """Blocks this database's tables and indexes have read from outside shared buffers so far."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select coalesce(sum(coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0) "
            "+ coalesce(toast_blks_read, 0) + coalesce(tidx_blks_read, 0)), 0)::bigint "
            "from pg_statio_all_tables").fetchone()[0]


def feature_nodes(target: Path) -> set[str]:
    """The ML feature table's nodes (models/curated/features/, built on the warehouse for the ML
    issue) and the tests attached to them: reported apart from the warehouse's own."""
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    in_features = {unique_id for unique_id, node in nodes.items()
                   if node.get("original_file_path", "").startswith("models/curated/features/")}
    return in_features | {unique_id for unique_id, node in nodes.items()
                          if node.get("attached_node") in in_features}


def node_name(unique_id: str) -> str:
    """model.tickerhouse.x -> x; test.tickerhouse.x.hash -> x; unit_test.tickerhouse.m.x -> m.x"""
    parts = unique_id.split(".")
    return ".".join(parts[2:4]) if parts[0] == "unit_test" else parts[2]


def table_sizes(url: str) -> dict[str, tuple[int, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select n.nspname || '.' || c.relname, c.reltuples::bigint, "
            "pg_total_relation_size(c.oid) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.relkind = 'r' and n.nspname in ('raw', 'staging', 'curated') "
            "and c.relname in ('polygon_grouped_daily', 'int_daily_bars_validated', 'fct_daily_bars', "
            "'fct_daily_indicators', 'agg_weekly_bars') order by 1").fetchall()
    return {name: (tuples, size) for name, tuples, size in rows}


def ratio_of(key: str, base: dict, last: dict) -> str:
    return f"{last[key] / base[key]:.2f}x" if base[key] else "n/a"


def median_build(builds: list[dict]) -> dict:
    """The build of median wall time (the lower middle one of an even count)."""
    return sorted(builds, key=lambda build: build["seconds"])[(len(builds) - 1) // 2]


def main(argv: list[str] | None = None) -> tuple[str, str, bool]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--tickers", type=int, default=N_TICKERS, help=f"universe size (default {N_TICKERS})")
    parser.add_argument("--years", default=",".join(map(str, STAGE_YEARS)),
                        help="history at each stage, ascending (default 1,5,10)")
    parser.add_argument("--repeats", type=int, default=3, help="daily builds timed per stage (default 3)")
    parser.add_argument("--smoke", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    stages = [int(years) for years in args.years.split(",")]
    if stages != sorted(set(stages)) or stages[0] < 1 or args.repeats < 1:
        parser.error("--years must be ascending whole years, --repeats at least 1")

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
                         "+ 2147483649) / 4294967298.0) from generate_series(1, %s) as i", (args.tickers,))
        days = timeline(stages[-1], args.repeats)
        rows, landed = [], 0
        quiet_waits: list[float] = []
        busy_starts = 0  # timed builds started on a machine still busy after an hour's wait
        with tempfile.TemporaryDirectory(prefix="bench_dbt_") as scratch:
            target = Path(scratch)
            for years in stages:
                stage_end = SESSIONS_PER_YEAR * years  # the history ends where the timed days begin
                history = days[landed:stage_end]
                land_seconds = land(url, history)
                history_build = dbt_build(url, target, history[-1])
                timed_days = days[stage_end:stage_end + args.repeats]
                dailies = []
                for day in timed_days:
                    land(url, [day])
                    settle(url)
                    waited, quiet = wait_until_quiet()
                    quiet_waits.append(waited)
                    busy_starts += not quiet
                    if waited >= 1:
                        print(f"  waited {waited:.0f} s for a quiet machine before timing {day}", flush=True)
                    dailies.append(dbt_build(url, target, day))
                landed = stage_end + args.repeats
                daily = median_build(dailies)
                bars = landed * args.tickers
                rows.append((years, len(history), land_seconds, history_build, timed_days, daily, bars))
                timings = ", ".join(f"{build['seconds']:.1f} (disk {build['disk_read_mb']:.0f} MB)"
                                    for build in dailies)
                print(f"{years} y: history {len(history)} sessions landed in {land_seconds:.0f} s, "
                      f"built in {history_build['seconds']:.0f} s; daily builds of {timed_days[0]}.."
                      f"{timed_days[-1]}: {timings} s", flush=True)
            sizes = table_sizes(url)
            with psycopg.connect(url) as conn:
                autovacuum = conn.execute("show autovacuum").fetchone()[0]
    finally:
        if not args.keep:
            with psycopg.connect(SERVER, autocommit=True) as admin:
                admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(name)))

    base, last = rows[0][5], rows[-1][5]
    table = ["| history | bars in fct | daily build (wall, s) | dbt's own (s) | vs first | "
             "node time: warehouse / ML features (s) | read outside shared buffers / from disk (MB) | "
             "history build (s) | slowest nodes of the daily build |",
             "|---|---|---|---|---|---|---|---|---|"]
    for years, _, _, history_build, timed_days, daily, bars in rows:
        slowest = ", ".join(f"{node} {seconds:.1f}" for node, seconds in daily["slowest"])
        table.append(f"| {years} y (days {timed_days[0]}..{timed_days[-1]}) | {bars / 1e6:.2f}M | "
                     f"{daily['seconds']:.1f} | {daily['dbt_seconds'] or 0:.1f} | "
                     f"{daily['seconds'] / base['seconds']:.2f}x | {daily['warehouse_node_seconds']:.1f} / "
                     f"{daily['features_node_seconds']:.1f} | {daily['blocks_read'] * 8192 / 1e6:.0f} / "
                     f"{daily['disk_read_mb']:.0f} | {history_build['seconds']:.0f} | {slowest} |")
    growth = sorted(((last["times"].get(node, 0.0) - seconds, node, seconds, last["times"].get(node, 0.0))
                     for node, seconds in base["times"].items()), reverse=True)[:5]
    growth_lines = "\n".join(f"| {node} | {first:.2f} | {final:.2f} |" for _, node, first, final in growth)
    ratio = last["seconds"] / base["seconds"]
    met = ratio <= 1.3 and last["seconds"] < 60
    full = args.tickers == N_TICKERS and tuple(stages) == STAGE_YEARS
    scope = ("" if full else
             f" **A partial run, not the issue's 10 years x {N_TICKERS:,} tickers** "
             f"({args.tickers:,} tickers, {', '.join(map(str, stages))} years): compare it only "
             "with runs of the same code.")
    busy_note = (f"; **{busy_starts} of {len(quiet_waits)} timed builds started on a busy machine**"
                 if busy_starts else "")
    sizes_lines = "\n".join(f"| {table_name} | {tuples / 1e6:.2f}M | {size / 2**30:.2f} GiB |"
                             for table_name, (tuples, size) in sizes.items())
    body = f"""
The daily incremental `dbt build` (every model, seed, snapshot and test of the project, run as
`cd dbt_project && dbt build`) for one new session of {args.tickers:,} tickers, on a warehouse
holding {', '.join(map(str, stages))} years of history, generated straight into raw (a random walk
per ticker, one dlt-shaped load per session) and built by dbt stage by stage. Each stage times
{args.repeats} daily builds (one new session each) and reports the median. PostgreSQL 15,
default settings (autovacuum {autovacuum} on this server: the project's own ANALYZEs keep the
statistics), the project's defaults (threads 2, raw retention {raw_retention_years()} years,
counted back from the day built rather than from today's date, as a warehouse running on that
day would). Before each timed build the bench checkpoints and syncs (what the history build
left dirty is written out, as it would be by the next day) and waits for 10 s in which the
machine used under {QUIET_CORES} of a core and its disks moved under {QUIET_DISK_MB_S:.0f} MB/s
(waits: {sum(quiet_waits):.0f} s in all{busy_note}).{scope} Target: the daily build at the
longest history within 1.3x of the shortest and under 60 s:
**{"met" if met else "NOT met"}** ({ratio:.2f}x, {last['seconds']:.1f} s).

{chr(10).join(table)}

"Read outside shared buffers" is what the daily build's queries asked of the operating system
(pg_statio's blocks read, 8 kB each: from the page cache or the disk), "from disk" what the
machine's disks actually delivered meanwhile (/proc/diskstats): the share of the working set
that no longer fits in memory.

Node time is the sum of the nodes' own times (two threads run at once), split between the
warehouse (this project's models, seeds, snapshot and their tests) and the ML feature table
(`models/curated/features/`, built on the warehouse for the ML models) with its tests:
{stages[-1]} years against {stages[0]}, {ratio_of('warehouse_node_seconds', base, last)} for the
warehouse, {ratio_of('features_node_seconds', base, last)} for the feature table.

Nodes whose daily time grew most from {stages[0]} to {stages[-1]} years (seconds):

| node | {stages[0]} y | {stages[-1]} y |
|---|---|---|
{growth_lines}

Daily builds ran {last['nodes']} nodes, {last['tests']} of them tests. Sizes at {stages[-1]} years:

| table | rows | size |
|---|---|---|
{sizes_lines}
"""
    # A run of another size keeps its own section: it does not replace the full-size one.
    section = "dbt daily build" + ("" if full else f" ({args.tickers:,} tickers, "
                                                    f"{', '.join(map(str, stages))} years)")
    return section, body, args.smoke


if __name__ == "__main__":
    section, report, smoke = main()
    if not smoke:
        write_section(section, report)
    print(report)
