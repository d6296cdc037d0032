"""The vendor pools under Airflow's real scheduler (dag.test() runs tasks one at a time and
ignores pools, so it could prove nothing here): `tickerhouse airflow setup` sizes them from the
settings, and a backfill run's mapped extractions of one vendor never overlap beyond its pool,
while a vendor whose pool has room does run its extractions side by side."""

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.orchestration.conftest import AIRFLOW, AIRFLOW_ENV

pytestmark = pytest.mark.slow

TICKERHOUSE = Path(sys.executable).parent / "tickerhouse"
SESSIONS = ("2026-11-19", "2026-11-20")
VENDORS = ("polygon", "finnhub", "alphavantage", "newsapi")
# Free tiers (5/min, 30/s+60/min, 25/day) serve one request at a time: one slot each. NewsAPI
# set to unlimited gets four, so the scheduler can show it does run extractions in parallel.
EXPECTED_SLOTS = {"polygon": 1, "finnhub": 1, "alphavantage": 1, "newsapi": 4}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def max_overlap(intervals: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """The most intervals running at one instant (an end before a start at the same instant)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda event: (event[0], event[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


@pytest.fixture()
def airflow_env(scratch_databases, redis_url, tmp_path):
    metadata = scratch_databases("th_test_airflow_meta")
    warehouse = scratch_databases("th_test_airflow_pools")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TICKERHOUSE_", "AIRFLOW_", "AIRFLOW__"))}
    env.update(AIRFLOW_ENV)
    env.update({
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
            metadata.url().replace("postgresql://", "postgresql+psycopg2://", 1),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        # Only the run the test triggers: no scheduled run of the latest interval beside it.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "PATH": os.pathsep.join([str(AIRFLOW.parent), os.environ.get("PATH", "")]),
        "TICKERHOUSE_DATABASE_URL": warehouse.url(),
        "TICKERHOUSE_REDIS_URL": redis_url,
        "TICKERHOUSE_STATE_DIR": str(tmp_path / "state"),
        "TICKERHOUSE_HISTORY_SESSIONS": "0",
        "TICKERHOUSE_EMULATOR_TICKERS": "200",
        "TICKERHOUSE_FINNHUB_CALLS_PER_RUN": "2",
        "TICKERHOUSE_ALPHAVANTAGE_CALLS_PER_RUN": "1",
        "TICKERHOUSE_NEWSAPI_CALLS_PER_RUN": "1",
        "TICKERHOUSE_NEWSAPI_LIMITS": "none",
    })
    return env, metadata, port


def extractions(metadata, run_id: str) -> list[tuple]:
    """(task, map index, state, start, end) of the run's extraction task instances."""
    with metadata.connect() as conn:
        return conn.execute(
            "select task_id, map_index, state, start_date, end_date from task_instance "
            "where dag_id = 'daily_stock_pipeline' and run_id = %s and task_id like 'extract_%%'",
            (run_id,)).fetchall()


def test_setup_sizes_the_pools_and_the_scheduler_keeps_each_vendor_inside_its_pool(airflow_env):
    env, metadata, port = airflow_env
    setup = subprocess.run([str(TICKERHOUSE), "airflow", "setup"], env=env, capture_output=True,
                           text=True, timeout=300)
    assert setup.returncode == 0, setup.stderr
    with metadata.connect() as conn:
        slots = dict(conn.execute("select pool, slots from slot_pool where pool like "
                                  "'tickerhouse_%'").fetchall())
    assert slots == {f"tickerhouse_{vendor}": n for vendor, n in EXPECTED_SLOTS.items()}

    subprocess.run([str(AIRFLOW), "dags", "reserialize"], env=env, check=True,
                   capture_output=True, timeout=300)
    process = subprocess.Popen([str(AIRFLOW), "standalone"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/api/v2/monitor/health",
                                            timeout=2):
                    break
            except OSError:
                time.sleep(1)
        run_id = "pools-backfill"
        conf = f'{{"trade_date": "{SESSIONS[0]}", "end_date": "{SESSIONS[-1]}", "source": "emulator"}}'
        subprocess.run([str(AIRFLOW), "dags", "trigger", "daily_stock_pipeline", "--run-id", run_id,
                        "--conf", conf], env=env, check=True, capture_output=True, timeout=120)
        expected = len(VENDORS) * len(SESSIONS)
        while time.monotonic() < deadline + 150:
            rows = extractions(metadata, run_id)
            done = [row for row in rows if row[2] in ("success", "failed", "skipped",
                                                      "upstream_failed")]
            if len(rows) == expected and len(done) == expected:
                break
            time.sleep(2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)

    assert len(done) == expected, rows
    assert {row[2] for row in rows} == {"success"}, rows
    for vendor, pool_slots in EXPECTED_SLOTS.items():
        intervals = [(row[3], row[4]) for row in rows if row[0] == f"extract_{vendor}"]
        assert len(intervals) == len(SESSIONS), (vendor, rows)
        peak = max_overlap(intervals)
        assert peak <= pool_slots, (vendor, intervals)
        if pool_slots == 1:
            assert peak == 1, (vendor, intervals)
    newsapi = [(row[3], row[4]) for row in rows if row[0] == "extract_newsapi"]
    assert max_overlap(newsapi) == 2, newsapi  # the executor ran both at once where it could
