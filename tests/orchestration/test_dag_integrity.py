"""Every DAG imports cleanly and quickly, and carries what operators rely on."""

import time

import pytest


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
    assert "daily_stock_pipeline" in dagbag.dag_ids


def test_dags_parse_fast_because_heavy_imports_live_in_tasks(dagbag):
    # Generous bound: a DAG file that imports pandas/dlt/torch at module level takes far longer.
    assert dagbag.import_seconds < 10


def test_every_dag_has_owner_tags_retries_and_a_new_york_schedule(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.default_args.get("owner") not in (None, "airflow"), dag_id
        assert dag.default_args.get("retries", 0) >= 1, dag_id
        assert str(dag.timezone.name) == "America/New_York", dag_id
        assert dag.catchup is False, dag_id


def test_daily_pipeline_runs_the_steps_in_order(dagbag):
    dag = dagbag.dags["daily_stock_pipeline"]
    order = ["check_calendar", "extract", "transform", "predict", "refresh_cache"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.timetable.expression == "0 6 * * 1-5"
    assert str(dag.timetable.timezone.name) == "America/New_York"
