"""Scored news in the warehouse: articles (deduplicated), their vendor copies, their tickers,
and one sentiment row per article and scorer version.

Idempotent by construction: an article's key is stable (a new copy of a stored article takes the
stored key), vendor copies and tickers are inserted once, and only articles without a row for
the scorer's (name, version) are scored. Rerunning a window scores nothing; a new model version
scores everything again, beside the old rows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psycopg

from ml.sentiment.articles import NewsArticle, TickerMention, article_text
from ml.sentiment.config import SentimentConfig
from ml.sentiment.dedup import DUPLICATE_WINDOW, ArticleGroup, KnownArticle, deduplicate
from ml.sentiment.scorers import Scorer
from ml.sentiment.tickers import TickerDirectory
from tickerhouse.database import Database

log = logging.getLogger(__name__)

# Scores are written in chunks, so a long transformer run that stops keeps what it finished.
SCORE_CHUNK = 1024

DDL = """
create schema if not exists ml;
create table if not exists ml.news_articles (
    article_key   text primary key,
    url           text not null,            -- canonical URL of the representative copy
    headline      text not null,
    summary       text not null,
    published_at  timestamptz not null,
    created_at    timestamptz not null default now()
);
create index if not exists news_articles_published_at on ml.news_articles (published_at);
create table if not exists ml.news_article_sources (
    source        text not null check (source in ('finnhub', 'alphavantage', 'newsapi')),
    source_id     text not null,            -- Finnhub's id, else the canonical URL
    article_key   text not null references ml.news_articles (article_key),
    url           text not null,
    publisher     text,
    headline      text not null,
    published_at  timestamptz not null,
    vendor_sentiment_score double precision, -- Alpha Vantage's overall_sentiment_score
    vendor_sentiment_label text,
    created_at    timestamptz not null default now(),
    primary key (source, source_id)
);
create index if not exists news_article_sources_url on ml.news_article_sources (url);
create index if not exists news_article_sources_article on ml.news_article_sources (article_key);
create table if not exists ml.news_article_tickers (
    article_key   text not null references ml.news_articles (article_key),
    ticker        text not null,
    source        text not null,            -- the vendor copy that tied the article to the ticker
    method        text not null check (method in ('vendor', 'cashtag', 'exchange', 'symbol', 'name')),
    relevance     double precision,         -- Alpha Vantage's relevance_score
    vendor_sentiment_score double precision, -- Alpha Vantage's ticker_sentiment_score
    vendor_sentiment_label text,
    primary key (article_key, ticker, source)
);
create index if not exists news_article_tickers_ticker on ml.news_article_tickers (ticker);
create table if not exists ml.sentiment_scorers (
    scorer         text not null,
    scorer_version text not null,
    kind           text not null check (kind in ('transformer', 'lexicon')),
    details        jsonb not null,
    created_at     timestamptz not null default now(),
    primary key (scorer, scorer_version)
);
create table if not exists ml.article_sentiment (
    article_key    text not null references ml.news_articles (article_key),
    scorer         text not null,
    scorer_version text not null,
    label          text not null check (label in ('positive', 'negative', 'neutral')),
    score          double precision not null check (score between -1 and 1),
    p_positive     double precision,          -- null for the lexicon
    p_negative     double precision,
    p_neutral      double precision,
    scored_at      timestamptz not null default now(),
    primary key (article_key, scorer, scorer_version),
    foreign key (scorer, scorer_version) references ml.sentiment_scorers (scorer, scorer_version)
);
"""


def ensure_tables(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute(DDL)


@dataclass(frozen=True)
class ScoringResult:
    scorer: str  # name@version
    records: int  # vendor copies given
    articles: int  # distinct articles among them
    new_articles: int  # of which the warehouse had none before
    scored: int  # sentiment rows this run wrote


def ticker_mentions(record: NewsArticle, directory: TickerDirectory) -> list[TickerMention]:
    """The vendor's tags in the directory's spelling (tags outside a non-empty directory are
    dropped); for NewsAPI, which tags nothing, the tickers found in the text."""
    if record.source == "newsapi":
        return directory.find(record.text)
    mentions = []
    for mention in record.tickers:
        ticker = directory.resolve(mention.ticker)
        if ticker:
            mentions.append(TickerMention(ticker, mention.method, mention.relevance,
                                          mention.vendor_score, mention.vendor_label))
    return mentions


def score_articles(database: Database, records: Sequence[NewsArticle], scorer: Scorer, *,
                   directory: TickerDirectory | None = None) -> ScoringResult:
    """Store `records` (deduplicated, against each other and the warehouse) with their tickers,
    then score every article among them that `scorer`'s version has not scored yet."""
    directory = TickerDirectory() if directory is None else directory
    ensure_tables(database)
    with database.connect() as conn:
        with conn.transaction():
            groups = deduplicate(records, _known_articles(conn, records))
            _store_articles(conn, groups, directory)
            conn.execute(
                "insert into ml.sentiment_scorers (scorer, scorer_version, kind, details) "
                "values (%s, %s, %s, %s) on conflict do nothing",
                (scorer.name, scorer.version, scorer.kind, json.dumps(scorer.describe())))
            pending = conn.execute(
                """
                select a.article_key, a.headline, a.summary from ml.news_articles a
                where a.article_key = any(%s) and not exists (
                    select from ml.article_sentiment s where s.article_key = a.article_key
                    and s.scorer = %s and s.scorer_version = %s)
                order by a.article_key
                """, ([g.key for g in groups], scorer.name, scorer.version)).fetchall()
        scored = 0
        for start in range(0, len(pending), SCORE_CHUNK):
            chunk = pending[start:start + SCORE_CHUNK]
            scores = scorer.score([article_text(headline, summary) for _, headline, summary in chunk])
            with conn.transaction():
                scored += conn.execute(
                    """
                    insert into ml.article_sentiment (article_key, scorer, scorer_version, label,
                        score, p_positive, p_negative, p_neutral)
                    select k, %s, %s, l, s, pp, pn, pu
                    from unnest(%s::text[], %s::text[], %s::float8[], %s::float8[], %s::float8[],
                                %s::float8[]) as t (k, l, s, pp, pn, pu)
                    on conflict do nothing
                    """,
                    (scorer.name, scorer.version, [key for key, _, _ in chunk],
                     [s.label for s in scores], [max(-1.0, min(1.0, s.score)) for s in scores],
                     [s.p_positive for s in scores], [s.p_negative for s in scores],
                     [s.p_neutral for s in scores])).rowcount
    result = ScoringResult(scorer=f"{scorer.name}@{scorer.version}", records=len(records),
                           articles=len(groups), new_articles=sum(not g.known for g in groups),
                           scored=scored)
    log.info("news sentiment: %d copies, %d articles (%d new), %d scored by %s", result.records,
             result.articles, result.new_articles, result.scored, result.scorer)
    return result


def _known_articles(conn: psycopg.Connection, records: Sequence[NewsArticle]) -> list[KnownArticle]:
    """Stored articles the records may duplicate: published near them, or sharing a URL."""
    if not records:
        return []
    urls = sorted({r.url for r in records if r.url})
    low = min(r.published_at for r in records) - DUPLICATE_WINDOW
    high = max(r.published_at for r in records) + DUPLICATE_WINDOW
    rows = conn.execute(
        """
        select a.article_key, a.headline, a.published_at,
               array_agg(distinct s.url) filter (where s.url is not null) || a.url
        from ml.news_articles a left join ml.news_article_sources s using (article_key)
        where a.published_at between %(low)s and %(high)s or a.url = any(%(urls)s)
           or a.article_key in (select article_key from ml.news_article_sources
                                where url = any(%(urls)s))
        group by a.article_key
        """, {"low": low, "high": high, "urls": urls}).fetchall()
    return [KnownArticle(key, frozenset(u for u in all_urls if u), headline, published)
            for key, headline, published, all_urls in rows]


def _store_articles(conn: psycopg.Connection, groups: Iterable[ArticleGroup],
                    directory: TickerDirectory) -> None:
    articles, copies, tickers = [], [], []
    for group in groups:
        first = group.records[0]
        if not group.known:
            articles.append((group.key, first.url, first.headline, first.summary, first.published_at))
        for record in group.records:
            copies.append((record.source, record.source_id, group.key, record.url, record.publisher,
                           record.headline, record.published_at, record.vendor_score,
                           record.vendor_label))
            for mention in ticker_mentions(record, directory):
                tickers.append((group.key, mention.ticker, record.source, mention.method,
                                mention.relevance, mention.vendor_score, mention.vendor_label))
    _insert(conn, "ml.news_articles", ("article_key", "url", "headline", "summary", "published_at"),
            ("text", "text", "text", "text", "timestamptz"), articles)
    _insert(conn, "ml.news_article_sources",
            ("source", "source_id", "article_key", "url", "publisher", "headline", "published_at",
             "vendor_sentiment_score", "vendor_sentiment_label"),
            ("text", "text", "text", "text", "text", "text", "timestamptz", "float8", "text"), copies)
    _insert(conn, "ml.news_article_tickers",
            ("article_key", "ticker", "source", "method", "relevance", "vendor_sentiment_score",
             "vendor_sentiment_label"),
            ("text", "text", "text", "text", "float8", "float8", "text"), tickers)


def _insert(conn: psycopg.Connection, table: str, columns: Sequence[str], types: Sequence[str],
            rows: Sequence[tuple]) -> int:
    """Insert rows that are not there yet (by primary key), as one statement over arrays."""
    if not rows:
        return 0
    arrays = [list(column) for column in zip(*rows, strict=True)]
    unnest = ", ".join(f"%s::{t}[]" for t in types)
    # Rows repeating a key within the batch (two copies tagging one ticker) keep the first.
    statement = (f"insert into {table} ({', '.join(columns)}) "
                 f"select * from unnest({unnest}) on conflict do nothing")
    return conn.execute(statement, arrays).rowcount


def load_directory(database: Database) -> TickerDirectory:
    """Every ticker and company name in `curated.dim_ticker`; empty (with a warning) before
    dbt has built it."""
    with database.connect() as conn:
        if not conn.execute("select to_regclass('curated.dim_ticker') is not null").fetchone()[0]:
            log.warning("curated.dim_ticker does not exist yet: NewsAPI articles are mapped to "
                        "tickers by cashtags and exchange prefixes only")
            return TickerDirectory()
        return TickerDirectory(conn.execute("select ticker, ticker_name from curated.dim_ticker"))


def score_window(database: Database, start: dt.datetime, end: dt.datetime,
                 config: SentimentConfig | None = None, *, scorer: Scorer | None = None,
                 directory: TickerDirectory | None = None) -> ScoringResult:
    """The job: score the raw news published in [start, end) with the configured scorer (or
    `scorer`), mapping articles to tickers through `directory` (default: `load_directory`)."""
    from ml.sentiment.raw import read_raw_articles
    from ml.sentiment.scorers import load_scorer

    records = read_raw_articles(database, start, end)
    return score_articles(database, records, scorer or load_scorer(config),
                          directory=load_directory(database) if directory is None else directory)
