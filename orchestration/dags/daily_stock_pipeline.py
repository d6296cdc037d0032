"""
### daily_stock_pipeline

Every weekday at 06:00 New York time: check the NYSE calendar, land the previous session's
market data in `raw`, validate it, build the dbt project, write predictions, refresh the Redis
cache. The tasks call `orchestration.steps`, the same functions `tickerhouse run` calls; this
file only wires them.

- **Calendar**: a holiday short-circuits the run; every later task is *skipped*, not failed.
- **Extraction** is one mapped task per vendor (`extract_<vendor>`, mapped over the run's
  sessions), each in the pool `tickerhouse_<vendor>`, sized from that vendor's limits by
  `tickerhouse airflow setup`: however many workers there are, no more of a vendor's
  extractions run at once than its plan can serve. Polygon goes first: the others plan their
  calls on the day's universe. A vendor that fails does not stop the others (`all_done`); if
  Polygon failed, Alpha Vantage's calls go to the top tickers' daily bars instead.
- **Retries**: transient failures (a vendor down, throttling, a service not answering) retry
  with exponential backoff; data-contract failures (schema drift, failed dbt tests, missing
  bars, bad settings) fail at once. Every failure writes `ops.alerts`, the log and the webhook
  (`TICKERHOUSE_ALERT_WEBHOOK_URL`); so does a run not done by 07:30 ET (a Deadline Alert).
- **dbt** runs as one `dbt build` task, not as Cosmos tasks: the project's `on-run-end` hooks
  (storing test results, raw retention) would run once per Cosmos task, and one build lets
  dbt order models and tests itself with one parse instead of one per task. Its outlet, the
  asset `curated.fct_daily_bars`, triggers `ml_retrain`.

Trigger with `{"trade_date": "YYYY-MM-DD"}` to (re)process a session, add `"end_date"` to
backfill every session between them in one run; `"source"` picks emulator or live vendors.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import (
    DeadlineAlert,
    DeadlineReference,
    Param,
    SyncCallback,
    TriggerRule,
    dag,
    get_current_context,
    task,
)

from orchestration.airflow_tasks import (
    CURATED_DAILY_BARS,
    DAILY_DEADLINE,
    on_task_failure,
    vendor_pool,
)

PIPELINE = "daily_stock_pipeline"
# As in orchestration.steps, which a DAG file must not import at parse time (dlt, pandas).
PER_TICKER_VENDORS = ("finnhub", "alphavantage", "newsapi")


@dag(
    dag_id=PIPELINE,
    schedule="0 6 * * 1-5",
    start_date=pendulum.datetime(2026, 1, 1, tz="America/New_York"),
    catchup=False,
    max_active_runs=1,
    tags=["tickerhouse", "daily", "market-data"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 3,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=20),
        "on_failure_callback": on_task_failure,
    },
    deadline=DeadlineAlert(
        # The scheduled run's logical date is its 06:00 ET trigger time: due at 07:30 ET.
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=DAILY_DEADLINE,
        callback=SyncCallback("orchestration.airflow_tasks.on_deadline_missed",
                              kwargs={"pipeline": PIPELINE, "deadline": "07:30 ET"}),
    ),
    params={
        "trade_date": Param(None, type=["null", "string"], format="date",
                            description="Session to process (default: the weekday before the run)."),
        "end_date": Param(None, type=["null", "string"], format="date",
                          description="Backfill: also every session after trade_date up to this."),
        "source": Param("auto", enum=["auto", "emulator", "live"],
                        description="Vendor data source."),
    },
)
def daily_stock_pipeline():
    @task.short_circuit
    def check_calendar(params=None, logical_date=None, **context) -> list[str] | bool:
        """The sessions this run is for; False (everything downstream skipped) when none is."""
        from orchestration.airflow_tasks import finish_runs, run_sessions, start_runs

        with _fail_fast():
            days, asked = run_sessions(params, logical_date)
        if not days:
            print(f"{asked} is not an NYSE session: nothing to do")
            start_runs(context, PIPELINE, [asked])
            finish_runs(context, [asked], "skipped", {"reason": f"{asked} is not an NYSE session"})
            return False
        start_runs(context, PIPELINE, days)
        return [day.isoformat() for day in days]

    @task
    def prepare() -> None:
        """Schemas, roles and shared tables (safe before every run)."""
        from orchestration import steps
        from orchestration.airflow_tasks import warehouse

        with _fail_fast():
            steps.prepare_warehouse(warehouse()[1])

    @task(map_index_template="{{ session }}")
    def extract(vendor: str, trade_date: str, params=None, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from orchestration import steps
        from orchestration.airflow_tasks import own_working_dir, paused_vendors, recorded_step

        get_current_context()["session"] = trade_date
        if vendor in paused_vendors():
            raise AirflowSkipException(f"{vendor} is paused (Airflow variable "
                                       "tickerhouse_paused_vendors)")
        day = dt.date.fromisoformat(trade_date)
        with _fail_fast(), recorded_step(context, f"extract.{vendor}", day) as (
                settings, database, record), own_working_dir(settings, context) as settings:
            result = steps.extract_vendor(settings, database, day, vendor,
                                          (params or {}).get("source"))
            record.details.update(rows=result.rows, calls=result.calls,
                                  retries=result.retries, planned_calls=result.planned_calls,
                                  failed_vendors=result.failed_vendors, notes=result.notes)
            if vendor in result.errors:  # already alerted; now retried or failed fast
                raise result.errors[vendor]
        return {"rows": result.rows, "calls": result.calls, "notes": result.notes}

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def validate(sessions: list[str], **context) -> dict:
        """The day's market bars are in raw, whatever else failed; else dbt does not run."""
        from orchestration.airflow_tasks import recorded_step, validate_session

        counts = {}
        for session in sessions:
            day = dt.date.fromisoformat(session)
            with _fail_fast(), recorded_step(context, "validate", day) as (_, database, record):
                counts[session] = validate_session(database, day)
                record.details.update(rows=counts[session])
        return counts

    @task(outlets=[CURATED_DAILY_BARS])
    def transform(sessions: list[str], **context) -> dict:
        import contextlib

        from orchestration import steps
        from orchestration.airflow_tasks import recorded_step
        from tickerhouse.errors import UserError

        with _fail_fast(), contextlib.ExitStack() as stack:
            records = [stack.enter_context(recorded_step(context, "transform", session))
                       for session in sessions]
            result = steps.transform(records[0][1], quiet=True)
            summary = {"models": result.count("model", "success"),
                       "tests": result.count("test", "pass"), "failures": result.failures}
            for _, _, record in records:
                record.details.update(summary)
            if not result.success:
                raise UserError("dbt build failed: " + "; ".join(result.failures))
        return summary

    @task(map_index_template="{{ session }}")
    def predict(trade_date: str, **context) -> dict:
        from orchestration import steps
        from orchestration.airflow_tasks import recorded_step

        get_current_context()["session"] = trade_date
        day = dt.date.fromisoformat(trade_date)
        with _fail_fast(), recorded_step(context, "predict", day) as (_, database, record):
            result = steps.predict(database, day)
            record.details.update(predictions=result.written, model=result.model)
            if result.skipped_reason:
                record.skip(result.skipped_reason)
        return {"predictions": result.written, "skipped": result.skipped_reason}

    @task
    def refresh_cache(sessions: list[str], **context) -> dict:
        from orchestration import steps
        from orchestration.airflow_tasks import finish_runs, recorded_step

        latest = max(sessions)
        with _fail_fast(), recorded_step(context, "refresh_cache", latest) as (
                settings, database, record):
            result = steps.refresh_cache(settings, database, dt.date.fromisoformat(latest))
            if result is None:
                record.skip("no Redis")
            else:
                record.details.update(tickers=result.tickers, keys_written=result.keys_written)
        finish_runs(context, sessions, "done")
        return {"cached_tickers": None if result is None else result.tickers}

    sessions = check_calendar()
    prepared = prepare()
    sessions >> prepared
    market_bars = extract.override(task_id="extract_polygon", pool=vendor_pool("polygon")
                                   ).partial(vendor="polygon").expand(trade_date=sessions)
    prepared >> market_bars
    per_ticker = [
        extract.override(task_id=f"extract_{vendor}", pool=vendor_pool(vendor),
                         trigger_rule=TriggerRule.ALL_DONE
                         ).partial(vendor=vendor).expand(trade_date=sessions)
        for vendor in PER_TICKER_VENDORS
    ]
    market_bars >> per_ticker
    validated = validate(sessions)
    per_ticker >> validated
    transformed = transform(sessions)
    validated >> transformed
    predicted = predict.expand(trade_date=sessions)
    transformed >> predicted
    predicted >> refresh_cache(sessions)


def _fail_fast():
    from orchestration.airflow_tasks import fail_fast_on_contract_errors

    return fail_fast_on_contract_errors()


daily_stock_pipeline()
