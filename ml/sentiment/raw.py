"""Vendor news as the extractors land it in `raw`, read back as the vendors' items.

The raw tables (declared in extract/<vendor>/settings.py) keep each payload item verbatim: one
column per field, nested lists and objects as JSON, times as the vendor wrote them (Finnhub's
`datetime` in epoch seconds, Alpha Vantage's `time_published` as New York wall time without a
zone, NewsAPI's `publishedAt` in ISO 8601 UTC). So a row is an item, and the adapters in
articles.py take it as is. A table not landed yet reads as empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from ml.sentiment.articles import ADAPTERS, ALPHAVANTAGE_ZONE, NewsArticle, Source
from tickerhouse.database import Database

RAW_SCHEMA = "raw"
# Rows are selected on the landed time with this margin (Alpha Vantage's strings may stop at
# the minute, NewsAPI's may carry fractions of a second), then kept on the parsed time.
_MARGIN = dt.timedelta(hours=1)


@dataclass(frozen=True)
class RawNewsTable:
    source: Source
    table: str
    time_column: str
    vendor_time: Callable[[dt.datetime], Any]  # a time as the vendor writes it


RAW_NEWS_TABLES = (
    RawNewsTable("finnhub", "finnhub_company_news", "datetime", lambda t: int(t.timestamp())),
    RawNewsTable("alphavantage", "alphavantage_news_sentiment", "time_published",
                 lambda t: t.astimezone(ALPHAVANTAGE_ZONE).strftime("%Y%m%dT%H%M%S")),
    RawNewsTable("newsapi", "newsapi_articles", "publishedAt",
                 lambda t: t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
)


def read_raw_articles(database: Database, start: dt.datetime, end: dt.datetime) -> list[NewsArticle]:
    """Every vendor copy published in [start, end), from the raw news tables that exist."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    out: list[NewsArticle] = []
    with database.connect() as conn, conn.cursor(row_factory=dict_row) as cursor:
        for spec in RAW_NEWS_TABLES:
            exists = cursor.execute("select to_regclass(%s) is not null as found",
                                    (f"{RAW_SCHEMA}.{spec.table}",)).fetchone()["found"]
            if not exists:
                continue
            rows = cursor.execute(
                sql.SQL("select * from {} where {} between %s and %s").format(
                    sql.Identifier(RAW_SCHEMA, spec.table), sql.Identifier(spec.time_column)),
                (spec.vendor_time(start - _MARGIN), spec.vendor_time(end + _MARGIN))).fetchall()
            adapted = (ADAPTERS[spec.source](row) for row in rows)
            out += [a for a in adapted if a is not None and start <= a.published_at < end]
    return out
