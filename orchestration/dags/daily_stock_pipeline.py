"""
### daily_stock_pipeline

Every weekday at 06:00 New York time: check the NYSE calendar, land the previous session's
market data in `raw`, build the dbt project, write predictions, refresh the Redis cache.

The tasks call `orchestration.steps`, the same functions `tickerhouse run` calls; this file only
wires them. Trigger with `{"trade_date": "YYYY-MM-DD"}` to (re)process another session.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Asset, Param, dag, task

from orchestration.airflow_tasks import on_task_failure

# The asset the ML DAG is scheduled on; its URI names the warehouse table (host is nominal).
CURATED_DAILY_BARS = Asset(name="curated.fct_daily_bars",
                           uri="postgres://warehouse:5432/tickerhouse/curated/fct_daily_bars")


@dag(
    dag_id="daily_stock_pipeline",
    schedule="0 6 * * 1-5",
    start_date=pendulum.datetime(2026, 1, 1, tz="America/New_York"),
    catchup=False,
    max_active_runs=1,
    tags=["tickerhouse", "daily", "market-data"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=20),
        "on_failure_callback": on_task_failure,
    },
    params={
        "trade_date": Param(None, type=["null", "string"], format="date",
                            description="Session to process (default: the weekday before the run)."),
        "source": Param("auto", enum=["auto", "emulator", "live"],
                        description="Vendor data source."),
    },
)
def daily_stock_pipeline():
    @task.short_circuit
    def check_calendar(params=None, logical_date=None, **context) -> str | bool:
        """The session this run is for; False (everything downstream skipped) on a holiday."""
        from orchestration.airflow_tasks import finish_run, start_run
        from tickerhouse import calendar

        if params and params.get("trade_date"):
            day = calendar.parse_date(params["trade_date"])
        else:
            day = calendar.scheduled_trade_date(logical_date)
        start_run(context, day)
        if not calendar.is_session(day):
            print(f"{day} is not an NYSE session: nothing to do")
            finish_run(context, "skipped", {"reason": f"{day} is not an NYSE session"})
            return False
        return day.isoformat()

    @task
    def extract(trade_date: str, params=None, **context) -> dict:
        from orchestration import steps
        from orchestration.airflow_tasks import recorded_step

        with recorded_step(context, "extract") as (settings, database, record):
            steps.prepare_warehouse(database)
            result = steps.extract_day(settings, database, dt.date.fromisoformat(trade_date),
                                       params.get("source") if params else None)
            record.details.update(rows=result.rows, calls=result.calls, notes=result.notes)
        return {"rows": result.rows, "calls": result.calls, "notes": result.notes}

    @task(outlets=[CURATED_DAILY_BARS])
    def transform(trade_date: str, **context) -> dict:
        from orchestration import steps
        from orchestration.airflow_tasks import recorded_step
        from tickerhouse.errors import UserError

        with recorded_step(context, "transform") as (settings, database, record):
            result = steps.transform(database)
            record.details.update(models=result.count("model", "success"),
                                  tests=result.count("test", "pass"), failures=result.failures)
            if not result.success:
                raise UserError("dbt build failed: " + "; ".join(result.failures))
        return {"models": result.count("model", "success"), "tests": result.count("test", "pass")}

    @task
    def predict(trade_date: str, **context) -> dict:
        from orchestration import steps
        from orchestration.airflow_tasks import recorded_step

        with recorded_step(context, "predict") as (settings, database, record):
            result = steps.predict(database, dt.date.fromisoformat(trade_date))
            record.details.update(predictions=result.written, model=result.model)
            if result.skipped_reason:
                record.skip(result.skipped_reason)
        return {"predictions": result.written, "skipped": result.skipped_reason}

    @task
    def refresh_cache(trade_date: str, **context) -> dict:
        from orchestration import steps
        from orchestration.airflow_tasks import finish_run, recorded_step

        with recorded_step(context, "refresh_cache") as (settings, database, record):
            result = steps.refresh_cache(settings, database, dt.date.fromisoformat(trade_date))
            if result is None:
                record.skip("no Redis")
            else:
                record.details.update(tickers=result.keys_written)
        finish_run(context, "done")
        return {"cached_tickers": None if result is None else result.keys_written}

    day = check_calendar()
    extracted = extract(day)
    transformed = transform(day)
    predicted = predict(day)
    extracted >> transformed >> predicted >> refresh_cache(day)


daily_stock_pipeline()
