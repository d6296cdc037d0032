"""The default 6,000-ticker universe over several dates (heavier: marked slow)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from emulator import Emulator, EmulatorConfig

from .conftest import AS_OF

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big():
    cfg = EmulatorConfig(
        seed=42,
        n_tickers=6000,
        as_of=AS_OF,
        freeze_clock=True,
        limits_enabled=False,
        market_start=dt.date(2018, 1, 2),
        plans={"k": "paid"},
    )
    with Emulator(cfg) as emu, httpx.Client(base_url=emu.url, timeout=60) as client:
        yield emu, client


def test_six_thousand_rows_on_every_date(big):
    emu, client = big
    seen = set()
    for day in ("2018-01-02", "2019-07-03", "2021-03-15", "2022-11-25", "2024-01-05", "2024-01-08"):
        body = client.get(f"/v2/aggs/grouped/locale/us/market/stocks/{day}", params={"apiKey": "k"}).json()
        tickers = [r["T"] for r in body["results"]]
        assert body["resultsCount"] == len(tickers) == len(set(tickers)) == 6000
        seen |= set(tickers)
        assert all(r["l"] <= min(r["o"], r["c"]) and max(r["o"], r["c"]) <= r["h"] for r in body["results"])
    assert len(seen) > 6000 + 500
    universe = emu.universe(dt.date(2024, 1, 8))
    exchanges = {t["exchange"] for t in universe["tickers"]}
    types = {t["type"] for t in universe["tickers"]}
    assert {"XNYS", "XNAS", "XASE", "ARCX"} <= exchanges and types == {"CS", "ETF", "ADRC"}
    one_letter = [t["ticker"] for t in universe["tickers"] if len(t["ticker"]) == 1]
    assert {"F", "T", "C"} <= set(one_letter)


def test_reference_tickers_pages_through_six_thousand(big):
    _, client = big
    body = client.get("/v3/reference/tickers", params={"apiKey": "k", "limit": 1000}).json()
    total, pages = len(body["results"]), 1
    while "next_url" in body:
        body = client.get(body["next_url"] + "&apiKey=k").json()
        total += len(body["results"])
        pages += 1
    assert total == 6000 and pages == 6
