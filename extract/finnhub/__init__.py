"""Finnhub as a dlt source: quotes, company news, company profiles and basic financials.

One call per symbol and endpoint (60 a minute on the free plan): callers pass the few symbols
each endpoint should spend calls on this run. `replay` fetches open dead letters again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

import dlt

from extract.deadletters import DeadLetter, DeadLetters
from extract.finnhub import helpers
from extract.finnhub.settings import (
    COMPANY_NEWS,
    COMPANY_NEWS_ENDPOINT,
    ENDPOINTS,
    METRIC_ENDPOINT,
    METRICS,
    NEWS_FIRST_RUN_DAYS,
    NEWS_LAG_SECONDS,
    PROFILE_ENDPOINT,
    PROFILES,
    QUOTE_ENDPOINT,
    QUOTES,
    TABLES,
    VENDOR,
)
from extract.http import VendorClient
from extract.landing import Item, fetch_each, letter_items, symbol_items
from extract.raw_schema import CONTRACT, raw_schema


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def finnhub(client: VendorClient, *, quote_symbols: Iterable[str] = (),
            news_symbols: Iterable[str] = (), news_from: dt.date | None = None,
            news_to: dt.date | None = None, profile_symbols: Iterable[str] = (),
            metric_symbols: Iterable[str] = (), dead_letters: DeadLetters | None = None):
    """Company news covers `news_from` to `news_to` (inclusive; `news_to` defaults to today, UTC).
    Without `news_from` it runs from the `datetime` cursor of the previous run (less a lag for
    late articles; a week back on the first run) and moves the cursor on. The cursor is one
    for all symbols: a symbol added later gets its older news from a run with `news_from`,
    which neither reads nor moves it."""
    to = news_to or dt.datetime.now(dt.UTC).date()
    if news_from is None:
        first = dt.datetime.combine(to - dt.timedelta(days=NEWS_FIRST_RUN_DAYS), dt.time(),
                                    dt.UTC)
        # No allow_external_schedulers: dlt 1.31 then fails outside Airflow. A DAG passes its
        # data interval as news_from/news_to instead.
        published = dlt.sources.incremental("datetime", initial_value=int(first.timestamp()),
                                            lag=NEWS_LAG_SECONDS)
        window = {"to": to.isoformat()}
    else:
        published = helpers.window(news_from, to)
        window = {"from": news_from.isoformat(), "to": to.isoformat()}
    news_items = [item | window for item in symbol_items(news_symbols)]
    return (
        quotes(client, symbol_items(quote_symbols), dead_letters),
        company_news(client, news_items, dead_letters, published=published),
        profiles(client, symbol_items(profile_symbols), dead_letters),
        metrics(client, symbol_items(metric_symbols), dead_letters),
    )


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def replay(client: VendorClient, letters: Iterable[DeadLetter], dead_letters: DeadLetters):
    items = letter_items(letters, VENDOR, ENDPOINTS)
    resources = [quotes(client, items[QUOTE_ENDPOINT], dead_letters),
                 profiles(client, items[PROFILE_ENDPOINT], dead_letters),
                 metrics(client, items[METRIC_ENDPOINT], dead_letters)]
    if news := items[COMPANY_NEWS_ENDPOINT]:
        # Each letter names its own window; a bounded cursor spans them and leaves the stored
        # one alone.
        published = helpers.window(min(dt.date.fromisoformat(i["from"]) for i in news),
                                   max(dt.date.fromisoformat(i["to"]) for i in news))
        resources.append(company_news(client, news, dead_letters, published=published))
    return resources


@dlt.resource(name=QUOTES.name, primary_key=QUOTES.primary_key, write_disposition="merge",
              columns=QUOTES.columns)
def quotes(client: VendorClient, items: Sequence[Item],
           dead_letters: DeadLetters | None = None) -> Iterator[dict]:
    yield from fetch_each(VENDOR, QUOTE_ENDPOINT, items,
                          lambda item: helpers.quote(client, item), dead_letters)


@dlt.resource(name=COMPANY_NEWS.name, primary_key=COMPANY_NEWS.primary_key,
              write_disposition="merge", columns=COMPANY_NEWS.columns)
def company_news(client: VendorClient, items: Sequence[Item],
                 dead_letters: DeadLetters | None = None, *,
                 published=dlt.sources.incremental("datetime")  # noqa: B008 (dlt's idiom)
                 ) -> Iterator[list[dict]]:
    """News per {"symbol", "from", "to"} item; an item without "from" starts at the cursor
    (the source passes the `published` cursor: stored, or bounded to a window)."""
    if published.start_value is not None:
        start = dt.datetime.fromtimestamp(published.start_value, dt.UTC).date().isoformat()
        items = [{"from": start, **item} for item in items]
    yield from fetch_each(VENDOR, COMPANY_NEWS_ENDPOINT, items,
                          lambda item: helpers.company_news(client, item), dead_letters)


@dlt.resource(name=PROFILES.name, primary_key=PROFILES.primary_key, write_disposition="merge",
              columns=PROFILES.columns)
def profiles(client: VendorClient, items: Sequence[Item],
             dead_letters: DeadLetters | None = None) -> Iterator[dict]:
    yield from fetch_each(VENDOR, PROFILE_ENDPOINT, items,
                          lambda item: helpers.profile(client, item), dead_letters)


@dlt.resource(name=METRICS.name, primary_key=METRICS.primary_key, write_disposition="merge",
              columns=METRICS.columns)
def metrics(client: VendorClient, items: Sequence[Item],
            dead_letters: DeadLetters | None = None) -> Iterator[dict]:
    yield from fetch_each(VENDOR, METRIC_ENDPOINT, items,
                          lambda item: helpers.metrics(client, item), dead_letters)

