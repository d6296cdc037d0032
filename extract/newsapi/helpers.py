"""NewsAPI requests: page-numbered paging up to the query's total or the plan's result cap."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from extract.http import VendorClient, VendorError
from extract.landing import Item, note
from extract.newsapi.settings import (
    ARTICLES,
    ARTICLES_LIST,
    DEVELOPER_RESULT_CAP,
    EVERYTHING_ENDPOINT,
    EVERYTHING_PARAMS,
    EVERYTHING_PATH,
    HEADLINES_ENDPOINT,
    HEADLINES_PARAMS,
    HEADLINES_PATH,
    RESULT_CAP_CODE,
    TOTAL_RESULTS,
    VENDOR,
)
from extract.raw_schema import metadata, request_id
from extract.responses import Kind


def everything(client: VendorClient, item: Item, page_size: int) -> Iterator[list[dict]]:
    """Articles matching {"q", "from"?, "to"?}."""
    return _pages(client, EVERYTHING_PATH, {**EVERYTHING_PARAMS, **item}, EVERYTHING_ENDPOINT,
                  page_size, item)


def headlines(client: VendorClient, item: Item, page_size: int) -> Iterator[list[dict]]:
    """US top headlines of {"category"}."""
    return _pages(client, HEADLINES_PATH, {**HEADLINES_PARAMS, **item}, HEADLINES_ENDPOINT,
                  page_size, item)


def _pages(client: VendorClient, path: str, params: dict[str, Any], endpoint: str,
           page_size: int, item: Item, result_cap: int | None = DEVELOPER_RESULT_CAP
           ) -> Iterator[list[dict]]:
    """Pages 1, 2, … until the query's `totalResults` are in, a page comes back empty, or the
    plan's result cap answers (the end of what the plan can read, so no dead letter)."""
    fetched, page = 0, 1
    while True:
        query = {**params, "pageSize": page_size, "page": page}
        try:
            outcome = client.get(path, query, endpoint=endpoint)
        except VendorError as exc:
            if exc.kind == "bad_request" and exc.reason.startswith(RESULT_CAP_CODE):
                note(f"{VENDOR} {endpoint} {item}: the plan's result cap, after {fetched} "
                     f"articles")
                return
            raise
        if outcome.kind is Kind.EMPTY:
            return
        meta = metadata(VENDOR, request_id(VENDOR, path, query), dt.datetime.now(dt.UTC))
        rows = ARTICLES.rows(outcome.payload, ARTICLES_LIST)
        if rows:
            yield [row | meta for row in rows]
        fetched += len(rows)
        if not rows or fetched >= ARTICLES.part(outcome.payload, TOTAL_RESULTS, int):
            return
        if result_cap is not None and page * page_size >= result_cap:
            # The next page is past what the plan may read: no call is spent to hear so.
            note(f"{VENDOR} {endpoint} {item}: the plan's result cap, after {fetched} articles")
            return
        page += 1
