"""The Alpha Vantage source against the emulator over HTTP, landing into a real Postgres: its
three functions, HTTP-200 throttling (old and new style), dead letters and their replay."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import requests

from extract.alphavantage import alphavantage, replay
from extract.landing import land
from extract.quota import VendorLimits
from tests.extract.support import query

ET = ZoneInfo("America/New_York")
AS_OF = dt.datetime(2024, 1, 8, 21, 30, tzinfo=ET)
PAID, FREE = "av-test-paid-key", "av-test-free-key"
UNLIMITED = VendorLimits(None, None, None)





VENDOR = "alphavantage"
SEED = 13
KEY = PAID


def served_news_urls(emu, symbol: str) -> set[str]:
    """What the emulator serves for one request: the expectation, fetched around the source."""
    answer = requests.get(f"{emu.url}/query", timeout=10, params={
        "function": "NEWS_SENTIMENT", "tickers": symbol, "sort": "LATEST", "limit": 1000,
        "apikey": PAID})
    return {article["url"] for article in answer.json()["feed"]}


def test_every_function_lands_its_payload_as_sent(emu, client, warehouse, tmp_path):
    def source():
        return alphavantage(client, daily_symbols=["IBM", "AAPL"], overview_symbols=["IBM"],
                            news_symbols=["IBM", "AAPL"])

    first = land(warehouse, source(), tmp_path)
    news = served_news_urls(emu, "IBM") | served_news_urls(emu, "AAPL")
    assert first.rows["alphavantage_daily"] == 200 and first.rows["alphavantage_overviews"] == 1

    land(warehouse, source(), tmp_path)
    assert query(warehouse, r"""
        select symbol, count(*), count(distinct date), max(date),
               bool_and(_1_open ~ '^[0-9]+\.[0-9]{4}$' and _5_volume ~ '^[0-9]+$'),
               min("Meta_Data"->>'4. Output Size')
        from raw.alphavantage_daily group by symbol order by symbol""") == [
        ("AAPL", 100, 100, "2024-01-08", True, "Compact"),
        ("IBM", 100, 100, "2024-01-08", True, "Compact")]
    served = requests.get(f"{emu.url}/query", timeout=10, params={
        "function": "TIME_SERIES_DAILY", "symbol": "IBM", "apikey": PAID}).json()
    assert query(warehouse, 'select _1_open, _2_high, _3_low, _4_close, _5_volume from '
                 "raw.alphavantage_daily where symbol = 'IBM' and date = '2024-01-05'") == \
        [tuple(served["Time Series (Daily)"]["2024-01-05"].values())]
    assert query(warehouse, 'select "Symbol", "Sector" is not null, "_52WeekHigh" ~ \'^[0-9.]+$\''
                 " from raw.alphavantage_overviews") == [("IBM", True, True)]
    assert query(warehouse, "select count(*), count(distinct url), "
                 "bool_and(jsonb_typeof(ticker_sentiment) = 'array'), "
                 "bool_and(jsonb_typeof(topics) = 'array'), count(distinct _symbol) "
                 "from raw.alphavantage_news_sentiment") == [(len(news), len(news), True, True, 2)]
    types = dict(query(warehouse, "select column_name, data_type from information_schema.columns"
                       " where table_schema = 'raw' and table_name like 'alphavantage%%'"))
    assert [types["_5_volume"], types["Meta_Data"], types["PERatio"],
            types["overall_sentiment_score"], types["authors"]] == \
        ["character varying", "jsonb", "character varying", "double precision", "jsonb"]


def test_throttle_answers_at_http_200_are_waited_out(emu, client, warehouse, tmp_path,
                                                     dead_letters):
    emu.add_fault_rules([{"fault": "av_note", "count": 1, "vendor": "alphavantage"},
                         {"fault": "http_5xx", "count": 1, "vendor": "alphavantage"}])
    landed = land(warehouse, alphavantage(client, overview_symbols=["IBM", "AAPL"],
                                          dead_letters=dead_letters), tmp_path)

    assert landed.rows == {"alphavantage_overviews": 2}
    assert [f["fault"] for f in emu.fault_log()] == ["av_note", "http_5xx"]
    assert dead_letters.open() == []


def test_the_daily_limit_stops_the_run_and_keeps_what_landed(emu, make_client, warehouse,
                                                             tmp_path, dead_letters):
    """A free key past 25 calls (we were told it had no limit): Alpha Vantage's HTTP-200
    notice spends the key for the day, and the source stops instead of asking again."""
    # Common stocks: Alpha Vantage has no overview of an ETF (an empty answer).
    symbols = sorted(t["ticker"] for t in emu.universe()["tickers"] if t["type"] == "CS")
    assert len(symbols) > 25
    landed = land(warehouse, alphavantage(make_client(FREE), overview_symbols=symbols,
                                          dead_letters=dead_letters), tmp_path)

    assert landed.rows == {"alphavantage_overviews": 25}
    assert len(landed.notes) == 1
    assert f"stopped after 25 of {len(symbols)} items" in landed.notes[0]
    assert emu.counts()["vendors"]["alphavantage"]["total"]["throttled"] == 1
    assert dead_letters.open() == []


def test_failed_symbols_are_dead_letters_and_replay_resolves_what_now_works(
        emu, client, warehouse, tmp_path, dead_letters):
    # IBM's request fails three times (the client's attempts); ZZZZ is no symbol at all.
    emu.add_fault_rules([{"fault": "http_5xx", "count": 3, "vendor": "alphavantage"}])
    landed = land(warehouse, alphavantage(client, daily_symbols=["IBM", "ZZZZ", "AAPL"],
                                          dead_letters=dead_letters), tmp_path)

    letters = dead_letters.open()
    assert [(letter.endpoint, letter.item, letter.kind) for letter in letters] == [
        ("time_series_daily", {"symbol": "IBM"}, "transient"),
        ("time_series_daily", {"symbol": "ZZZZ"}, "bad_request")]
    assert landed.rows == {"alphavantage_daily": 100}

    replayed = land(warehouse, replay(client, letters, dead_letters), tmp_path)
    assert replayed.rows == {"alphavantage_daily": 100}
    assert [(letter.item, letter.attempts) for letter in dead_letters.open()] == \
        [({"symbol": "ZZZZ"}, 2)]
    assert query(warehouse, "select symbol, count(*) from raw.alphavantage_daily "
                 "group by symbol order by 1") == [("AAPL", 100), ("IBM", 100)]
