"""The dbt project on PostgreSQL 15, the main lane: a warehouse taken through a year of history,
an idempotent rebuild, a new day, a late correction, a day of bad bars and a catch-up of three
sessions, then compared with a warehouse built in one go from the same raw rows.

The tests of this module share one warehouse and run in order: each step builds on the last.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import psycopg
import pytest

from .warehouse import (
    RAW_DDL,
    REFERENCE_DDL,
    Bar,
    apply_setup,
    land_reference_tickers,
    market,
    next_session,
    run_dbt,
    same_rows,
    sessions,
    table_rows,
    tickers,
)

pytestmark = pytest.mark.timeout(900)

UNIVERSE = tickers(100)
HISTORY_END = dt.date(2026, 9, 30)
HISTORY = sessions(300, HISTORY_END)  # > 252: every indicator gets values
DAY_1 = next_session(HISTORY_END)
BAD_DAY = next_session(DAY_1)
CATCH_UP = [next_session(BAD_DAY)]
for _ in range(2):
    CATCH_UP.append(next_session(CATCH_UP[-1]))
ALL_SESSIONS = [*HISTORY, DAY_1, BAD_DAY, *CATCH_UP]
BARS = {(bar.ticker, bar.session): bar for bar in market(UNIVERSE, ALL_SESSIONS)}

# Columns that record when a row was built, which two warehouses cannot share.
RUN_TIMES = ("merged_at", "validated_at", "last_merged_at", "bars_merged_at", "compared_at")
CURATED = ("curated.fct_daily_bars", "curated.fct_daily_indicators", "curated.dim_ticker",
           "curated.agg_weekly_bars", "curated.agg_monthly_bars", "curated.agg_sector_daily",
           "quarantine.quarantined_daily_bars", "staging.int_daily_bars_validated")
# The ticker history (a dbt snapshot) records when versions appeared: unchanged by a rebuild,
# but not comparable with a warehouse built in one go.
HISTORY_TABLES = ("curated.dim_ticker_history",)
LISTINGS = {ticker: (f"{ticker} Corp", "XNYS") for ticker in UNIVERSE}
RENAMED = UNIVERSE[5]


def day_bars(session: dt.date, only: set[str] | None = None) -> list[Bar]:
    return [BARS[(ticker, session)] for ticker in UNIVERSE if only is None or ticker in only]


def build(warehouse, target, *args: str):
    done = run_dbt(warehouse.url(), target, "build", *args)
    assert done.ok, done.tail()
    return done


def snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {table: table_rows(conn, table) for table in (*CURATED, *HISTORY_TABLES)}


def scalar(url: str, query: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


@pytest.fixture(scope="module")
def history_built(warehouse, lander, dbt_target):
    # a backfill lands the year in a few loads, as the extract step does, and the listing run
    # its reference tickers
    land_reference_tickers(warehouse.url(), LISTINGS)
    for start in range(0, len(HISTORY), 100):
        lander.land([bar for session in HISTORY[start:start + 100] for bar in day_bars(session)])
    return build(warehouse, dbt_target)


def test_first_build_from_a_clean_database_passes_every_test(history_built, warehouse):
    url = warehouse.url()
    assert scalar(url, "select count(*) from curated.fct_daily_bars") == 100 * 300
    assert scalar(url, "select count(*) from curated.fct_daily_indicators "
                       "where sma_200 is not null and high_52w is not null and macd_signal is not null "
                       "and trade_date = %s", HISTORY_END) == 100
    invocation = psycopg.connect(url).execute(
        "select models_failed, tests_passed, tests_failed from ops.dbt_invocations "
        "order by run_started_at desc limit 1").fetchone()
    assert invocation[0] == 0 and invocation[2] == 0 and invocation[1] > 150


def test_second_build_changes_nothing(history_built, warehouse, dbt_target):
    before = snapshot(warehouse.url())
    build(warehouse, dbt_target)
    assert snapshot(warehouse.url()) == before  # run timestamps included: nothing was re-merged


def date_indexes(url: str) -> set[tuple[str, str, str]]:
    """(schema, table, column) of every btree index, by its leading column."""
    with psycopg.connect(url) as conn:
        return set(conn.execute(
            "select n.nspname, t.relname, a.attname from pg_index i "
            "join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace "
            "join pg_class ix on ix.oid = i.indexrelid join pg_am am on am.oid = ix.relam "
            "join pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0] "
            "where am.amname = 'btree'").fetchall())


def test_every_date_window_is_served_by_an_index_on_its_date(history_built, warehouse, dbt_target):
    # The daily build and the windowed tests read the latest sessions of tables that hold years.
    # A BRIN index was passed over for a scan of the whole table at 10 years
    # (macros/warehouse/time_index.sql): each windowed table needs a btree led by its date.
    manifest = json.loads((dbt_target / "manifest.json").read_text())
    windows = {(node["schema"], node["alias"], node["config"]["meta"]["test_window"]["time_column"])
               for node in manifest["nodes"].values()
               if node["resource_type"] == "model" and "test_window" in node["config"]["meta"]
               and node["config"]["materialized"] != "view"}  # a view's window reaches its tables
    assert {("curated", "fct_daily_bars", "trade_date"), ("curated", "fct_daily_indicators", "trade_date"),
            ("staging", "int_daily_bars_validated", "trade_date"),
            ("curated", "agg_weekly_bars", "week_start")} <= windows
    missing = windows - date_indexes(warehouse.url())
    assert not missing, f"date windows with no index led by their date: {sorted(missing)}"
    assert scalar(warehouse.url(), "select count(*) from pg_indexes where indexdef ilike '%% using brin %%'") == 0


def test_a_brin_index_of_an_earlier_version_gives_way_to_the_date_index(history_built, warehouse,
                                                                         dbt_target):
    url = warehouse.url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('drop index curated."fct_daily_bars__trade_date_idx"')
        conn.execute('create index "fct_daily_bars__trade_date_brin" on curated.fct_daily_bars '
                     'using brin (trade_date)')
    done = run_dbt(url, dbt_target, "run", "--select", "fct_daily_bars")
    assert done.ok, done.tail()
    with psycopg.connect(url) as conn:
        names = {name for (name,) in conn.execute(
            "select indexname from pg_indexes where schemaname = 'curated' and tablename = 'fct_daily_bars'")}
    assert "fct_daily_bars__trade_date_idx" in names and "fct_daily_bars__trade_date_brin" not in names
    assert ("curated", "fct_daily_bars", "trade_date") in date_indexes(url)


def test_a_new_day_is_merged_and_continues_the_indicators(history_built, warehouse, lander,
                                                           dbt_target):
    lander.land(day_bars(DAY_1))
    # the day's listing run: one company renamed and moved to another exchange
    land_reference_tickers(warehouse.url(), {RENAMED: (f"{RENAMED} Holdings", "XNAS")})
    build(warehouse, dbt_target)
    url = warehouse.url()
    assert scalar(url, "select count(*) from curated.fct_daily_bars where trade_date = %s", DAY_1) == 100
    assert scalar(url, "select count(*) from curated.fct_daily_indicators where trade_date = %s "
                       "and bars_seen = 301 and ema_200 is not null", DAY_1) == 100
    assert scalar(url, "select max(last_trade_date) from curated.dim_ticker") == DAY_1
    # the weekly rollup picked the day up
    week = DAY_1 - dt.timedelta(days=DAY_1.weekday())
    assert scalar(url, "select last_trade_date from curated.agg_weekly_bars "
                       "where ticker = %s and week_start = %s", UNIVERSE[0], week) == DAY_1


def test_the_ticker_history_keeps_both_versions_of_a_renamed_ticker(history_built, warehouse):
    with psycopg.connect(warehouse.url()) as conn:
        versions = conn.execute(
            "select ticker_name, exchange_code, dbt_valid_from, dbt_valid_to "
            "from curated.dim_ticker_history where ticker = %s order by dbt_valid_from",
            (RENAMED,)).fetchall()
        others = conn.execute(
            "select count(*), count(distinct ticker), count(*) filter (where dbt_valid_to is null) "
            "from curated.dim_ticker_history where ticker <> %s", (RENAMED,)).fetchone()
        current = conn.execute("select ticker_name, exchange_code, exchange_name from curated.dim_ticker "
                               "where ticker = %s", (RENAMED,)).fetchone()
    (old_name, old_exchange, old_from, old_to), (new_name, new_exchange, new_from, new_to) = versions
    assert (old_name, old_exchange, new_name, new_exchange) == (
        f"{RENAMED} Corp", "XNYS", f"{RENAMED} Holdings", "XNAS")
    assert old_from < old_to == new_from and new_to is None  # SCD2: the old version closed
    assert others == (len(UNIVERSE) - 1,) * 3  # unchanged tickers: one current version each
    assert current == (f"{RENAMED} Holdings", "XNAS", "Nasdaq")


def test_a_late_correction_replaces_the_bar_and_what_follows_from_it(history_built, warehouse,
                                                                      lander, dbt_target):
    old_day = HISTORY[-30]
    original = BARS[(UNIVERSE[3], old_day)]
    corrected = Bar(original.ticker, old_day, original.open, original.high * 1.05,
                    original.low, original.high * 1.04, original.volume)
    BARS[(original.ticker, old_day)] = corrected
    url = warehouse.url()
    ema_before = scalar(url, "select ema_20 from curated.fct_daily_indicators "
                             "where ticker = %s and trade_date = %s", original.ticker, DAY_1)
    lander.land([corrected])
    build(warehouse, dbt_target)
    assert scalar(url, "select close from curated.fct_daily_bars where ticker = %s "
                       "and trade_date = %s", original.ticker, old_day) == corrected.close
    # indicators after the corrected day were computed again
    assert scalar(url, "select ema_20 from curated.fct_daily_indicators where ticker = %s "
                       "and trade_date = %s", original.ticker, DAY_1) != ema_before


def test_bars_failing_validation_are_quarantined_with_their_rule(history_built, warehouse,
                                                                  lander, dbt_target):
    good = day_bars(BAD_DAY)

    def spoil(bar: Bar, **changes) -> Bar:
        return dataclasses.replace(bar, **changes)

    bad = {
        UNIVERSE[10]: ("non_positive_price", lambda b: spoil(b, close=-1.0)),
        UNIVERSE[11]: ("high_below_low", lambda b: spoil(b, high=b.low * 0.9, low=b.high * 1.1)),
        UNIVERSE[12]: ("negative_volume", lambda b: spoil(b, volume=-100)),
        UNIVERSE[13]: ("impossible_jump", lambda b: spoil(b, open=b.open * 100, high=b.high * 100,
                                                          low=b.low * 100, close=b.close * 100)),
    }
    landed = [bad[b.ticker][1](b) if b.ticker in bad else b for b in good]
    lander.land(landed)
    # a bar for a Saturday, and a second row for a session of the same ticker (another `t`)
    saturday = BAD_DAY + dt.timedelta(days=(5 - BAD_DAY.weekday()) % 7)
    base = BARS[(UNIVERSE[20], BAD_DAY)]
    lander.land([Bar(UNIVERSE[20], saturday, base.open, base.high, base.low, base.close, base.volume)])
    with lander.connect() as conn:
        conn.execute(
            'insert into raw.polygon_grouped_daily select "T", v, vw, o, c * 1.01, h * 1.01, l, "t" + 1, '
            "n, _source, _request_id, _session_date, _fetched_at, _dlt_load_id "
            'from raw.polygon_grouped_daily where "T" = %s and _session_date = %s',
            (UNIVERSE[21], BAD_DAY))
    build(warehouse, dbt_target)

    with psycopg.connect(warehouse.url()) as conn:
        quarantined = dict(conn.execute(
            "select ticker, primary_rule from quarantine.quarantined_daily_bars").fetchall())
        curated = {row[0] for row in conn.execute(
            "select ticker from curated.fct_daily_bars where trade_date = %s", (BAD_DAY,))}
        saturday_rows = conn.execute("select count(*) from curated.fct_daily_bars "
                                     "where trade_date = %s", (saturday,)).fetchone()[0]
    assert {ticker: quarantined.get(ticker) for ticker in bad} == {t: r for t, (r, _) in bad.items()}
    assert quarantined[UNIVERSE[20]] == "not_a_trading_session" and saturday_rows == 0
    assert quarantined[UNIVERSE[21]] == "duplicate"
    assert curated == set(UNIVERSE) - set(bad)  # the duplicated ticker keeps its newest bar


def test_a_catch_up_of_several_sessions_builds_like_the_daily_path(history_built, warehouse,
                                                                    lander, dbt_target):
    lander.land([bar for session in CATCH_UP for bar in day_bars(session)])
    build(warehouse, dbt_target)
    # the spike of the bad day is past: the next close compares with the bar before the spike
    assert scalar(warehouse.url(), "select count(*) from curated.fct_daily_bars "
                                   "where trade_date = %s", CATCH_UP[0]) == 100


def copy_raw_tables(source_url: str, target_url: str) -> None:
    """raw.polygon_grouped_daily and raw.polygon_tickers, rows and load ids included, from one
    warehouse to another."""
    with psycopg.connect(source_url) as source, psycopg.connect(target_url) as target:
        target.execute(RAW_DDL)
        target.execute(REFERENCE_DDL)
        for table in ("raw.polygon_grouped_daily", "raw.polygon_tickers"):
            with source.cursor().copy(f"copy {table} to stdout") as out, \
                    target.cursor().copy(f"copy {table} from stdin") as into:
                for block in out:
                    into.write(block)


def test_the_incremental_warehouse_equals_one_built_in_one_go(history_built, warehouse,
                                                              scratch_databases, tmp_path):
    reference = scratch_databases("th_test_dbt_reference")
    apply_setup(reference.url())
    copy_raw_tables(warehouse.url(), reference.url())
    done = run_dbt(reference.url(), tmp_path, "build")
    assert done.ok, done.tail()

    with psycopg.connect(warehouse.url()) as built_daily, psycopg.connect(reference.url()) as built_once:
        for table in CURATED:
            assert same_rows(table_rows(built_daily, table, exclude=RUN_TIMES),
                             table_rows(built_once, table, exclude=RUN_TIMES)), table
