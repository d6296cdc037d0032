"""What the Airflow DAGs share: the sessions a run is for, the ledger wiring of each task, the
vendor pools' names, how failures are classified, and the failure and deadline callbacks.

Kept out of `dags/` so DAG files stay configuration, and importable by module path (Airflow
needs that for callbacks). Heavy imports stay inside the functions: the scheduler parses DAG
files often.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from airflow.sdk import Asset

log = logging.getLogger(__name__)

# What the daily DAG's dbt task produces and `ml_retrain` is scheduled on; the URI names the
# warehouse table (its host is nominal).
CURATED_DAILY_BARS = Asset(name="curated.fct_daily_bars",
                           uri="postgres://warehouse:5432/tickerhouse/curated/fct_daily_bars")

POOL_PREFIX = "tickerhouse_"
# A runtime switch operators flip in the UI (a JSON list, e.g. ["newsapi"]) to stop calling a
# misbehaving vendor without a deploy; `tickerhouse airflow setup` creates it empty.
PAUSED_VENDORS_VARIABLE = "tickerhouse_paused_vendors"
# The daily run must be done this long after its 06:00 ET schedule (07:30 ET).
DAILY_DEADLINE = dt.timedelta(minutes=90)


def vendor_pool(vendor: str) -> str:
    """The Airflow pool every extraction of `vendor` runs in (sized by `airflow_setup`)."""
    return f"{POOL_PREFIX}{vendor}"


def run_sessions(params: Mapping[str, Any] | None, logical_date: dt.datetime | None
                 ) -> tuple[list[dt.date], dt.date]:
    """The NYSE sessions a daily run processes, and the first day asked for.

    Scheduled: the weekday before the run. `trade_date`: that day. `trade_date` + `end_date`:
    every session between them (a backfill in one run). Empty on a holiday or weekend."""
    from tickerhouse import calendar
    from tickerhouse.errors import UserError

    params = params or {}
    if params.get("trade_date"):
        start = calendar.parse_date(params["trade_date"])
    elif params.get("end_date"):
        raise UserError("end_date needs a trade_date to start from")
    else:
        start = calendar.scheduled_trade_date(logical_date)
    if params.get("end_date"):
        end = calendar.parse_date(params["end_date"])
        return calendar.sessions_between(start, end), start
    return ([start] if calendar.is_session(start) else []), start


def _run_id(dag_id: str, run_id: str, day: dt.date | str) -> str:
    return f"airflow:{dag_id}:{run_id}:{day}"


def ledger_run_id(context: Mapping[str, Any], day: dt.date | str) -> str:
    """One ledger run per session of a DAG run, so that per-date bookkeeping (what a rerun of
    the date already spent) holds for backfill runs too."""
    dag_run = context["dag_run"]
    return _run_id(dag_run.dag_id, dag_run.run_id, day)


def warehouse():
    from orchestration import ledger
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    settings = load_settings()
    database = resolve_database(settings)
    ledger.ensure_tables(database)
    return settings, database


@contextlib.contextmanager
def recorded_step(context: Mapping[str, Any], name: str, day: dt.date | str
                  ) -> Iterator[tuple[Any, Any, Any]]:
    """(settings, database, ledger record) for a task, its work recorded as one ledger step of
    the session's run."""
    from orchestration import ledger

    settings, database = warehouse()
    with ledger.step(database, ledger_run_id(context, day), name) as record:
        yield settings, database, record


def start_runs(context: Mapping[str, Any], pipeline: str, days: list[dt.date]) -> None:
    from orchestration import ledger

    _, database = warehouse()
    for day in days:
        ledger.start_run(database, pipeline, day, trigger="airflow",
                         run_id=ledger_run_id(context, day))


def finish_runs(context: Mapping[str, Any], days: list[dt.date | str], status: str,
                details: dict | None = None) -> None:
    from orchestration import ledger

    _, database = warehouse()
    for day in days:
        ledger.finish_run(database, ledger_run_id(context, day), status, details)


@contextlib.contextmanager
def own_working_dir(settings, context: Mapping[str, Any]) -> Iterator[Any]:
    """`settings` with a state folder of this task instance's own, for dlt's working files:
    a pipeline folder is not safe to share between processes, and a pool with room runs two
    extractions of one vendor at once. dlt restores the pipeline's state from `raw`, and loads
    into `raw` are serialized by the landing lock. Removed once the task succeeded; kept for a
    retry (which finishes a pending load package) otherwise."""
    import re
    import shutil

    ti = context["ti"]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{ti.run_id}/{ti.task_id}.{ti.map_index}")
    folder = settings.state_dir / "airflow_tasks" / ti.dag_id / name
    yield settings.model_copy(update={"state_dir": folder})
    shutil.rmtree(folder, ignore_errors=True)


def paused_vendors() -> list[str]:
    """The vendors operators paused through the Airflow variable (runtime only, never at parse)."""
    from airflow.sdk import Variable

    value = Variable.get(PAUSED_VENDORS_VARIABLE, default="[]")
    try:
        paused = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        paused = [part.strip() for part in str(value).split(",")]
    return [str(vendor).strip().lower() for vendor in paused or [] if str(vendor).strip()]


# Failures worth another try: the vendor kept failing or throttling, its circuit was open, a
# service did not answer. Everything else a step raises on purpose is a data contract or a
# setting that a retry cannot fix.
TRANSIENT_VENDOR_KINDS = frozenset({"transient", "throttled", "circuit_open"})


def is_transient(exc: BaseException) -> bool:
    from extract.http import VendorError
    from extract.quota import QuotaTimeout
    from extract.raw_schema import SchemaDrift
    from tickerhouse.errors import ServiceUnavailable, UserError

    if isinstance(exc, SchemaDrift):
        return False
    if isinstance(exc, VendorError):
        return exc.kind in TRANSIENT_VENDOR_KINDS
    if isinstance(exc, ServiceUnavailable | QuotaTimeout):
        return True
    return not isinstance(exc, UserError)  # unexpected errors keep Airflow's retries


@contextlib.contextmanager
def fail_fast_on_contract_errors() -> Iterator[None]:
    """Data-contract failures (schema drift, bad settings, auth) fail the task at once, with
    no retry; transient ones propagate and get the retries with exponential backoff."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except AirflowFailException:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def post_webhook(url: str | None, payload: dict[str, Any]) -> bool:
    """POST an alert as JSON (Slack-compatible `text` plus the fields); never raises."""
    if not url:
        return False
    import requests

    try:
        response = requests.post(url, json=payload, timeout=10)
        response.raise_for_status()
        return True
    except requests.RequestException as exc:
        log.warning("alert webhook failed: %s", type(exc).__name__)  # the URL may hold a token
        return False


def notify(*, kind: str, subject: str, message: str, dedupe_key: str) -> None:
    """An `ops.alerts` row, a log line, and the webhook when one is configured."""
    from tickerhouse import alerts

    settings, database = warehouse()
    alerts.ensure_table(database)
    alerts.raise_alert(database, source="airflow", kind=kind, subject=subject, message=message,
                       dedupe_key=dedupe_key)
    post_webhook(settings.alert_webhook_url,
                 {"text": f"tickerhouse {kind}: {subject}: {message}", "source": "airflow",
                  "kind": kind, "subject": subject, "message": message})


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Failure callback: an alert (deduplicated per task and run), and the sessions' ledger
    runs marked failed."""
    task_instance = context.get("task_instance")
    task_id = getattr(task_instance, "task_id", "?")
    map_index = getattr(task_instance, "map_index", -1)
    label = task_id if map_index is None or map_index < 0 else f"{task_id}[{map_index}]"
    exception = context.get("exception")
    message = f"{type(exception).__name__}: {exception}" if exception else "task failed"
    dag_run = context["dag_run"]
    try:
        notify(kind="task_failed", subject=f"{dag_run.dag_id}.{label}", message=message,
               dedupe_key=f"airflow:{dag_run.dag_id}:{dag_run.run_id}:{label}")
        if dag_run.dag_id == "daily_stock_pipeline":  # the DAG that keeps the run ledger
            days, _ = run_sessions(context.get("params"), getattr(dag_run, "logical_date", None))
            finish_runs(context, days, "failed")
    except Exception:  # a callback must never hide the original failure
        log.exception("could not record the failure of %s", label)


def on_deadline_missed(context: dict[str, Any], pipeline: str, deadline: str) -> None:
    """Deadline callback (Airflow 3's replacement for SLAs): the run is still not done."""
    dag_run = context.get("dag_run") or {}
    run_id = dag_run.get("run_id", "?")
    due = (context.get("deadline") or {}).get("deadline_time")
    message = (f"run {run_id} is not done by {deadline}"
               + (f" (deadline {due})" if due else "") + f"; state {dag_run.get('state', '?')}")
    notify(kind="deadline_missed", subject=pipeline, message=message,
           dedupe_key=f"airflow:{pipeline}:{run_id}:deadline")


def validate_session(database, day: dt.date) -> dict[str, int]:
    """The contract between extraction and dbt: raw holds `day`'s market bars (Polygon's, or
    Alpha Vantage's fallback series) and Polygon's universe did not collapse against the
    session before. Returns rows per raw table for the day; raises `UserError` otherwise."""
    from extract.landing import RAW_DATASET
    from tickerhouse import calendar
    from tickerhouse.errors import UserError

    checks = {"polygon_grouped_daily": "_session_date = %s",
              "alphavantage_daily": "date = %s::text"}
    counts: dict[str, int] = {}
    previous = None
    with database.connect() as conn:
        for table, condition in checks.items():
            if conn.execute("select to_regclass(%s)", (f"{RAW_DATASET}.{table}",)).fetchone()[0]:
                counts[table] = conn.execute(
                    f"select count(*) from {RAW_DATASET}.{table} where {condition}",
                    (day,)).fetchone()[0]
        if counts.get("polygon_grouped_daily"):
            before = calendar.sessions_before(day, 1)[0]
            previous = conn.execute(
                f"select count(*) from {RAW_DATASET}.polygon_grouped_daily "
                "where _session_date = %s", (before,)).fetchone()[0]
    if not counts.get("polygon_grouped_daily") and not counts.get("alphavantage_daily"):
        raise UserError(f"raw holds no market bars for {day} (neither Polygon's grouped daily "
                        "nor Alpha Vantage's fallback): dbt would publish a day without prices")
    if previous and counts["polygon_grouped_daily"] < 0.5 * previous:
        raise UserError(f"raw holds {counts['polygon_grouped_daily']} bars for {day} against "
                        f"{previous} the session before: a truncated payload, not loaded further")
    return counts
