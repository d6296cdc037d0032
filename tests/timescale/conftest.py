"""Fixtures of the TimescaleDB lane: one test server for the whole run."""

from __future__ import annotations

import pytest

from .engine import TimescaleServer, missing_tools


@pytest.fixture(scope="session")
def timescale_url():
    """URL of a TimescaleDB test server (database template1) shared by the whole run.

    Connect with ``engine.connect(url)``: the session is shared, so psycopg must not name
    prepared statements. Skips only when this machine lacks Node.js or npm.
    """
    missing = missing_tools()
    if missing:
        pytest.skip(f"the TimescaleDB test lane needs {' and '.join(missing)} on PATH "
                    "(Node.js >= 20 with npm runs its PGlite + TimescaleDB engine)")
    with TimescaleServer() as url:
        yield url
