"""Every `tickerhouse …` command of docs/runbook.md, run as an operator runs it: the installed
entry point in a subprocess, against one scratch warehouse and the vendor emulator, in runbook
order (an outage's backfill and the day's run, the vendor and schema-drift recoveries,
sentiment, the ML sidecar, the health check, the local Airflow). Each asserts its exit code and
what it did to the warehouse or printed; the last test fails when the runbook cites a command no
test here runs (read from this module's source, so it holds for any selection of its tests).

The emulator runs in the test process (so faults can be injected and its requests counted) and
the CLI reaches it as an operator's configured vendors: keys and base URLs in TICKERHOUSE_…
settings, so the runbook's lines run as written (`--source auto` is then live)."""

from __future__ import annotations

import ast
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from emulator import Emulator, EmulatorConfig
from orchestration.cli_airflow import DAG_IDS
from orchestration.status import due_session
from tests.conftest import clear_redis
from tests.ops.test_docs import SAMPLE, runbook_commands
from tests.orchestration.conftest import AIRFLOW_ENV
from tests.orchestration.test_pools_scheduler import free_port
from tickerhouse import calendar

pytestmark = pytest.mark.slow

TICKERHOUSE = Path(sys.executable).parent / "tickerhouse"
VENDORS = ("polygon", "finnhub", "alphavantage", "newsapi")
UNIVERSE = 200
HISTORY = 130  # enough for `ml train`: two folds of 20 test sessions after 60 of training
BACKFILL = 3   # the outage's sessions, up to the due one, landed by `backfill` before `run`
D = due_session(dt.datetime.now(dt.UTC))  # the session `status` expects to be in curated
EXERCISED: set[str] = set()


class Operator:
    """Runs runbook lines with their placeholders filled in, and records which lines ran."""

    def __init__(self, env: dict[str, str], values: dict[str, str]):
        self.env, self.values = env, values

    def argv(self, *lines: str, **values: str) -> list[str]:
        """The command line of `lines`: runbook lines that read the same once filled in."""
        assert set(values) <= set(SAMPLE) | {"/tmp/tickerhouse.html"}, values
        words = {**self.values, **values}
        argvs = []
        for line in lines:
            assert line in runbook_commands(), f"{line!r} is not a runbook command"
            argvs.append([str(TICKERHOUSE), *(words.get(w, w) for w in line.split()[1:])])
        assert all(argv == argvs[0] for argv in argvs), argvs
        EXERCISED.update(lines)
        return argvs[0]

    def run(self, *lines: str, timeout: float = 180, **values: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*lines, **values), env=self.env, capture_output=True,
                              text=True, timeout=timeout)


@pytest.fixture(scope="module")
def emulator():
    with Emulator(EmulatorConfig(seed=7, n_tickers=UNIVERSE, limits_enabled=False)) as emu:
        yield emu


@pytest.fixture(scope="module")
def warehouse(scratch_databases):
    return scratch_databases("th_test_runbook")


@pytest.fixture(scope="module")
def operator(emulator, warehouse, redis_url, tmp_path_factory):
    state = tmp_path_factory.mktemp("runbook_state")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TICKERHOUSE_", "AIRFLOW_", "AIRFLOW__"))}
    env.update({
        "TICKERHOUSE_DATABASE_URL": warehouse.url(), "TICKERHOUSE_REDIS_URL": redis_url,
        "TICKERHOUSE_STATE_DIR": str(state), "TICKERHOUSE_HISTORY_SESSIONS": str(HISTORY),
        # A small day: a few calls per vendor, no Prophet forecasts, a small cache pre-warm.
        "TICKERHOUSE_FINNHUB_CALLS_PER_RUN": "5", "TICKERHOUSE_ALPHAVANTAGE_CALLS_PER_RUN": "2",
        "TICKERHOUSE_NEWSAPI_CALLS_PER_RUN": "2",
        "TICKERHOUSE_SENTIMENT_NEWSAPI_CALLS_PER_WINDOW": "2",
        "TICKERHOUSE_SENTIMENT_FINNHUB_CALLS_PER_WINDOW": "3",
        "TICKERHOUSE_SENTIMENT_ALPHAVANTAGE_CALLS_PER_WINDOW": "1",
        "TICKERHOUSE_ML_PROPHET_BUDGET_SECONDS": "0", "TICKERHOUSE_CACHE_PREWARM_TICKERS": "50",
        # A small training run: two folds, two hyperparameter sets, Prophet on three tickers,
        # no sequence challenger (minutes of PyTorch; tests/ml/test_ml_serving.py trains one).
        "TICKERHOUSE_ML_BACKTEST_FOLDS": "2", "TICKERHOUSE_ML_SEARCH_CANDIDATES": "2",
        "TICKERHOUSE_ML_PROPHET_BACKTEST_TICKERS": "3", "TICKERHOUSE_ML_TRAIN_SEQUENCE": "false",
    })
    for vendor in VENDORS:
        env[f"TICKERHOUSE_{vendor.upper()}_API_KEY"] = f"runbook-{vendor}"
        env[f"TICKERHOUSE_{vendor.upper()}_BASE_URL"] = emulator.url
        env[f"TICKERHOUSE_{vendor.upper()}_LIMITS"] = "none"  # the emulator's limits are off
    first = calendar.sessions_before(D, BACKFILL - 1)[0]
    yield Operator(env, {"D": str(D), "D1": str(first), "D2": str(D)})
    clear_redis(redis_url)


def scalar(database, query: str, *params):
    with database.connect() as conn:
        return conn.execute(query, params).fetchone()[0]


def rows(database, table: str) -> int:
    """Rows of a table, 0 while it does not exist (dlt creates a raw table on its first load)."""
    if not scalar(database, "select to_regclass(%s) is not null", table):
        return 0
    return scalar(database, f"select count(*) from {table}")


def open_alerts(database) -> list[tuple]:
    with database.connect() as conn:
        return conn.execute("select id, kind, subject from ops.alerts where resolved_at is null "
                            "order by id").fetchall()


def test_backfill_lands_the_outage_within_the_limits(operator, warehouse):
    first, last = operator.values["D1"], operator.values["D2"]
    result = operator.run("tickerhouse backfill --start D1 --end D2")
    assert result.returncode == 0, result.stderr
    assert f"{BACKFILL} sessions from {first} to {last}: 0 already landed, {BACKFILL} fetched" \
        in result.stdout
    assert scalar(warehouse, "select count(*) from raw.polygon_grouped_daily "
                             "where _session_date between %s and %s", first, last) \
        == BACKFILL * UNIVERSE


def test_run_completes_the_day_despite_a_drifting_and_a_failing_vendor(
        operator, emulator, warehouse):
    emulator.add_fault_rules([
        # Finnhub's first quote carries a field nobody declared: schema drift.
        {"fault": "schema_new_field", "count": 1, "vendor": "finnhub",
         "path_prefix": "/api/v1/quote"},
        # Alpha Vantage's first request fails every attempt: a dead letter.
        {"fault": "http_5xx", "count": 5, "vendor": "alphavantage"},
    ])
    # After the backfill the two runbook lines are one command: D2 is the due session D.
    result = operator.run("tickerhouse run --date D2", "tickerhouse run --date D", timeout=600)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr
    assert f"tickerhouse run — {D} (done)" in result.stdout
    # The backfilled sessions are not fetched again, neither as history nor as the day.
    assert f"bootstrapped {HISTORY - (BACKFILL - 1)} sessions of history" in result.stdout
    assert f"{D} already landed: nothing fetched" in result.stdout
    assert scalar(warehouse, "select count(*) from curated.fct_daily_bars where trade_date = %s",
                  D) == UNIVERSE
    assert scalar(warehouse, "select count(distinct ticker) from ml.predictions "
                             "where as_of_date = %s", D) == UNIVERSE
    assert scalar(warehouse, "select status from ops.pipeline_runs order by started_at desc "
                             "limit 1") == "done"
    assert [(kind, subject) for _, kind, subject in open_alerts(warehouse)] == \
        [("SchemaDrift", "finnhub")]
    assert scalar(warehouse, "select count(*) from ops.dead_letters where resolved_at is null "
                             "and vendor = 'alphavantage'") == 1
    # its five attempts: one planned request and four retries, told apart in the ledger
    assert scalar(warehouse, "select details -> 'retries' from ops.pipeline_steps "
                             "where step = 'extract' order by started_at desc limit 1") \
        == {"alphavantage": 4}


def test_plan_shows_the_rerun_and_fetches_nothing(operator, emulator):
    before = emulator.counts()
    result = operator.run("tickerhouse plan --date D")
    assert result.returncode == 0, result.stderr
    assert f"plan for {D} — universe {UNIVERSE} tickers" in result.stdout
    assert "finnhub" in result.stdout
    assert emulator.counts() == before


def test_extract_lands_the_drifted_vendor_again(operator, warehouse):
    quotes = rows(warehouse, "raw.finnhub_quotes")
    result = operator.run("tickerhouse extract --date D")
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr
    assert f"{D} already landed: nothing fetched" in result.stdout
    assert rows(warehouse, "raw.finnhub_quotes") > quotes


def test_replay_dead_letters_fetches_the_failed_request_again(operator, warehouse):
    result = operator.run("tickerhouse extract --replay-dead-letters")
    assert result.returncode == 0, result.stderr
    assert "alphavantage: 1 of 1 dead letters resolved" in result.stdout
    assert scalar(warehouse, "select count(*) from ops.dead_letters where resolved_at is null") == 0


def test_sentiment_run_collects_and_scores_one_window(operator, warehouse):
    result = operator.run("tickerhouse sentiment run")
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr
    assert "UTC (live)" in result.stdout
    assert scalar(warehouse, "select coalesce(sum(calls), 0) from ops.sentiment_window_calls") > 0


def test_ml_train_registers_a_champion(operator, warehouse):
    result = operator.run("tickerhouse ml train --date D", timeout=300)
    print(result.stdout, result.stderr[-3000:])
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{D}: trained (forced)" in result.stdout
    assert "registered: champion = v1" in result.stdout
    assert scalar(warehouse, "select count(*) from ml.model_runs where as_of_date = %s", D) >= 1
    # the run followed the settings: two folds, Prophet on three tickers a test day
    assert scalar(warehouse, "select max(folds) from ml.backtest_reports") == 2
    assert scalar(warehouse, "select predictions / test_days from ml.backtest_reports "
                             "where model_name = 'prophet'") == 3


def test_ml_predict_serves_every_ticker(operator, warehouse):
    result = operator.run("tickerhouse ml predict --date D")
    assert result.returncode == 0, result.stderr
    assert f"Predictions for {D}" in result.stdout
    assert scalar(warehouse, "select count(distinct ticker) from ml.predictions "
                             "where as_of_date = %s", D) == UNIVERSE


def test_ml_report_shows_the_backtest(operator):
    result = operator.run("tickerhouse ml report")
    assert result.returncode == 0, result.stderr
    for model in ("gbm_global", "prophet", "baseline_momentum", "baseline_zero"):
        assert model in result.stdout


def test_status_fails_on_the_open_alert_and_lists_it(operator, warehouse):
    result = operator.run("tickerhouse status")
    print(result.stdout)
    [(alert_id, _, _)] = open_alerts(warehouse)
    assert result.returncode == 1, result.stdout
    assert "not healthy" in result.stdout
    assert "SchemaDrift" in result.stdout and str(alert_id) in result.stdout


def test_report_writes_the_page(operator, tmp_path):
    out = tmp_path / "tickerhouse.html"
    result = operator.run("tickerhouse report --out /tmp/tickerhouse.html",
                          **{"/tmp/tickerhouse.html": str(out)})
    assert result.returncode == 0, result.stderr
    assert f"report written to {out}" in result.stdout
    page = out.read_text()
    assert page.lstrip().lower().startswith("<!doctype html")
    assert str(D) in page


def test_resolve_alerts_closes_the_alert_and_status_is_healthy_again(operator, warehouse):
    [(alert_id, kind, _)] = open_alerts(warehouse)
    result = operator.run("tickerhouse resolve-alerts ID", ID=str(alert_id))
    assert result.returncode == 0, result.stderr
    assert "1 alert(s) resolved" in result.stdout
    assert open_alerts(warehouse) == []
    status = operator.run("tickerhouse status")
    print(status.stdout)
    assert status.returncode == 0, status.stdout
    assert "healthy" in status.stdout and "not healthy" not in status.stdout


def airflow_processes(home: Path) -> list[int]:
    """Processes (of any process group) running with this Airflow home."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"AIRFLOW_HOME={home}".encode() in environ:
            found.append(int(proc.name))
    return found


def test_airflow_start_serves_the_unpaused_dags_until_sigterm(operator, scratch_databases,
                                                             tmp_path):
    metadata = scratch_databases("th_test_runbook_airflow")
    home = tmp_path / "airflow"
    port = free_port()
    env = {**operator.env, **AIRFLOW_ENV,
           "AIRFLOW_HOME": str(home),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
               metadata.url().replace("postgresql://", "postgresql+psycopg2://", 1),
           # Serve, but start no scheduled run against the warehouse while the test looks.
           "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    argv = operator.argv("tickerhouse airflow start") + ["--port", str(port)]
    began = time.monotonic()
    stderr = (tmp_path / "stderr").open("w+")
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Airflow UI:"):
                break
        up = time.monotonic() - began
        print(f"airflow start: UI up after {up:.0f} s", "".join(lines))
        assert lines and lines[-1].startswith(f"Airflow UI: http://localhost:{port}"), \
            "".join(lines) + (tmp_path / "stderr").read_text()
        with urllib.request.urlopen(f"http://localhost:{port}/api/v2/monitor/health",
                                    timeout=10) as response:
            assert response.status == 200
        with metadata.connect() as conn:
            paused = dict(conn.execute("select dag_id, is_paused from dag").fetchall())
            pools = {row[0] for row in conn.execute("select pool from slot_pool").fetchall()}
        assert {dag_id: paused.get(dag_id) for dag_id in DAG_IDS} == dict.fromkeys(DAG_IDS, False)
        assert {f"tickerhouse_{vendor}" for vendor in VENDORS} <= pools
        assert airflow_processes(home)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 143
    deadline = time.monotonic() + 30
    while airflow_processes(home) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert airflow_processes(home) == []


def lines_handed_to_the_operator() -> set[str]:
    """The runbook lines this module's tests give Operator.run or Operator.argv, read from its
    source: the check below then holds whichever of the tests are selected."""
    tree = ast.parse(Path(__file__).read_text())
    return {argument.value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "operator"
            and node.func.attr in ("run", "argv")
            for argument in node.args
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str)}


def test_every_runbook_command_is_run_by_a_test(request):
    assert set(runbook_commands()) - lines_handed_to_the_operator() == set()
    # and, when the whole module ran before this test, every line was really run
    selected = {item.name for item in request.session.items if item.module is request.module}
    if selected == {name for name in vars(request.module) if name.startswith("test_")}:
        assert EXERCISED == set(runbook_commands())
