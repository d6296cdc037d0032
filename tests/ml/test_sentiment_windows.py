"""The sentiment pipeline's small parts: the window grid, the per-window call budget in front of
the quota manager, the day's budget check, alert deduplication, and the CLI's one-line errors."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from extract.quota import QuotaExhausted, QuotaManager, VendorLimits
from ml.sentiment.windows import SentimentAlert, raise_alerts, window_floor
from orchestration.sentiment import (
    WindowBudget,
    WindowBudgetSpent,
    check_day_budgets,
    ensure_tables,
    resolve_window,
)
from tickerhouse.errors import UserError
from tickerhouse.settings import load_settings

UTC = dt.UTC
TICKERHOUSE = Path(sys.executable).parent / "tickerhouse"


def at(*args, tz=UTC) -> dt.datetime:
    return dt.datetime(2024, 3, *args, tzinfo=tz)


def test_windows_sit_on_the_utc_day():
    assert window_floor(at(6, 13, 59), 4) == at(6, 12)
    assert window_floor(at(6, 12), 4) == at(6, 12)
    # 23:30 in New York is 04:30 UTC the next day
    assert window_floor(at(6, 23, 30, tz=ZoneInfo("America/New_York")), 6) == at(7)
    with pytest.raises(ValueError):
        window_floor(dt.datetime(2024, 3, 6), 4)


def test_the_window_is_the_last_one_ended_unless_named():
    settings = load_settings()
    now = dt.datetime(2024, 3, 6, 13, 5, tzinfo=UTC)
    assert resolve_window(settings, None, now) == (dt.datetime(2024, 3, 6, 8, tzinfo=UTC),
                                                   dt.datetime(2024, 3, 6, 12, tzinfo=UTC))
    # A naive time is UTC; a time off the grid is moved back onto it.
    assert resolve_window(settings, dt.datetime(2024, 3, 5, 23, 59), now)[1] == at(5, 20)
    # Airflow's logical date (a pendulum datetime) in New York time: 08:00 there is 13:00 UTC.
    pendulum = pytest.importorskip("pendulum")
    assert resolve_window(settings, pendulum.datetime(2024, 3, 6, 8, tz="America/New_York"),
                          now) == (at(6, 8), at(6, 12))
    with pytest.raises(UserError, match="has not ended yet"):
        resolve_window(settings, dt.datetime(2024, 3, 6, 16, tzinfo=UTC), now)


def test_settings_refuse_a_window_that_does_not_divide_the_day():
    assert load_settings(sentiment_window_hours=6).sentiment_window_hours == 6
    with pytest.raises(UserError, match="TICKERHOUSE_SENTIMENT_WINDOW_HOURS"):
        load_settings(sentiment_window_hours=5)


def test_a_days_windows_and_the_daily_run_must_fit_the_daily_limits():
    check_day_budgets(load_settings())  # the defaults: 6 x 14 + 12 <= 100, 6 x 2 + 10 <= 25
    with pytest.raises(UserError, match=r"NEWSAPI_CALLS_PER_WINDOW=16 x 6 windows .* lower it to 14"):
        check_day_budgets(load_settings(sentiment_newsapi_calls_per_window=16))
    with pytest.raises(UserError, match="ALPHAVANTAGE"):
        # 12 windows: NewsAPI 12 x 7 + 12 fits, Alpha Vantage 12 x 2 + 10 does not.
        check_day_budgets(load_settings(sentiment_window_hours=2, sentiment_newsapi_calls_per_window=7))
    # Two keys, twice the day.
    check_day_budgets(load_settings(sentiment_newsapi_calls_per_window=30, newsapi_api_key="a,b"))


@pytest.fixture(scope="module")
def warehouse(scratch_databases):
    database = scratch_databases("th_sentiment_windows")
    ensure_tables(database)
    return database


def window(hour: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(2024, 3, 6, hour, tzinfo=UTC)
    return start, start + dt.timedelta(hours=4)


def test_a_window_spends_at_most_its_budget_across_runs(warehouse):
    limits = {"newsapi": VendorLimits(None, None, None)}
    with QuotaManager(None, warehouse, limits, {"newsapi": ["k"]}) as quota:
        first = WindowBudget(quota, warehouse, *window(12), {"newsapi": 3})
        for _ in range(2):
            first.acquire("newsapi", "everything")
        first.close()
        rerun = WindowBudget(quota, warehouse, *window(12), {"newsapi": 3})
        rerun.acquire("newsapi", "everything")
        with pytest.raises(WindowBudgetSpent, match="has spent its 3 calls") as spent:
            rerun.acquire("newsapi", "everything")
        assert isinstance(spent.value, QuotaExhausted)  # sources stop on it, keeping what they got
        with pytest.raises(WindowBudgetSpent):
            rerun.acquire("finnhub", "company_news")  # no budget at all
        rerun.close()
        assert sum(u.used for u in quota.usage_today("newsapi")) == 3


def test_a_call_the_quota_refuses_is_given_back_to_the_window(warehouse):
    limits = {"alphavantage": VendorLimits(None, None, 1)}
    with QuotaManager(None, warehouse, limits, {"alphavantage": ["k"]}) as quota:
        budget = WindowBudget(quota, warehouse, *window(16), {"alphavantage": 2})
        budget.acquire("alphavantage", "news_sentiment")
        with pytest.raises(QuotaExhausted) as refused:
            budget.acquire("alphavantage", "news_sentiment")
        assert not isinstance(refused.value, WindowBudgetSpent)
        budget.close()
    with warehouse.connect() as conn:
        assert conn.execute("select calls from ops.sentiment_window_calls where window_start = %s",
                            (window(16)[0],)).fetchone()[0] == 1


def alert(kind: str, ticker: str, hours: int) -> SentimentAlert:
    start = dt.datetime(2024, 3, 6, tzinfo=UTC) + dt.timedelta(hours=hours)
    return SentimentAlert(kind, ticker, start, start + dt.timedelta(hours=4), 6, 5.0, "scripted")


def test_one_event_alerts_once(warehouse):
    cooldown = dt.timedelta(hours=24)
    first = [alert("news_burst", "AAA", 12), alert("news_burst", "AAA", 16),
             alert("sentiment_drop", "AAA", 16), alert("news_burst", "BBB", 16)]
    raised = raise_alerts(warehouse, first, cooldown)
    assert [(a.kind, a.ticker, a.window_start.hour) for a in raised] == [
        ("news_burst", "AAA", 12), ("news_burst", "BBB", 16), ("sentiment_drop", "AAA", 16)]
    assert raise_alerts(warehouse, first, cooldown) == []  # a rerun
    # Within the cooldown of the first burst: the same event; later: a new one.
    later = raise_alerts(warehouse, [alert("news_burst", "AAA", 8 + 24), alert("news_burst", "AAA", 40)],
                         cooldown)
    assert [a.window_start.hour for a in later] == [16]
    with warehouse.connect() as conn:
        assert conn.execute("select count(*), max(occurrences) from ops.alerts").fetchone() == (4, 1)


def test_a_window_not_ended_is_a_one_line_cli_error(database):
    expected = "the window ending 2999-01-01 00:00 UTC has not ended yet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKERHOUSE_")}
    done = subprocess.run([str(TICKERHOUSE), "sentiment", "run", "--window-end", "2999-01-01T00:00"],
                          capture_output=True, text=True, timeout=120,
                          env={**env, "TICKERHOUSE_DATABASE_URL": database.url()})
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
