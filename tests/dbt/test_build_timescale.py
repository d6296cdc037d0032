"""The dbt project on TimescaleDB (the WASM lane of tests/timescale): the hypertables,
continuous aggregates, compression and retention paths executed for real, twice in a row and
after a new day, with their policies run as the job scheduler would run them.

The engine has no background workers, so a policy runs when a test calls `run_job`.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.timescale.engine import TimescaleServer, connect, missing_tools

from .warehouse import (
    Bar,
    RawLander,
    apply_setup,
    market,
    next_session,
    run_dbt,
    sessions,
    table_rows,
    tickers,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

UNIVERSE = tickers(12)
OLD_SESSIONS = sessions(10, dt.date(2019, 6, 28))  # older than the raw layer's 5-year retention
HISTORY = sessions(80, dt.date(2025, 6, 30))
NEW_DAY = next_session(HISTORY[-1])
BARS = {(bar.ticker, bar.session): bar
        for bar in market(UNIVERSE, [*OLD_SESSIONS, *HISTORY, NEW_DAY], seed=3)}


def bars_of(days):
    return [BARS[(ticker, day)] for day in days for ticker in UNIVERSE]


@pytest.fixture(scope="module")
def timescale():
    if missing := missing_tools():
        pytest.skip(f"the TimescaleDB lane needs {' and '.join(missing)}")
    with TimescaleServer() as url:
        apply_setup(url, prepare_threshold=None)
        yield url


@pytest.fixture(scope="module")
def lander(timescale) -> RawLander:
    return RawLander(timescale, {"prepare_threshold": None})


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return tmp_path_factory.mktemp("dbt_target_timescale")


def build(url, target):
    done = run_dbt(url, target, "build", threads=1)  # the engine serves one session at a time
    assert done.ok, done.tail()
    return done


def query(url, sql, *params):
    with connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def job(url, proc, relation):
    [(job_id,)] = query(url, "select job_id from timescaledb_information.jobs "
                             "where proc_name = %s and hypertable_name = %s", proc, relation)
    return job_id


@pytest.fixture(scope="module")
def built(timescale, lander, target):
    lander.land(bars_of(OLD_SESSIONS))
    lander.land(bars_of(HISTORY))
    return build(timescale, target)


def test_curated_bars_and_indicators_are_compressed_hypertables(built, timescale):
    rows = query(timescale, "select hypertable_schema || '.' || hypertable_name, compression_enabled "
                            "from timescaledb_information.hypertables order by 1")
    assert ("curated.fct_daily_bars", True) in rows and ("curated.fct_daily_indicators", True) in rows
    assert query(timescale, "select attname, segmentby_column_index, orderby_column_index "
                            "from timescaledb_information.compression_settings "
                            "where hypertable_name = 'fct_daily_bars' order by attname") == [
        ("ticker", 1, None), ("trade_date", None, 1)]
    [(interval,)] = query(timescale, "select time_interval from timescaledb_information.dimensions "
                                     "where hypertable_name = 'fct_daily_bars'")
    assert interval == dt.timedelta(days=28)
    policies = {row for row in query(timescale, "select proc_name, hypertable_name "
                                                "from timescaledb_information.jobs")}
    assert {("policy_compression", "fct_daily_bars"), ("policy_reorder", "fct_daily_bars"),
            ("policy_compression", "fct_daily_indicators"),
            ("policy_retention", "polygon_grouped_daily")} <= policies


def test_rollups_are_continuous_aggregates_with_refresh_policies(built, timescale):
    caggs = {row[0] for row in query(
        timescale, "select view_name from timescaledb_information.continuous_aggregates "
                   "where view_schema = 'curated' and not materialized_only")}
    assert caggs == {"agg_weekly_bars", "agg_monthly_bars", "agg_sector_daily"}
    policies = {row[0] for row in query(
        timescale, "select hypertable_name from timescaledb_information.jobs "
                   "where proc_name = 'policy_refresh_continuous_aggregate'")}
    assert len(policies) == 3
    # real time: complete before any refresh ran
    assert query(timescale, "select count(*), sum(session_count) from curated.agg_monthly_bars") == [
        (len(UNIVERSE) * 5, len(UNIVERSE) * (len(OLD_SESSIONS) + len(HISTORY)))]


CURATED = ("curated.fct_daily_bars", "curated.fct_daily_indicators", "curated.dim_ticker",
           "curated.dim_ticker_history", "curated.agg_weekly_bars", "curated.agg_monthly_bars",
           "curated.agg_sector_daily", "quarantine.quarantined_daily_bars",
           "staging.int_daily_bars_validated")


def contents(url) -> dict[str, list[tuple]]:
    with connect(url, autocommit=True) as conn:
        return {table: table_rows(conn, table) for table in CURATED}


def test_a_second_build_changes_nothing(built, timescale, target):
    before = contents(timescale)
    build(timescale, target)
    assert contents(timescale) == before  # run timestamps included: nothing was re-merged


def test_policies_compress_refresh_and_retain_and_the_next_day_still_builds(built, timescale,
                                                                            lander, target):
    for proc, relation in (("policy_compression", "fct_daily_bars"),
                           ("policy_compression", "fct_daily_indicators"),
                           ("policy_retention", "polygon_grouped_daily")):
        query(timescale, "call run_job(%s)", job(timescale, proc, relation))
    for view in ("agg_weekly_bars", "agg_monthly_bars", "agg_sector_daily"):
        query(timescale, "call run_job(%s)", job(timescale, "policy_refresh_continuous_aggregate", view))
    compressed = query(timescale, "select count(*) filter (where is_compressed), count(*) "
                                  "from timescaledb_information.chunks "
                                  "where hypertable_name = 'fct_daily_bars'")[0]
    assert 0 < compressed[0] <= compressed[1]
    # raw is kept 5 years; curated keeps everything merged from it
    assert query(timescale, "select min(_session_date) from raw.polygon_grouped_daily") == [(HISTORY[0],)]
    assert query(timescale, "select min(trade_date) from curated.fct_daily_bars") == [(OLD_SESSIONS[0],)]

    # a new day, and a late correction of a bar that now sits in a compressed chunk
    old = BARS[(UNIVERSE[0], HISTORY[5])]
    corrected = Bar(old.ticker, old.session, old.open, old.high * 1.02, old.low, old.high * 1.01, old.volume)
    lander.land(bars_of([NEW_DAY]))
    lander.land([corrected])
    build(timescale, target)
    assert query(timescale, "select count(*) from curated.fct_daily_bars where trade_date = %s",
                 NEW_DAY) == [(len(UNIVERSE),)]
    assert query(timescale, "select close from curated.fct_daily_bars where ticker = %s "
                            "and trade_date = %s", old.ticker, old.session) == [(corrected.close,)]
    week = NEW_DAY - dt.timedelta(days=NEW_DAY.weekday())
    assert query(timescale, "select last_trade_date from curated.agg_weekly_bars "
                            "where ticker = %s and week_start = %s", UNIVERSE[1], week) == [(NEW_DAY,)]
