"""Alpha Vantage as a dlt source: daily bars (compact: the latest 100 sessions), company
overviews and news with sentiment.

25 calls a day on the free plan: callers pass the few symbols worth them. The daily series
has no cursor to keep: a call returns the latest 100 sessions whatever we had, and the merge on
(symbol, date) makes the overlap a no-op. `replay` fetches open dead letters again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import dlt

from extract.alphavantage import helpers
from extract.alphavantage.settings import (
    DAILY,
    DAILY_ENDPOINT,
    ENDPOINTS,
    NEWS_ENDPOINT,
    NEWS_SENTIMENT,
    OVERVIEW_ENDPOINT,
    OVERVIEWS,
    TABLES,
    VENDOR,
)
from extract.deadletters import DeadLetter, DeadLetters
from extract.http import VendorClient
from extract.landing import Item, fetch_each, letter_items, symbol_items
from extract.raw_schema import CONTRACT, raw_schema


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def alphavantage(client: VendorClient, *, daily_symbols: Iterable[str] = (),
                 overview_symbols: Iterable[str] = (), news_symbols: Iterable[str] = (),
                 dead_letters: DeadLetters | None = None):
    return (
        daily(client, symbol_items(daily_symbols), dead_letters),
        overviews(client, symbol_items(overview_symbols), dead_letters),
        news_sentiment(client, symbol_items(news_symbols), dead_letters),
    )


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def replay(client: VendorClient, letters: Iterable[DeadLetter], dead_letters: DeadLetters):
    items = letter_items(letters, VENDOR, ENDPOINTS)
    return (
        daily(client, items[DAILY_ENDPOINT], dead_letters),
        overviews(client, items[OVERVIEW_ENDPOINT], dead_letters),
        news_sentiment(client, items[NEWS_ENDPOINT], dead_letters),
    )


@dlt.resource(name=DAILY.name, primary_key=DAILY.primary_key, write_disposition="merge",
              columns=DAILY.columns)
def daily(client: VendorClient, items: Sequence[Item],
          dead_letters: DeadLetters | None = None) -> Iterator[list[dict]]:
    yield from fetch_each(VENDOR, DAILY_ENDPOINT, items,
                          lambda item: helpers.daily(client, item), dead_letters)


@dlt.resource(name=OVERVIEWS.name, primary_key=OVERVIEWS.primary_key,
              write_disposition="merge", columns=OVERVIEWS.columns)
def overviews(client: VendorClient, items: Sequence[Item],
              dead_letters: DeadLetters | None = None) -> Iterator[dict]:
    yield from fetch_each(VENDOR, OVERVIEW_ENDPOINT, items,
                          lambda item: helpers.overview(client, item), dead_letters)


@dlt.resource(name=NEWS_SENTIMENT.name, primary_key=NEWS_SENTIMENT.primary_key,
              write_disposition="merge", columns=NEWS_SENTIMENT.columns)
def news_sentiment(client: VendorClient, items: Sequence[Item],
                   dead_letters: DeadLetters | None = None) -> Iterator[list[dict]]:
    """Articles mentioning each symbol; one article about several symbols lands once."""
    yield from fetch_each(VENDOR, NEWS_ENDPOINT, items,
                          lambda item: helpers.news_sentiment(client, item), dead_letters)
