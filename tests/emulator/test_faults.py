"""Injected faults happen for real over HTTP, and the log says exactly what they touched."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from .conftest import grouped

GROUPED = "/v2/aggs/grouped/locale/us/market/stocks"


def _rule(client, fault: str, count: int = 1, path_prefix: str = GROUPED, **params) -> None:
    r = client.post(
        "/_emulator/faults",
        json={"rules": [{"fault": fault, "count": count, "path_prefix": path_prefix, "params": params}]},
    )
    assert r.status_code == 200


def _rows(resp: httpx.Response) -> list[dict]:
    return resp.json()["results"]


def _log(client) -> list[dict]:
    return client.get("/_emulator/faults/log").json()["faults"]


def test_5xx_burst_then_recovery(client):
    _rule(client, "http_5xx", count=2, status=503)
    assert grouped(client, "2024-01-05").status_code == 503
    assert grouped(client, "2024-01-04").status_code == 503
    assert grouped(client, "2024-01-05").status_code == 200
    log = _log(client)
    assert [e["fault"] for e in log] == ["http_5xx", "http_5xx"]
    assert [e["dates"] for e in log] == [["2024-01-05"], ["2024-01-04"]]
    assert log[0]["vendor"] == "polygon" and log[0]["source"] == "rule" and log[0]["status"] == 503
    total = client.get("/_emulator/counts").json()["vendors"]["polygon"]["total"]
    assert total["faulted"] == 2 and total["answered"] == 1


def test_rate_limit_storm_sends_retry_after(client):
    _rule(client, "http_429", count=1, retry_after=7)
    r = grouped(client, "2024-01-05")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7" and r.json()["status"] == "ERROR"


def test_connection_reset(client):
    _rule(client, "reset")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
        grouped(client, "2024-01-05")
    assert grouped(client, "2024-01-05").status_code == 200


def test_truncated_body(client):
    _rule(client, "truncated", keep=0.3)
    with pytest.raises(httpx.RemoteProtocolError):
        grouped(client, "2024-01-05")


def test_malformed_json(client):
    _rule(client, "malformed_json")
    r = grouped(client, "2024-01-05")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_html_error_page(client):
    _rule(client, "html_error", path_prefix="/api/v1/", status=502)
    r = client.get("/api/v1/quote", params={"symbol": "AAPL", "token": "PAID"})
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert r.text.lstrip().startswith("<html>")


def test_slow_response(client):
    _rule(client, "slow", delay_ms=300)
    start = time.monotonic()
    assert grouped(client, "2024-01-05").status_code == 200
    assert time.monotonic() - start >= 0.3


def test_alpha_vantage_note_and_header_knob(client):
    _rule(client, "av_note", path_prefix="/query")
    body = client.get("/query", params={"function": "OVERVIEW", "symbol": "IBM", "apikey": "PAID"}).json()
    assert list(body) == ["Note"]
    r = client.get(
        "/api/v1/quote",
        params={"symbol": "AAPL", "token": "PAID"},
        headers={"X-Emulator-Fault": "http_5xx;status=500"},
    )
    assert r.status_code == 500


def test_vendor_down_for_the_run(client):
    client.post("/_emulator/faults", json={"profile": "finnhub-down"})
    for _ in range(3):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            client.get("/api/v1/quote", params={"symbol": "AAPL", "token": "PAID"})
    assert grouped(client, "2024-01-05").status_code == 200
    assert client.get("/_emulator/faults").json()["profile"] == "finnhub-down"


@pytest.mark.parametrize(
    "fault, fields",
    [
        ("bad_price", None),
        ("bad_high_low", ["h", "l"]),
        ("bad_volume_spike", ["v"]),
        ("schema_string_number", None),
        ("stale", None),
    ],
)
def test_bad_rows_are_exactly_the_logged_ones(client, fault, fields):
    clean = {r["T"]: r for r in _rows(grouped(client, "2024-01-05"))}
    previous = {r["T"]: r for r in _rows(grouped(client, "2024-01-04"))}
    _rule(client, fault, rows=3)
    broken = _rows(grouped(client, "2024-01-05"))
    (entry,) = _log(client)
    changed = sorted(r["T"] for r in broken if r != clean[r["T"]])
    assert changed == entry["tickers"] and len(changed) == 3
    assert entry["dates"] == ["2024-01-05"] and entry["scope"] == "rows"
    if fields:
        assert entry["fields"] == fields
    for r in broken:
        if r["T"] not in changed:
            continue
        diff = sorted(k for k in r if r[k] != clean[r["T"]].get(k))
        assert set(diff) <= set(entry["fields"])
        if fault == "bad_price":
            assert r[entry["fields"][0]] < 0
        if fault == "bad_high_low":
            assert r["h"] < r["l"]
        if fault == "bad_volume_spike":
            assert r["v"] == clean[r["T"]]["v"] * 100
        if fault == "schema_string_number":
            assert isinstance(r[entry["fields"][0]], str)
        if fault == "stale":
            assert {k: v for k, v in r.items() if k != "t"} == {
                k: v for k, v in previous[r["T"]].items() if k != "t"
            }


def test_duplicated_tickers(client):
    _rule(client, "bad_duplicate", rows=2)
    body = grouped(client, "2024-01-05").json()
    (entry,) = _log(client)
    tickers = [r["T"] for r in body["results"]]
    dupes = sorted({t for t in tickers if tickers.count(t) > 1})
    assert dupes == entry["tickers"] and len(dupes) == 2
    assert body["resultsCount"] == len(tickers) == 62


def test_schema_drift_renames_and_adds_fields(client):
    _rule(client, "schema_rename", count=1)
    rows = _rows(grouped(client, "2024-01-05"))
    assert all("c" not in r and "close" in r for r in rows)
    _rule(client, "schema_new_field", count=1, path_prefix="/api/v1/quote")
    q = client.get("/api/v1/quote", params={"symbol": "AAPL", "token": "PAID"}).json()
    assert "v" in q
    log = _log(client)
    assert [e["fault"] for e in log] == ["schema_rename", "schema_new_field"]
    assert log[0]["scope"] == "payload" and len(log[0]["tickers"]) == 60 and log[0]["fields"] == ["c"]


def test_stale_quote(client):
    fresh = client.get("/api/v1/quote", params={"symbol": "MSFT", "token": "PAID"}).json()
    _rule(client, "stale", path_prefix="/api/v1/quote")
    stale = client.get("/api/v1/quote", params={"symbol": "MSFT", "token": "PAID"}).json()
    assert stale["t"] < fresh["t"] and stale["c"] == fresh["pc"]
    assert _log(client)[0]["tickers"] == ["MSFT"]


def test_unknown_fault_is_refused(client):
    r = client.post("/_emulator/faults", json={"rules": [{"fault": "gremlins"}]})
    assert r.status_code == 400
    assert client.post("/_emulator/faults", json={"profile": "nope"}).status_code == 400
