"""NewsAPI as a dlt source: articles from searches (`/v2/everything`) and US top headlines by
category, both paged.

100 calls a day and 100 results per query on the developer plan: sector and market queries,
not per-ticker sweeps. Articles are merged on `url`, so one found by several queries lands
once. `replay` fetches open dead letters again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

import dlt

from extract.deadletters import DeadLetter, DeadLetters
from extract.http import VendorClient
from extract.landing import Item, fetch_each, letter_items
from extract.newsapi import helpers
from extract.newsapi.settings import (
    ARTICLES,
    ENDPOINTS,
    EVERYTHING_ENDPOINT,
    HEADLINES_ENDPOINT,
    MAX_PAGE_SIZE,
    TABLES,
    VENDOR,
)
from extract.raw_schema import CONTRACT, raw_schema


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def newsapi(client: VendorClient, *, queries: Iterable[str] = (),
            categories: Iterable[str] = (), from_date: dt.date | None = None,
            to_date: dt.date | None = None, page_size: int = MAX_PAGE_SIZE,
            dead_letters: DeadLetters | None = None):
    """Searches cover `from_date`..`to_date` when given (NewsAPI's default otherwise: as far
    back as the plan reaches); headlines are the current ones."""
    window = {name: day.isoformat() for name, day in (("from", from_date), ("to", to_date))
              if day is not None}
    searches = [{"q": query, **window} for query in dict.fromkeys(queries)]
    headlines = [{"category": category} for category in dict.fromkeys(categories)]
    return articles(client, searches, headlines, dead_letters, page_size=page_size)


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def replay(client: VendorClient, letters: Iterable[DeadLetter], dead_letters: DeadLetters):
    items = letter_items(letters, VENDOR, ENDPOINTS)
    return articles(client, items[EVERYTHING_ENDPOINT], items[HEADLINES_ENDPOINT], dead_letters)


@dlt.resource(name=ARTICLES.name, primary_key=ARTICLES.primary_key, write_disposition="merge",
              columns=ARTICLES.columns)
def articles(client: VendorClient, searches: Sequence[Item], headlines: Sequence[Item],
             dead_letters: DeadLetters | None = None, *,
             page_size: int = MAX_PAGE_SIZE) -> Iterator[list[dict]]:
    """Every page of each search ({"q", "from"?, "to"?}), then of each headline category
    ({"category"}); a failed page makes its whole query the dead letter."""
    stopped = yield from fetch_each(VENDOR, EVERYTHING_ENDPOINT, searches,
                                    lambda item: helpers.everything(client, item, page_size),
                                    dead_letters)
    if stopped:
        return  # the headlines stay due, like the searches not made
    yield from fetch_each(VENDOR, HEADLINES_ENDPOINT, headlines,
                          lambda item: helpers.headlines(client, item, page_size), dead_letters)
