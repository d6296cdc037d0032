"""The `tickerhouse` command as a user runs it: help everywhere, one-line errors, no tracebacks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TICKERHOUSE = Path(sys.executable).parent / "tickerhouse"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TICKERHOUSE_")}
    return subprocess.run([str(TICKERHOUSE), *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, timeout=120)


def all_verbs() -> list[list[str]]:
    import typer.main

    from orchestration.cli import app

    def walk(command, path):
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


@pytest.mark.parametrize("verb", all_verbs(), ids=lambda verb: " ".join(verb) or "tickerhouse")
def test_every_verb_has_help(verb):
    result = run_cli(*verb, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: tickerhouse" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["run", "--date", "2026-02-30"], {}, "bad date '2026-02-30'"),
    (["run", "--date", "2999-01-04"], {}, "has not closed yet"),
    (["run", "--source", "carrier-pigeon"], {}, "unknown source"),
    (["run", "--source", "live", "--date", "2026-11-24"],
     {"TICKERHOUSE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/untouched"},
     "--source live needs at least one TICKERHOUSE_<VENDOR>_API_KEY"),
    (["run", "--date", "2026-11-24"],
     {"TICKERHOUSE_DATABASE_URL": "postgresql://bob:hunter2@127.0.0.1:1/nowhere"},
     "cannot reach Postgres at bob@127.0.0.1:1/nowhere"),
    (["run"], {"TICKERHOUSE_HISTORY_SESSIONS": "many"}, "invalid setting TICKERHOUSE_HISTORY_SESSIONS"),
    (["emulator", "serve", "--plan", "no-equals-sign"], {}, "bad --plan"),
    (["sentiment", "score", "--from", "2026-11-05", "--to", "2026-11-01"], {},
     "--to 2026-11-01 is before --from 2026-11-05"),
    (["backfill", "--start", "2026-11-05", "--end", "2026-11-01"],
     {"TICKERHOUSE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/untouched"},
     "the range ends (2026-11-01) before it starts (2026-11-05)"),
])
def test_user_mistakes_end_in_one_clear_line(args, env, expected):
    result = run_cli(*args, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]
    assert "hunter2" not in result.stdout + result.stderr


def test_a_holiday_is_reported_and_stops_cleanly(database):
    result = run_cli("run", "--date", "2026-07-03", env={"TICKERHOUSE_DATABASE_URL": database.url()})
    assert result.returncode == 0, result.stderr
    assert "not an NYSE session" in result.stdout
    with database.connect() as conn:  # nothing was created for a holiday
        assert conn.execute("select to_regclass('curated.fct_daily_bars')").fetchone()[0] is None


def test_emulator_serve_answers_until_interrupted():
    import json
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TICKERHOUSE_")}
    # Ctrl-C at a terminal: SIGINT handled by default, even when this run itself was started in
    # the background of a shell without job control, which makes its children ignore SIGINT
    server = subprocess.Popen([str(TICKERHOUSE), "emulator", "serve", "--port", str(port),
                               "--tickers", "50", "--plan", "k-paid=paid"],
                              env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health") as answer:
                    health = json.load(answer)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.2)
        assert health["n_tickers"] == 50
        url = f"http://127.0.0.1:{port}/v2/aggs/grouped/locale/us/market/stocks/2026-11-20"
        request = urllib.request.Request(url, headers={"Authorization": "Bearer k-paid"})
        with urllib.request.urlopen(request) as answer:
            assert json.load(answer)["resultsCount"] == 50
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
