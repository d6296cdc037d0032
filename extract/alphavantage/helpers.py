"""Alpha Vantage requests: one call per symbol and function, its answer checked and stamped.

Throttling and refusals come back as HTTP 200 bodies; the client's classifier turns them into
errors before these helpers see a payload.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from extract.alphavantage.settings import (
    DAILY,
    DAILY_ENDPOINT,
    DAILY_META,
    DAILY_PARAMS,
    DAILY_SERIES,
    NEWS_ENDPOINT,
    NEWS_FEED,
    NEWS_PARAMS,
    NEWS_SENTIMENT,
    OVERVIEW_ENDPOINT,
    OVERVIEW_PARAMS,
    OVERVIEWS,
    PATH,
    VENDOR,
)
from extract.http import VendorClient
from extract.landing import Item
from extract.raw_schema import metadata, request_id
from extract.responses import Kind


def daily(client: VendorClient, item: Item) -> Iterator[list[dict]]:
    symbol = item["symbol"]
    payload, meta = _get(client, {**DAILY_PARAMS, "symbol": symbol}, DAILY_ENDPOINT)
    if payload is None:
        return
    series = DAILY.part(payload, DAILY_SERIES, dict)
    about = DAILY.part(payload, DAILY_META, dict)
    DAILY.check(series.values())
    if series:
        yield [values | {"symbol": symbol, "date": date, DAILY_META: about} | meta
               for date, values in series.items()]


def overview(client: VendorClient, item: Item) -> Iterator[dict]:
    # An unknown symbol's overview is `{}`: an empty answer, nothing to land.
    payload, meta = _get(client, {**OVERVIEW_PARAMS, "symbol": item["symbol"]},
                         OVERVIEW_ENDPOINT)
    if payload is not None:
        yield OVERVIEWS.row(payload) | meta


def news_sentiment(client: VendorClient, item: Item) -> Iterator[list[dict]]:
    payload, meta = _get(client, {**NEWS_PARAMS, "tickers": item["symbol"]}, NEWS_ENDPOINT)
    if payload is None:
        return
    if feed := NEWS_SENTIMENT.rows(payload, NEWS_FEED):
        yield [article | {"_symbol": item["symbol"]} | meta for article in feed]


def _get(client: VendorClient, params: dict[str, Any],
         endpoint: str) -> tuple[Any, dict[str, Any]]:
    """The answer's payload (None when there was nothing) and its rows' metadata; Alpha Vantage
    sends no request id, so the request's own stands in (the client adds the key)."""
    outcome = client.get(PATH, params, endpoint=endpoint)
    meta = metadata(VENDOR, request_id(VENDOR, PATH, params), dt.datetime.now(dt.UTC))
    return (None if outcome.kind is Kind.EMPTY else outcome.payload), meta
