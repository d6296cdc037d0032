"""The run ledger: `ops.pipeline_runs` and `ops.pipeline_steps`, written by the CLI and Airflow.

Each run (a `tickerhouse run`, or one Airflow DAG run) has a row; each step a row under it, with
start, end, status and what it did (rows per source, API calls per vendor against the plan, dbt
results, models used) as JSON. Operators read it with `tickerhouse status` or plain SQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

from psycopg.types.json import Jsonb

from tickerhouse.database import Database

DDL = """
create table if not exists ops.pipeline_runs (
    run_id       text primary key,
    pipeline     text not null,
    trade_date   date,
    trigger      text not null,
    started_at   timestamptz not null default now(),
    finished_at  timestamptz,
    status       text not null default 'running'
                 check (status in ('running', 'done', 'skipped', 'failed')),
    details      jsonb not null default '{}'
);
create table if not exists ops.pipeline_steps (
    run_id       text not null references ops.pipeline_runs (run_id) on delete cascade,
    step         text not null,
    started_at   timestamptz not null default now(),
    finished_at  timestamptz,
    status       text not null default 'running'
                 check (status in ('running', 'done', 'skipped', 'failed')),
    details      jsonb not null default '{}',
    error        text,
    primary key (run_id, step)
);
create index if not exists pipeline_runs_started on ops.pipeline_runs (started_at desc);
"""


def ensure_tables(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute("create schema if not exists ops")
        conn.execute(DDL)


def _json(details: dict[str, Any]) -> Jsonb:
    return Jsonb(json.loads(json.dumps(details, default=str)))


def start_run(database: Database, pipeline: str, trade_date: dt.date | None, trigger: str,
              run_id: str | None = None) -> str:
    """Open a run (or reopen one with the same id: an Airflow retry of the same DAG run)."""
    run_id = run_id or f"{pipeline}:{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}:{uuid.uuid4().hex[:6]}"
    with database.connect(autocommit=True) as conn:
        conn.execute(
            "insert into ops.pipeline_runs (run_id, pipeline, trade_date, trigger) "
            "values (%s, %s, %s, %s) on conflict (run_id) do update "
            "set status = 'running', finished_at = null",
            (run_id, pipeline, trade_date, trigger))
    return run_id


def finish_run(database: Database, run_id: str, status: str,
               details: dict[str, Any] | None = None) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute(
            "update ops.pipeline_runs set status = %s, finished_at = now(), "
            "details = details || %s where run_id = %s",
            (status, _json(details or {}), run_id))


class StepRecord:
    """What a step reports about itself while it runs."""

    def __init__(self) -> None:
        self.details: dict[str, Any] = {}
        self.status = "done"

    def skip(self, reason: str) -> None:
        self.status = "skipped"
        self.details["reason"] = reason


@contextlib.contextmanager
def step(database: Database, run_id: str, name: str) -> Iterator[StepRecord]:
    """Record one step: running on entry; done, skipped or failed (with the error) on exit."""
    with database.connect(autocommit=True) as conn:
        conn.execute(
            "insert into ops.pipeline_steps (run_id, step) values (%s, %s) "
            "on conflict (run_id, step) do update set started_at = now(), finished_at = null, "
            "status = 'running', error = null",
            (run_id, name))
    record = StepRecord()
    try:
        yield record
    except BaseException as exc:
        _finish_step(database, run_id, name, "failed", record.details,
                     f"{type(exc).__name__}: {exc}"[:2000])
        raise
    _finish_step(database, run_id, name, record.status, record.details, None)


def _finish_step(database: Database, run_id: str, name: str, status: str,
                 details: dict[str, Any], error: str | None) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute(
            "update ops.pipeline_steps set status = %s, finished_at = now(), details = %s, "
            "error = %s where run_id = %s and step = %s",
            (status, _json(details), error, run_id, name))


def calls_spent(database: Database, trade_date: dt.date) -> dict[str, int]:
    """API calls per vendor that finished extract steps already spent on `trade_date`: what a
    rerun of the day subtracts from its per-run budgets, so that it completes the day's plan
    instead of spending a second one."""
    with database.connect() as conn:
        if conn.execute("select to_regclass('ops.pipeline_steps')").fetchone()[0] is None:
            return {}
        rows = conn.execute(
            """
            select calls.key, sum(calls.value::int)
            from ops.pipeline_steps s
            join ops.pipeline_runs r using (run_id)
            cross join lateral jsonb_each_text(coalesce(s.details -> 'calls', '{}')) as calls
            where r.trade_date = %s and (s.step = 'extract' or s.step like 'extract.%%')
            group by calls.key
            """, (trade_date,)).fetchall()
    return {vendor: int(total) for vendor, total in rows}


def recent_runs(database: Database, limit: int = 10) -> list[dict[str, Any]]:
    """The latest runs, newest first, each with its steps (oldest first) and what they
    recorded merged into one summary: rows per raw table, API calls (retries included), retries
    and planned calls per vendor, dbt counts and failures, the prediction model. Empty before
    the first run."""
    with database.connect() as conn:
        if conn.execute("select to_regclass('ops.pipeline_steps')").fetchone()[0] is None:
            return []
        runs = conn.execute(
            "select run_id, pipeline, trade_date, trigger, started_at, finished_at, status, "
            "details from ops.pipeline_runs order by started_at desc, run_id limit %s",
            (limit,)).fetchall()
        steps = conn.execute(
            "select run_id, step, started_at, finished_at, status, details, error "
            "from ops.pipeline_steps where run_id = any(%s) order by started_at, step",
            ([run[0] for run in runs],)).fetchall()
    by_run: dict[str, list[dict[str, Any]]] = {}
    for run_id, name, started, finished, status, details, error in steps:
        by_run.setdefault(run_id, []).append({
            "step": name, "started_at": started, "finished_at": finished, "status": status,
            "details": details or {}, "error": error})
    result = []
    for run_id, pipeline, trade_date, trigger, started, finished, status, details in runs:
        run_steps = by_run.get(run_id, [])
        summary: dict[str, Any] = {"rows": {}, "calls": {}, "retries": {}, "planned_calls": {}}
        for recorded in run_steps:
            step_details = recorded["details"]
            for key in ("rows", "calls", "retries", "planned_calls"):  # summed over steps and sessions
                for name, count in (step_details.get(key) or {}).items():
                    if isinstance(count, int):
                        summary[key][name] = summary[key].get(name, 0) + count
            if recorded["step"] == "transform":
                summary["dbt"] = {key: step_details.get(key)
                                  for key in ("models", "tests", "failures")}
            if recorded["step"] == "predict" and step_details.get("model"):
                summary["model"] = step_details["model"]
        result.append({"run_id": run_id, "pipeline": pipeline, "trade_date": trade_date,
                       "trigger": trigger, "started_at": started, "finished_at": finished,
                       "status": status, "details": details or {}, "steps": run_steps,
                       "summary": summary})
    return result


def format_calls(calls: dict[str, int], retries: dict[str, int], planned: dict[str, int], *,
                 compact: bool = False) -> str:
    """Each vendor's requests against its plan, retries apart: "finnhub 40 of 40 planned,
    alphavantage 2 of 2 planned (+3 retries)" (compact: "finnhub 40/40, alphavantage 2/2 +3
    retries"); "none" when nothing was planned or sent. A retry is sent and counted by the
    vendor's limits like any call, but it is the same request again, not one beyond the plan."""
    parts = []
    for vendor in dict.fromkeys([*planned, *calls]):
        repeated = retries.get(vendor, 0)
        requests = calls.get(vendor, 0) - repeated
        if compact:
            text = f"{vendor} {requests}" + (f"/{planned[vendor]}" if vendor in planned else "")
        else:
            text = f"{vendor} {requests} of {planned.get(vendor, 0)} planned"
        if repeated:
            text += f" +{repeated} retries" if compact else f" (+{repeated} retries)"
        parts.append(text)
    return ", ".join(parts) or "none"
