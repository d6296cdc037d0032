"""The blocking entry point: python -m emulator serve."""

from __future__ import annotations

import subprocess
import sys

import httpx


def test_help():
    out = subprocess.run(
        [sys.executable, "-m", "emulator", "serve", "--help"], capture_output=True, text=True, check=True
    )
    for flag in ("--port", "--seed", "--tickers", "--plan", "--fault-profile", "--no-limits", "--as-of"):
        assert flag in out.stdout


def test_serve_answers_until_stopped():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "serve",
            "--port",
            "0",
            "--tickers",
            "25",
            "--seed",
            "3",
            "--plan",
            "K=paid",
            "--as-of",
            "2024-01-08T21:30:00-05:00",
            "--market-start",
            "2023-01-03",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("vendor emulator on http://127.0.0.1:")
        url = line.split()[3]
        health = httpx.get(f"{url}/_emulator/health", timeout=10).json()
        assert (
            health["status"] == "ok"
            and health["n_tickers"] == 25
            and health["latest_session"] == "2024-01-08"
        )
        body = httpx.get(
            f"{url}/v2/aggs/grouped/locale/us/market/stocks/2024-01-05", params={"apiKey": "K"}
        ).json()
        assert body["resultsCount"] == 25
        assert httpx.get(f"{url}/_emulator/plans").json()["plans"] == {"K": "paid"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_emulator_imports_nothing_from_the_product():
    import ast
    from pathlib import Path

    import emulator

    product = {"tickerhouse", "extract", "ml", "cache", "orchestration"}
    for path in Path(emulator.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & product, f"{path} imports {names}"
