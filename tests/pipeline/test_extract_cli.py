"""`tickerhouse extract` as operators run it: concurrently, and replaying dead letters."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import Emulator, EmulatorConfig

pytestmark = pytest.mark.slow

TICKERHOUSE = Path(sys.executable).parent / "tickerhouse"
DATE = "2026-11-20"
KEYS = {"polygon": "free-polygon", "finnhub": "free-finnhub"}


@pytest.fixture()
def emulator():
    with Emulator(EmulatorConfig(seed=5, n_tickers=2000)) as emu:
        yield emu


def cli_env(emulator, database, redis_url, state: Path, **settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKERHOUSE_")}
    env.update({"TICKERHOUSE_DATABASE_URL": database.url(), "TICKERHOUSE_REDIS_URL": redis_url,
                "TICKERHOUSE_STATE_DIR": str(state), "TICKERHOUSE_HISTORY_SESSIONS": "0"})
    for vendor, key in KEYS.items():
        env[f"TICKERHOUSE_{vendor.upper()}_API_KEY"] = key
        env[f"TICKERHOUSE_{vendor.upper()}_BASE_URL"] = emulator.url
    env.update({f"TICKERHOUSE_{name.upper()}": str(value) for name, value in settings.items()})
    return env


def totals(emulator, vendor: str) -> dict[str, int]:
    return emulator.counts()["vendors"].get(vendor, {}).get("total", {})


def test_two_extract_processes_together_stay_inside_the_limits(emulator, scratch_databases,
                                                               redis_url, tmp_path):
    database = scratch_databases("th_test_two_procs")
    # Each process plans 40 Finnhub calls on the same free key: 80 together cross the 60/min,
    # so they must share the window between them.
    env = cli_env(emulator, database, redis_url, tmp_path / "state",
                  finnhub_calls_per_run=40)
    args = [str(TICKERHOUSE), "extract", "--date", DATE, "--source", "live"]
    # The day's bars first, so that both processes plan their Finnhub calls at once.
    subprocess.run(args, env={**env, "TICKERHOUSE_FINNHUB_CALLS_PER_RUN": "0"}, check=True,
                   capture_output=True, timeout=300)
    emulator.reset()
    processes = [subprocess.Popen(args, env={**env, "TICKERHOUSE_STATE_DIR": str(tmp_path / f"s{i}")},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "finnhub 40 of 40 planned" in out
    finnhub = totals(emulator, "finnhub")
    assert finnhub["answered"] == 80
    assert finnhub["throttled"] == 0


def test_a_failed_request_becomes_a_dead_letter_and_replay_resolves_it(
        emulator, scratch_databases, redis_url, tmp_path):
    database = scratch_databases("th_test_replay")
    env = cli_env(emulator, database, redis_url, tmp_path / "state", finnhub_calls_per_run=6)
    # The first quote request fails every one of its attempts (a 5xx each time).
    emulator.add_fault_rules([{"fault": "http_5xx", "count": 5, "vendor": "finnhub",
                               "path_prefix": "/api/v1/quote"}])
    first = subprocess.run([str(TICKERHOUSE), "extract", "--date", DATE, "--source", "live"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "1 failed request(s) kept as dead letters" in first.stdout
    with database.connect() as conn:
        [(endpoint, item, kind)] = conn.execute(
            "select endpoint, item, kind from ops.dead_letters where resolved_at is null").fetchall()
    assert endpoint == "quote" and set(item) == {"symbol"} and kind == "transient"

    replay = subprocess.run([str(TICKERHOUSE), "extract", "--replay-dead-letters", "--source",
                             "live"], env=env, capture_output=True, text=True, timeout=300)
    assert replay.returncode == 0, replay.stderr
    assert "finnhub: 1 of 1 dead letters resolved (1 API calls)" in replay.stdout
    with database.connect() as conn:
        assert conn.execute("select count(*) from ops.dead_letters where resolved_at is null"
                            ).fetchone()[0] == 0
        assert conn.execute("select count(*) from raw.finnhub_quotes where symbol = %s",
                            (item["symbol"],)).fetchone()[0] == 1
    again = subprocess.run([str(TICKERHOUSE), "extract", "--replay-dead-letters"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert "no open dead letters" in again.stdout
