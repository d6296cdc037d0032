"""Fixtures the source tests share: an emulator of the module's own (its paid `KEY`, `SEED` and
optionally `N_TICKERS`), a clean database per test, and clients of the module's `VENDOR` whose
retries do not sleep."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from emulator import Emulator, EmulatorConfig
from extract.deadletters import DeadLetters
from extract.http import CallLog, VendorClient
from extract.quota import QuotaManager, VendorLimits
from extract.resilience import Backoff

AS_OF = dt.datetime(2024, 1, 8, 21, 30, tzinfo=ZoneInfo("America/New_York"))
UNLIMITED = VendorLimits(None, None, None)


@pytest.fixture(scope="module")
def emulator(request):
    module = request.module
    config = EmulatorConfig(seed=module.SEED, n_tickers=getattr(module, "N_TICKERS", 30),
                            as_of=AS_OF, freeze_clock=True, market_start=dt.date(2023, 6, 1),
                            plans={module.KEY: "paid"})
    with Emulator(config) as emu:
        yield emu


@pytest.fixture()
def emu(emulator):
    emulator.reset()
    emulator.add_fault_rules([], replace=True)
    return emulator


@pytest.fixture(scope="module")
def module_database(request, scratch_databases):
    return scratch_databases("th_test_" + request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture()
def warehouse(module_database):
    """The module's database with nothing landed, no dlt state and no dead letters or quota."""
    with module_database.connect(autocommit=True) as conn:
        conn.execute("drop schema if exists raw, raw_staging, ops cascade")
    return module_database


@pytest.fixture()
def sleeps() -> list[float]:
    return []


@pytest.fixture()
def make_client(request, emu, warehouse, redis_client, sleeps):
    """make(key=the module's KEY, limits=UNLIMITED, **VendorClient options): our quota limits
    are not the subject of these tests (the emulator's are, for free keys)."""
    vendor, default_key = request.module.VENDOR, request.module.KEY
    managers: list[QuotaManager] = []

    def make(key: str | None = None, limits: VendorLimits = UNLIMITED, **options) -> VendorClient:
        managers.append(QuotaManager(redis_client, warehouse, {vendor: limits},
                                     {vendor: [key or default_key]}))
        return VendorClient(vendor, emu.url, managers[-1], call_log=CallLog(),
                            **{"max_attempts": 3, "backoff": Backoff(base=0.0),
                               "sleep": sleeps.append, **options})

    yield make
    for manager in managers:
        manager.close()


@pytest.fixture()
def client(make_client) -> VendorClient:
    return make_client()


@pytest.fixture()
def dead_letters(warehouse) -> DeadLetters:
    return DeadLetters(warehouse)
