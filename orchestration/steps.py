"""The daily pipeline's steps. `tickerhouse run` and the Airflow DAG both call these.

Every step is idempotent for its date: rerunning it changes nothing that is already right.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from psycopg import sql

from extract.deadletters import DeadLetters
from extract.http import CallLog, VendorClient, VendorError
from extract.landing import RAW_DATASET, land
from extract.planner import DayPlan, VendorPlan, plan_day
from extract.polygon import polygon
from extract.polygon.settings import GROUPED_DAILY_TABLE
from extract.quota import QuotaManager
from orchestration import ledger
from orchestration.vendors import VendorAccess, choose_source, vendor_access
from tickerhouse import alerts, calendar
from tickerhouse.database import Database
from tickerhouse.errors import UserError
from tickerhouse.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

SETUP_SQL = PROJECT_ROOT / "sql" / "timescale_setup.sql"
PREPARE_LOCK = 0x7469636B  # any constant shared by every tickerhouse process


def prepare_warehouse(database: Database) -> None:
    """Schemas, roles and the tables the steps share; safe to run before every run."""
    from ml.baseline import ensure_tables

    with database.connect(autocommit=True) as conn:
        # Concurrent runs (two workers, a CLI beside Airflow) would collide on the catalog
        # ("tuple concurrently updated" on GRANT): one prepares while the others wait.
        conn.execute("select pg_advisory_lock(%s)", (PREPARE_LOCK,))
        try:
            conn.execute(SETUP_SQL.read_text())
            ensure_tables(database)
            alerts.ensure_table(database)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (PREPARE_LOCK,))


@dataclass
class ExtractResult:
    rows: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)  # retries included
    retries: dict[str, int] = field(default_factory=dict)
    planned_calls: dict[str, int] = field(default_factory=dict)
    failed_vendors: dict[str, str] = field(default_factory=dict)
    bootstrapped_sessions: int = 0
    notes: list[str] = field(default_factory=list)
    # The exception behind each failed vendor (what an Airflow task re-raises to be retried).
    errors: dict[str, Exception] = field(default_factory=dict, repr=False)


def landed_sessions(database: Database, start: dt.date, end: dt.date) -> set[dt.date]:
    """Session dates already in raw grouped daily (the table may not exist yet)."""
    table = sql.Identifier(RAW_DATASET, GROUPED_DAILY_TABLE)
    with database.connect() as conn:
        exists = conn.execute("select to_regclass(%s) is not null",
                              (f"{RAW_DATASET}.{GROUPED_DAILY_TABLE}",)).fetchone()[0]
        if not exists:
            return set()
        rows = conn.execute(
            sql.SQL("select distinct _session_date from {} where _session_date between %s and %s")
            .format(table), (start, end)).fetchall()
    return {row[0] for row in rows}


def _index_raw(database: Database) -> None:
    """The index dlt does not make: by session (which dates are landed, what a load of a
    session replaces, and how dbt's staging reads a session).

    No unique index on the bar key: a load replaces the sessions it carries (extract.landing)
    and an answer's repeated bars are dropped before it (extract/polygon), so a key cannot land
    twice; dbt quarantines duplicates should a vendor ever send some. Such an index would double
    the cost of every load (docs/benchmarks.md)."""
    table = sql.Identifier(RAW_DATASET, GROUPED_DAILY_TABLE)
    with database.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("create index if not exists {} on {} (_session_date)").format(
            sql.Identifier(f"{GROUPED_DAILY_TABLE}__session_date_idx"), table))
        # the key indexes of earlier versions
        for name in ("__merge_key", "__bar_key"):
            conn.execute(sql.SQL("drop index if exists {}").format(
                sql.Identifier(RAW_DATASET, f"{GROUPED_DAILY_TABLE}{name}")))


# Grouped-daily sessions landed per dlt load: about two minutes of calls at the keys' rate,
# within these bounds. An interrupted backfill loses at most one load's calls, and a rerun starts
# after the last landed one; a fast key gets big loads, since each load has a fixed cost (dlt's
# bookkeeping, schema checks, connections).
SESSIONS_PER_LOAD = (10, 50)


def sessions_per_load(client: VendorClient) -> int:
    fewest, most = SESSIONS_PER_LOAD
    rate = client.quota.calls_per_minute(client.vendor)
    return most if rate is None else max(fewest, min(most, 2 * rate))


def land_grouped_daily(database: Database, client: VendorClient, sessions: list[dt.date],
                       pipelines_dir: Path,
                       on_chunk: Callable[[int], None] | None = None) -> dict[str, int]:
    """Land grouped daily for `sessions` in chunks; each chunk is committed before the next is
    fetched, so raw itself is the checkpoint a resumed run starts from. `on_chunk` hears how
    many sessions each landed chunk held (a progress bar)."""
    rows: dict[str, int] = {}
    size = sessions_per_load(client)
    for start in range(0, len(sessions), size):
        chunk = sessions[start:start + size]
        _merge_rows(rows, land(database, polygon(client, chunk), pipelines_dir).rows)
        if start == 0:
            _index_raw(database)  # as soon as the table exists, before it grows
        if on_chunk is not None:
            on_chunk(len(chunk))
    return rows


def extract(settings: Settings, database: Database, trade_date: dt.date,
            access: VendorAccess) -> ExtractResult:
    """Land grouped daily bars for `trade_date`, after any history sessions still missing.

    Dates already in raw are not fetched again: a rerun spends no calls and lands nothing.
    """
    result = ExtractResult()
    if not access.has("polygon"):
        result.notes.append("polygon: no API key, market bars not extracted")
        return result
    call_log = CallLog()
    bars_missing = _extract_market_bars(settings, database, trade_date, access, result, call_log)
    # The other vendors follow the plan, made now that the day's universe is in raw. Each lands
    # through its own pipeline: one vendor down or drifting does not stop the others.
    _extract_per_ticker(settings, database, trade_date, access, PER_TICKER_VENDORS, result,
                        call_log, bars_missing)
    return _finish_extract(database, result, call_log)


def _extract_market_bars(settings: Settings, database: Database, trade_date: dt.date,
                         access: VendorAccess, result: ExtractResult, call_log: CallLog) -> bool:
    """Polygon's part of `extract`: history still missing, then the day. Returns whether the
    day's bars are missing because Polygon failed (the others then fall back)."""
    pipelines_dir = settings.state_dir / "dlt"
    history = calendar.sessions_before(trade_date, settings.history_sessions)
    have = landed_sessions(database, history[0] if history else trade_date, trade_date)
    missing_history = [day for day in history if day not in have]

    redis_client = quota_redis(settings)
    if missing_history:
        with QuotaManager(redis_client, database, access.bootstrap_limits,
                          access.bootstrap_keys) as quota:
            client = VendorClient("polygon", access.base_urls["polygon"], quota, call_log=call_log)
            try:
                _merge_rows(result.rows, land_grouped_daily(database, client, missing_history,
                                                            pipelines_dir))
            except VendorError as exc:  # what landed stays; the next run resumes the rest
                result.failed_vendors["polygon"] = str(exc)
                result.errors["polygon"] = exc
        result.bootstrapped_sessions = len(missing_history)
        plan = "an emulated paid Polygon plan" if access.source == "emulator" else "your key"
        result.notes.append(f"bootstrapped {len(missing_history)} sessions of history "
                            f"({missing_history[0]} to {missing_history[-1]}) with {plan}")
    bars_missing = False
    if trade_date not in have:
        with QuotaManager(redis_client, database, access.limits, access.keys) as quota:
            client = VendorClient("polygon", access.base_urls["polygon"], quota, call_log=call_log)
            try:
                _merge_rows(result.rows, land_grouped_daily(database, client, [trade_date],
                                                            pipelines_dir))
            except VendorError as exc:
                # Polygon failed past its retries (or its circuit is open): the day's bars
                # fall back to Alpha Vantage's daily series for the top tickers (below).
                bars_missing = True
                result.failed_vendors["polygon"] = str(exc)
                result.errors["polygon"] = exc
                alerts.raise_alert(database, source="extract", kind="vendor_failed",
                                   subject="polygon", message=str(exc),
                                   dedupe_key=f"extract:polygon:{trade_date}:vendor_failed")
        if not bars_missing and trade_date not in landed_sessions(database, trade_date,
                                                                  trade_date):
            result.notes.append(f"polygon has no final bars for {trade_date} yet")
    else:
        result.notes.append(f"{trade_date} already landed: nothing fetched")
    result.planned_calls["polygon"] = len(missing_history) + (trade_date not in have)
    return bars_missing


def _extract_per_ticker(settings: Settings, database: Database, trade_date: dt.date,
                        access: VendorAccess, vendors: tuple[str, ...], result: ExtractResult,
                        call_log: CallLog, bars_missing: bool) -> None:
    """The per-ticker vendors' part of `extract`, each through its own pipeline, following
    the day's plan; a vendor that fails is alerted and recorded, and the next one goes on."""
    pipelines_dir = settings.state_dir / "dlt"
    dead_letters = DeadLetters(database)
    with QuotaManager(quota_redis(settings), database, access.limits, access.keys) as quota:
        plan = make_plan(settings, database, trade_date, access, quota,
                         bars_fallback=bars_missing)
        if bars_missing and plan.calls.get("alphavantage") and "alphavantage" in vendors:
            result.notes.append(f"polygon down: {trade_date}'s bars fall back to Alpha Vantage's "
                                f"daily series for {plan.calls['alphavantage']} top tickers")
        for vendor in vendors:
            vendor_plan = plan.vendors.get(vendor)
            if vendor_plan is None or vendor_plan.calls == 0:
                continue
            result.planned_calls[vendor] = vendor_plan.calls
            client = VendorClient(vendor, access.base_urls[vendor], quota, call_log=call_log)
            source = vendor_source(vendor, client, vendor_plan, trade_date, dead_letters)
            try:
                landed = land(database, source, pipelines_dir)
            except UserError as exc:  # SchemaDrift, auth errors, an open circuit
                result.failed_vendors[vendor] = str(exc)
                result.errors[vendor] = exc
                alerts.raise_alert(database, source="extract", kind=type(exc).__name__,
                                   subject=vendor, message=str(exc),
                                   dedupe_key=f"extract:{vendor}:{trade_date}:{type(exc).__name__}")
                continue
            _merge_rows(result.rows, landed.rows)
            result.notes.extend(f"{vendor}: {note}" for note in landed.notes)


def _finish_extract(database: Database, result: ExtractResult, call_log: CallLog) -> ExtractResult:
    result.calls = dict(call_log.calls)
    result.retries = {vendor: n for vendor, n in call_log.retries.items() if n}
    open_letters = len(DeadLetters(database).open())
    if open_letters:
        result.notes.append(f"{open_letters} failed request(s) kept as dead letters: "
                            "tickerhouse extract --replay-dead-letters")
    return result


def extract_vendor(settings: Settings, database: Database, trade_date: dt.date, vendor: str,
                   source: str | None = None, *, bars_fallback: bool | None = None) -> ExtractResult:
    """One vendor's part of `extract` (what one mapped Airflow task does): Polygon lands the
    market bars and their history; a per-ticker vendor follows the day's plan, made from what
    raw holds when it starts. `bars_fallback` (default: the day's bars are not in raw) sends
    Alpha Vantage's calls to the daily series of the top tickers, as after a Polygon failure.
    Failures are alerted and returned in `errors`, as in `extract`; nothing is raised for them."""
    if vendor not in ("polygon", *PER_TICKER_VENDORS):
        raise UserError(f"unknown vendor {vendor!r}: use polygon, {', '.join(PER_TICKER_VENDORS)}")
    result = ExtractResult()
    call_log = CallLog()
    with vendor_access(settings, choose_source(settings, source)) as access:
        if not access.has(vendor):
            result.notes.append(f"{vendor}: no API key, not extracted")
            return result
        if vendor == "polygon":
            _extract_market_bars(settings, database, trade_date, access, result, call_log)
        else:
            if bars_fallback is None:
                bars_fallback = trade_date not in landed_sessions(database, trade_date, trade_date)
            _extract_per_ticker(settings, database, trade_date, access, (vendor,), result,
                                call_log, bars_fallback)
    return _finish_extract(database, result, call_log)


PER_TICKER_VENDORS = ("finnhub", "alphavantage", "newsapi")


@dataclass
class ReplayResult:
    letters: dict[str, int] = field(default_factory=dict)  # open letters per vendor, before
    resolved: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    failed_vendors: dict[str, str] = field(default_factory=dict)


def replay_dead_letters(settings: Settings, database: Database,
                        source: str | None = None) -> ReplayResult:
    """Fetch every open dead letter's request again, through the source that failed it, within
    the limits; letters that now succeed are resolved, the others stay open (attempts + 1)."""
    import importlib

    dead_letters = DeadLetters(database)
    letters = dead_letters.open()
    result = ReplayResult()
    for letter in letters:
        result.letters[letter.vendor] = result.letters.get(letter.vendor, 0) + 1
    if not letters:
        return result
    call_log = CallLog()
    with vendor_access(settings, choose_source(settings, source)) as access, \
            QuotaManager(quota_redis(settings), database, access.limits, access.keys) as quota:
        for vendor in result.letters:
            if not access.has(vendor):
                result.failed_vendors[vendor] = "no API key configured"
                continue
            package = importlib.import_module(f"extract.{vendor}")
            client = VendorClient(vendor, access.base_urls[vendor], quota, call_log=call_log)
            try:
                landed = land(database, package.replay(client, letters, dead_letters),
                              settings.state_dir / "dlt")
            except UserError as exc:
                result.failed_vendors[vendor] = str(exc)
                continue
            _merge_rows(result.rows, landed.rows)
    still_open = {}
    for letter in dead_letters.open():
        still_open[letter.vendor] = still_open.get(letter.vendor, 0) + 1
    result.resolved = {vendor: count - still_open.get(vendor, 0)
                       for vendor, count in result.letters.items()}
    result.calls = dict(call_log.calls)
    return result


def vendor_source(vendor: str, client: VendorClient, plan: VendorPlan, trade_date: dt.date,
                  dead_letters: DeadLetters):
    """The dlt source that carries out one vendor's part of the plan."""
    items = {endpoint.endpoint: endpoint.items for endpoint in plan.endpoints}

    def values(endpoint: str, key: str) -> list[str]:
        return [item[key] for item in items.get(endpoint, [])]

    if vendor == "finnhub":
        from extract.finnhub import finnhub

        previous = calendar.sessions_before(trade_date, 1)[0]
        return finnhub(client, quote_symbols=values("quote", "symbol"),
                       news_symbols=values("company_news", "symbol"),
                       news_from=previous, news_to=trade_date,
                       profile_symbols=values("profile2", "symbol"),
                       metric_symbols=values("metric", "symbol"), dead_letters=dead_letters)
    if vendor == "alphavantage":
        from extract.alphavantage import alphavantage

        return alphavantage(client, daily_symbols=values("time_series_daily", "symbol"),
                            overview_symbols=values("overview", "symbol"),
                            news_symbols=values("news_sentiment", "symbol"),
                            dead_letters=dead_letters)
    if vendor == "newsapi":
        from extract.newsapi import newsapi

        return newsapi(client, queries=values("everything", "q"),
                       categories=values("top_headlines", "category"),
                       from_date=trade_date, to_date=trade_date, dead_letters=dead_letters)
    raise ValueError(f"no per-ticker source for {vendor}")


@dataclass
class BackfillResult:
    sessions: int
    already_landed: int
    rows: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


def backfill(settings: Settings, database: Database, start: dt.date, end: dt.date,
             source: str | None = None, *,
             progress: Callable[..., None] | None = None) -> BackfillResult:
    """Grouped daily for every NYSE session from `start` to `end` not yet in raw, within the
    limits of the keys used (holidays and weekends cost no call). Resumable: rerun it after an
    interruption and it fetches only what is still missing."""
    sessions = calendar.sessions_between(start, end)
    have = landed_sessions(database, start, end)
    missing = [day for day in sessions if day not in have]
    result = BackfillResult(sessions=len(sessions), already_landed=len(sessions) - len(missing))
    if not missing:
        return result
    if progress is not None:  # progress(steps, total=...): sessions landed of those missing
        progress(0, total=len(missing))
    call_log = CallLog()
    with vendor_access(settings, choose_source(settings, source)) as access:
        if not access.has("polygon"):
            raise UserError("backfill needs a Polygon key (TICKERHOUSE_POLYGON_API_KEY)")
        with QuotaManager(quota_redis(settings), database, access.bootstrap_limits,
                          access.bootstrap_keys) as quota:
            client = VendorClient("polygon", access.base_urls["polygon"], quota, call_log=call_log)
            result.rows = land_grouped_daily(database, client, missing,
                                             settings.state_dir / "dlt", on_chunk=progress)
    result.calls = dict(call_log.calls)
    return result


def latest_universe(database: Database, trade_date: dt.date) -> list[str]:
    """Tickers in the latest grouped daily landed on or before `trade_date`."""
    table = sql.Identifier(RAW_DATASET, GROUPED_DAILY_TABLE)
    with database.connect() as conn:
        if not conn.execute("select to_regclass(%s) is not null",
                            (f"{RAW_DATASET}.{GROUPED_DAILY_TABLE}",)).fetchone()[0]:
            return []
        rows = conn.execute(sql.SQL(
            'select distinct "T" from {t} where _session_date = '
            '(select max(_session_date) from {t} where _session_date <= %s) order by 1'
        ).format(t=table), (trade_date,)).fetchall()
    return [row[0] for row in rows]


def make_plan(settings: Settings, database: Database, trade_date: dt.date, access: VendorAccess,
              quota: QuotaManager, *, bars_fallback: bool = False) -> DayPlan:
    """The day's plan from what raw already holds, today's quota use and the settings."""
    history = calendar.sessions_before(trade_date, settings.history_sessions)
    have = landed_sessions(database, history[0] if history else trade_date, trade_date)
    history_plan = ("an emulated paid plan" if access.source == "emulator"
                    else "your key's plan")
    per_run = {"finnhub": settings.finnhub_calls_per_run,
               "alphavantage": settings.alphavantage_calls_per_run,
               "newsapi": settings.newsapi_calls_per_run}
    return plan_day(
        database, trade_date,
        universe=latest_universe(database, trade_date),
        history_sessions=[day for day in history if day not in have],
        day_missing=trade_date not in have,
        limits=access.limits, history_limits=access.bootstrap_limits,
        usage=quota.usage_today(), available=[v for v in access.keys if access.has(v)],
        watchlist=settings.watchlist_tickers,
        per_run=per_run, spent_for_day=ledger.calls_spent(database, trade_date),
        bars_fallback=bars_fallback,
        history_plan=history_plan,
    )


def plan_for_day(settings: Settings, database: Database, trade_date: dt.date,
                 source: str | None = None) -> DayPlan:
    """What `tickerhouse plan` prints: the plan, with nothing fetched."""
    with vendor_access(settings, choose_source(settings, source)) as access:
        with QuotaManager(quota_redis(settings), database, access.limits, access.keys) as quota:
            return make_plan(settings, database, trade_date, access, quota)


def extract_day(settings: Settings, database: Database, trade_date: dt.date,
                source: str | None = None) -> ExtractResult:
    """`extract` with the run's vendor access opened (the emulator started when it is the source)."""
    with vendor_access(settings, choose_source(settings, source)) as access:
        result = extract(settings, database, trade_date, access)
    result.notes[:0] = access.notes
    return result


def quota_redis(settings: Settings) -> redis.Redis:
    """The Redis client the quota manager coordinates through; when Redis is down the manager
    keeps its windows in Postgres instead, so this never fails."""
    return redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)


def _merge_rows(total: dict[str, int], more: dict[str, int]) -> None:
    for table, count in more.items():
        total[table] = total.get(table, 0) + count


def transform(database: Database, target_path: Path | None = None, *, quiet: bool = False):
    from orchestration.transform import build

    return build(database, target_path=target_path, quiet=quiet)


def predict(database: Database, trade_date: dt.date):
    """The champion's predictions (with its fallback chain) once a model is registered
    (`tickerhouse ml train`); the ridge baseline until then."""
    from ml.baseline import predict as baseline_predict
    from orchestration.ml_jobs import predict_day

    served = predict_day(None, database, trade_date)
    if served is not None and served.written:
        return served
    return baseline_predict(database, trade_date)


def refresh_cache(settings: Settings, database: Database, trade_date: dt.date):
    """The cache step; when no Redis answers it is skipped with a warning (returns None):
    Redis only mirrors Postgres, so nothing is lost."""
    from cache.hot import connect, refresh
    from tickerhouse.errors import ServiceUnavailable

    # The cache mirrors the warehouse's latest session (a rerun of an older `trade_date` leaves
    # it there): changed keys are invalidated, the hot tickers pre-warmed.
    try:
        client = connect(settings.redis_url)
    except ServiceUnavailable as exc:
        log.warning("cache step skipped: %s", exc)
        return None
    with client:
        return refresh(database, client, watchlist=settings.watchlist_tickers,
                       prewarm=settings.cache_prewarm_tickers)
