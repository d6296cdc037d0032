"""Fixtures of the cache tests: a small warehouse per test and a Redis server a test may stop."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import time

import pytest
import redis

from .warehouse import Market, build

# Monday after the Friday SESSION, noon UTC: daily keys live until Tuesday's load is done.
NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def market(scratch_databases) -> Market:
    """Shared by a module's tests, which only read it (a test that changes data takes
    `own_market`)."""
    return build(scratch_databases("th_test_cache"))


@pytest.fixture()
def own_market(scratch_databases) -> Market:
    return build(scratch_databases("th_test_cache"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    """A redis-server of the test's own on a fixed port, which the test can stop and start."""

    def __init__(self, port: int, directory) -> None:
        self.port, self.directory, self.process = port, directory, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture()
def redis_process(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("needs the redis-server binary (Debian's redis-server package)")
    server = RedisProcess(free_port(), tmp_path)
    yield server
    server.stop()
