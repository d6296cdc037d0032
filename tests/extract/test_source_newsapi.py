"""The NewsAPI source against the emulator over HTTP, landing into a real Postgres: paging to
the total or to the developer plan's result cap, headlines, retries, dead letters, replay."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import requests

from extract.landing import land
from extract.newsapi import newsapi, replay
from extract.quota import VendorLimits
from tests.extract.support import query

ET = ZoneInfo("America/New_York")
AS_OF = dt.datetime(2024, 1, 8, 21, 30, tzinfo=ET)
PAID, FREE = "newsapi-test-paid-key", "newsapi-test-free-key"
UNLIMITED = VendorLimits(None, None, None)
FROM, TO = dt.date(2023, 12, 20), dt.date(2024, 1, 8)





VENDOR = "newsapi"
SEED = 17
KEY = PAID


def served(emu, path: str, key: str = PAID, **params) -> dict:
    """What the emulator serves for one request: the expectation, fetched around the source."""
    return requests.get(f"{emu.url}{path}", params={"pageSize": 100, **params}, timeout=10,
                        headers={"X-Api-Key": key}).json()


def calls(emu) -> dict[str, int]:
    return emu.counts()["vendors"]["newsapi"]["total"]


def test_searches_page_to_the_developer_cap_and_stop_cleanly(emu, make_client, warehouse,
                                                             tmp_path, dead_letters):
    total = served(emu, "/v2/everything", FREE, q="stocks")["totalResults"]
    assert total > 100
    emu.reset()
    landed = land(warehouse, newsapi(make_client(FREE), queries=["stocks"], page_size=20,
                                     dead_letters=dead_letters), tmp_path)

    assert landed.rows == {"newsapi_articles": 100}
    # Five pages of 20 reach the cap; no sixth call is spent to be told so (a 426).
    assert calls(emu)["answered"] == 5 and calls(emu)["rejected"] == 0
    assert len(landed.notes) == 1 and "result cap, after 100 articles" in landed.notes[0]
    assert dead_letters.open() == []
    assert query(warehouse, "select count(distinct url) from raw.newsapi_articles") == [(100,)]


def test_pages_run_to_the_total_and_headlines_land_too(emu, client, warehouse, tmp_path):
    def source():
        return newsapi(client, queries=["AAPL", "MSFT"], categories=["business"],
                       from_date=FROM, to_date=TO, page_size=5)

    expected = {article["url"]
                for answer in (served(emu, "/v2/everything", q="AAPL", **{"from": FROM, "to": TO}),
                               served(emu, "/v2/everything", q="MSFT", **{"from": FROM, "to": TO}),
                               served(emu, "/v2/top-headlines", category="business",
                                      country="us"))
                for article in answer["articles"]}
    pages = sum(math.ceil(served(emu, path, **params)["totalResults"] / 5) for path, params in (
        ("/v2/everything", {"q": "AAPL", "from": FROM, "to": TO}),
        ("/v2/everything", {"q": "MSFT", "from": FROM, "to": TO}),
        ("/v2/top-headlines", {"category": "business", "country": "us"})))
    emu.reset()

    first = land(warehouse, source(), tmp_path)
    assert calls(emu)["answered"] == pages  # no request past the last page
    land(warehouse, source(), tmp_path)
    assert query(warehouse, "select array_agg(url order by url) from raw.newsapi_articles") == \
        [(sorted(expected),)]
    assert first.total_rows >= len(expected) > 0  # an article found twice lands once
    assert query(warehouse, "select count(*) from raw.newsapi_articles where "
                 "jsonb_typeof(source) <> 'object' or \"publishedAt\" is null") == [(0,)]


def test_server_errors_are_retried_after_a_backoff(emu, client, warehouse, sleeps, tmp_path,
                                                   dead_letters):
    emu.add_fault_rules([{"fault": "http_5xx", "count": 2, "vendor": "newsapi"}])
    landed = land(warehouse, newsapi(client, categories=["business"], dead_letters=dead_letters),
                  tmp_path)

    answer = served(emu, "/v2/top-headlines", category="business", country="us")
    assert landed.rows == {"newsapi_articles": answer["totalResults"]} and len(sleeps) == 2
    assert dead_letters.open() == []


def test_a_failing_query_is_one_dead_letter_and_replay_resolves_it(emu, client, warehouse,
                                                                   tmp_path, dead_letters):
    emu.add_fault_rules([{"fault": "http_5xx", "count": 3, "vendor": "newsapi",
                          "path_prefix": "/v2/everything"}])
    landed = land(warehouse, newsapi(client, queries=["AAPL", "MSFT"], from_date=FROM,
                                     to_date=TO, dead_letters=dead_letters), tmp_path)

    letters = dead_letters.open()
    assert [(letter.vendor, letter.endpoint, letter.item, letter.kind) for letter in letters] == [
        ("newsapi", "everything", {"q": "AAPL", "from": "2023-12-20", "to": "2024-01-08"},
         "transient")]
    msft = served(emu, "/v2/everything", q="MSFT", **{"from": FROM, "to": TO})["totalResults"]
    assert landed.rows == {"newsapi_articles": msft}

    land(warehouse, replay(client, letters, dead_letters), tmp_path)
    assert dead_letters.open() == []
    aapl = served(emu, "/v2/everything", q="AAPL", **{"from": FROM, "to": TO})["articles"]
    assert query(warehouse, "select count(*) from raw.newsapi_articles where url = any(%s)",
                 [article["url"] for article in aapl]) == [(len(aapl),)]
