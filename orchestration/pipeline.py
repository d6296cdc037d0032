"""The whole daily pipeline, in order: calendar → extract → dbt → ML → cache."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestration import steps
from orchestration.vendors import choose_source
from tickerhouse import calendar
from tickerhouse.database import Database, resolve_database
from tickerhouse.errors import UserError
from tickerhouse.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    trade_date: dt.date
    source: str
    database: str
    database_url: str = ""  # for the "look at it" hint; never carries a password
    status: str = "running"  # done | skipped | failed
    rows_landed: dict[str, int] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)
    models_built: int = 0
    tests_passed: int = 0
    dbt_failures: list[str] = field(default_factory=list)
    predictions: int = 0
    cached_tickers: int | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def resolve_trade_date(requested: dt.date | None, now: dt.datetime | None = None) -> dt.date:
    """The session to process: the one asked for, else the previous NYSE session."""
    now = now or dt.datetime.now(calendar.NEW_YORK)
    if requested is None:
        return calendar.previous_session(now)
    if requested >= now.astimezone(calendar.NEW_YORK).date():
        raise UserError(f"{requested} has not closed yet: pick an earlier session")
    return requested


def run_daily(settings: Settings, trade_date: dt.date | None = None, source: str | None = None,
              *, database: Database | None = None, dbt_target_path: Path | None = None,
              quiet: bool = True) -> RunSummary:
    """Run every step for one session; `quiet` keeps dbt's log lines off stdout."""
    started = time.monotonic()
    day = resolve_trade_date(trade_date)
    chosen = choose_source(settings, source)
    database = database or resolve_database(settings)
    summary = RunSummary(trade_date=day, source=chosen, database=database.describe(),
                         database_url=database.url(with_password=False))

    if not calendar.is_session(day):
        summary.status = "skipped"
        summary.notes.append(f"{day} is not an NYSE session (weekend or holiday): nothing to do")
        return summary

    steps.prepare_warehouse(database)
    extracted = steps.extract_day(settings, database, day, chosen)
    summary.rows_landed, summary.api_calls = extracted.rows, extracted.calls
    summary.notes.extend(extracted.notes)

    dbt = steps.transform(database, dbt_target_path, quiet=quiet)
    summary.models_built = dbt.count("model", "success")
    summary.tests_passed = dbt.count("test", "pass")
    summary.dbt_failures = dbt.failures
    if not dbt.success:
        summary.status = "failed"
        summary.seconds = time.monotonic() - started
        return summary

    predicted = steps.predict(database, day)
    summary.predictions = predicted.written
    if predicted.skipped_reason:
        summary.notes.append(f"predictions skipped: {predicted.skipped_reason}")

    cached = steps.refresh_cache(settings, database, day)
    if cached is None:
        summary.notes.append("cache skipped: no Redis answers at TICKERHOUSE_REDIS_URL")
    else:
        summary.cached_tickers = cached.keys_written

    summary.status = "done"
    summary.seconds = time.monotonic() - started
    return summary
