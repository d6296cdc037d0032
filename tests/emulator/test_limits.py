"""Every free-plan limit is enforced to the request, and every request is counted."""

from __future__ import annotations

import datetime as dt

import httpx

from emulator import Emulator, EmulatorConfig

from .conftest import AS_OF, ET, grouped

POLYGON_429 = (
    "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue."
)


def _endpoint(counts: dict, vendor: str, key: str, endpoint: str) -> dict:
    return counts["vendors"][vendor]["keys"][key]["endpoints"][endpoint]


def test_polygon_five_per_minute(client, emu, key):
    for _ in range(5):
        assert grouped(client, "2024-01-05", key).status_code == 200
    r = grouped(client, "2024-01-05", key)
    assert r.status_code == 429
    assert r.json()["status"] == "ERROR" and r.json()["error"] == POLYGON_429
    emu.advance(59.5)
    assert grouped(client, "2024-01-04", key).status_code == 429
    emu.advance(0.6)
    assert grouped(client, "2024-01-04", key).status_code == 200
    counts = client.get("/_emulator/counts").json()
    assert counts == emu.counts()
    ep = "/v2/aggs/grouped/locale/us/market/stocks/{date}"
    assert _endpoint(counts, "polygon", key, ep) == {
        "answered": 6,
        "rejected": 0,
        "throttled": 2,
        "faulted": 0,
    }
    # the paid plan has no per-minute cap
    for _ in range(12):
        assert grouped(client, "2024-01-05", "PAID").status_code == 200


def test_finnhub_thirty_per_second_and_sixty_per_minute(client, emu, key):
    def quote():
        return client.get("/api/v1/quote", params={"symbol": "AAPL", "token": key})

    for _ in range(30):
        assert quote().status_code == 200
    r = quote()
    assert r.status_code == 429
    assert r.json() == {"error": "API limit reached. Please try again later. Remaining Limit: 0"}
    emu.advance(1.0)
    for _ in range(30):
        assert quote().status_code == 200
    emu.advance(1.0)
    r = quote()  # 60 answered within the minute: the minute cap now bites
    assert r.status_code == 429 and r.headers["X-Ratelimit-Remaining"] == "0"
    emu.advance(58.0)
    assert quote().status_code == 200
    c = emu.counts()["vendors"]["finnhub"]["keys"][key]["total"]
    assert c == {"answered": 61, "rejected": 0, "throttled": 2, "faulted": 0}


def test_alphavantage_twenty_five_per_day(client, emu, key):
    params = {"function": "TIME_SERIES_DAILY", "symbol": "IBM", "apikey": key}
    for _ in range(25):
        assert "Time Series (Daily)" in client.get("/query", params=params).json()
    r = client.get("/query", params=params)
    assert r.status_code == 200
    assert list(r.json()) == ["Information"] and "25 requests per day" in r.json()["Information"]
    # the day turns at midnight New York time
    emu.set_clock(dt.datetime(2024, 1, 8, 23, 59, tzinfo=ET))
    assert "Information" in client.get("/query", params=params).json()
    emu.set_clock(dt.datetime(2024, 1, 9, 0, 1, tzinfo=ET))
    assert "Time Series (Daily)" in client.get("/query", params=params).json()
    c = emu.counts()["vendors"]["alphavantage"]["keys"][key]["total"]
    assert c == {"answered": 26, "rejected": 0, "throttled": 2, "faulted": 0}
    assert emu.counts()["quota"]["alphavantage"][key] == {"day": "2024-01-09", "used": 1}


def test_newsapi_hundred_per_day(client, emu, key):
    params = {"country": "us", "pageSize": 1, "apiKey": key}
    for _ in range(100):
        assert client.get("/v2/top-headlines", params=params).status_code == 200
    r = client.get("/v2/top-headlines", params=params)
    assert r.status_code == 429
    assert r.json()["status"] == "error" and r.json()["code"] == "rateLimited"
    # the day turns at midnight UTC (AS_OF, 21:30 in New York, is already 2024-01-09 02:30 UTC)
    emu.set_clock(dt.datetime(2024, 1, 9, 23, 59, 59, tzinfo=dt.UTC))
    assert client.get("/v2/top-headlines", params=params).status_code == 429
    emu.set_clock(dt.datetime(2024, 1, 10, 0, 0, 1, tzinfo=dt.UTC))
    assert client.get("/v2/top-headlines", params=params).status_code == 200
    c = emu.counts()["vendors"]["newsapi"]["keys"][key]["total"]
    assert c == {"answered": 101, "rejected": 0, "throttled": 2, "faulted": 0}


def test_limits_can_be_turned_off():
    cfg = EmulatorConfig(
        seed=1,
        n_tickers=5,
        as_of=AS_OF,
        freeze_clock=True,
        limits_enabled=False,
        market_start=dt.date(2023, 6, 1),
    )
    with Emulator(cfg) as emu, httpx.Client(base_url=emu.url) as client:
        for _ in range(8):
            assert grouped(client, "2024-01-05", "anything").status_code == 200
        assert emu.counts()["total"] == {"answered": 8, "rejected": 0, "throttled": 0, "faulted": 0}
