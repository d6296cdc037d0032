"""Copies of one article across vendors collapse into one; different articles stay apart."""

from __future__ import annotations

import datetime as dt
import random

from ml.sentiment.articles import NewsArticle
from ml.sentiment.dedup import KnownArticle, article_key, deduplicate, headline_words

T0 = dt.datetime(2024, 1, 8, 21, 0, tzinfo=dt.UTC)


def copy(source, url, headline, minutes=0, publisher=None, source_id=None) -> NewsArticle:
    return NewsArticle(source=source, source_id=source_id or url, url=url,
                       published_at=T0 + dt.timedelta(minutes=minutes), headline=headline,
                       publisher=publisher)


def grouping(groups) -> list[set[str]]:
    return sorted(({r.source_id for r in g.records} for g in groups), key=sorted)


def test_same_url_across_vendors_is_one_article():
    records = [copy("newsapi", "https://x.com/a", "Apple beats estimates"),
               copy("finnhub", "https://x.com/a", "Apple Beats Estimates!", minutes=3, source_id="1"),
               copy("alphavantage", "https://x.com/a", "Apple beats estimates (update)", minutes=9)]
    [group] = deduplicate(records)
    # The earliest copy is the representative; the key comes from its URL.
    assert group.records[0].source == "newsapi" and group.key == article_key(records[0])
    assert not group.known


def test_near_identical_headlines_merge():
    records = [
        copy("finnhub", "https://a.com/1", "Apple shares jump 4% as investors cheer strong results"),
        copy("newsapi", "https://b.com/2",
             "UPDATE 2-Apple shares jump 4% as investors cheer strong results - Reuters",
             minutes=30, publisher="Reuters"),
        copy("alphavantage", "https://c.com/3",
             "Apple\u2019s shares jump 4% as investors cheer strong Q4 results", minutes=60),
    ]
    assert headline_words(records[1].headline, "Reuters") == headline_words(records[0].headline)
    assert grouping(deduplicate(records)) == [{"https://a.com/1", "https://b.com/2"},
                                             {"https://c.com/3"}]  # "apple's" and "q4": two words


def test_one_added_word_in_a_long_headline_merges_but_a_changed_word_does_not():
    base = "Acme Corp shares jump 4% after the company raised its full year revenue forecast"
    added = base + " again"
    changed = base.replace("raised", "cut")
    records = [copy("finnhub", "https://a.com/1", base), copy("newsapi", "https://b.com/2", added),
               copy("alphavantage", "https://c.com/3", changed)]
    assert grouping(deduplicate(records)) == [{"https://a.com/1", "https://b.com/2"},
                                             {"https://c.com/3"}]


def test_short_headlines_must_match_word_for_word():
    records = [copy("finnhub", "https://a.com/1", "Apple shares rise"),
               copy("newsapi", "https://b.com/2", "Apple shares fall")]
    assert len(deduplicate(records)) == 2


def test_a_recurring_headline_on_another_day_is_another_article():
    headline = "Stocks rise as Wall Street cheers strong economic data"
    records = [copy("newsapi", "https://a.com/mon", headline),
               copy("newsapi", "https://a.com/tue", headline, minutes=24 * 60 + 1),
               copy("finnhub", "https://b.com/tue", headline, minutes=24 * 60 + 5)]
    assert grouping(deduplicate(records)) == [{"https://a.com/mon"},
                                             {"https://a.com/tue", "https://b.com/tue"}]


def test_copies_of_stored_articles_take_their_keys():
    known = [KnownArticle("stored-1", frozenset({"https://a.com/1"}), "Apple beats estimates", T0),
             KnownArticle("stored-2", frozenset({"https://z.com/9"}), "Oil slides on supply glut", T0)]
    records = [copy("finnhub", "https://a.com/1", "A different headline, same URL", source_id="5"),
               copy("newsapi", "https://n.com/7", "Oil slides on supply glut", minutes=90),
               copy("newsapi", "https://n.com/8", "Gold climbs to a record")]
    groups = {g.key: g for g in deduplicate(records, known)}
    assert groups["stored-1"].known and groups["stored-2"].known
    assert [r.source_id for r in groups["stored-1"].records] == ["5"]
    assert [r.url for r in groups["stored-2"].records] == ["https://n.com/7"]
    new = [g for g in groups.values() if not g.known]
    assert [g.key for g in new] == [article_key(records[2])]


def test_grouping_and_keys_do_not_depend_on_input_order():
    records = [copy(source, f"https://{source}.com/{i}", f"Headline number {i} about widgets and gadgets",
                    minutes=i, source_id=f"{source}-{i}")
               for i in range(30) for source in ("finnhub", "newsapi")]
    expected = {(g.key, tuple(r.source_id for r in g.records)) for g in deduplicate(records)}
    assert len(expected) == 30
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    assert {(g.key, tuple(r.source_id for r in g.records)) for g in deduplicate(shuffled)} == expected
