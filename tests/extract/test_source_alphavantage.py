"""The Alpha Vantage source against the emulator over HTTP, landing into a real Postgres: its
three functions, HTTP-200 throttling (old and new style), dead letters and their replay."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import requests

from emulator import Emulator, EmulatorConfig
from extract.alphavantage import alphavantage, replay
from extract.deadletters import DeadLetters
from extract.http import CallLog, VendorClient
from extract.landing import land
from extract.quota import QuotaManager, VendorLimits
from extract.resilience import Backoff

ET = ZoneInfo("America/New_York")
AS_OF = dt.datetime(2024, 1, 8, 21, 30, tzinfo=ET)
PAID, FREE = "av-test-paid-key", "av-test-free-key"
UNLIMITED = VendorLimits(None, None, None)


@pytest.fixture(scope="module")
def emulator():
    config = EmulatorConfig(seed=13, n_tickers=30, as_of=AS_OF, freeze_clock=True,
                            market_start=dt.date(2023, 6, 1), plans={PAID: "paid"})
    with Emulator(config) as emu:
        yield emu


@pytest.fixture()
def emu(emulator):
    emulator.reset()
    emulator.add_fault_rules([], replace=True)
    return emulator


@pytest.fixture(scope="module")
def module_database(scratch_databases):
    return scratch_databases("th_test_alphavantage")


@pytest.fixture()
def warehouse(module_database):
    """The module's database with nothing landed, no dlt state and no dead letters or quota."""
    with module_database.connect(autocommit=True) as conn:
        conn.execute("drop schema if exists raw, raw_staging, ops cascade")
    return module_database


@pytest.fixture()
def sleeps() -> list[float]:
    return []


@pytest.fixture()
def make_client(emu, warehouse, redis_client, sleeps):
    managers: list[QuotaManager] = []

    def make(key: str = PAID) -> VendorClient:
        # Our limits are not the subject here: the emulator's are (for the free key).
        managers.append(QuotaManager(redis_client, warehouse, {"alphavantage": UNLIMITED},
                                     {"alphavantage": [key]}))
        return VendorClient("alphavantage", emu.url, managers[-1], call_log=CallLog(),
                            max_attempts=3, backoff=Backoff(base=0.0), sleep=sleeps.append)

    yield make
    for manager in managers:
        manager.close()


@pytest.fixture()
def client(make_client) -> VendorClient:
    return make_client()


@pytest.fixture()
def dead_letters(warehouse) -> DeadLetters:
    return DeadLetters(warehouse)


def query(warehouse, statement: str, *params):
    with warehouse.connect() as conn:
        return conn.execute(statement, params).fetchall()


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
