"""What the DAGs share, without a DAG run: the sessions a run is for, pool sizes from the
settings, which failures are retried, the validation before dbt, the failure and deadline
callbacks (ops.alerts, log, webhook), and the setup command against a metadata database."""

import datetime as dt
import http.server
import json
import threading
from types import SimpleNamespace

import pendulum
import pytest

from tickerhouse.settings import load_settings

NEW_YORK = "America/New_York"


@pytest.fixture(scope="module")
def tasks(airflow_home):
    from orchestration import airflow_tasks

    return airflow_tasks


def test_a_scheduled_run_processes_the_weekday_before_and_params_pick_sessions(tasks):
    monday = pendulum.datetime(2026, 11, 23, 6, tz=NEW_YORK)
    assert tasks.run_sessions({}, monday) == ([dt.date(2026, 11, 20)], dt.date(2026, 11, 20))
    friday_after_thanksgiving = pendulum.datetime(2026, 11, 27, 6, tz=NEW_YORK)
    assert tasks.run_sessions(None, friday_after_thanksgiving) == ([], dt.date(2026, 11, 26))
    days, first = tasks.run_sessions({"trade_date": "2026-11-24", "end_date": "2026-11-30"}, monday)
    assert days == [dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 27),
                    dt.date(2026, 11, 30)] and first == dt.date(2026, 11, 24)
    from tickerhouse.errors import UserError

    with pytest.raises(UserError, match="bad date"):
        tasks.run_sessions({"trade_date": "yesterday"}, monday)
    with pytest.raises(UserError, match="needs a trade_date"):
        tasks.run_sessions({"end_date": "2026-11-30"}, monday)


def test_pool_sizes_follow_the_vendor_limits_and_keys_in_settings(airflow_home, monkeypatch):
    from orchestration.airflow_setup import MAX_SLOTS, pool_specs

    for name in ("POLYGON", "FINNHUB", "ALPHAVANTAGE", "NEWSAPI"):
        monkeypatch.delenv(f"TICKERHOUSE_{name}_API_KEY", raising=False)
        monkeypatch.delenv(f"TICKERHOUSE_{name}_LIMITS", raising=False)
    free = {spec.name: spec.slots for spec in pool_specs(load_settings())}
    assert free == {"tickerhouse_polygon": 1, "tickerhouse_finnhub": 1,
                    "tickerhouse_alphavantage": 1, "tickerhouse_newsapi": 1}

    monkeypatch.setenv("TICKERHOUSE_FINNHUB_API_KEY", "k1,k2")
    paid = load_settings(finnhub_limits="30/s,300/min", polygon_limits="none",
                         alphavantage_limits="75/min", newsapi_limits="1000/s")
    specs = {spec.name: spec for spec in pool_specs(paid)}
    assert specs["tickerhouse_finnhub"].slots == 10  # 5 a second per key, two keys
    assert "30/s,300/min per key x 2 key(s)" in specs["tickerhouse_finnhub"].description
    assert specs["tickerhouse_polygon"].slots == 4  # unlimited: a few per key
    assert specs["tickerhouse_alphavantage"].slots == 1
    assert specs["tickerhouse_newsapi"].slots == MAX_SLOTS


def test_contract_failures_fail_fast_and_transient_ones_are_retried(tasks):
    from airflow.sdk.exceptions import AirflowFailException

    from extract.http import VendorError
    from extract.raw_schema import SchemaDrift
    from tickerhouse.errors import ServiceUnavailable, UserError

    def outcome(exc):
        try:
            with tasks.fail_fast_on_contract_errors():
                raise exc
        except AirflowFailException as raised:
            return "fail", raised
        except Exception as raised:
            return "retry", raised

    assert outcome(SchemaDrift("finnhub", "finnhub_quotes", "c", "is missing"))[0] == "fail"
    assert outcome(UserError("dbt build failed: not_null"))[0] == "fail"
    assert outcome(VendorError("polygon", "auth_error", "bad key"))[0] == "fail"
    for kind in ("transient", "throttled", "circuit_open"):
        kept, raised = outcome(VendorError("polygon", kind, "down"))
        assert kept == "retry" and isinstance(raised, VendorError)
    assert outcome(ServiceUnavailable("cannot reach Postgres"))[0] == "retry"
    assert outcome(ConnectionResetError())[0] == "retry"


@pytest.fixture()
def webhook():
    """A local endpoint that records what is POSTed to it."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.fixture()
def warehouse_env(scratch_databases, monkeypatch, tmp_path):
    database = scratch_databases("th_test_airflow_alerts")
    monkeypatch.setenv("TICKERHOUSE_DATABASE_URL", database.url())
    monkeypatch.setenv("TICKERHOUSE_STATE_DIR", str(tmp_path))
    return database


def alerts(database):
    with database.connect() as conn:
        return conn.execute("select source, kind, subject, message, occurrences from ops.alerts "
                            "order by id").fetchall()


def test_a_failed_task_writes_an_alert_the_ledger_and_the_webhook(tasks, warehouse_env, webhook,
                                                                  monkeypatch, caplog):
    url, received = webhook
    monkeypatch.setenv("TICKERHOUSE_ALERT_WEBHOOK_URL", url)
    from orchestration import ledger

    day = dt.date(2026, 11, 20)
    dag_run = SimpleNamespace(dag_id="daily_stock_pipeline", run_id="manual__1",
                              logical_date=pendulum.datetime(2026, 11, 23, 6, tz=NEW_YORK))
    context = {"dag_run": dag_run, "params": {},
               "task_instance": SimpleNamespace(task_id="extract_polygon", map_index=0),
               "exception": RuntimeError("polygon: gave up after 5 attempts")}
    ledger.ensure_tables(warehouse_env)
    ledger.start_run(warehouse_env, "daily_stock_pipeline", day, "airflow",
                     run_id=tasks.ledger_run_id(context, day))
    tasks.on_task_failure(context)
    tasks.on_task_failure(context)  # a second callback for the same failure: one alert
    assert alerts(warehouse_env) == [
        ("airflow", "task_failed", "daily_stock_pipeline.extract_polygon[0]",
         "RuntimeError: polygon: gave up after 5 attempts", 2)]
    assert received[0]["kind"] == "task_failed" and "extract_polygon[0]" in received[0]["text"]
    assert "task_failed daily_stock_pipeline.extract_polygon[0]" in caplog.text
    with warehouse_env.connect() as conn:
        assert conn.execute("select status from ops.pipeline_runs").fetchone()[0] == "failed"


def test_a_missed_deadline_writes_an_alert_and_posts_the_webhook(tasks, warehouse_env, webhook,
                                                                 monkeypatch):
    url, received = webhook
    monkeypatch.setenv("TICKERHOUSE_ALERT_WEBHOOK_URL", url)
    # What the scheduler hands a deadline callback: the run as JSON, and the deadline.
    context = {"dag_run": {"dag_id": "daily_stock_pipeline", "run_id": "scheduled__2026-11-23",
                           "state": "running"},
               "deadline": {"id": "x", "deadline_time": "2026-11-23T12:30:00+00:00"}}
    tasks.on_deadline_missed(context, pipeline="daily_stock_pipeline", deadline="07:30 ET")
    [(source, kind, subject, message, _)] = alerts(warehouse_env)
    assert (source, kind, subject) == ("airflow", "deadline_missed", "daily_stock_pipeline")
    assert "scheduled__2026-11-23 is not done by 07:30 ET" in message
    assert received == [{"text": f"tickerhouse deadline_missed: daily_stock_pipeline: {message}",
                         "source": "airflow", "kind": "deadline_missed",
                         "subject": "daily_stock_pipeline", "message": message}]


def test_without_a_webhook_or_with_a_dead_one_the_alert_still_lands(tasks, warehouse_env,
                                                                     monkeypatch):
    monkeypatch.setenv("TICKERHOUSE_ALERT_WEBHOOK_URL", "http://127.0.0.1:1/nothing")
    tasks.notify(kind="task_failed", subject="s", message="m", dedupe_key="k1")
    monkeypatch.delenv("TICKERHOUSE_ALERT_WEBHOOK_URL")
    tasks.notify(kind="task_failed", subject="s2", message="m", dedupe_key="k2")
    assert [row[2] for row in alerts(warehouse_env)] == ["s", "s2"]


def test_validation_wants_the_days_bars_and_a_whole_universe(tasks, warehouse_env):
    from tickerhouse.errors import UserError

    day, before = dt.date(2026, 11, 20), dt.date(2026, 11, 19)
    with pytest.raises(UserError, match="no market bars for 2026-11-20"):
        tasks.validate_session(warehouse_env, day)
    with warehouse_env.connect(autocommit=True) as conn:
        conn.execute("create schema raw; create table raw.polygon_grouped_daily "
                     "(\"T\" text, _session_date date)")
        conn.execute("insert into raw.polygon_grouped_daily select 'T' || i, %s "
                     "from generate_series(1, 100) i", (before,))
        conn.execute("insert into raw.polygon_grouped_daily select 'T' || i, %s "
                     "from generate_series(1, 30) i", (day,))
    with pytest.raises(UserError, match="30 bars for 2026-11-20 against 100"):
        tasks.validate_session(warehouse_env, day)
    with warehouse_env.connect(autocommit=True) as conn:
        conn.execute("insert into raw.polygon_grouped_daily select 'U' || i, %s "
                     "from generate_series(1, 70) i", (day,))
    assert tasks.validate_session(warehouse_env, day) == {"polygon_grouped_daily": 100}


def test_setup_creates_pools_connections_and_variables_and_keeps_an_operators_choice(
        airflow_db, warehouse_env, monkeypatch):
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    from orchestration.airflow_setup import setup

    monkeypatch.setenv("TICKERHOUSE_POLYGON_LIMITS", "none")
    report = setup(load_settings())
    assert {spec.name: spec.slots for spec in report.pools}["tickerhouse_polygon"] == 4
    assert Pool.get_pool("tickerhouse_polygon").slots == 4
    with create_session() as session:
        session.query(Variable).filter(Variable.key == "tickerhouse_paused_vendors").one().val = \
            '["newsapi"]'
    monkeypatch.setenv("TICKERHOUSE_POLYGON_LIMITS", "5/min")
    try:
        again = setup(load_settings())  # idempotent, follows the settings, keeps the variable
    finally:  # the DAG runs of this session share the metadata database: pause nothing there
        with create_session() as session:
            session.query(Variable).filter(Variable.key == "tickerhouse_paused_vendors").delete()
    assert Pool.get_pool("tickerhouse_polygon").slots == 1
    assert again.variables == {"tickerhouse_paused_vendors": '["newsapi"]'}
    with create_session() as session:
        warehouse = session.query(Connection).filter(
            Connection.conn_id == "tickerhouse_warehouse").one()
        assert (warehouse.conn_type, warehouse.schema) == ("postgres", warehouse_env.name)
        assert session.query(Connection).count() == 2
