"""OpenMP threads wait passively in every tickerhouse process (see tickerhouse/__init__.py)."""

import os
import subprocess
import sys

PROBE = "import orchestration.cli, os; print(os.environ['OMP_WAIT_POLICY'])"


def run(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_the_cli_process_sets_a_passive_wait_policy():
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert run(clean) == "PASSIVE"


def test_an_operators_own_policy_wins():
    assert run({**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
