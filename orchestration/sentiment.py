"""The news sentiment pipeline, run every `sentiment_window_hours` (4) by Airflow's
sentiment_pipeline DAG and by `tickerhouse sentiment run`: collect news, land it in raw,
deduplicate and score what is new, aggregate per ticker and sector and window, alert.

Collection spends a budget per window and vendor (`sentiment_<vendor>_calls_per_window`): NewsAPI
market headlines and sector searches, Finnhub company news for the priority tickers (watchlist,
then by size, as the daily planner ranks them), Alpha Vantage NEWS_SENTIMENT for tickers it has
not fetched today. Every call still goes through the quota manager (its per-second, per-minute
and per-day limits are shared with the daily run and every other process); the window's budget
is a cap on top, kept in `ops.sentiment_window_calls` so that reruns of a window share it, and
checked against the day: windows a day x budget + the daily run's budget must fit the day limit.
A vendor whose collection for the window finished is not asked again by a rerun.

Each run re-reads `sentiment_lookback_hours` of raw news, not only its own window: articles
arrive late (NewsAPI's free plan is a day behind; Finnhub's feed lags), and late ones are scored
and counted in the window they were published in. Articles already scored by the scorer's
version are not scored again, and unchanged windows are not rewritten.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from extract.http import CallLog, VendorClient
from extract.landing import land
from extract.planner import NEWS_SECTORS, ranked_tickers
from extract.quota import Lease, QuotaError, QuotaExhausted, QuotaManager
from orchestration.steps import latest_universe, quota_redis
from orchestration.vendors import VendorAccess, choose_source, vendor_access
from tickerhouse import alerts
from tickerhouse.database import Database
from tickerhouse.errors import UserError
from tickerhouse.settings import Settings

log = logging.getLogger(__name__)

NEWS_VENDORS = ("newsapi", "finnhub", "alphavantage")

DDL = """
create schema if not exists ops;
create table if not exists ops.sentiment_window_calls (
    window_start  timestamptz not null,
    vendor        text not null,
    calls         integer not null default 0,  -- counted before each request, reruns included
    collected_at  timestamptz,                 -- the vendor's collection finished
    primary key (window_start, vendor)
);
"""

# One call reserved against the window's budget, or no row when it is spent.
_RESERVE = """
insert into ops.sentiment_window_calls as c (window_start, vendor, calls) values (%s, %s, 1)
on conflict (window_start, vendor) do update set calls = c.calls + 1 where c.calls < %s
returning c.calls
"""


@dataclass
class SentimentWindowResult:
    window_start: dt.datetime
    window_end: dt.datetime
    source: str
    budgets: dict[str, int]
    calls: dict[str, int] = field(default_factory=dict)  # made by this run
    window_calls: dict[str, int] = field(default_factory=dict)  # by every run of the window
    rows_landed: dict[str, int] = field(default_factory=dict)
    failed_vendors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scorer: str = ""
    news_items: int = 0  # vendor copies read from raw over the lookback
    articles: int = 0  # distinct articles among them
    new_articles: int = 0
    scored: int = 0  # scores this run wrote (0 on a rerun)
    ticker_windows: int = 0  # window rows written or removed
    sector_windows: int = 0
    alerts: list = field(default_factory=list)  # SentimentAlerts raised by this run


class WindowBudgetSpent(QuotaExhausted):
    """The window has spent its calls for the vendor (a spent quota to the sources: they stop
    and keep what they fetched)."""

    def __init__(self, vendor: str, budget: int, window_start: dt.datetime,
                 window_end: dt.datetime) -> None:
        QuotaError.__init__(self, vendor, (
            f"{vendor}: the sentiment window from {window_start:%Y-%m-%d %H:%M} UTC has spent "
            f"its {budget} calls (TICKERHOUSE_SENTIMENT_{vendor.upper()}_CALLS_PER_WINDOW)"))
        self.resets_at = window_end


class WindowBudget:
    """The quota manager with the window's cap in front: a call is first counted against the
    window's budget (one guarded upsert, so concurrent runs of a window share it), then its key
    is acquired from the quota manager, which keeps every vendor limit. A call the quota manager
    refuses is given back to the window."""

    def __init__(self, quota: QuotaManager, database: Database, window_start: dt.datetime,
                 window_end: dt.datetime, budgets: dict[str, int]):
        self._quota, self._budgets = quota, budgets
        self._start, self._end = window_start, window_end
        self._conn = database.connect(autocommit=True)

    def acquire(self, vendor: str, endpoint: str, *, timeout: float | None = None) -> Lease:
        budget = self._budgets.get(vendor, 0)
        if budget <= 0 or self._conn.execute(_RESERVE, (self._start, vendor, budget)).fetchone() is None:
            raise WindowBudgetSpent(vendor, budget, self._start, self._end)
        try:
            return self._quota.acquire(vendor, endpoint, timeout=timeout)
        except BaseException:
            self._conn.execute("update ops.sentiment_window_calls set calls = calls - 1 "
                               "where window_start = %s and vendor = %s", (self._start, vendor))
            raise

    def mark_throttled(self, *args, **kwargs) -> None:
        self._quota.mark_throttled(*args, **kwargs)

    def close(self) -> None:
        self._conn.close()


def ensure_tables(database: Database) -> None:
    from ml.sentiment.store import ensure_tables as ensure_store
    from ml.sentiment.windows import ensure_tables as ensure_windows

    with database.connect(autocommit=True) as conn:
        conn.execute(DDL)
    ensure_store(database)
    ensure_windows(database)
    alerts.ensure_table(database)


def window_budgets(settings: Settings) -> dict[str, int]:
    return {vendor: getattr(settings, f"sentiment_{vendor}_calls_per_window")
            for vendor in NEWS_VENDORS}


def check_day_budgets(settings: Settings) -> None:
    """A day's windows and the daily run must fit each vendor's daily limit (per key)."""
    windows = 24 // settings.sentiment_window_hours
    for vendor in ("newsapi", "alphavantage"):
        per_day = settings.limits(vendor).get("day")
        if per_day is None:
            continue
        keys = max(1, len(settings.api_keys(vendor)))
        per_window = getattr(settings, f"sentiment_{vendor}_calls_per_window")
        daily = getattr(settings, f"{vendor}_calls_per_run")
        if windows * per_window + daily > per_day * keys:
            raise UserError(
                f"TICKERHOUSE_SENTIMENT_{vendor.upper()}_CALLS_PER_WINDOW={per_window} x {windows} "
                f"windows a day + the daily run's {daily} is more than {vendor}'s {per_day * keys} "
                f"calls a day: lower it to {max(0, (per_day * keys - daily) // windows)} or less")


def resolve_window(settings: Settings, window_end: dt.datetime | None,
                   now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the window ending at `window_end` (moved back onto the window grid), by
    default the last window that has ended."""
    from ml.sentiment.windows import window_floor

    hours = settings.sentiment_window_hours
    now = now or dt.datetime.now(dt.UTC)
    if window_end is None:
        window_end = now
    elif window_end.tzinfo is None:
        window_end = window_end.replace(tzinfo=dt.UTC)
    end = window_floor(window_end, hours)
    if end > now:
        raise UserError(f"the window ending {end:%Y-%m-%d %H:%M} UTC has not ended yet")
    return end - dt.timedelta(hours=hours), end


def priority_tickers(settings: Settings, database: Database, vendor: str, endpoint: str,
                     *, rotate: bool) -> list[str]:
    """Tickers in the daily planner's order (watchlist, then size, stale data rising). With
    `rotate`, tickers this endpoint fetched today are left out, so a day's windows take turns."""
    today = dt.datetime.now(dt.UTC).date()  # `_fetched_at` is the real time of the fetch
    universe = latest_universe(database, today)
    candidates = list(dict.fromkeys(settings.watchlist_tickers + universe))
    return ranked_tickers(database, candidates, settings.watchlist_tickers, vendor, endpoint,
                          today - dt.timedelta(days=1) if rotate else today)


def news_source(vendor: str, client: VendorClient, settings: Settings, database: Database,
                start: dt.date, end: dt.date, calls: int):
    """The dlt source (news resource only) that spends up to `calls` on one vendor's news."""
    if vendor == "newsapi":
        from extract.newsapi import newsapi

        # Market headlines first, then one search per sector (one call each at 100 results).
        queries = [f"{sector} stocks" for sector in NEWS_SECTORS][:max(0, calls - 1)]
        return newsapi(client, queries=queries, categories=["business"], from_date=start,
                       to_date=end)
    if vendor == "finnhub":
        from extract.finnhub import finnhub
        from extract.finnhub.settings import COMPANY_NEWS

        symbols = priority_tickers(settings, database, "finnhub", "company_news", rotate=False)
        return finnhub(client, news_symbols=symbols[:calls], news_from=start,
                       news_to=end).with_resources(COMPANY_NEWS.name)
    if vendor == "alphavantage":
        from extract.alphavantage import alphavantage
        from extract.alphavantage.settings import NEWS_SENTIMENT

        symbols = priority_tickers(settings, database, "alphavantage", "news_sentiment",
                                   rotate=True)
        return alphavantage(client, news_symbols=symbols[:calls]).with_resources(
            NEWS_SENTIMENT.name)
    raise ValueError(f"no news source for {vendor}")


def collect(settings: Settings, database: Database, access: VendorAccess,
            result: SentimentWindowResult, lookback_start: dt.datetime) -> None:
    """Land each vendor's news for the window within its budget; a vendor that fails is
    reported (and alerted) while the others land."""
    call_log = CallLog()
    with database.connect() as conn:
        state = {vendor: (calls, collected) for vendor, calls, collected in conn.execute(
            "select vendor, calls, collected_at from ops.sentiment_window_calls "
            "where window_start = %s", (result.window_start,)).fetchall()}
    pipelines_dir = Path(settings.state_dir) / "dlt-sentiment"
    with QuotaManager(quota_redis(settings), database, access.limits, access.keys) as quota:
        budget = WindowBudget(quota, database, result.window_start, result.window_end,
                              result.budgets)
        try:
            for vendor in NEWS_VENDORS:
                spent, collected = state.get(vendor, (0, None))
                left = result.budgets[vendor] - spent
                if not access.has(vendor):
                    result.notes.append(f"{vendor}: no API key, no news collected")
                    continue
                if collected is not None:
                    result.notes.append(f"{vendor}: collected for this window at "
                                        f"{collected:%Y-%m-%d %H:%M} UTC, not asked again")
                    continue
                if left <= 0:
                    result.notes.append(f"{vendor}: the window's {result.budgets[vendor]} calls "
                                        "are spent")
                    continue
                client = VendorClient(vendor, access.base_urls[vendor], budget,  # type: ignore[arg-type]
                                      call_log=call_log)
                source = news_source(vendor, client, settings, database, lookback_start.date(),
                                     result.window_end.date(), left)
                try:
                    landed = land(database, source, pipelines_dir)
                except UserError as exc:  # SchemaDrift, auth errors, an open circuit
                    result.failed_vendors[vendor] = str(exc)
                    alerts.raise_alert(database, source="sentiment", kind=type(exc).__name__,
                                       subject=vendor, message=str(exc),
                                       dedupe_key=f"sentiment:{vendor}:"
                                                  f"{result.window_start:%Y%m%dT%H%MZ}:{type(exc).__name__}")
                    continue
                for table, rows in landed.rows.items():
                    result.rows_landed[table] = result.rows_landed.get(table, 0) + rows
                result.notes.extend(f"{vendor}: {note}" for note in landed.notes)
                if not any("stopped after" in note for note in landed.notes):
                    with database.connect(autocommit=True) as conn:
                        conn.execute(
                            "insert into ops.sentiment_window_calls (window_start, vendor, "
                            "collected_at) values (%s, %s, now()) on conflict (window_start, vendor) "
                            "do update set collected_at = now()", (result.window_start, vendor))
        finally:
            budget.close()
    result.calls = dict(call_log.calls)


def run_sentiment_window(settings: Settings, database: Database, source: str | None = None,
                         window_end: dt.datetime | None = None) -> SentimentWindowResult:
    """Collect, land, score, aggregate and alert for the window ending at `window_end` (default:
    the last one that has ended). Rerunning a window spends no call already spent, scores
    nothing twice and raises no alert twice."""
    from ml.sentiment.config import SentimentConfig
    from ml.sentiment.scorers import load_scorer
    from ml.sentiment.store import score_window
    from ml.sentiment.windows import (
        AlertRules,
        aggregate_windows,
        find_alerts,
        raise_alerts,
        window_floor,
    )

    start, end = resolve_window(settings, window_end)
    check_day_budgets(settings)
    hours = settings.sentiment_window_hours
    lookback_start = window_floor(end - dt.timedelta(hours=settings.sentiment_lookback_hours), hours)
    try:
        ensure_tables(database)
    except psycopg.OperationalError as exc:
        raise UserError(f"cannot reach the warehouse at {database.describe()}: "
                        f"{str(exc).strip().splitlines()[-1]}") from None
    chosen = choose_source(settings, source)
    result = SentimentWindowResult(window_start=start, window_end=end, source=chosen,
                                   budgets=window_budgets(settings))
    with vendor_access(settings, chosen) as access:
        result.notes.extend(access.notes)
        collect(settings, database, access, result, lookback_start)
    with database.connect() as conn:
        result.window_calls = dict(conn.execute(
            "select vendor, calls from ops.sentiment_window_calls where window_start = %s",
            (start,)).fetchall())

    scorer = load_scorer(SentimentConfig.from_settings(settings))
    scoring = score_window(database, lookback_start, end, scorer=scorer)
    result.scorer = scoring.scorer
    result.news_items, result.articles = scoring.records, scoring.articles
    result.new_articles, result.scored = scoring.new_articles, scoring.scored

    aggregated = aggregate_windows(database, scorer.name, scorer.version, lookback_start, end, hours)
    result.ticker_windows, result.sector_windows = aggregated.ticker_rows, aggregated.sector_rows
    rules = AlertRules.from_settings(settings)
    found = find_alerts(database, scorer.name, scorer.version, lookback_start, end, rules)
    result.alerts = raise_alerts(database, found, rules.cooldown)
    log.info("sentiment window %s to %s: calls %s, %d scored, %d alerts", start, end, result.calls,
             result.scored, len(result.alerts))
    return result
