"""Same seed, same bytes: two runs answer the same request sequence identically."""

from __future__ import annotations

import datetime as dt

import httpx

from emulator import Emulator, EmulatorConfig

from .conftest import AS_OF

SEQUENCE = [
    "/v2/aggs/grouped/locale/us/market/stocks/2024-01-05?apiKey=k",
    "/v2/aggs/ticker/AAPL/range/1/day/2023-11-01/2024-01-08?apiKey=k&limit=20",
    "/v3/reference/tickers?apiKey=k&limit=10",
    "/api/v1/quote?symbol=MSFT&token=k",
    "/api/v1/company-news?symbol=AAPL&from=2023-12-01&to=2024-01-08&token=k",
    "/api/v1/stock/metric?symbol=IBM&metric=all&token=k",
    "/query?function=TIME_SERIES_DAILY&symbol=IBM&apikey=k",
    "/query?function=NEWS_SENTIMENT&tickers=AAPL&apikey=k",
    "/v2/everything?q=stocks&apiKey=k",
    "/v2/aggs/grouped/locale/us/market/stocks/2024-01-04?apiKey=k",
]


def _run(seed: int, profile: str | None = None) -> tuple[list[bytes], list[dict]]:
    cfg = EmulatorConfig(
        seed=seed,
        n_tickers=40,
        as_of=AS_OF,
        freeze_clock=True,
        market_start=dt.date(2021, 1, 4),
        fault_profile=profile,
    )
    with Emulator(cfg) as emu, httpx.Client(base_url=emu.url) as client:
        bodies = []
        for path in SEQUENCE:
            try:
                # next_url carries the server's own address, the one thing allowed to differ
                bodies.append(client.get(path).content.replace(emu.url.encode(), b"BASE"))
            except httpx.HTTPError as exc:
                bodies.append(type(exc).__name__.encode())
        log = [{k: v for k, v in e.items() if k != "time"} for e in emu.fault_log()]
        return bodies, log


def test_same_seed_same_bytes():
    first, _ = _run(11)
    second, _ = _run(11)
    assert first == second
    other, _ = _run(12)
    assert all(a != b for a, b in zip(first, other, strict=True) if b"error" not in a)


def test_faults_are_deterministic_too():
    a_bodies, a_log = _run(5, "chaos")
    b_bodies, b_log = _run(5, "chaos")
    assert a_bodies == b_bodies and a_log == b_log


def test_reset_replays_request_ids(client):
    path = "/v2/aggs/grouped/locale/us/market/stocks/2024-01-05"
    first = client.get(path, params={"apiKey": "PAID"}).json()["request_id"]
    second = client.get(path, params={"apiKey": "PAID"}).json()["request_id"]
    assert first != second
    client.post("/_emulator/reset")
    assert client.get(path, params={"apiKey": "PAID"}).json()["request_id"] == first
