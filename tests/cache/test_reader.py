"""The backend's cache-aside reads: hits, misses that repopulate, and Redis going down and coming
back (a redis-server of the test's own, really stopped)."""

from __future__ import annotations

import time

import pytest

from cache.breaker import Breaker
from cache.hot import connect, refresh
from cache.layout import KINDS, MIN_TTL, board_key
from cache.reader import CacheReader
from tickerhouse.errors import UserError

from .conftest import NOW, free_port
from .warehouse import SESSION


def test_a_miss_reads_postgres_and_repopulates_then_hits(market, redis_url, redis_client):
    with CacheReader(market.database, redis_url) as reader:
        first = reader.snapshot("t0005")  # tickers are case-insensitive
        assert reader.stats["miss"] == 5 and reader.stats["repopulated"] == 4  # no fundamentals
        assert first["fund"] is None and first["bar"]["trade_date"] == SESSION
        assert redis_client.exists(KINDS["bar"].key("T0005"))
        second = reader.snapshot("T0005")
        # same typed values from both sides; the absence of fundamentals is remembered too
        assert reader.stats["hit"] == 5 and second == first
        assert 0 < redis_client.ttl(KINDS["fund"].key("T0005")) <= MIN_TTL
        assert reader.bar("T0005") == first["bar"] and reader.stats["hit"] == 6
        assert reader.bar("NOPE") is None
        with pytest.raises(UserError, match="unknown cache kind"):
            reader.get("bars", "T0005")


def test_what_a_load_wrote_reads_the_same_as_what_postgres_answers(market, redis_url,
                                                                    redis_client):
    refresh(market.database, connect(redis_url), now=NOW)
    with CacheReader(market.database, redis_url) as warm:
        cached = warm.snapshot("T0011")
        assert warm.stats["hit"] == 4 and warm.stats["miss"] == 1  # T0011 has no fundamentals
    redis_client.delete(*[KINDS[kind].key("T0011") for kind in KINDS])
    with CacheReader(market.database, redis_url) as cold:
        assert cold.snapshot("T0011") == cached and cold.stats["hit"] == 0


def test_leaderboards_read_from_redis_and_fall_back_to_postgres(market, redis_url, redis_client):
    refresh(market.database, connect(redis_url), now=NOW)
    with CacheReader(market.database, redis_url) as reader:
        gainers = reader.board("return_1d", 5)
        losers = reader.board("return_1d", 5, lowest=True)
        assert reader.stats["hit"] == 2
        assert gainers[0][1] > gainers[-1][1] > losers[-1][1] > losers[0][1]
        redis_client.delete(board_key("return_1d"))
        assert reader.board("return_1d", 5) == gainers and reader.stats["repopulated"] == 1
        assert redis_client.zcard(board_key("return_1d")) == 200
        assert reader.board("return_1d", 5, lowest=True) == losers and reader.stats["hit"] == 3
        with pytest.raises(UserError, match="unknown leaderboard"):
            reader.board("gainers")


def test_with_redis_unreachable_reads_are_answered_from_postgres(market):
    reader = CacheReader(market.database, f"redis://127.0.0.1:{free_port()}/0",
                         breaker=Breaker(threshold=2, cooldown=60))
    with reader:
        started = time.perf_counter()
        answers = [reader.bar(ticker) for ticker in market.tickers[:20]]
        elapsed = time.perf_counter() - started
        assert all(answer["trade_date"] == SESSION for answer in answers)
        assert reader.board("dollar_volume", 3)[0][1] > 0
        assert reader.breaker.state == "open"
        assert reader.stats["hit"] == 0 and reader.stats["repopulated"] == 0
        # two connection attempts opened the breaker; the other reads did not wait on Redis
        assert elapsed < 2.0


def test_when_redis_comes_back_the_cache_is_repopulated(market, redis_process):
    clock = [0.0]
    reader = CacheReader(market.database, redis_process.url,
                         breaker=Breaker(threshold=1, cooldown=5, clock=lambda: clock[0]))
    with reader:
        down = reader.snapshot("T0002")  # nothing listens on the port yet
        assert down["bar"]["trade_date"] == SESSION and reader.breaker.state == "open"

        redis_process.start()
        assert reader.bar("T0002") == down["bar"]  # still open: Postgres answers
        assert reader.stats["repopulated"] == 0
        clock[0] += 5  # the cooldown passes; the next read tries Redis again
        assert reader.snapshot("T0002") == down and reader.breaker.state == "closed"
        assert reader.stats["repopulated"] == 5  # T0002 has every kind
        client = connect(redis_process.url)
        assert client.exists(*[KINDS[kind].key("T0002") for kind in KINDS]) == 5
        assert reader.snapshot("T0002") == down and reader.stats["hit"] == 5

        redis_process.stop()  # down again mid-way: still answered
        assert reader.bar("T0002") == down["bar"] and reader.breaker.state == "open"
