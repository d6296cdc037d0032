"""The whole daily pipeline, in order: calendar → extract → dbt → ML → cache."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestration import ledger, steps
from orchestration.vendors import choose_source
from tickerhouse import calendar
from tickerhouse.database import Database, resolve_database
from tickerhouse.errors import UserError
from tickerhouse.settings import Settings

log = logging.getLogger(__name__)

PIPELINE = "daily_stock_pipeline"


@dataclass
class RunSummary:
    trade_date: dt.date
    source: str
    database: str
    database_url: str = ""  # for the "look at it" hint; never carries a password
    status: str = "running"  # done | skipped | failed
    rows_landed: dict[str, int] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)  # retries included
    api_retries: dict[str, int] = field(default_factory=dict)
    planned_calls: dict[str, int] = field(default_factory=dict)
    failed_vendors: dict[str, str] = field(default_factory=dict)
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
    """Run every step for one session, each recorded in the run ledger; `quiet` keeps dbt's
    log lines off stdout."""
    started = time.monotonic()
    day = resolve_trade_date(trade_date)
    chosen = choose_source(settings, source)
    database = database or resolve_database(settings)
    summary = RunSummary(trade_date=day, source=chosen, database=database.describe(),
                         database_url=database.url(with_password=False))
    ledger.ensure_tables(database)
    run_id = ledger.start_run(database, PIPELINE, day, trigger="cli")
    try:
        _run_steps(settings, database, day, chosen, summary, run_id, dbt_target_path, quiet)
    except BaseException:
        ledger.finish_run(database, run_id, "failed")
        raise
    summary.seconds = time.monotonic() - started
    ledger.finish_run(database, run_id, summary.status,
                      {"rows": summary.rows_landed, "calls": summary.api_calls,
                       "predictions": summary.predictions, "seconds": round(summary.seconds, 1)})
    return summary


def _run_steps(settings: Settings, database: Database, day: dt.date, source: str,
               summary: RunSummary, run_id: str, dbt_target_path: Path | None,
               quiet: bool) -> None:
    with ledger.step(database, run_id, "check_calendar") as record:
        if not calendar.is_session(day):
            summary.status = "skipped"
            summary.notes.append(f"{day} is not an NYSE session (weekend or holiday): "
                                 "nothing to do")
            record.skip("not a session")
            return

    steps.prepare_warehouse(database)
    with ledger.step(database, run_id, "extract") as record:
        extracted = steps.extract_day(settings, database, day, source)
        summary.rows_landed, summary.api_calls = extracted.rows, extracted.calls
        summary.api_retries = extracted.retries
        summary.planned_calls, summary.failed_vendors = (extracted.planned_calls,
                                                         extracted.failed_vendors)
        summary.notes.extend(extracted.notes)
        record.details.update(rows=extracted.rows, calls=extracted.calls,
                              retries=extracted.retries, planned_calls=extracted.planned_calls,
                              failed_vendors=extracted.failed_vendors, notes=extracted.notes)

    with ledger.step(database, run_id, "transform") as record:
        dbt = steps.transform(database, dbt_target_path, quiet=quiet)
        summary.models_built = dbt.count("model", "success")
        summary.tests_passed = dbt.count("test", "pass")
        summary.dbt_failures = dbt.failures
        record.details.update(models=summary.models_built, tests=summary.tests_passed,
                              failures=dbt.failures)
        if not dbt.success:
            record.status = "failed"
            summary.status = "failed"
            return

    with ledger.step(database, run_id, "predict") as record:
        predicted = steps.predict(database, day)
        summary.predictions = predicted.written
        record.details.update(predictions=predicted.written, model=predicted.model,
                              run_id=predicted.run_id)
        if predicted.skipped_reason:
            summary.notes.append(f"predictions skipped: {predicted.skipped_reason}")
            record.skip(predicted.skipped_reason)

    with ledger.step(database, run_id, "refresh_cache") as record:
        cached = steps.refresh_cache(settings, database, day)
        if cached is None:
            summary.notes.append("cache skipped: no Redis answers at TICKERHOUSE_REDIS_URL")
            record.skip("no Redis")
        else:
            summary.cached_tickers = cached.tickers
            record.details.update(tickers=cached.tickers, keys_written=cached.keys_written)
    summary.status = "done"
