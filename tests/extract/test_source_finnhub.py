"""The Finnhub source against the emulator over HTTP, landing into a real Postgres: every
endpoint, the company-news cursor, retries, dead letters and their replay, a spent quota."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import requests

from extract.finnhub import finnhub, replay
from extract.finnhub.settings import NEWS_LAG_SECONDS
from extract.landing import land, raw_pipeline
from extract.quota import VendorLimits
from tests.extract.support import query

ET = ZoneInfo("America/New_York")
AS_OF = dt.datetime(2024, 1, 8, 21, 30, tzinfo=ET)
KEY = "finnhub-test-key"
UNLIMITED = VendorLimits(None, None, None)
NEWS_FROM, NEWS_TO = dt.date(2024, 1, 2), dt.date(2024, 1, 8)





VENDOR = "finnhub"
SEED = 9


def served_news_ids(emu, symbol: str, start: dt.date, end: dt.date) -> set[int]:
    """What the emulator serves for one request: the expectation, fetched around the source."""
    answer = requests.get(f"{emu.url}/api/v1/company-news", timeout=10,
                          params={"symbol": symbol, "from": start, "to": end},
                          headers={"X-Finnhub-Token": KEY})
    return {article["id"] for article in answer.json()}


def news_cursor(warehouse, pipelines_dir) -> int:
    state = raw_pipeline(warehouse, "finnhub", pipelines_dir).state
    return state["sources"]["finnhub"]["resources"]["finnhub_company_news"]["incremental"][
        "datetime"]["last_value"]


def test_every_endpoint_lands_its_payload_once(emu, client, warehouse, tmp_path):
    def source():
        return finnhub(client, quote_symbols=["AAPL", "MSFT", "ZZZZ"],
                       news_symbols=["AAPL", "MSFT"], news_from=NEWS_FROM, news_to=NEWS_TO,
                       profile_symbols=["AAPL", "MSFT", "ZZZZ"], metric_symbols=["AAPL"])

    first = land(warehouse, source(), tmp_path)
    news = served_news_ids(emu, "AAPL", NEWS_FROM, NEWS_TO) | \
        served_news_ids(emu, "MSFT", NEWS_FROM, NEWS_TO)
    # ZZZZ: a quote of zeros (skipped, with a note) and an empty profile.
    assert {t: n for t, n in first.rows.items() if t != "finnhub_company_news"} == \
        {"finnhub_quotes": 2, "finnhub_profiles": 2, "finnhub_metrics": 1}
    assert first.notes == ["finnhub quote: no quote for 'ZZZZ' (unknown symbol?)"]

    land(warehouse, source(), tmp_path)
    counts = query(warehouse, """
        select (select count(*) from raw.finnhub_quotes),
               (select count(*) from raw.finnhub_profiles),
               (select count(*) from raw.finnhub_metrics),
               (select array_agg(id order by id) from raw.finnhub_company_news)""")
    assert counts == [(2, 2, 1, sorted(news))] and news
    assert query(warehouse, "select symbol, metric ? 'beta', jsonb_typeof(series), \"metricType\""
                 " from raw.finnhub_metrics") == [("AAPL", True, "object", "all")]
    tables = query(warehouse, "select table_name, column_name, data_type from "
                   "information_schema.columns where table_schema = 'raw' "
                   "and table_name like 'finnhub%%'")
    assert {table for table, _, _ in tables} == {"finnhub_quotes", "finnhub_company_news",
                                                 "finnhub_profiles", "finnhub_metrics"}
    types = {(table, column): kind for table, column, kind in tables}
    assert [types[("finnhub_quotes", "t")], types[("finnhub_quotes", "pc")],
            types[("finnhub_company_news", "datetime")], types[("finnhub_metrics", "series")],
            types[("finnhub_profiles", "shareOutstanding")]] == \
        ["bigint", "double precision", "bigint", "jsonb", "double precision"]


def test_news_resume_from_the_cursor_and_a_window_leaves_it_alone(emu, client, warehouse,
                                                                  tmp_path, dead_letters):
    first = land(warehouse, finnhub(client, news_symbols=["AAPL"], news_to=NEWS_TO), tmp_path)
    cursor = news_cursor(warehouse, tmp_path)
    assert first.rows["finnhub_company_news"] == \
        len(served_news_ids(emu, "AAPL", NEWS_TO - dt.timedelta(days=7), NEWS_TO))
    assert query(warehouse, "select max(datetime) from raw.finnhub_company_news") == [(cursor,)]

    # The next run asks from the cursor's day (less the lag); its failure shows the request.
    emu.add_fault_rules([{"fault": "http_5xx", "count": 3, "vendor": "finnhub",
                          "path_prefix": "/api/v1/company-news"}])
    land(warehouse, finnhub(client, news_symbols=["AAPL"], news_to=NEWS_TO,
                            dead_letters=dead_letters), tmp_path)
    resumed_from = dt.datetime.fromtimestamp(cursor - NEWS_LAG_SECONDS, dt.UTC).date()
    assert [letter.item for letter in dead_letters.open()] == [
        {"symbol": "AAPL", "from": resumed_from.isoformat(), "to": NEWS_TO.isoformat()}]

    # An explicit window reaches further back and neither reads nor moves the cursor.
    back = NEWS_TO - dt.timedelta(days=20)
    land(warehouse, finnhub(client, news_symbols=["AAPL"], news_from=back,
                            news_to=NEWS_TO - dt.timedelta(days=10)), tmp_path)
    assert news_cursor(warehouse, tmp_path) == cursor
    assert query(warehouse, "select count(*) from raw.finnhub_company_news") == [(len(
        served_news_ids(emu, "AAPL", NEWS_TO - dt.timedelta(days=7), NEWS_TO)
        | served_news_ids(emu, "AAPL", back, NEWS_TO - dt.timedelta(days=10))),)]


def test_server_errors_are_retried_after_a_backoff(emu, client, warehouse, sleeps, tmp_path,
                                                   dead_letters):
    emu.add_fault_rules([{"fault": "http_5xx", "count": 2, "vendor": "finnhub",
                          "path_prefix": "/api/v1/quote"}])
    landed = land(warehouse, finnhub(client, quote_symbols=["AAPL", "MSFT"],
                                     dead_letters=dead_letters), tmp_path)

    assert landed.rows == {"finnhub_quotes": 2} and len(sleeps) == 2
    assert dead_letters.open() == []
    # two requests, four calls: the run summary tells the retries from the plan's requests
    assert client.call_log.calls["finnhub"] == 4 and client.call_log.retries["finnhub"] == 2


def test_a_failing_symbol_is_one_dead_letter_and_replay_resolves_it(emu, client, warehouse,
                                                                     tmp_path, dead_letters):
    # The first profile request fails three times (the client's attempts): AAPL's.
    emu.add_fault_rules([{"fault": "http_5xx", "count": 3, "vendor": "finnhub",
                          "path_prefix": "/api/v1/stock/profile2"}])
    landed = land(warehouse, finnhub(client, profile_symbols=["AAPL", "MSFT", "IBM"],
                                     dead_letters=dead_letters), tmp_path)

    letters = dead_letters.open()
    assert [(letter.vendor, letter.endpoint, letter.item, letter.kind) for letter in letters] == \
        [("finnhub", "profile2", {"symbol": "AAPL"}, "transient")]
    assert landed.rows == {"finnhub_profiles": 2}

    replayed = land(warehouse, replay(client, letters, dead_letters), tmp_path)
    assert replayed.rows == {"finnhub_profiles": 1} and dead_letters.open() == []
    assert query(warehouse, "select ticker from raw.finnhub_profiles order by 1") == \
        [("AAPL",), ("IBM",), ("MSFT",)]


@pytest.mark.parametrize(("limits", "acquire_timeout", "why"), [
    (VendorLimits(per_second=None, per_minute=None, per_day=2), None, "spent"),
    # The third call would wait most of a minute; the run allows it no wait at all.
    (VendorLimits(per_second=None, per_minute=2, per_day=None), 0.0, "room"),
])
def test_quota_stops_every_resource_keeping_what_landed(limits, acquire_timeout, why,
                                                        make_client, warehouse, tmp_path,
                                                        dead_letters):
    client = make_client(limits=limits, acquire_timeout=acquire_timeout)
    landed = land(warehouse, finnhub(client, quote_symbols=["AAPL", "MSFT", "IBM", "SPY"],
                                     profile_symbols=["AAPL", "MSFT"], dead_letters=dead_letters),
                  tmp_path)

    # dlt takes the resources in turn: two calls went to whichever asked first.
    assert landed.total_rows == 2
    assert sorted(note.split(":")[0] for note in landed.notes) == \
        ["finnhub profile2", "finnhub quote"]
    assert all("stopped after" in note and why in note for note in landed.notes)
    assert dead_letters.open() == []  # the rest stay due: a later run asks for them
