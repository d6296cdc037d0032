"""Fixtures of the dbt tests: a warehouse (database) per test module, raw bars landed into it."""

from __future__ import annotations

import pytest

from .warehouse import RawLander, apply_setup


@pytest.fixture(scope="module")
def warehouse(scratch_databases):
    """A fresh PostgreSQL 15 database set up as prepare_warehouse sets one up."""
    database = scratch_databases("th_test_dbt")
    apply_setup(database.url())
    return database


@pytest.fixture(scope="module")
def lander(warehouse) -> RawLander:
    return RawLander(warehouse.url())


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory):
    """A target directory of the module's own (compiled SQL, manifest, catalog, logs)."""
    return tmp_path_factory.mktemp("dbt_target")
