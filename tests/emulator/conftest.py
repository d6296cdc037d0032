"""One small emulator for the whole emulator suite, reset before every test."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import httpx
import pytest

from emulator import Emulator, EmulatorConfig

ET = ZoneInfo("America/New_York")
# A Monday evening after 20:00 ET: the day's data is final for every plan.
AS_OF = dt.datetime(2024, 1, 8, 21, 30, tzinfo=ET)
N_TICKERS = 60
CONFIG = dict(
    seed=7,
    n_tickers=N_TICKERS,
    as_of=AS_OF,
    freeze_clock=True,
    market_start=dt.date(2019, 1, 2),
    plans={"PAID": "paid", "BAD": "invalid", "OFF": "disabled"},
)
_keys = itertools.count()


@pytest.fixture(scope="session")
def emu():
    with Emulator(EmulatorConfig(**CONFIG)) as e:
        yield e


@pytest.fixture()
def client(emu):
    emu.reset()
    emu.set_fault_profile(None)
    emu.add_fault_rules([], replace=True)
    emu.set_clock(AS_OF)
    with httpx.Client(base_url=emu.url, timeout=10) as c:
        yield c
    emu.set_clock(AS_OF)
    emu.set_fault_profile(None)
    emu.add_fault_rules([], replace=True)


@pytest.fixture()
def key():
    """A fresh free-plan key, so no test shares a rate window with another."""
    return f"free-{next(_keys)}"


def grouped(client, day: str, key: str = "PAID", **params) -> httpx.Response:
    return client.get(f"/v2/aggs/grouped/locale/us/market/stocks/{day}", params={"apiKey": key, **params})


def close_ms(day: dt.date, hour: int = 16) -> int:
    return int(dt.datetime.combine(day, dt.time(hour), ET).timestamp() * 1000)
