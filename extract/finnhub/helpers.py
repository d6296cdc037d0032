"""Finnhub requests: one call per item, its answer checked and stamped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dlt

from extract.finnhub.settings import (
    COMPANY_NEWS,
    COMPANY_NEWS_ENDPOINT,
    COMPANY_NEWS_PATH,
    METRIC_ENDPOINT,
    METRIC_PATH,
    METRICS,
    PROFILE_ENDPOINT,
    PROFILE_PATH,
    PROFILES,
    QUOTE_ENDPOINT,
    QUOTE_PATH,
    QUOTES,
    VENDOR,
)
from extract.http import VendorClient
from extract.landing import Item, note
from extract.raw_schema import metadata, request_id
from extract.responses import Kind


def quote(client: VendorClient, item: Item) -> Iterator[dict]:
    payload, meta = _get(client, QUOTE_PATH, {"symbol": item["symbol"]}, QUOTE_ENDPOINT)
    if payload is None:
        return
    row = QUOTES.row(payload)
    if not row.get("t"):
        # Finnhub answers an unknown symbol with zeros and nulls rather than an error.
        note(f"{VENDOR} {QUOTE_ENDPOINT}: no quote for {item['symbol']!r} (unknown symbol?)")
        return
    yield row | {"symbol": item["symbol"]} | meta


def company_news(client: VendorClient, item: Item) -> Iterator[list[dict]]:
    params = {"symbol": item["symbol"], "from": item["from"], "to": item["to"]}
    payload, meta = _get(client, COMPANY_NEWS_PATH, params, COMPANY_NEWS_ENDPOINT)
    if payload is None:
        return
    yield [row | meta for row in COMPANY_NEWS.rows(payload)]


def profile(client: VendorClient, item: Item) -> Iterator[dict]:
    # An unknown symbol's profile is `{}`: an empty answer, nothing to land.
    payload, meta = _get(client, PROFILE_PATH, {"symbol": item["symbol"]}, PROFILE_ENDPOINT)
    if payload is not None:
        yield PROFILES.row(payload) | meta


def metrics(client: VendorClient, item: Item) -> Iterator[dict]:
    params = {"symbol": item["symbol"], "metric": "all"}
    payload, meta = _get(client, METRIC_PATH, params, METRIC_ENDPOINT)
    if payload is not None:
        yield METRICS.row(payload) | meta


def _get(client: VendorClient, path: str, params: dict[str, Any],
         endpoint: str) -> tuple[Any, dict[str, Any]]:
    """The answer's payload (None when Finnhub had nothing) and its rows' metadata; Finnhub
    sends no request id, so the request's own stands in."""
    outcome = client.get(path, params, endpoint=endpoint)
    meta = metadata(VENDOR, request_id(VENDOR, path, params), dt.datetime.now(dt.UTC))
    return (None if outcome.kind is Kind.EMPTY else outcome.payload), meta


def window(start: dt.date, end: dt.date) -> dlt.sources.incremental:
    """A bounded `datetime` cursor over the whole UTC days `start`..`end`: dlt neither reads
    nor moves the stored cursor for it."""
    def epoch(day: dt.date) -> int:
        return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())

    return dlt.sources.incremental("datetime", initial_value=epoch(start),
                                   end_value=epoch(end + dt.timedelta(days=1)))

