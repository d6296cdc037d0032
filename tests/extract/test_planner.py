"""The day's plan: priorities, budgets against today's use, and time at the limits."""

import datetime as dt

import pytest

from extract.planner import plan_day, ranked_tickers, seconds_at_limits
from extract.quota import FREE_TIER_LIMITS, KeyUsage, VendorLimits

DAY = dt.date(2026, 11, 20)
UNLIMITED = VendorLimits(None, None, None)


@pytest.fixture(scope="module")
def database(scratch_databases):
    return scratch_databases("th_test_planner")


@pytest.fixture()
def market(database):
    """Raw tables as the sources leave them: bars (dollar volume), profiles (market cap) and
    quotes (staleness), in a database of the module's own."""
    with database.connect(autocommit=True) as pg_conn:
        yield from _market(pg_conn)


def _market(pg_conn):
    pg_conn.execute("drop schema if exists raw cascade; create schema raw")
    pg_conn.execute('create table raw.polygon_grouped_daily ("T" text, c float8, v float8, '
                    '_session_date date)')
    pg_conn.execute("insert into raw.polygon_grouped_daily values "
                    "('BIG', 100, 1e6, %(d)s), ('MID', 50, 1e6, %(d)s), ('SMALL', 5, 1e6, %(d)s), "
                    "('TINY', 1, 10, %(d)s)", {"d": DAY})
    pg_conn.execute('create table raw.finnhub_profiles (ticker text, "marketCapitalization" float8,'
                    ' _fetched_at timestamptz)')
    pg_conn.execute("insert into raw.finnhub_profiles values ('MID', 900000, now())")
    pg_conn.execute("create table raw.finnhub_quotes (symbol text, _fetched_at timestamptz)")
    pg_conn.execute("insert into raw.finnhub_quotes values ('BIG', %s), ('MID', %s)",
                    (dt.datetime(2026, 11, 19, 22, tzinfo=dt.UTC),
                     dt.datetime(2026, 11, 19, 22, tzinfo=dt.UTC)))
    yield ["BIG", "MID", "SMALL", "TINY"]
    pg_conn.execute("drop schema raw cascade")


def test_watchlist_first_then_market_cap_then_dollar_volume(database, market):
    # Nobody has metrics yet, so staleness is equal and size decides.
    order = ranked_tickers(database, market, ["TINY"], "finnhub", "metric", DAY)
    assert order == ["TINY", "MID", "BIG", "SMALL"]


def test_stale_data_rises_above_bigger_fresher_tickers(database, market):
    # BIG and MID were quoted yesterday; SMALL never: it comes first for quotes.
    assert ranked_tickers(database, market, [], "finnhub", "quote", DAY)[:2] == ["SMALL", "TINY"]


def test_budgets_follow_settings_and_what_is_left_today(database, market):
    usage = [KeyUsage("alphavantage", "k1", DAY, used=21, limit=25, throttled_until=None),
             KeyUsage("newsapi", "k2", DAY, used=0, limit=100, throttled_until=None)]
    plan = plan_day(database, DAY, universe=market, history_sessions=[], day_missing=True,
                    limits=FREE_TIER_LIMITS, history_limits=FREE_TIER_LIMITS, usage=usage,
                    available=["polygon", "finnhub", "alphavantage", "newsapi"], watchlist=[],
                    per_run={"finnhub": 4, "alphavantage": 10, "newsapi": 3})
    assert plan.calls["polygon"] == 1
    assert plan.calls["alphavantage"] == 4  # only 4 of the key's 25 are left today
    assert plan.calls["newsapi"] == 3
    assert plan.calls["finnhub"] <= 4
    quotes = next(e for e in plan.vendors["finnhub"].endpoints if e.endpoint == "quote")
    assert quotes.items == [{"symbol": "SMALL"}, {"symbol": "TINY"}][: quotes.calls]


def test_a_vendor_without_a_key_is_not_planned(database, market):
    plan = plan_day(database, DAY, universe=market, history_sessions=[], day_missing=False,
                    limits=FREE_TIER_LIMITS, history_limits=FREE_TIER_LIMITS, usage=[],
                    available=["polygon"], watchlist=[], per_run={"finnhub": 100})
    assert list(plan.vendors) == ["polygon"]
    assert plan.calls == {"polygon": 0}
    assert "already landed" in plan.vendors["polygon"].note


def test_history_on_a_free_polygon_key_states_the_real_duration(database, market):
    sessions = [DAY - dt.timedelta(days=i) for i in range(504, 0, -1)]
    plan = plan_day(database, DAY, universe=market, history_sessions=sessions, day_missing=True,
                    limits=FREE_TIER_LIMITS, history_limits=FREE_TIER_LIMITS, usage=[],
                    available=["polygon"], watchlist=[], per_run={})
    assert plan.calls["polygon"] == 505
    # 504 calls at 5/min: about 101 minutes, the figure vendor-facts.md gives.
    assert 100 * 60 <= plan.vendors["polygon"].expected_seconds <= 101 * 60


def test_time_at_limits():
    assert seconds_at_limits(1, FREE_TIER_LIMITS["polygon"]) == 0
    assert seconds_at_limits(5, FREE_TIER_LIMITS["polygon"]) == 0
    assert seconds_at_limits(6, FREE_TIER_LIMITS["polygon"]) == 60
    assert seconds_at_limits(120, FREE_TIER_LIMITS["finnhub"]) == 60
    assert seconds_at_limits(10_000, UNLIMITED) == 0


def test_a_rerun_of_the_day_plans_only_what_earlier_runs_did_not_spend(database, market):
    def plan(spent):
        return plan_day(database, DAY, universe=market, history_sessions=[], day_missing=False,
                        limits=FREE_TIER_LIMITS, history_limits=FREE_TIER_LIMITS, usage=[],
                        available=["finnhub", "newsapi"], watchlist=[],
                        per_run={"finnhub": 4, "newsapi": 12}, spent_for_day=spent)

    first = plan({})
    assert first.calls == {"finnhub": 4, "newsapi": 11}  # headlines + ten sector searches
    assert plan({"finnhub": 4, "newsapi": 11}).calls == {"finnhub": 0, "newsapi": 0}
    partly = plan({"newsapi": 4})  # a first run that stopped after four requests
    searches = next(e for e in partly.vendors["newsapi"].endpoints if e.endpoint == "everything")
    done = next(e for e in first.vendors["newsapi"].endpoints if e.endpoint == "everything")
    assert partly.calls["newsapi"] == 7 and searches.items == done.items[3:]
