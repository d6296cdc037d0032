"""The day's budget plan: which calls each vendor gets, what they buy, and how long they take.

`tickerhouse plan --date D` prints it before anything is fetched; the run follows it and its
summary puts plan and actual side by side.

Priority (the same for every per-ticker endpoint): watchlist tickers first, then the rest by
market cap and dollar volume; a ticker whose data for that endpoint is stale rises, so over
successive days every ticker is refreshed even though one day's budget covers only the top.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from psycopg import sql

from extract.quota import KeyUsage, VendorLimits
from tickerhouse.database import Database

# Raw table and its ticker column per per-ticker endpoint (staleness is read from `_fetched_at`).
ENDPOINT_TABLES: dict[tuple[str, str], tuple[str, str]] = {
    ("finnhub", "quote"): ("finnhub_quotes", "symbol"),
    ("finnhub", "company_news"): ("finnhub_company_news", "related"),
    ("finnhub", "profile2"): ("finnhub_profiles", "ticker"),
    ("finnhub", "metric"): ("finnhub_metrics", "symbol"),
    ("alphavantage", "overview"): ("alphavantage_overviews", "Symbol"),
    ("alphavantage", "news_sentiment"): ("alphavantage_news_sentiment", "_symbol"),
    ("alphavantage", "time_series_daily"): ("alphavantage_daily", "symbol"),
}
# How a vendor's per-run budget is split between its endpoints (shares of the calls).
FINNHUB_SPLIT = {"quote": 0.6, "company_news": 0.2, "profile2": 0.1, "metric": 0.1}
ALPHAVANTAGE_SPLIT = {"overview": 0.5, "news_sentiment": 0.5}
# Stale data rises: each day since the last refresh is worth this many priority places.
STALENESS_WEIGHT = 250
NEWS_SECTORS = ("technology", "healthcare", "financials", "energy", "consumer", "industrials",
                "utilities", "materials", "real estate", "communication services")


@dataclass
class EndpointPlan:
    endpoint: str
    calls: int
    buys: str
    items: list[dict] = field(default_factory=list)


@dataclass
class VendorPlan:
    vendor: str
    budget: str
    endpoints: list[EndpointPlan] = field(default_factory=list)
    expected_seconds: float = 0.0
    note: str = ""

    @property
    def calls(self) -> int:
        return sum(e.calls for e in self.endpoints)


@dataclass
class DayPlan:
    trade_date: dt.date
    universe: int
    vendors: dict[str, VendorPlan] = field(default_factory=dict)

    @property
    def calls(self) -> dict[str, int]:
        return {vendor: plan.calls for vendor, plan in self.vendors.items()}


def split(calls: int, shares: Mapping[str, float]) -> dict[str, int]:
    """`calls` divided by `shares`, whole calls summing to `calls` (largest remainders first)."""
    exact = {name: calls * share / sum(shares.values()) for name, share in shares.items()}
    whole = {name: math.floor(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - whole[name], reverse=True)
    for name in by_remainder[: calls - sum(whole.values())]:
        whole[name] += 1
    return whole


def seconds_at_limits(calls: int, limits: VendorLimits) -> float:
    """Shortest wall time for `calls` back-to-back requests inside every window."""
    if calls <= 1:
        return 0.0
    spans = [(60.0, limits.per_minute), (1.0, limits.per_second)]
    return max((math.ceil(calls / limit) - 1) * window for window, limit in spans if limit) \
        if any(limit for _, limit in spans) else 0.0


def ranked_tickers(database: Database, universe: Sequence[str], watchlist: Sequence[str],
                   vendor: str, endpoint: str, as_of: dt.date) -> list[str]:
    """The tickers of `universe` still due for one endpoint, in fetch order (see the module
    docstring). A ticker fetched after `as_of` closed is not due again for that day: a rerun
    spends nothing on it."""
    dollar_volume = _dollar_volume(database, as_of)
    market_cap = _market_caps(database)
    fetched = _last_fetched(database, vendor, endpoint)
    universe = [t for t in universe if t not in fetched or fetched[t] <= as_of]
    watch = {t: i for i, t in enumerate(watchlist)}
    by_size = sorted(universe, key=lambda t: (-(market_cap.get(t) or 0.0),
                                              -(dollar_volume.get(t) or 0.0), t))
    place = {t: i for i, t in enumerate(by_size)}

    def score(ticker: str) -> tuple[int, float, str]:
        if ticker in watch:
            return (0, watch[ticker], ticker)
        last = fetched.get(ticker)
        days_stale = 365 if last is None else max(0, (as_of - last).days)
        return (1, place[ticker] - STALENESS_WEIGHT * days_stale, ticker)

    return sorted(universe, key=score)


def plan_day(database: Database, trade_date: dt.date, *, universe: Sequence[str],
             history_sessions: Sequence[dt.date], day_missing: bool,
             limits: Mapping[str, VendorLimits], history_limits: Mapping[str, VendorLimits],
             usage: Sequence[KeyUsage], available: Sequence[str], watchlist: Sequence[str],
             per_run: Mapping[str, int], spent_for_day: Mapping[str, int] | None = None,
             bars_fallback: bool = False, history_plan: str = "") -> DayPlan:
    """The plan for `trade_date`. `history_sessions` are history sessions still missing in raw,
    fetched with the keys whose limits are `history_limits` (`history_plan` names that plan);
    `day_missing` says whether the day itself is; `usage` is today's quota use per key;
    `spent_for_day` the calls earlier runs for the same `trade_date` already made, which a
    rerun does not make again (per-ticker endpoints also skip tickers fetched since the day).
    `bars_fallback`: the day's market bars could not be had from Polygon, so Alpha Vantage's
    calls go to daily series of the top tickers instead (the bars' second source)."""
    plan = DayPlan(trade_date=trade_date, universe=len(universe))
    done = spent_for_day or {}
    per_run = {vendor: max(0, budget - done.get(vendor, 0)) if vendor != "newsapi" else budget
               for vendor, budget in per_run.items()}
    spent = {}
    day_limit = {}
    for key_usage in usage:
        spent[key_usage.vendor] = spent.get(key_usage.vendor, 0) + key_usage.used
        if key_usage.limit is not None:
            day_limit[key_usage.vendor] = day_limit.get(key_usage.vendor, 0) + key_usage.limit

    def left_today(vendor: str, wanted: int) -> tuple[int, str]:
        if vendor not in day_limit:
            return wanted, f"{per_run.get(vendor, wanted)} per run"
        remaining = max(0, day_limit[vendor] - spent.get(vendor, 0))
        return min(wanted, remaining), (f"{remaining} of {day_limit[vendor]} left today, "
                                        f"{per_run.get(vendor, wanted)} per run")

    if "polygon" in available:
        vendor = VendorPlan("polygon", _rate(limits["polygon"]))
        if history_sessions:
            vendor.endpoints.append(EndpointPlan(
                "grouped_daily_history", len(history_sessions),
                f"history: the whole market's OHLCV for {len(history_sessions)} sessions, "
                f"{history_sessions[0]} to {history_sessions[-1]}"
                + (f" ({history_plan})" if history_plan else ""),
                [{"date": d.isoformat()} for d in history_sessions]))
            vendor.expected_seconds += seconds_at_limits(len(history_sessions),
                                                         history_limits["polygon"])
        if day_missing:
            vendor.endpoints.append(EndpointPlan(
                "grouped_daily", 1, f"the whole market's OHLCV for {trade_date}",
                [{"date": trade_date.isoformat()}]))
        if not vendor.endpoints:
            vendor.note = f"{trade_date} and its history are already landed"
        plan.vendors["polygon"] = vendor

    # Before the day's bars land the universe is unknown: the calls are planned, the tickers
    # are ranked when the run re-plans after Polygon.
    size = len(universe) if universe else None

    if "finnhub" in available:
        calls, budget = left_today("finnhub", per_run.get("finnhub", 0))
        vendor = VendorPlan("finnhub", f"{_rate(limits['finnhub'])}; {budget}")
        for endpoint, share in split(calls, FINNHUB_SPLIT).items():
            n = share if size is None else min(size, share)
            tickers = ranked_tickers(database, universe, watchlist, "finnhub", endpoint,
                                     trade_date)[:n]
            vendor.endpoints.append(EndpointPlan(
                endpoint, n, f"{_FINNHUB_BUYS[endpoint]} for the top {n} tickers",
                [{"symbol": t} for t in tickers]))
        vendor.expected_seconds = seconds_at_limits(vendor.calls, limits["finnhub"])
        plan.vendors["finnhub"] = vendor

    if "alphavantage" in available:
        calls, budget = left_today("alphavantage", per_run.get("alphavantage", 0))
        vendor = VendorPlan("alphavantage", budget)
        shares = {"time_series_daily": 1.0} if bars_fallback else ALPHAVANTAGE_SPLIT
        for endpoint, share in split(calls, shares).items():
            n = share if size is None else min(size, share)
            tickers = ranked_tickers(database, universe, watchlist, "alphavantage", endpoint,
                                     trade_date)[:n]
            vendor.endpoints.append(EndpointPlan(
                endpoint, n, f"{_AV_BUYS[endpoint]} for {n} top-priority tickers",
                [{"symbol": t} for t in tickers]))
        plan.vendors["alphavantage"] = vendor

    if "newsapi" in available:
        # One request per query, in a fixed order: a rerun of the day skips the ones made.
        queries = [("top_headlines", {"category": "business"})] + [
            ("everything", {"q": f"{sector} stocks"}) for sector in NEWS_SECTORS]
        queries = queries[: per_run.get("newsapi", 0)][done.get("newsapi", 0):]
        calls, budget = left_today("newsapi", len(queries))
        vendor = VendorPlan("newsapi", budget)
        for endpoint, buys in (("top_headlines", "US business headlines"),
                               ("everything", "market news for {n} sectors")):
            items = [item for name, item in queries[:calls] if name == endpoint]
            if items:
                vendor.endpoints.append(EndpointPlan(endpoint, len(items),
                                                     buys.format(n=len(items)), items))
        plan.vendors["newsapi"] = vendor
    return plan


_FINNHUB_BUYS = {"quote": "latest quotes", "company_news": "company news",
                 "profile2": "profiles (sector, market cap)", "metric": "fundamental metrics"}
_AV_BUYS = {"overview": "fundamentals overviews", "news_sentiment": "news with sentiment scores",
            "time_series_daily": "daily bars (standing in for Polygon's)"}


def _rate(limits: VendorLimits) -> str:
    parts = [f"{limits.per_second}/s" if limits.per_second else "",
             f"{limits.per_minute}/min" if limits.per_minute else "",
             f"{limits.per_day}/day" if limits.per_day else ""]
    return " + ".join(p for p in parts if p) or "no limit"


def _table_exists(conn, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"raw.{table}",)).fetchone()[0]


def _dollar_volume(database: Database, as_of: dt.date) -> dict[str, float]:
    with database.connect() as conn:
        if not _table_exists(conn, "polygon_grouped_daily"):
            return {}
        rows = conn.execute(
            'select "T", c * v from raw.polygon_grouped_daily where _session_date = '
            '(select max(_session_date) from raw.polygon_grouped_daily where _session_date <= %s)',
            (as_of,)).fetchall()
    return {ticker: value or 0.0 for ticker, value in rows}


def _market_caps(database: Database) -> dict[str, float]:
    with database.connect() as conn:
        if not _table_exists(conn, "finnhub_profiles"):
            return {}
        rows = conn.execute('select ticker, max("marketCapitalization") from raw.finnhub_profiles '
                            'group by ticker').fetchall()
    return {ticker: value or 0.0 for ticker, value in rows}


def _last_fetched(database: Database, vendor: str, endpoint: str) -> dict[str, dt.date]:
    table, column = ENDPOINT_TABLES.get((vendor, endpoint), (None, None))
    if table is None:
        return {}
    with database.connect() as conn:
        if not _table_exists(conn, table):
            return {}
        rows = conn.execute(sql.SQL("select {col}, max(_fetched_at)::date from {table} group by 1")
                            .format(col=sql.Identifier(column),
                                    table=sql.Identifier("raw", table))).fetchall()
    return {ticker: day for ticker, day in rows}
