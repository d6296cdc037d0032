"""Alpha Vantage over HTTP: strings everywhere, errors and throttling as HTTP 200 bodies."""

from __future__ import annotations

import re

from .conftest import grouped

PRICE = re.compile(r"^\d+\.\d{4}$")
AV_LABELS = {"Bearish", "Somewhat-Bearish", "Neutral", "Somewhat-Bullish", "Bullish"}


def _av(client, **params):
    r = client.get("/query", params=params)
    assert r.status_code == 200
    return r.json()


def test_daily_compact_shape_and_agreement_with_polygon(client, key):
    body = _av(client, function="TIME_SERIES_DAILY", symbol="IBM", apikey=key)
    assert list(body) == ["Meta Data", "Time Series (Daily)"]
    assert body["Meta Data"] == {
        "1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": "IBM",
        "3. Last Refreshed": "2024-01-08",
        "4. Output Size": "Compact",
        "5. Time Zone": "US/Eastern",
    }
    series = body["Time Series (Daily)"]
    assert len(series) == 100
    assert list(series) == sorted(series, reverse=True)
    for row in series.values():
        assert list(row) == ["1. open", "2. high", "3. low", "4. close", "5. volume"]
        assert all(isinstance(v, str) for v in row.values())
        assert all(PRICE.match(row[k]) for k in ("1. open", "2. high", "3. low", "4. close"))
        assert row["5. volume"].isdigit()
        assert float(row["3. low"]) <= float(row["4. close"]) <= float(row["2. high"])
    for day in ("2024-01-08", "2023-11-24"):
        poly = next(r for r in grouped(client, day, adjusted="false").json()["results"] if r["T"] == "IBM")
        assert float(series[day]["4. close"]) == poly["c"]
        assert int(series[day]["5. volume"]) == int(poly["v"])


def test_full_output_is_premium(client, key):
    body = _av(client, function="TIME_SERIES_DAILY", symbol="IBM", outputsize="full", apikey=key)
    assert list(body) == ["Information"] and "premium" in body["Information"]
    full = _av(client, function="TIME_SERIES_DAILY", symbol="IBM", outputsize="full", apikey="PAID")
    assert full["Meta Data"]["4. Output Size"] == "Full size"
    assert len(full["Time Series (Daily)"]) > 1200 and min(full["Time Series (Daily)"]) == "2019-01-02"


def test_errors_are_200_bodies(client, key):
    assert list(_av(client, function="TIME_SERIES_DAILY", symbol="IBM")) == ["Error Message"]
    assert "apikey" in _av(client, function="TIME_SERIES_DAILY", symbol="IBM")["Error Message"]
    assert list(_av(client, function="TIME_SERIES_DAILY", symbol="ZZZZZ", apikey=key)) == ["Error Message"]
    assert _av(client, function="NOPE", apikey=key) == {
        "Error Message": "This API function (NOPE) does not exist."
    }
    counts = client.get("/_emulator/counts").json()["vendors"]["alphavantage"]
    assert counts["total"]["rejected"] == 4 and counts["total"]["answered"] == 0


def test_overview_is_flat_strings(client, key):
    body = _av(client, function="OVERVIEW", symbol="MSFT", apikey=key)
    for k in (
        "Symbol",
        "Name",
        "Exchange",
        "Sector",
        "Industry",
        "MarketCapitalization",
        "PERatio",
        "EPS",
        "BookValue",
        "DividendYield",
        "SharesOutstanding",
        "LatestQuarter",
    ):
        assert k in body
    assert all(isinstance(v, str) for v in body.values())
    assert body["Symbol"] == "MSFT" and body["Exchange"] == "NASDAQ"
    assert body["MarketCapitalization"].isdigit() and body["SharesOutstanding"].isdigit()
    assert _av(client, function="OVERVIEW", symbol="SPY", apikey=key) == {}


def test_news_sentiment_shape(client, key):
    body = _av(client, function="NEWS_SENTIMENT", tickers="AAPL", limit="20", apikey=key)
    assert set(body) == {"items", "sentiment_score_definition", "relevance_score_definition", "feed"}
    assert isinstance(body["items"], str) and int(body["items"]) == len(body["feed"]) > 0
    for item in body["feed"]:
        assert {
            "title",
            "url",
            "time_published",
            "authors",
            "summary",
            "banner_image",
            "source",
            "category_within_source",
            "source_domain",
            "topics",
            "overall_sentiment_score",
            "overall_sentiment_label",
            "ticker_sentiment",
        } == set(item)
        assert re.match(r"^\d{8}T\d{6}$", item["time_published"])
        assert isinstance(item["overall_sentiment_score"], float)
        assert item["overall_sentiment_label"] in AV_LABELS
        assert isinstance(item["authors"], list)
        for tp in item["topics"]:
            assert set(tp) == {"topic", "relevance_score"} and isinstance(tp["relevance_score"], str)
        (ts,) = item["ticker_sentiment"]
        assert ts["ticker"] == "AAPL" and ts["ticker_sentiment_label"] in AV_LABELS
        float(ts["relevance_score"]), float(ts["ticker_sentiment_score"])
        assert isinstance(ts["ticker_sentiment_score"], str)
    invalid = _av(client, function="NEWS_SENTIMENT", tickers="ZZZZZ", apikey=key)
    assert list(invalid) == ["Information"]


def test_market_wide_news_sentiment(client, key):
    body = _av(client, function="NEWS_SENTIMENT", topics="financial_markets", limit="5", apikey=key)
    assert body["items"] == "5"
    stamps = [item["time_published"] for item in body["feed"]]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] <= "20240108T213000"
    early = _av(
        client, function="NEWS_SENTIMENT", time_from="20240102T0000", sort="EARLIEST", limit="3", apikey=key
    )
    assert [i["time_published"] for i in early["feed"]] == sorted(i["time_published"] for i in early["feed"])
    assert early["feed"][0]["time_published"] >= "20240102T000000"
