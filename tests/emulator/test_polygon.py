"""Polygon over HTTP, against the shapes and errors in vendor-facts.md."""

from __future__ import annotations

import datetime as dt
import re

from .conftest import AS_OF, ET, N_TICKERS, close_ms, grouped

HEX32 = re.compile(r"^[0-9a-f]{32}$")
ROW_KEYS = {"T", "v", "vw", "o", "c", "h", "l", "t", "n"}
REQUIRED_ROW_KEYS = {"T", "v", "o", "c", "h", "l", "t"}


def test_grouped_daily_shape_and_consistency(client, key):
    r = client.get(
        "/v2/aggs/grouped/locale/us/market/stocks/2024-01-05", params={"apiKey": key, "adjusted": "true"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert list(body) == [
        "queryCount",
        "resultsCount",
        "adjusted",
        "results",
        "status",
        "request_id",
        "count",
    ]
    assert body["status"] == "OK" and body["adjusted"] is True
    assert HEX32.match(body["request_id"])
    assert body["queryCount"] == body["resultsCount"] == body["count"] == N_TICKERS == len(body["results"])
    tickers = [row["T"] for row in body["results"]]
    assert len(set(tickers)) == N_TICKERS
    assert {"BRK.B", "BF-B", "F", "T", "C", "AAPL", "SPY"} <= set(tickers)
    for row in body["results"]:
        assert REQUIRED_ROW_KEYS <= set(row) <= ROW_KEYS
        assert ("vw" in row) == ("n" in row)
        assert isinstance(row["T"], str)
        assert isinstance(row["v"], float) and row["v"] > 0
        for k in ("o", "c", "h", "l"):
            assert isinstance(row[k], float) and row[k] > 0
        assert row["l"] <= min(row["o"], row["c"]) <= max(row["o"], row["c"]) <= row["h"]
        assert row["t"] == close_ms(dt.date(2024, 1, 5)) and isinstance(row["t"], int)
        if "n" in row:
            assert isinstance(row["n"], int) and row["n"] > 0
            assert row["l"] <= row["vw"] <= row["h"]


def test_weekend_and_holiday_have_no_results(client, key):
    for day in ("2024-01-06", "2024-01-07", "2024-01-01"):
        body = grouped(client, day, key).json()
        assert body["resultsCount"] == 0 and body["queryCount"] == 0
        assert "results" not in body and body["status"] == "OK"


def test_today_before_end_of_day_is_not_authorized(client, emu, key):
    emu.set_clock(dt.datetime(2024, 1, 8, 17, 30, tzinfo=ET))
    r = grouped(client, "2024-01-08", key)
    assert r.status_code == 403
    body = r.json()
    assert set(body) == {"status", "request_id", "message"}
    assert body["status"] == "NOT_AUTHORIZED"
    assert body["message"] == (
        "Attempted to request today's data before end of day. "
        "Please upgrade your plan at https://polygon.io/pricing"
    )
    assert grouped(client, "2024-01-05", key).status_code == 200
    emu.set_clock(dt.datetime(2024, 1, 8, 20, 1, tzinfo=ET))
    assert grouped(client, "2024-01-08", key).json()["resultsCount"] == N_TICKERS


def test_free_plan_history_is_two_years(client, key):
    r = grouped(client, "2021-12-01", key)
    assert r.status_code == 403
    assert r.json()["status"] == "NOT_AUTHORIZED"
    assert r.json()["message"].startswith("You are not entitled to this data")
    assert grouped(client, "2022-01-10", key).status_code == 200
    assert grouped(client, "2021-12-01", "PAID").json()["resultsCount"] == N_TICKERS


def test_auth_missing_invalid_and_bearer(client):
    r = client.get("/v2/aggs/grouped/locale/us/market/stocks/2024-01-05")
    assert r.status_code == 401
    body = r.json()
    assert (
        body["status"] == "ERROR"
        and body["error"] == "API Key was not provided"
        and HEX32.match(body["request_id"])
    )
    r = client.get("/v2/aggs/grouped/locale/us/market/stocks/2024-01-05", params={"apiKey": "BAD"})
    assert r.status_code == 401 and r.json()["status"] == "ERROR"
    r = client.get(
        "/v2/aggs/grouped/locale/us/market/stocks/2024-01-05", headers={"Authorization": "Bearer some-key"}
    )
    assert r.status_code == 200 and r.json()["resultsCount"] == N_TICKERS


def test_range_aggregates_paginate_with_next_url(client):
    first = client.get(
        "/v2/aggs/ticker/AAPL/range/1/day/2023-06-01/2024-01-08", params={"apiKey": "PAID", "limit": 50}
    )
    body = first.json()
    assert body["ticker"] == "AAPL" and body["status"] == "OK" and body["adjusted"] is True
    assert body["resultsCount"] == body["count"] == 50 and body["queryCount"] > 100
    pages, rows = 1, list(body["results"])
    while "next_url" in body:
        assert "apiKey" not in body["next_url"] and body["next_url"].startswith(client.base_url.__str__())
        body = client.get(body["next_url"] + "&apiKey=PAID").json()
        rows += body["results"]
        pages += 1
    assert len(rows) == first.json()["queryCount"] and pages == -(-len(rows) // 50)
    ts = [r["t"] for r in rows]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    assert ts[-1] == close_ms(dt.date(2024, 1, 8))
    for row in rows:
        assert {"v", "o", "c", "h", "l", "t"} <= set(row) <= {"v", "vw", "o", "c", "h", "l", "t", "n"}
    # the same bars as the grouped files
    by_t = {r["t"]: r for r in rows}
    for day in ("2023-06-01", "2023-11-24", "2024-01-05"):
        g = next(r for r in grouped(client, day).json()["results"] if r["T"] == "AAPL")
        assert {k: v for k, v in g.items() if k != "T"} == by_t[g["t"]]


def test_range_desc_and_unknown_ticker(client):
    body = client.get(
        "/v2/aggs/ticker/MSFT/range/1/day/2023-12-01/2024-01-08", params={"apiKey": "PAID", "sort": "desc"}
    ).json()
    ts = [r["t"] for r in body["results"]]
    assert ts == sorted(ts, reverse=True)
    body = client.get(
        "/v2/aggs/ticker/NOPE1/range/1/day/2023-12-01/2024-01-08", params={"apiKey": "PAID"}
    ).json()
    assert body["resultsCount"] == 0 and "results" not in body and body["status"] == "OK"


def test_split_changes_adjusted_prices(client):
    # AAPL splits 4-for-1 on 2020-08-31; before that day unadjusted prices are 4x the adjusted ones.
    params = {"apiKey": "PAID"}
    adj = client.get("/v2/aggs/ticker/AAPL/range/1/day/2020-08-24/2020-09-04", params=params).json()[
        "results"
    ]
    raw = client.get(
        "/v2/aggs/ticker/AAPL/range/1/day/2020-08-24/2020-09-04", params={**params, "adjusted": "false"}
    ).json()["results"]
    split_ms = close_ms(dt.date(2020, 8, 31))
    for a, r in zip(adj, raw, strict=True):
        if a["t"] < split_ms:
            assert abs(r["c"] - 4 * a["c"]) <= 0.0002 and abs(a["v"] - 4 * r["v"]) <= 2
        else:
            assert r == a
    g_adj = next(x for x in grouped(client, "2020-08-28").json()["results"] if x["T"] == "AAPL")
    g_raw = next(
        x for x in grouped(client, "2020-08-28", adjusted="false").json()["results"] if x["T"] == "AAPL"
    )
    assert abs(g_raw["c"] - 4 * g_adj["c"]) <= 0.0002
    actions = client.get("/_emulator/actions", params={"ticker": "AAPL"}).json()
    assert {"date": "2020-08-31", "ratio": 4.0, "split_from": 1, "split_to": 4.0} in actions["splits"]


def test_reference_tickers_cursor_covers_the_universe(client):
    seen = []
    body = client.get(
        "/v3/reference/tickers", params={"apiKey": "PAID", "market": "stocks", "active": "true", "limit": 25}
    ).json()
    pages = 1
    while True:
        assert (
            body["status"] == "OK"
            and HEX32.match(body["request_id"])
            and body["count"] == len(body["results"])
        )
        seen += body["results"]
        if "next_url" not in body:
            break
        assert "cursor=" in body["next_url"]
        body = client.get(body["next_url"] + "&apiKey=PAID").json()
        pages += 1
    assert pages == 3 and len(seen) == N_TICKERS
    assert [r["ticker"] for r in seen] == sorted(r["ticker"] for r in seen)
    listed = {r["T"] for r in grouped(client, "2024-01-08").json()["results"]}
    assert {r["ticker"] for r in seen} == listed
    for r in seen:
        assert set(r) == {
            "ticker",
            "name",
            "market",
            "locale",
            "primary_exchange",
            "type",
            "active",
            "currency_name",
            "cik",
            "composite_figi",
            "share_class_figi",
            "last_updated_utc",
        }
        assert r["market"] == "stocks" and r["locale"] == "us" and r["active"] is True
        assert r["primary_exchange"] in {"XNYS", "XNAS", "XASE", "ARCX", "BATS"}
        assert r["type"] in {"CS", "ETF", "ADRC"}
        assert isinstance(r["cik"], str) and len(r["cik"]) == 10 and r["cik"].isdigit()
    types = {r["type"] for r in seen}
    assert {"CS", "ETF", "ADRC"} <= types


def test_delisted_tickers_are_listed_inactive(client):
    body = client.get(
        "/v3/reference/tickers", params={"apiKey": "PAID", "active": "false", "limit": 1000}
    ).json()
    gone = body["results"]
    assert gone, "five years of a 60-slot market should see delistings"
    active = {r["T"] for r in grouped(client, "2024-01-08").json()["results"]}
    for r in gone:
        assert r["active"] is False and r["ticker"] not in active
        assert r["delisted_utc"] <= AS_OF.date().isoformat() + "T00:00:00Z"
