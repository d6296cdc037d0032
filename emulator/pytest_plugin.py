"""pytest fixtures for code that talks to the vendors: `pytest_plugins = ["emulator.pytest_plugin"]`.

`vendor_emulator` is one emulator per test session (small universe, fixed clock); it is reset
(counters, faults, clock) before each test that asks for it. Override `vendor_emulator_config`
to change the market.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from .config import EmulatorConfig
from .server import Emulator

DEFAULT_AS_OF = dt.datetime(2024, 1, 8, 21, 30, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(scope="session")
def vendor_emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        seed=42, n_tickers=200, as_of=DEFAULT_AS_OF, freeze_clock=True, market_start=dt.date(2021, 1, 4)
    )


@pytest.fixture(scope="session")
def _vendor_emulator_session(vendor_emulator_config):
    with Emulator(vendor_emulator_config) as emu:
        yield emu


@pytest.fixture()
def vendor_emulator(_vendor_emulator_session, vendor_emulator_config):
    emu = _vendor_emulator_session
    emu.reset()
    emu.set_fault_profile(vendor_emulator_config.fault_profile)
    emu.add_fault_rules([], replace=True)
    if vendor_emulator_config.as_of is not None:
        emu.set_clock(vendor_emulator_config.as_of)
    yield emu
