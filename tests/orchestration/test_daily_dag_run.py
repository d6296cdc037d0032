"""`daily_stock_pipeline` run by Airflow itself (`dag.test()`), against the emulator and the real
Postgres and Redis: a trading day end to end, a holiday, and a vendor that breaks its contract."""

import datetime as dt
import json
import os

import pendulum
import pytest
import redis

from emulator import Emulator, EmulatorConfig
from tests.conftest import clear_redis
from tests.orchestration.conftest import DAGS_FOLDER, environment

pytestmark = pytest.mark.slow

TRADE_DATE = dt.date(2026, 11, 20)  # a Friday
NEXT_SESSION = dt.date(2026, 11, 23)
HOLIDAY = dt.date(2026, 11, 26)  # Thanksgiving
UNIVERSE = 200
SEED = 42
HISTORY = 35  # enough sessions for the baseline model (30)
PER_TICKER = ("finnhub", "alphavantage", "newsapi")


@pytest.fixture(scope="module")
def warehouse(scratch_databases):
    return scratch_databases("th_test_airflow")


@pytest.fixture(scope="module")
def tickerhouse_env(warehouse, redis_url, tmp_path_factory):
    """The settings the tasks read (they run in this process under dag.test())."""
    values = {
        "TICKERHOUSE_DATABASE_URL": warehouse.url(),
        "TICKERHOUSE_REDIS_URL": redis_url,
        "TICKERHOUSE_STATE_DIR": str(tmp_path_factory.mktemp("state")),
        "TICKERHOUSE_HISTORY_SESSIONS": str(HISTORY),
        "TICKERHOUSE_EMULATOR_TICKERS": str(UNIVERSE),
        "TICKERHOUSE_EMULATOR_SEED": str(SEED),
        "TICKERHOUSE_FINNHUB_CALLS_PER_RUN": "6",
        "TICKERHOUSE_ALPHAVANTAGE_CALLS_PER_RUN": "3",
        "TICKERHOUSE_NEWSAPI_CALLS_PER_RUN": "2",
    }
    keys = [name for name in os.environ if name.startswith("TICKERHOUSE_")
            and name.endswith(("_API_KEY", "_BASE_URL"))]
    saved = {name: os.environ.pop(name) for name in keys}
    with environment(values):
        yield values
    os.environ.update(saved)
    clear_redis(redis_url)  # the cache the runs wrote


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    return bag


@pytest.fixture(scope="module")
def daily_dag(dagbag):
    dag = dagbag.dags["daily_stock_pipeline"]
    # dag.test() cannot finish a run of a DAG with deadline= (its stand-in scheduler hands the
    # alert definitions where the run expects their ids: AttributeError at the last update);
    # the real scheduler can. The alert and its callback are tested in test_airflow_tasks.py.
    assert dag.deadline
    dag.deadline = None
    return dag


def run(dag, day: dt.date, mark_success: str | None = None, **conf):
    """One DAG run for `day` (its own logical date, so runs never share task instances);
    tasks matching `mark_success` are marked done without running."""
    logical = pendulum.datetime(day.year, day.month, day.day, 6, tz="America/New_York")
    dag_run = dag.test(logical_date=logical.add(days=1),
                       run_conf={"trade_date": day.isoformat(), **conf},
                       mark_success_pattern=mark_success)
    return dag_run, task_states(dag_run)


def task_states(dag_run) -> dict[str, tuple[str, int]]:
    """task (with map index) -> (state, try number), with each task's seconds printed."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_run.dag_id,
                                                  TaskInstance.run_id == dag_run.run_id).all()
        states = {}
        for ti in rows:
            name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            states[name] = (str(ti.state), ti.try_number)
            print(f"{name}: {ti.state} in {ti.duration or 0:.1f} s")
        return states


def scalar(warehouse, query: str, *args):
    with warehouse.connect() as conn:
        return conn.execute(query, args).fetchone()[0]


@pytest.fixture(scope="module")
def trading_day(daily_dag, tickerhouse_env):
    return run(daily_dag, TRADE_DATE, source="emulator")


def test_a_trading_day_lands_builds_predicts_and_caches(trading_day, warehouse, redis_url):
    dag_run, states = trading_day
    assert str(dag_run.state) == "success", states
    assert {state for state, _ in states.values()} == {"success"}, states
    for vendor in ("polygon", *PER_TICKER):
        assert f"extract_{vendor}[0]" in states
    assert scalar(warehouse, "select count(*) from curated.fct_daily_bars where trade_date = %s",
                  TRADE_DATE) == UNIVERSE
    assert scalar(warehouse, "select count(distinct trade_date) from curated.fct_daily_bars"
                  ) == HISTORY + 1
    assert scalar(warehouse, "select count(*) from ml.predictions where as_of_date = %s",
                  TRADE_DATE) == UNIVERSE
    from orchestration import ledger

    spent = ledger.calls_spent(warehouse, TRADE_DATE)  # what a rerun of the day subtracts
    for vendor in PER_TICKER:  # each vendor's mapped task landed its part of the plan
        calls = scalar(warehouse, "select (details -> 'calls' ->> %s)::int from ops.pipeline_steps "
                       "where step = %s", vendor, f"extract.{vendor}")
        assert calls and calls > 0 and spent[vendor] == calls, vendor
    assert spent["polygon"] == HISTORY + 1
    assert scalar(warehouse, "select count(*) from ops.alerts") == 0
    assert scalar(warehouse, "select status from ops.pipeline_runs where trade_date = %s",
                  TRADE_DATE) == "done"
    assert scalar(warehouse, "select (details ->> 'tickers')::int from ops.pipeline_steps "
                  "where step = 'refresh_cache'") > 0
    assert redis.Redis.from_url(redis_url).dbsize() > 1  # the cache layout is the cache's own


def test_a_holiday_is_skipped_not_failed(trading_day, daily_dag, warehouse):
    dag_run, states = run(daily_dag, HOLIDAY, source="emulator")
    assert str(dag_run.state) == "success"
    assert states.pop("check_calendar")[0] == "success"
    assert states and {state for state, _ in states.values()} == {"skipped"}, states
    assert scalar(warehouse, "select status from ops.pipeline_runs where trade_date = %s",
                  HOLIDAY) == "skipped"
    assert scalar(warehouse, "select count(*) from ops.alerts") == 0


def test_a_vendor_breaking_its_contract_fails_fast_alerts_and_the_others_land(
        trading_day, daily_dag, warehouse, tickerhouse_env):
    # Live mode against an emulator of our own (same market), so that a fault can be injected:
    # every Finnhub payload has a renamed field.
    with Emulator(EmulatorConfig(seed=SEED, n_tickers=UNIVERSE)) as emulator:
        emulator.add_fault_rules([{"fault": "schema_rename", "count": 1000, "vendor": "finnhub"}])
        live = {}
        for vendor in ("polygon", *PER_TICKER):
            live[f"TICKERHOUSE_{vendor.upper()}_API_KEY"] = f"free-{vendor}"
            live[f"TICKERHOUSE_{vendor.upper()}_BASE_URL"] = emulator.url
        with environment(live):
            # dbt and after were shown by the first test; here they would only cost a minute.
            dag_run, states = run(daily_dag, NEXT_SESSION, source="live",
                                  mark_success="transform|predict|refresh_cache")

    # No retry for a data-contract failure: one try, failed.
    assert states["extract_finnhub[0]"] == ("failed", 1), states
    for task in ("extract_polygon[0]", "extract_alphavantage[0]", "extract_newsapi[0]",
                 "validate"):
        assert states[task][0] == "success", (task, states)
    with warehouse.connect() as conn:
        alerts = conn.execute("select source, kind, subject from ops.alerts order by id").fetchall()
    assert ("extract", "SchemaDrift", "finnhub") in alerts
    assert ("airflow", "task_failed", "daily_stock_pipeline.extract_finnhub[0]") in alerts
    assert len(alerts) == 2, alerts
    # The other vendors' data landed, and was validated for dbt.
    assert scalar(warehouse, "select count(*) from raw.polygon_grouped_daily "
                  "where _session_date = %s", NEXT_SESSION) == UNIVERSE
    for vendor in ("alphavantage", "newsapi"):
        rows = scalar(warehouse, "select coalesce(sum(value::int), 0) from ops.pipeline_steps s "
                      "join ops.pipeline_runs r using (run_id), jsonb_each_text(s.details -> 'rows') "
                      "where r.trade_date = %s and s.step = %s", NEXT_SESSION, f"extract.{vendor}")
        assert rows > 0, vendor
    with warehouse.connect() as conn:
        steps = dict(conn.execute("select s.step, s.status from ops.pipeline_steps s "
                                  "join ops.pipeline_runs r using (run_id) where r.trade_date = %s",
                                  (NEXT_SESSION,)).fetchall())
    assert steps["extract.finnhub"] == "failed", steps
    assert steps["extract.alphavantage"] == steps["validate"] == "done", steps


def test_ml_retrain_decides_on_the_curated_data_the_daily_run_landed(trading_day, dagbag,
                                                                    warehouse):
    def decisions():
        with warehouse.connect() as conn:
            if conn.execute("select to_regclass('ml.retrain_log')").fetchone()[0] is None:
                return []
            return conn.execute("select triggered, reason from ml.retrain_log").fetchall()

    before = decisions()
    dag_run = dagbag.dags["ml_retrain"].test(
        logical_date=pendulum.datetime(2026, 11, 21, 3, tz="America/New_York"))
    assert task_states(dag_run) == {"retrain_if_needed": ("success", 1)}
    new = decisions()[len(before):]  # every decision is logged, trained or not
    assert new and all(reason for _, reason in new), new
    print(f"ml_retrain decided: {new}")


def test_sentiment_pipeline_scores_the_window_ending_at_its_logical_date(trading_day, dagbag,
                                                                        warehouse):
    window_end = pendulum.datetime(2026, 11, 20, 12, tz="America/New_York")
    dag_run = dagbag.dags["sentiment_pipeline"].test(logical_date=window_end,
                                                     run_conf={"source": "emulator"})
    assert task_states(dag_run) == {"score_window": ("success", 1)}
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        [result] = session.query(XComModel.value).filter(
            XComModel.dag_id == "sentiment_pipeline", XComModel.run_id == dag_run.run_id,
            XComModel.task_id == "score_window", XComModel.key == "return_value").one()
    result = json.loads(result) if isinstance(result, str) else result
    assert result["window_end"] == "2026-11-20T16:00:00+00:00"  # 12:00 ET on the 4-hour grid
    assert result["failed_vendors"] == {}
