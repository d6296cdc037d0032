"""A load's refresh against the real Redis: what is written, for how long, and exactly which keys
a later load touches."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from cache import layout
from cache.hot import refresh
from cache.layout import KINDS, board_key, decode, next_load_at
from cache.reader import CacheReader
from orchestration.steps import refresh_cache
from tickerhouse.settings import load_settings

from .conftest import NOW
from .warehouse import PREVIOUS, SESSION

NEW_YORK = layout.NEW_YORK


def hashes(client, kind: str) -> dict[str, dict]:
    prefix = f"{layout.NAMESPACE}:{kind}:"
    return {key.removeprefix(prefix): client.hgetall(key)
            for key in client.scan_iter(f"{prefix}*", count=1000)}


def test_next_load_follows_the_nyse_calendar():
    # Friday's data lives until Tuesday's 06:00 run (for Monday) is done
    assert next_load_at(dt.date(2026, 11, 20)) == dt.datetime(2026, 11, 24, 9, tzinfo=NEW_YORK)
    # Thanksgiving: Wednesday's next session is Friday, loaded on Monday
    assert next_load_at(dt.date(2026, 11, 25)) == dt.datetime(2026, 11, 30, 9, tzinfo=NEW_YORK)
    # a long-past session still gets the minimum, a far one no more than the maximum
    bar = KINDS["bar"]
    assert layout.ttl_seconds(bar, dt.date(2020, 1, 2), NOW) == layout.MIN_TTL
    assert layout.ttl_seconds(bar, SESSION, NOW) == 26 * 3600


def test_refresh_mirrors_the_latest_session_with_ttls_by_freshness(market, redis_url, redis_client):
    result = refresh(market.database, _client(redis_url), now=NOW)
    assert result.session == SESSION and result.tickers == 200
    assert {kind: sum(counts.values()) for kind, counts in result.per_kind.items()} == {
        "bar": 200, "ind": 200, "pred": 200, "fund": 100, "quote": 20}
    client = _client(redis_url)

    with market.database.connect() as conn:
        close, volume = conn.execute("select close, volume from curated.fct_daily_bars "
                                     "where ticker = 'T0007' and trade_date = %s",
                                     (SESSION,)).fetchone()
    bar = decode(KINDS["bar"], client.hgetall(KINDS["bar"].key("T0007")))
    assert bar["trade_date"] == SESSION and bar["volume"] == volume
    assert bar["close"] == pytest.approx(close, rel=1e-9)
    # nulls are left out, not stored as empty fields: a day's indicator hash is compact
    indicators = client.hgetall(KINDS["ind"].key("T0007"))
    assert "return_20d" not in indicators and "sma_200" not in indicators
    # fundamentals merge the vendors' current observations, newest non-null per field
    fund = decode(KINDS["fund"], client.hgetall(KINDS["fund"].key("T0000")))
    assert fund["price_to_book"] is not None and fund["dividend_yield"] == 0.02
    assert fund["known_at"] == dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)

    # TTLs by freshness: daily data until Tuesday's load is done (26 h after NOW), quotes minutes,
    # fundamentals days; the boards like the daily data
    def ttl(key):
        return client.ttl(key)
    assert 26 * 3600 - 60 <= ttl(KINDS["bar"].key("T0007")) <= 26 * 3600
    assert 26 * 3600 - 60 <= ttl(KINDS["pred"].key("T0007")) <= 26 * 3600
    assert 0 < ttl(KINDS["quote"].key("T0003")) <= layout.QUOTE_TTL
    assert layout.FUNDAMENTALS_TTL - 60 <= ttl(KINDS["fund"].key("T0000")) <= layout.FUNDAMENTALS_TTL
    assert 26 * 3600 - 60 <= ttl(board_key("return_1d")) <= 26 * 3600
    assert all(client.ttl(key) > 0 for key in client.scan_iter(f"{layout.NAMESPACE}:*"))

    # leaderboards: the best and worst of the session, as Postgres ranks them
    with market.database.connect() as conn:
        best = conn.execute("select ticker from curated.fct_daily_indicators where trade_date = %s "
                            "order by return_1d desc limit 3", (SESSION,)).fetchall()
        worst = conn.execute("select ticker from curated.fct_daily_indicators where trade_date = %s"
                             " order by return_1d limit 3", (SESSION,)).fetchall()
        active = conn.execute("select ticker from curated.fct_daily_bars where trade_date = %s "
                              "order by close * volume desc limit 5", (SESSION,)).fetchall()
        shift = dict(conn.execute(
            "select a.ticker, a.mean_sentiment_score - b.mean_sentiment_score "
            "from curated.agg_ticker_daily_sentiment a join curated.agg_ticker_daily_sentiment b "
            "using (ticker) where a.session_date = %s and b.session_date = %s",
            (SESSION, PREVIOUS)).fetchall())
    assert client.zrevrange(board_key("return_1d"), 0, 2) == [t for (t,) in best]
    assert client.zrange(board_key("return_1d"), 0, 2) == [t for (t,) in worst]
    assert client.zrevrange(board_key("dollar_volume"), 0, 4) == [t for (t,) in active]
    assert client.zcard(board_key("dollar_volume")) == layout.BOARD_DEPTH
    assert client.zcard(board_key("return_1d")) == 200  # both ends of 100 cover all 200
    biggest = max(shift, key=shift.get)
    assert client.zrevrange(board_key("sentiment_shift"), 0, 0, withscores=True) == [
        (biggest, pytest.approx(shift[biggest]))]
    assert client.zcard(board_key("predicted_return")) == layout.BOARD_DEPTH


def test_a_load_touches_exactly_the_keys_whose_data_changed(own_market, redis_url, redis_client):
    market = own_market
    client = _client(redis_url)
    # the top 50 by dollar volume are hot; a cold ticker gets cached by being read
    first = refresh(market.database, client, prewarm=50, now=NOW)
    assert first.tickers == 50 and first.per_kind["bar"]["w"] == 50
    ranked = client.zrevrange(board_key("dollar_volume"), 0, -1)  # the top 100
    hot = set(ranked[:50])
    # far from the top 50, so a cent on the close cannot bring them in
    cold_cached, cold_absent = sorted(set(market.tickers) - set(ranked))[:2]
    hot_changed, hot_same = sorted(hot)[:2]
    hot_unfunded = sorted(t for t in hot if int(t[1:]) % 2)[0]  # a hot ticker without fundamentals
    with CacheReader(market.database, redis_url) as reader:
        reader.snapshot(cold_cached)
        assert reader.fundamentals(hot_unfunded) is None  # remembered as absent
    assert client.exists(KINDS["bar"].key(cold_cached), KINDS["fund"].key(hot_unfunded)) == 2

    # mark every cached hash: a key the next load rewrites or deletes loses the mark
    keys = [key for kind in KINDS for key in client.scan_iter(f"{layout.NAMESPACE}:{kind}:*")]
    for key in keys:
        client.hset(key, "probe", "1")
    market.execute("update curated.fct_daily_bars set close = close + 0.01 "
                   "where trade_date = %s and ticker = any(%s)",
                   (SESSION, [hot_changed, cold_cached, cold_absent]))
    market.execute("update ml.predictions set predicted_return = predicted_return + 0.001 "
                   "where ticker = %s", (hot_same,))
    market.execute("insert into curated.fct_fundamentals (ticker, source, known_at, is_current, "
                   "pe_ratio) values (%s, 'finnhub_metrics', '2026-11-21', true, 12.5)",
                   (hot_unfunded,))

    second = refresh(market.database, client, prewarm=50, now=NOW)
    assert (second.per_kind["bar"]["w"], second.per_kind["bar"]["i"]) == (1, 1)
    assert (second.per_kind["pred"]["w"], second.per_kind["pred"]["i"]) == (1, 0)
    assert (second.per_kind["fund"]["w"], second.per_kind["fund"]["i"]) == (1, 0)
    assert second.keys_written == 3 and second.keys_invalidated == 1
    untouched = [key for key in keys if client.hget(key, "probe") == "1"]
    rewritten = {KINDS["bar"].key(hot_changed), KINDS["pred"].key(hot_same),
                 KINDS["fund"].key(hot_unfunded)}
    assert set(keys) - set(untouched) == rewritten | {KINDS["bar"].key(cold_cached)}
    assert not client.exists(KINDS["bar"].key(cold_cached))  # invalidated, read again later
    assert not client.exists(KINDS["bar"].key(cold_absent))  # never cached, still not
    assert float(client.hget(KINDS["bar"].key(hot_changed), "close")) == pytest.approx(
        float(_close(market, hot_changed)))
    assert "dollar_volume" in second.boards_written  # closes moved, so did the board
    assert client.hget(KINDS["fund"].key(hot_unfunded), "pe_ratio") == "12.5"

    third = refresh(market.database, client, prewarm=50, now=NOW)  # nothing changed since
    assert third.keys_written == third.keys_invalidated == 0 and third.boards_written == []


def test_an_expired_key_is_not_mistaken_for_an_unchanged_one(market, redis_url, redis_client,
                                                            monkeypatch):
    client = _client(redis_url)
    monkeypatch.setattr(layout, "QUOTE_TTL", 1)
    refresh(market.database, client, now=NOW)
    key = KINDS["quote"].key("T0003")
    assert client.exists(key)
    time.sleep(1.2)
    assert not client.exists(key)  # Redis honoured the quote's TTL
    again = refresh(market.database, client, now=NOW)
    assert again.per_kind["quote"]["w"] == 20 and client.exists(key)


def test_the_pipeline_step_skips_the_cache_when_redis_is_down(market, tmp_path):
    from .conftest import free_port

    settings = load_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", state_dir=tmp_path)
    assert refresh_cache(settings, market.database, SESSION) is None


def test_the_pipeline_step_warms_the_watchlist_first(market, redis_url, redis_client, tmp_path):
    settings = load_settings(redis_url=redis_url, state_dir=tmp_path, watchlist="t0199,T0198",
                             cache_prewarm_tickers=0)
    result = refresh_cache(settings, market.database, SESSION)
    assert result.tickers == 2
    keys = redis_client.scan_iter(f"{layout.NAMESPACE}:bar:*")
    assert {key.decode().rsplit(":", 1)[1] for key in keys} == {"T0199", "T0198"}


def _client(redis_url):
    from cache.hot import connect

    return connect(redis_url)


def _close(market, ticker):
    with market.database.connect() as conn:
        return conn.execute("select close from curated.fct_daily_bars where ticker = %s and "
                            "trade_date = %s", (ticker, SESSION)).fetchone()[0]
