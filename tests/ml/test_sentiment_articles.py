"""Vendor payload items -> the normalised article record."""

from __future__ import annotations

import datetime as dt

import pytest

from ml.sentiment.articles import (
    article_text,
    canonical_url,
    clean_text,
    from_alphavantage,
    from_finnhub,
    from_newsapi,
)

FINNHUB_ITEM = {
    "category": "company", "datetime": 1704751200, "headline": "Apple &amp; Microsoft lead gains",
    "id": 7001, "image": "", "related": "AAPL,MSFT", "source": "Reuters",
    "summary": "<p>Shares of  Apple rose.</p>", "url": "https://www.Reuters.com/markets/apple/?utm_source=x",
}
AV_ITEM = {
    "title": "Apple stock falls on weak guidance", "url": "https://example.com/a?id=4&fbclid=z",
    "time_published": "20240108T163000", "authors": ["A. Writer"], "summary": "Guidance was cut.",
    "source": "Benzinga", "topics": [{"topic": "Technology", "relevance_score": "1"}],
    "overall_sentiment_score": -0.31, "overall_sentiment_label": "Somewhat-Bearish",
    "ticker_sentiment": [
        {"ticker": "AAPL", "relevance_score": "0.9", "ticker_sentiment_score": "-0.41",
         "ticker_sentiment_label": "Bearish"},
        {"ticker": "CRYPTO:BTC", "relevance_score": "0.1", "ticker_sentiment_score": "0.0",
         "ticker_sentiment_label": "Neutral"},
        {"ticker": "MSFT", "relevance_score": "None", "ticker_sentiment_score": "-",
         "ticker_sentiment_label": ""},
    ],
}
NEWSAPI_ITEM = {
    "source": {"id": "reuters", "name": "Reuters"}, "author": None,
    "title": "Stocks slide as yields climb", "description": None,
    "url": "http://reuters.com/markets/stocks-slide#comments", "urlToImage": None,
    "publishedAt": "2024-01-08T21:40:00Z", "content": None,
}


def test_finnhub_item():
    article = from_finnhub(FINNHUB_ITEM)
    assert article.source == "finnhub" and article.source_id == "7001"
    assert article.url == "https://reuters.com/markets/apple"
    assert article.published_at == dt.datetime(2024, 1, 8, 22, 0, tzinfo=dt.UTC)
    assert article.headline == "Apple & Microsoft lead gains"
    assert article.summary == "Shares of Apple rose."
    assert [(m.ticker, m.method) for m in article.tickers] == [("AAPL", "vendor"), ("MSFT", "vendor")]
    assert article.vendor_score is None


def test_alphavantage_item_keeps_vendor_sentiment_and_reads_new_york_time():
    article = from_alphavantage(AV_ITEM)
    assert article.published_at == dt.datetime(2024, 1, 8, 21, 30, tzinfo=dt.UTC)  # 16:30 EST
    assert article.url == "https://example.com/a?id=4"
    assert (article.vendor_score, article.vendor_label) == (-0.31, "Somewhat-Bearish")
    aapl, msft = article.tickers  # CRYPTO:BTC is not an equity
    assert (aapl.ticker, aapl.relevance, aapl.vendor_score, aapl.vendor_label) == (
        "AAPL", 0.9, -0.41, "Bearish")
    assert (msft.relevance, msft.vendor_score, msft.vendor_label) == (None, None, None)
    assert from_alphavantage({**AV_ITEM, "time_published": "20240708T0930"}).published_at == (
        dt.datetime(2024, 7, 8, 13, 30, tzinfo=dt.UTC))  # EDT, minute precision


def test_newsapi_item():
    article = from_newsapi(NEWSAPI_ITEM)
    assert article.url == "https://reuters.com/markets/stocks-slide"
    assert article.source_id == article.url and article.publisher == "Reuters"
    assert article.published_at == dt.datetime(2024, 1, 8, 21, 40, tzinfo=dt.UTC)
    assert article.summary == "" and article.tickers == ()


@pytest.mark.parametrize("adapter, item", [
    (from_finnhub, {**FINNHUB_ITEM, "headline": ""}),
    (from_finnhub, {**FINNHUB_ITEM, "datetime": None}),
    (from_finnhub, {**FINNHUB_ITEM, "datetime": 0}),
    (from_finnhub, {**FINNHUB_ITEM, "url": "", "id": None}),
    (from_alphavantage, {**AV_ITEM, "time_published": "2024-01-08"}),
    (from_alphavantage, {**AV_ITEM, "url": None}),
    (from_newsapi, {**NEWSAPI_ITEM, "title": "[Removed]"}),
    (from_newsapi, {**NEWSAPI_ITEM, "publishedAt": "yesterday"}),
])
def test_items_that_cannot_be_scored_are_dropped(adapter, item):
    assert adapter(item) is None


def test_finnhub_item_without_url_is_identified_by_its_id():
    article = from_finnhub({**FINNHUB_ITEM, "url": None})
    assert (article.url, article.source_id) == ("", "7001")


@pytest.mark.parametrize("url, canonical", [
    ("HTTP://WWW.Example.com/News/Story/", "https://example.com/News/Story"),
    ("https://example.com/story?b=2&utm_medium=x&a=1#top", "https://example.com/story?a=1&b=2"),
    ("https://example.com:8443/s?mod=article_inline", "https://example.com:8443/s"),
    ("not a url", "not a url"),
])
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_text_is_headline_then_summary():
    assert article_text("Stocks rise", "Gains were broad.") == "Stocks rise. Gains were broad."
    assert article_text("Why stocks rose?", "Rates.") == "Why stocks rose? Rates."
    assert article_text("Stocks rise", "Stocks rise") == "Stocks rise"
    assert clean_text(None) == "" and clean_text("a&nbsp;<b>b</b>\n c") == "a b c"
