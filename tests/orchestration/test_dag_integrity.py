"""Every DAG imports cleanly and quickly, and carries what operators rely on."""

import datetime as dt
import importlib
import json
import os
import subprocess
import sys
import time

import pytest

DAG_IDS = {"daily_stock_pipeline", "sentiment_pipeline", "ml_retrain"}


@pytest.fixture(scope="module")
def dagbag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    from tests.orchestration.conftest import DAGS_FOLDER

    started = time.monotonic()
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    bag.import_seconds = time.monotonic() - started
    return bag


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS


def test_dags_parse_fast_because_heavy_imports_live_in_tasks(airflow_home):
    """Parsed in a fresh interpreter (this one has imported everything by now): the scheduler
    parses these files often, so pandas, dlt, dbt, torch and the step code stay in the tasks."""
    from tests.orchestration.conftest import DAGS_FOLDER

    script = (
        "import json, sys, time\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "started = time.monotonic()\n"
        f"bag = DagBag(dag_folder={str(DAGS_FOLDER)!r})\n"
        "heavy = ['pandas', 'dlt', 'torch', 'dbt.cli.main', 'mlflow', 'extract.landing',\n"
        "         'orchestration.steps', 'ml.baseline']\n"
        "print(json.dumps({'seconds': time.monotonic() - started, 'dags': len(bag.dags),\n"
        "                  'heavy': [m for m in heavy if m in sys.modules]}))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ), timeout=120, check=True).stdout
    parsed = json.loads(out.strip().splitlines()[-1])
    assert parsed["dags"] == len(DAG_IDS)
    assert parsed["heavy"] == []
    # Generous bound (the machine is shared): importing pandas and dlt alone takes longer.
    assert parsed["seconds"] < 5


def test_every_dag_has_owner_tags_retries_and_a_new_york_schedule(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.default_args.get("owner") not in (None, "airflow"), dag_id
        assert dag.default_args.get("retries", 0) >= 1, dag_id
        assert dag.default_args.get("retry_exponential_backoff") is True, dag_id
        assert dag.default_args.get("on_failure_callback"), dag_id
        assert str(dag.timezone.name) == "America/New_York", dag_id
        assert dag.catchup is False, dag_id
        assert dag.doc_md, dag_id


def test_no_dag_has_a_cycle(dagbag):
    for dag_id, dag in dagbag.dags.items():
        visiting, done = set(), set()

        def visit(task_id, dag=dag, dag_id=dag_id, visiting=visiting, done=done):
            assert task_id not in visiting, f"{dag_id}: cycle through {task_id}"
            if task_id in done:
                return
            visiting.add(task_id)
            for child in dag.get_task(task_id).downstream_task_ids:
                visit(child)
            visiting.discard(task_id)
            done.add(task_id)

        for task_id in dag.task_ids:
            visit(task_id)


def test_daily_pipeline_order_pools_and_schedule(dagbag):
    dag = dagbag.dags["daily_stock_pipeline"]
    order = ["check_calendar", "prepare", "extract_polygon", "extract_finnhub", "validate",
             "transform", "predict", "refresh_cache"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    for vendor in ("polygon", "finnhub", "alphavantage", "newsapi"):
        task = dag.get_task(f"extract_{vendor}")
        assert task.pool == f"tickerhouse_{vendor}"
        assert task.is_mapped  # one instance per session of the run
    # One vendor failing does not stop the others, nor the validation that decides about dbt.
    for task_id in ("extract_finnhub", "extract_alphavantage", "extract_newsapi", "validate"):
        assert dag.get_task(task_id).trigger_rule == "all_done", task_id
    assert dag.get_task("transform").trigger_rule == "all_success"
    assert dag.timetable.expression == "0 6 * * 1-5"
    assert str(dag.timetable.timezone.name) == "America/New_York"
    assert dag.max_active_runs == 1


def test_daily_deadline_is_0730_new_york_with_an_importable_callback(dagbag):
    dag = dagbag.dags["daily_stock_pipeline"]
    [alert] = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert type(alert.reference).__name__ == "DagRunLogicalDateDeadline"
    assert alert.interval == dt.timedelta(minutes=90)  # 06:00 ET + 90 min
    path = alert.callback.path if hasattr(alert.callback, "path") else alert.callback.callback_callable
    module, name = str(path).rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))
    assert alert.callback.kwargs == {"pipeline": "daily_stock_pipeline", "deadline": "07:30 ET"}


def test_curated_bars_asset_links_the_daily_run_to_ml_retrain(dagbag):
    daily = dagbag.dags["daily_stock_pipeline"]
    [outlet] = daily.get_task("transform").outlets
    assert outlet.name == "curated.fct_daily_bars"
    retrain = dagbag.dags["ml_retrain"]
    schedule = retrain.timetable
    assert type(schedule).__name__ == "AssetOrTimeSchedule"
    assert schedule.asset_condition == outlet
    assert schedule.timetable.expression == "0 3 * * 6"
    timezone = schedule.timetable.timezone
    assert str(getattr(timezone, "name", timezone)) == "America/New_York"


def test_sentiment_runs_every_four_hours(dagbag):
    dag = dagbag.dags["sentiment_pipeline"]
    assert dag.timetable.expression == "0 */4 * * *"
    assert str(dag.timetable.timezone.name) == "America/New_York"
