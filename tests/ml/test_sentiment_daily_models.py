"""The daily curated sentiment models (dbt) over scored news: counts, shares and dispersion per
ticker and session, and the sector roll-up's pooled dispersion, checked against numbers worked
out here from the article scores."""

from __future__ import annotations

import datetime as dt
import statistics
from zoneinfo import ZoneInfo

import pytest

from ml.sentiment.articles import NewsArticle, TickerMention
from ml.sentiment.scorers import LexiconScorer
from ml.sentiment.store import score_articles
from tests.dbt.warehouse import RAW_DDL, RawLander, apply_setup, market, run_dbt, sessions

pytestmark = pytest.mark.slow

NEW_YORK = ZoneInfo("America/New_York")
SESSIONS = sessions(5, dt.date(2026, 11, 20))
DAY = SESSIONS[-1]
# (ticker, headline): the lexicon gives positive +1, negative -1, neutral 0.
NEWS = [
    ("TAA", "Alpha Corp reports strong results"),
    ("TAA", "Alpha Corp faces lawsuit over losses"),
    ("TAA", "Alpha Corp sets date for annual meeting"),
    ("TAB", "Beta Corp achieves record profitability"),
]
SCORES = {"TAA": [1.0, -1.0, 0.0], "TAB": [1.0]}


@pytest.fixture(scope="module")
def built(scratch_databases, tmp_path_factory):
    warehouse = scratch_databases("th_sentiment_daily")
    apply_setup(warehouse.url())
    lander = RawLander(warehouse.url())
    with lander.connect() as conn:
        conn.execute(RAW_DDL)
    lander.land(market(["TAA", "TAB"], SESSIONS))
    morning = dt.datetime.combine(DAY, dt.time(10), NEW_YORK)  # before the close: DAY's news
    records = [NewsArticle(source="finnhub", source_id=str(i), url=f"https://news.example.com/{i}",
                           published_at=morning + dt.timedelta(minutes=i), headline=headline,
                           tickers=(TickerMention(ticker, "vendor"),))
               for i, (ticker, headline) in enumerate(NEWS)]
    assert score_articles(warehouse, records, LexiconScorer()).scored == len(NEWS)
    done = run_dbt(warehouse.url(), tmp_path_factory.mktemp("dbt"), "build", "--select",
                   "+agg_sector_daily_sentiment", "--indirect-selection", "cautious")
    assert done.ok, done.tail()
    return warehouse


def test_ticker_days_count_share_and_spread(built):
    with built.connect() as conn:
        rows = conn.execute(
            "select ticker, session_date, article_count, positive_share, negative_share, "
            "mean_sentiment_score, stddev_sentiment_score from curated.agg_ticker_daily_sentiment "
            "order by ticker").fetchall()
    assert rows[0][:5] == ("TAA", DAY, 3, 1 / 3, 1 / 3)
    assert rows[0][5:] == pytest.approx((0.0, statistics.stdev(SCORES["TAA"])))
    assert rows[1] == ("TAB", DAY, 1, 1.0, 0.0, 1.0, None)


def test_the_sector_spread_is_pooled_over_all_its_articles(built):
    with built.connect() as conn:
        rows = conn.execute(
            "select sector, ticker_count, article_count, positive_share, negative_share, "
            "mean_sentiment_score, stddev_sentiment_score from curated.agg_sector_daily_sentiment"
        ).fetchall()
    every = SCORES["TAA"] + SCORES["TAB"]
    assert len(rows) == 1 and rows[0][:5] == ("Unclassified", 2, 4, 0.5, 0.25)
    assert rows[0][5:] == pytest.approx((statistics.mean(every), statistics.stdev(every)))
