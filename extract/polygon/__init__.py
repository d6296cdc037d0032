"""Polygon.io as dlt sources, over one schema ("polygon": one pipeline, one set of raw tables).

- `polygon`: grouped daily bars, the whole US market for a date in one call (the daily run);
- `reference`: the active US stock tickers (`polygon_tickers`);
- `ranges`: daily bars per ticker over a date range (`polygon_daily_ranges`: backfills of a
  few tickers, and a second opinion on grouped daily);
- `replay`: the requests of open dead letters, fetched again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

import dlt
import pyarrow as pa

from extract.deadletters import DeadLetter, DeadLetters
from extract.http import VendorClient, VendorError
from extract.landing import Item, fetch_each, letter_items
from extract.polygon import helpers
from extract.polygon.settings import (
    DAILY_RANGES,
    GROUPED_DAILY,
    GROUPED_DAILY_PATH,
    RANGE_PAGE_SIZE,
    RANGES_ENDPOINT,
    TABLES,
    TICKERS,
    TICKERS_ENDPOINT,
    TICKERS_ITEM,
    TICKERS_PAGE_SIZE,
    VENDOR,
)
from extract.raw_schema import CONTRACT, raw_schema, request_id


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def polygon(client: VendorClient, session_dates: Iterable[dt.date]):
    return grouped_daily(client, sorted(set(session_dates)))


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def reference(client: VendorClient, dead_letters: DeadLetters | None = None, *,
              page_size: int = TICKERS_PAGE_SIZE):
    """The whole listing every time (no cursor to resume from: a listing changes anywhere);
    the merge on `ticker` updates what changed."""
    return reference_tickers(client, [TICKERS_ITEM], dead_letters, page_size=page_size)


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def ranges(client: VendorClient, tickers: Iterable[str], start: dt.date, end: dt.date,
           dead_letters: DeadLetters | None = None, *, page_size: int = RANGE_PAGE_SIZE):
    """`start`..`end` (inclusive) for each ticker. The caller names the window, so there is no
    cursor; the merge on (`ticker`, `t`) makes an overlap a no-op."""
    items = [{"ticker": ticker, "from": start.isoformat(), "to": end.isoformat()}
             for ticker in dict.fromkeys(tickers)]
    return daily_ranges(client, items, dead_letters, page_size=page_size)


@dlt.source(schema=raw_schema(VENDOR, TABLES), schema_contract=CONTRACT, max_table_nesting=0)
def replay(client: VendorClient, letters: Iterable[DeadLetter], dead_letters: DeadLetters):
    items = letter_items(letters, VENDOR, (TICKERS_ENDPOINT, RANGES_ENDPOINT))
    return (reference_tickers(client, items[TICKERS_ENDPOINT], dead_letters),
            daily_ranges(client, items[RANGES_ENDPOINT], dead_letters))


# The bulk of every backfill, so the cheapest path there is: Arrow tables, written as parquet
# and loaded by ADBC's binary COPY straight into raw (no row-by-row normalisation, no staging
# table, no merge), a load replacing the sessions it carries (GROUPED_DAILY.replaced_by, done
# by extract.landing). The other tables keep csv and merge: they carry JSON columns, which ADBC
# would land as json instead of jsonb.
@dlt.resource(name=GROUPED_DAILY.name, primary_key=GROUPED_DAILY.primary_key,
              write_disposition=GROUPED_DAILY.write_disposition, columns=GROUPED_DAILY.columns,
              file_format="parquet")
def grouped_daily(client: VendorClient, session_dates: list[dt.date]) -> Iterator[pa.Table]:
    """One request per session date; rows verbatim plus the request they came from.

    Dates are chosen by the caller from the NYSE calendar (a holiday would cost a call for an
    empty answer), so this resource has no cursor of its own: a date fetched again replaces
    that session's rows, so a repeat is a no-op and a correction an update.
    """
    for session_date in session_dates:
        path = GROUPED_DAILY_PATH.format(date=session_date.isoformat())
        params = {"adjusted": "true"}
        try:
            outcome = client.get(path, params=params, endpoint="grouped_daily")
        except VendorError as exc:
            if exc.kind == "not_yet_available":
                continue  # the day's bars are not final yet; the next run picks the date up
            raise
        fetched_at = dt.datetime.now(dt.UTC)
        payload = outcome.payload if isinstance(outcome.payload, dict) else {}
        rows = payload.get("results") or []
        if rows:
            request = str(payload.get("request_id") or request_id(VENDOR, path, params))
            yield helpers.grouped_daily_arrow(rows, request=request, session_date=session_date,
                                              fetched_at=fetched_at)


@dlt.resource(name=TICKERS.name, primary_key=TICKERS.primary_key, write_disposition="merge",
              columns=TICKERS.columns)
def reference_tickers(client: VendorClient, items: Sequence[Item],
                      dead_letters: DeadLetters | None = None, *,
                      page_size: int = TICKERS_PAGE_SIZE) -> Iterator[list[dict]]:
    """The ticker listing, every page (Polygon lists 1,000 a page: about 6 calls)."""
    yield from fetch_each(VENDOR, TICKERS_ENDPOINT, items,
                          lambda item: helpers.tickers(client, item, page_size), dead_letters)


@dlt.resource(name=DAILY_RANGES.name, primary_key=DAILY_RANGES.primary_key,
              write_disposition="merge", columns=DAILY_RANGES.columns)
def daily_ranges(client: VendorClient, items: Sequence[Item],
                 dead_letters: DeadLetters | None = None, *,
                 page_size: int = RANGE_PAGE_SIZE) -> Iterator[list[dict]]:
    """Daily bars of each {"ticker", "from", "to"} item, every page of it."""
    yield from fetch_each(VENDOR, RANGES_ENDPOINT, items,
                          lambda item: helpers.daily_bars(client, item, page_size), dead_letters)
