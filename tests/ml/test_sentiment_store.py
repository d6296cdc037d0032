"""Writing scored news to the warehouse: deduplicated, mapped to tickers, idempotent."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ml.sentiment.articles import ADAPTERS, NewsArticle
from ml.sentiment.config import SentimentConfig
from ml.sentiment.dedup import deduplicate
from ml.sentiment.scorers import LexiconScorer, TransformerScorer
from ml.sentiment.store import score_articles
from ml.sentiment.tickers import TickerDirectory


@pytest.fixture(scope="module")
def warehouse(scratch_databases):
    return scratch_databases("th_sentiment")


@pytest.fixture(scope="module")
def records(emulator_news) -> list[NewsArticle]:
    items = [("finnhub", i) for i in emulator_news.finnhub]
    items += [("alphavantage", i) for i in emulator_news.alphavantage]
    items += [("newsapi", i) for i in emulator_news.newsapi]
    return [a for source, item in items if (a := ADAPTERS[source](item)) is not None]


@pytest.fixture(scope="module")
def first_run(warehouse, records, emulator_news):
    return score_articles(warehouse, records, LexiconScorer(),
                          directory=TickerDirectory(emulator_news.companies))


class CountingLexicon(LexiconScorer):
    """The lexicon, counting the texts it is asked to score."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def score(self, texts):
        self.texts += len(texts)
        return super().score(texts)


def count(warehouse, query: str, *params) -> int:
    with warehouse.connect() as conn:
        return conn.execute(query, params).fetchone()[0]


def test_one_score_per_article_and_nothing_twice(warehouse, records, first_run, emulator_news):
    assert first_run.records == len(records)
    # Vendors share a story's URL; the emulator's few headline templates also give identical
    # same-day headlines under different URLs, which merge as syndicated copies would.
    assert first_run.articles == len(deduplicate(records)) < len({r.url for r in records}) < len(records)
    assert first_run.new_articles == first_run.articles == first_run.scored
    assert count(warehouse, "select count(*) from ml.news_articles") == first_run.articles
    assert count(warehouse, "select count(*) from ml.news_article_sources") == len(records)
    assert count(warehouse, "select count(*) from ml.article_sentiment") == first_run.articles
    assert count(warehouse, "select count(*) from ml.article_sentiment where p_positive is not null") == 0

    lexicon = CountingLexicon()
    again = score_articles(warehouse, records, lexicon,
                           directory=TickerDirectory(emulator_news.companies))
    assert (again.articles, again.new_articles, again.scored, lexicon.texts) == (
        first_run.articles, 0, 0, 0)
    assert count(warehouse, "select count(*) from ml.news_article_sources") == len(records)
    assert count(warehouse, "select count(*) from ml.article_sentiment") == first_run.articles


def test_each_scorer_version_scores_once(warehouse, records, first_run, tiny_model_dir, monkeypatch):
    tiny = TransformerScorer.load(SentimentConfig(model=str(tiny_model_dir), batch_size=64))
    sample = records[:120]
    monkeypatch.setattr("ml.sentiment.store.SCORE_CHUNK", 25)  # several chunks, each committed
    result = score_articles(warehouse, sample, tiny)
    assert result.scored == result.articles > 25 and result.new_articles == 0
    assert score_articles(warehouse, sample, tiny).scored == 0
    rows = count(warehouse, "select count(*) from ml.article_sentiment where scorer = %s "
                 "and scorer_version = %s and abs(p_positive + p_negative + p_neutral - 1) < 1e-6 "
                 "and abs(score - (p_positive - p_negative)) < 1e-9", tiny.name, tiny.version)
    assert rows == result.articles
    assert count(warehouse, "select count(*) from ml.sentiment_scorers") == 2


def test_a_late_copy_under_another_url_joins_the_stored_article(warehouse, records, first_run):
    original = next(r for r in records if r.source == "finnhub")
    late = dataclasses.replace(original, source="newsapi", url="https://syndicated.example.com/x",
                               source_id="https://syndicated.example.com/x",
                               headline=original.headline.upper() + "!",
                               published_at=original.published_at + dt.timedelta(hours=2))
    lexicon = CountingLexicon()
    result = score_articles(warehouse, [late], lexicon)
    assert (result.articles, result.new_articles, result.scored, lexicon.texts) == (1, 0, 0, 0)
    assert count(warehouse, "select count(distinct article_key) from ml.news_article_sources "
                 "where source_id in (%s, %s)", original.source_id, late.source_id) == 1


def test_tickers_from_each_vendor(warehouse, records, first_run, emulator_news):
    tagged = {(r.url, m.ticker) for r in records if r.source == "finnhub" for m in r.tickers}
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select s.url, t.ticker, t.source, t.method from ml.news_article_tickers t "
            "join ml.news_article_sources s on s.article_key = t.article_key "
            "and s.source = t.source").fetchall()
    by_source: dict[str, set] = {}
    for url, ticker, source, method in rows:
        by_source.setdefault(source, set()).add((url, ticker, method))
    assert {(u, t) for u, t, _ in by_source["finnhub"]} == tagged
    # NewsAPI tags nothing: its ticker stories are found by symbol and name, and match what
    # Finnhub tagged for the same URL; its sector and market stories name no company.
    newsapi = {(u, t) for u, t, _ in by_source["newsapi"]}
    newsapi_urls = {r.url for r in records if r.source == "newsapi"}
    assert newsapi and newsapi == {(u, t) for u, t in tagged if u in newsapi_urls}
    assert {m for _, _, m in by_source["newsapi"]} <= {"symbol", "name"}


def test_alpha_vantage_sentiment_is_kept_beside_ours(warehouse, records, first_run):
    av = [r for r in records if r.source == "alphavantage"]
    with warehouse.connect() as conn:
        rows = conn.execute(
            """
            select src.vendor_sentiment_score, src.vendor_sentiment_label, ours.score, ours.label
            from ml.news_article_sources src
            join ml.article_sentiment ours using (article_key)
            where src.source = 'alphavantage' and ours.scorer = 'loughran-mcdonald'
            """).fetchall()
        ticker_level = conn.execute(
            "select count(*) from ml.news_article_tickers where source = 'alphavantage' "
            "and vendor_sentiment_score is not null and relevance is not null").fetchone()[0]
    assert len(rows) == len(av)
    assert {(r.vendor_score, r.vendor_label) for r in av} == {(v, lbl) for v, lbl, _, _ in rows}
    assert ticker_level == len({(g.key, m.ticker) for g in deduplicate(records) for r in g.records
                                if r.source == "alphavantage" for m in r.tickers}) > 0
    # Both follow the same news: they must agree in sign far more often than not.
    signed = [(v, s) for v, _, s, _ in rows if abs(v) > 0.15 and s != 0]
    assert sum((v > 0) == (s > 0) for v, s in signed) / len(signed) > 0.8
