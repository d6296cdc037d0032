"""
### ml_retrain

Runs when `daily_stock_pipeline` lands curated data (the asset `curated.fct_daily_bars`) and
every Saturday at 03:00 New York time. `orchestration.ml_jobs.retrain_if_needed` decides:
it retrains when the drift check says so or when the scheduled retraining is due, and
otherwise records why it did not.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from orchestration.airflow_tasks import CURATED_DAILY_BARS, on_task_failure

NEW_YORK = "America/New_York"


@dag(
    dag_id="ml_retrain",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * 6", timezone=NEW_YORK),
        assets=CURATED_DAILY_BARS,
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=NEW_YORK),
    catchup=False,
    max_active_runs=1,
    tags=["tickerhouse", "ml"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": dt.timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "on_failure_callback": on_task_failure,
    },
)
def ml_retrain():
    @task
    def retrain_if_needed() -> dict:
        from orchestration.airflow_tasks import fail_fast_on_contract_errors, warehouse
        from orchestration.ml_jobs import retrain_if_needed as decide_and_retrain

        with fail_fast_on_contract_errors():
            settings, database = warehouse()
            decision = decide_and_retrain(settings, database)
        print(f"retrain: {decision.reason}")
        return decision.summary()

    retrain_if_needed()


ml_retrain()
