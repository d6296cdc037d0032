"""Backfill walks the NYSE calendar within the limits, resumes, and survives SIGKILL."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator import Emulator, EmulatorConfig
from orchestration.steps import SESSIONS_PER_LOAD
from tickerhouse import calendar

pytestmark = pytest.mark.slow

TICKERHOUSE = Path(sys.executable).parent / "tickerhouse"
START, END = dt.date(2026, 8, 3), dt.date(2026, 10, 30)  # includes Labor Day (Sep 7)
PAID_KEY = "backfill-paid-key"


@pytest.fixture(scope="module")
def emulator():
    with Emulator(EmulatorConfig(seed=7, n_tickers=6000, plans={PAID_KEY: "paid"})) as emu:
        yield emu


def live_env(emulator, database, state_dir: Path, redis_url: str) -> dict[str, str]:
    """The CLI in --source live, pointed at the emulator as if it were Polygon."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TICKERHOUSE_")}
    return {**clean, "TICKERHOUSE_DATABASE_URL": database.url(),
            "TICKERHOUSE_REDIS_URL": redis_url, "TICKERHOUSE_STATE_DIR": str(state_dir),
            "TICKERHOUSE_POLYGON_API_KEY": PAID_KEY, "TICKERHOUSE_POLYGON_BASE_URL": emulator.url,
            "TICKERHOUSE_POLYGON_LIMITS": "none"}  # the key is on the paid plan


def raw_counts(database) -> tuple[int, int, int]:
    with database.connect() as conn:
        if conn.execute("select to_regclass('raw.polygon_grouped_daily')").fetchone()[0] is None:
            return 0, 0, 0
        return conn.execute(
            'select count(*), count(distinct ("T", "t")), count(distinct _session_date) '
            "from raw.polygon_grouped_daily").fetchone()


def polygon_calls_answered(emulator) -> int:
    keys = emulator.counts()["vendors"].get("polygon", {}).get("keys", {})
    return keys.get(PAID_KEY, {}).get("total", {}).get("answered", 0)


def quota_calls_counted(database) -> int:
    with database.connect() as conn:
        return conn.execute("select coalesce(sum(calls), 0) from ops.api_quota_daily "
                            "where vendor = 'polygon'").fetchone()[0]


def test_sigkill_mid_backfill_then_rerun_completes_without_duplicates(
        emulator, scratch_databases, redis_url, tmp_path):
    database = scratch_databases("th_test_backfill")
    env = live_env(emulator, database, tmp_path / "state", redis_url)
    sessions = calendar.sessions_between(START, END)
    emulator.reset()

    args = [str(TICKERHOUSE), "backfill", "--start", START.isoformat(), "--end", END.isoformat(),
            "--source", "live"]
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while raw_counts(database)[2] == 0:  # wait until the first chunk is committed
        assert first.poll() is None, first.stderr.read().decode()
        assert time.monotonic() < deadline, "no chunk landed in time"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    landed_before = raw_counts(database)[2]
    assert 0 < landed_before < len(sessions), "the kill must land mid-backfill"

    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert f"{len(sessions)} sessions" in second.stdout
    rows, distinct_keys, distinct_days = raw_counts(database)
    assert distinct_days == len(sessions)
    assert rows == distinct_keys == 6000 * len(sessions)
    # Every request the emulator answered was counted first (a call acquired but never sent
    # before the kill is the only excess allowed), and the rerun did not refetch what landed.
    answered = polygon_calls_answered(emulator)
    assert answered <= quota_calls_counted(database) <= answered + 1
    assert answered <= len(sessions) + SESSIONS_PER_LOAD[1]  # at most one load fetched twice


def test_backfill_skips_holidays_and_a_rerun_spends_nothing(emulator, scratch_databases,
                                                           redis_url, tmp_path):
    database = scratch_databases("th_test_backfill_rerun")
    env = live_env(emulator, database, tmp_path / "state", redis_url)
    emulator.reset()
    args = [str(TICKERHOUSE), "backfill", "--start", "2026-09-01", "--end", "2026-09-11",
            "--source", "live"]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "8 sessions" in first.stdout and "8 fetched" in first.stdout  # Sep 7 is Labor Day
    assert polygon_calls_answered(emulator) == 8
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert "8 already landed, 0 fetched" in again.stdout and "0 API calls" in again.stdout
    assert polygon_calls_answered(emulator) == 8
