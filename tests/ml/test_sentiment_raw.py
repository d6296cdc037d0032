"""Reading vendor news back from `raw` as the extractors land it, and the job over a window."""

from __future__ import annotations

import datetime as dt

import dlt
import pytest

from extract.alphavantage.settings import NEWS_SENTIMENT
from extract.finnhub.settings import COMPANY_NEWS
from extract.landing import land
from extract.newsapi.settings import ARTICLES
from extract.raw_schema import CONTRACT, metadata, raw_schema
from ml.sentiment.articles import ADAPTERS
from ml.sentiment.raw import RAW_NEWS_TABLES, read_raw_articles
from ml.sentiment.scorers import LexiconScorer
from ml.sentiment.store import load_directory, score_window

# The extractors' declared raw tables (their contract), by vendor.
DECLARED = {"finnhub": COMPANY_NEWS, "alphavantage": NEWS_SENTIMENT, "newsapi": ARTICLES}


def items_by_source(news) -> dict[str, list[dict]]:
    return {"finnhub": news.finnhub, "alphavantage": news.alphavantage, "newsapi": news.newsapi}


def expected(news, start: dt.datetime, end: dt.datetime) -> set:
    return {_identity(a) for source, items in items_by_source(news).items() for item in items
            if (a := ADAPTERS[source](item)) is not None and start <= a.published_at < end}


def _identity(article) -> tuple:
    return (article.source, article.source_id, article.url, article.published_at, article.headline,
            article.summary, article.publisher, article.tickers, article.vendor_score,
            article.vendor_label)


def test_the_reader_knows_the_declared_tables():
    for spec in RAW_NEWS_TABLES:
        table = DECLARED[spec.source]
        assert spec.table == table.name and spec.time_column in table.fields


@pytest.fixture(scope="module")
def landed(scratch_databases, emulator_news, tmp_path_factory):
    """The emulator's news landed under the extractors' schemas and contract, with their
    metadata columns, as their sources land it."""
    database = scratch_databases("th_sentiment_raw")
    fetched = dt.datetime.now(dt.UTC)
    for vendor, items in items_by_source(emulator_news).items():
        table = DECLARED[vendor]
        table.check(items)
        rows = [item | metadata(vendor, "request", fetched) for item in items]
        if "_symbol" in table.added:
            rows = [row | {"_symbol": (row["ticker_sentiment"] or [{}])[0].get("ticker")}
                    for row in rows]
        land(database, _source(vendor, table, rows), tmp_path_factory.mktemp("dlt"))
    return database


def _source(vendor: str, table, rows: list[dict]):
    @dlt.source(schema=raw_schema(vendor, [table]), schema_contract=CONTRACT, max_table_nesting=0)
    def news():
        return dlt.resource(rows, name=table.name, primary_key=table.primary_key,
                            write_disposition="merge", columns=table.columns)

    return news()


def test_raw_rows_read_back_as_the_vendor_items(landed, emulator_news):
    start, end = emulator_news.start, emulator_news.end
    got = read_raw_articles(landed, start, end)
    assert {_identity(a) for a in got} == expected(emulator_news, start, end)
    assert len(got) == len({(a.source, a.source_id) for a in got})
    # Alpha Vantage's zone-less New York times agree with Finnhub's epoch seconds.
    av = {a.url: a.published_at for a in got if a.source == "alphavantage"}
    finnhub = {a.url: a.published_at for a in got if a.source == "finnhub"}
    shared = av.keys() & finnhub.keys()
    assert shared and all(av[url] == finnhub[url] for url in shared)


def test_a_window_reads_only_its_news(landed, emulator_news):
    start = emulator_news.start + dt.timedelta(days=7, hours=3)
    end = start + dt.timedelta(days=2, hours=5)
    got = {_identity(a) for a in read_raw_articles(landed, start, end)}
    assert got == expected(emulator_news, start, end) and got


def test_tables_not_landed_yet_read_as_empty(scratch_databases, emulator_news):
    assert read_raw_articles(scratch_databases("th_sentiment_empty"), emulator_news.start,
                             emulator_news.end) == []


def test_score_window_is_idempotent(landed, emulator_news):
    window = emulator_news.start, emulator_news.end
    with landed.connect() as conn:  # what dbt builds: the directory NewsAPI is mapped through
        conn.execute("create schema curated")
        conn.execute("create table curated.dim_ticker (ticker text primary key, ticker_name text)")
        conn.cursor().executemany("insert into curated.dim_ticker values (%s, %s)",
                                  emulator_news.companies)
        conn.commit()
    first = score_window(landed, *window, scorer=LexiconScorer())
    assert first.scored == first.articles > 0
    again = score_window(landed, *window, scorer=LexiconScorer())
    assert (again.articles, again.new_articles, again.scored) == (first.articles, 0, 0)
    with landed.connect() as conn:
        mapped = conn.execute("select count(*) from ml.news_article_tickers where source = 'newsapi' "
                              "and method in ('symbol', 'name')").fetchone()[0]
    assert mapped > 0


def test_without_dim_ticker_only_explicit_tickers_count(scratch_databases, caplog):
    directory = load_directory(scratch_databases("th_sentiment_nodim"))
    assert len(directory) == 0 and "curated.dim_ticker does not exist" in caplog.text
    assert [m.ticker for m in directory.find("$AAPL rallies; Apple (AAPL) too")] == ["AAPL"]
