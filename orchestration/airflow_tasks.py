"""What the Airflow DAGs share: the ledger wiring of each task, and the failure callback.

Kept out of `dags/` so DAG files stay configuration, and importable by module path (Airflow
needs that for callbacks). Heavy imports stay inside the functions: the scheduler parses DAG
files often.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)


def ledger_run_id(context: dict[str, Any]) -> str:
    dag_run = context["dag_run"]
    return f"airflow:{dag_run.dag_id}:{dag_run.run_id}"


@contextlib.contextmanager
def recorded_step(context: dict[str, Any], name: str) -> Iterator[tuple[Any, Any, Any]]:
    """(settings, database, ledger record) for a task, its work recorded as one ledger step."""
    from orchestration import ledger
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    settings = load_settings()
    database = resolve_database(settings)
    ledger.ensure_tables(database)
    run_id = ledger_run_id(context)
    with ledger.step(database, run_id, name) as record:
        yield settings, database, record


def start_run(context: dict[str, Any], trade_date) -> None:
    from orchestration import ledger
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    database = resolve_database(load_settings())
    ledger.ensure_tables(database)
    ledger.start_run(database, context["dag_run"].dag_id, trade_date, trigger="airflow",
                     run_id=ledger_run_id(context))


def finish_run(context: dict[str, Any], status: str, details: dict | None = None) -> None:
    from orchestration import ledger
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    ledger.finish_run(resolve_database(load_settings()), ledger_run_id(context), status, details)


def on_task_failure(context: dict[str, Any]) -> None:
    """Failure callback: an `ops.alerts` row and a log line (deduplicated per task and run),
    and the ledger run marked failed."""
    from tickerhouse import alerts
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    task_instance = context.get("task_instance")
    task_id = getattr(task_instance, "task_id", "?")
    exception = context.get("exception")
    message = f"{type(exception).__name__}: {exception}" if exception else "task failed"
    try:
        database = resolve_database(load_settings())
        alerts.ensure_table(database)
        alerts.raise_alert(database, source="airflow", kind="task_failed",
                           subject=f"{context['dag_run'].dag_id}.{task_id}", message=message,
                           dedupe_key=f"{ledger_run_id(context)}:{task_id}")
        finish_run(context, "failed")
    except Exception:  # a callback must never hide the original failure
        log.exception("could not record the failure of %s", task_id)
