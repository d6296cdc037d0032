"""Finnhub over HTTP, against the shapes and errors in vendor-facts.md."""

from __future__ import annotations

import datetime as dt

from .conftest import ET, grouped

NEWS_KEYS = {"category", "datetime", "headline", "id", "image", "related", "source", "summary", "url"}
PROFILE_KEYS = {
    "country",
    "currency",
    "exchange",
    "finnhubIndustry",
    "ipo",
    "logo",
    "marketCapitalization",
    "name",
    "phone",
    "shareOutstanding",
    "ticker",
    "weburl",
}


def _close(client, day: str, ticker: str) -> float:
    rows = grouped(client, day, adjusted="false").json()["results"]
    return next(r["c"] for r in rows if r["T"] == ticker)


def test_quote_shape_and_agreement_with_polygon(client, key):
    r = client.get("/api/v1/quote", params={"symbol": "IBM", "token": key})
    assert r.status_code == 200
    q = r.json()
    assert set(q) == {"c", "d", "dp", "h", "l", "o", "pc", "t"}
    assert all(isinstance(q[k], (int, float)) for k in q)
    assert isinstance(q["t"], int)
    assert q["t"] == int(dt.datetime(2024, 1, 8, 16, tzinfo=ET).timestamp())
    assert q["c"] == _close(client, "2024-01-08", "IBM")
    assert q["pc"] == _close(client, "2024-01-05", "IBM")
    assert abs(q["d"] - (q["c"] - q["pc"])) < 1e-6
    assert abs(q["dp"] - (q["c"] / q["pc"] - 1) * 100) < 1e-3
    assert q["l"] <= min(q["o"], q["c"]) and max(q["o"], q["c"]) <= q["h"]


def test_quote_unknown_symbol_is_zeros_and_nulls(client, key):
    q = client.get("/api/v1/quote", params={"symbol": "ZZZZZ", "token": key}).json()
    assert q == {"c": 0, "d": None, "dp": None, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0}


def test_auth_by_header_and_missing_token(client, key):
    r = client.get("/api/v1/quote", params={"symbol": "AAPL"}, headers={"X-Finnhub-Token": key})
    assert r.status_code == 200 and r.json()["c"] > 0
    assert r.headers["X-Ratelimit-Limit"] == "30" and r.headers["X-Ratelimit-Remaining"] == "29"
    r = client.get("/api/v1/quote", params={"symbol": "AAPL"})
    assert r.status_code == 401 and set(r.json()) == {"error"}


def test_company_news_shape(client, key):
    r = client.get(
        "/api/v1/company-news",
        params={"symbol": "AAPL", "from": "2023-12-01", "to": "2024-01-08", "token": key},
    )
    items = r.json()
    assert r.status_code == 200 and isinstance(items, list) and items
    lo = dt.datetime(2023, 12, 1, tzinfo=dt.UTC).timestamp()
    hi = dt.datetime(2024, 1, 9, tzinfo=dt.UTC).timestamp()
    for a in items:
        assert set(a) == NEWS_KEYS
        assert a["related"] == "AAPL" and a["category"] == "company"
        assert isinstance(a["datetime"], int) and lo <= a["datetime"] < hi
        assert isinstance(a["id"], int)
        assert all(isinstance(a[k], str) and a[k] for k in ("headline", "image", "source", "summary", "url"))
    assert [a["datetime"] for a in items] == sorted((a["datetime"] for a in items), reverse=True)
    assert (
        client.get(
            "/api/v1/company-news",
            params={"symbol": "ZZZZZ", "from": "2023-12-01", "to": "2024-01-08", "token": key},
        ).json()
        == []
    )


def test_profile2_shape(client, key):
    p = client.get("/api/v1/stock/profile2", params={"symbol": "BRK.B", "token": key}).json()
    assert PROFILE_KEYS <= set(p)
    assert p["ticker"] == "BRK.B" and p["currency"] == "USD" and p["country"] == "US"
    assert isinstance(p["marketCapitalization"], float) and isinstance(p["shareOutstanding"], float)
    close = _close(client, "2024-01-08", "BRK.B")
    assert abs(p["marketCapitalization"] - close * p["shareOutstanding"]) / p["marketCapitalization"] < 1e-3
    dt.date.fromisoformat(p["ipo"])
    assert client.get("/api/v1/stock/profile2", params={"symbol": "ZZZZZ", "token": key}).json() == {}


def test_metric_shape(client, key):
    m = client.get("/api/v1/stock/metric", params={"symbol": "MSFT", "metric": "all", "token": key}).json()
    assert set(m) == {"metric", "metricType", "series", "symbol"}
    assert m["metricType"] == "all" and m["symbol"] == "MSFT"
    for k in ("52WeekHigh", "52WeekLow", "beta", "peTTM", "epsTTM", "dividendYieldIndicatedAnnual"):
        assert k in m["metric"]
    assert m["metric"]["52WeekLow"] <= m["metric"]["52WeekHigh"]
    assert set(m["series"]) == {"annual", "quarterly"}
    for item in m["series"]["quarterly"]["eps"]:
        assert set(item) == {"period", "v"} and isinstance(item["v"], float)


def test_candle_is_premium(client, key):
    params = {"symbol": "AAPL", "resolution": "D", "from": 1703000000, "to": 1704800000}
    r = client.get("/api/v1/stock/candle", params={**params, "token": key})
    assert r.status_code == 403 and r.json() == {"error": "You don't have access to this resource."}
    body = client.get("/api/v1/stock/candle", params={**params, "token": "PAID"}).json()
    assert body["s"] == "ok"
    n = len(body["t"])
    assert n > 5 and all(len(body[k]) == n for k in ("c", "h", "l", "o", "v"))
