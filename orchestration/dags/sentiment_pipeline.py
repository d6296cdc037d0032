"""
### sentiment_pipeline

Every 4 hours: collect the window's news (NewsAPI, Finnhub, Alpha Vantage, within each
window's call budget), score it (FinBERT when configured, the lexicon otherwise), aggregate
per ticker and sector, and raise sentiment alerts. One task calls
`orchestration.sentiment.run_sentiment_window`, what `tickerhouse sentiment run` calls.

The window is the one ending at the run's logical date, so a rerun or a cleared task redoes the
same window (nothing is fetched, scored or alerted twice). Its calls share the vendors' keys
with the daily run; the quota manager keeps the two inside the limits together.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

from orchestration.airflow_tasks import on_task_failure


@dag(
    dag_id="sentiment_pipeline",
    schedule="0 */4 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="America/New_York"),
    catchup=False,
    max_active_runs=1,
    tags=["tickerhouse", "sentiment", "news"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=15),
        "on_failure_callback": on_task_failure,
    },
    params={"source": Param("auto", enum=["auto", "emulator", "live"],
                            description="Vendor data source.")},
)
def sentiment_pipeline():
    @task
    def score_window(params=None, logical_date=None, **context) -> dict:
        from orchestration.airflow_tasks import fail_fast_on_contract_errors, warehouse
        from orchestration.sentiment import run_sentiment_window

        with fail_fast_on_contract_errors():
            settings, database = warehouse()
            result = run_sentiment_window(settings, database, (params or {}).get("source"),
                                          window_end=logical_date)
        return {"window_start": result.window_start.isoformat(),
                "window_end": result.window_end.isoformat(), "calls": result.calls,
                "rows": result.rows_landed, "failed_vendors": result.failed_vendors,
                "scored": result.scored, "alerts": len(result.alerts)}

    score_window()


sentiment_pipeline()
