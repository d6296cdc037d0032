"""The backend's read library, cache-aside: read Redis; on a miss, or when Redis is down, read
Postgres and put what was read back into Redis.

    reader = CacheReader(database, settings.redis_url)
    reader.bar("AAPL")                # {"trade_date": date(...), "close": 231.4, ...} or None
    reader.snapshot("AAPL")           # every kind at once: {"bar": {...}, "ind": {...}, ...}
    reader.board("return_1d", 10)     # top gainers [(ticker, score), ...]; lowest=True: losers

Redis calls go through a circuit breaker: after a few failures the reader stops trying Redis
for a few seconds and answers from Postgres alone, so a dead cache costs one short timeout,
not one per read. Values are the same typed values whichever side answered.
"""

from __future__ import annotations

import logging
from collections import Counter

import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from cache import source
from cache.breaker import Breaker
from cache.hot import compare_and_write, script_arguments, write_board
from cache.layout import (
    ABSENT,
    BOARDS,
    DIGEST_FIELD,
    KINDS,
    absent_ttl,
    board_key,
    decode,
    ttl_seconds,
    unpack,
)
from tickerhouse.database import Database
from tickerhouse.errors import UserError

log = logging.getLogger(__name__)


class CacheReader:
    """One per thread (the breaker and the Postgres connection are not shared)."""

    def __init__(self, database: Database, redis_url: str, *, timeout: float = 0.25,
                 breaker: Breaker | None = None) -> None:
        self.database = database
        # No retries: the breaker decides when to try again, and a read must not wait on a
        # dead server more than once.
        self.client = redis.Redis.from_url(redis_url, socket_connect_timeout=timeout,
                                           socket_timeout=timeout, decode_responses=True,
                                           retry=Retry(NoBackoff(), 0))
        self.breaker = breaker or Breaker()
        self.stats: Counter = Counter()  # hit, miss, redis_down, repopulated
        self._script = compare_and_write(self.client)
        self._conn: psycopg.Connection | None = None
        self._known_relations: set[str] | None = None

    # -- per-ticker hashes -------------------------------------------------------------
    def get(self, kind: str, ticker: str) -> dict | None:
        return self.snapshot(ticker, (kind,))[kind]

    def bar(self, ticker: str) -> dict | None:
        return self.get("bar", ticker)

    def indicators(self, ticker: str) -> dict | None:
        return self.get("ind", ticker)

    def prediction(self, ticker: str) -> dict | None:
        return self.get("pred", ticker)

    def fundamentals(self, ticker: str) -> dict | None:
        return self.get("fund", ticker)

    def quote(self, ticker: str) -> dict | None:
        return self.get("quote", ticker)

    def snapshot(self, ticker: str, kinds=tuple(KINDS)) -> dict[str, dict | None]:
        """The ticker's hashes of the given kinds, in one round trip when they are cached."""
        unknown = [kind for kind in kinds if kind not in KINDS]
        if unknown:
            raise UserError(f"unknown cache kind {unknown[0]!r}: one of {', '.join(KINDS)}")
        ticker = ticker.strip().upper()
        cached = self._redis(lambda pipe: [pipe.hgetall(KINDS[k].key(ticker)) for k in kinds])
        out: dict[str, dict | None] = {}
        missing = []
        for index, kind in enumerate(kinds):
            stored = cached[index] if cached is not None else None
            if stored:
                self.stats["hit"] += 1
                out[kind] = None if stored.get(DIGEST_FIELD) == ABSENT else decode(KINDS[kind],
                                                                                   stored)
            else:
                self.stats["miss"] += 1
                missing.append(kind)
        for kind in missing:
            out[kind] = self._from_postgres(kind, ticker)
        return out

    def _from_postgres(self, kind: str, ticker: str) -> dict | None:
        record = self._query(lambda conn: (
            source.one_record(conn, kind, ticker)
            if source.kind_available(kind, self._relations(conn)) else None))
        spec = KINDS[kind]
        if record is None:
            # remembered as absent (see layout.ABSENT); an empty payload writes no field
            keys, args = [spec.key(ticker)], [len(spec.fields), *spec.field_names,
                                              absent_ttl(spec), ABSENT, ""]
            self._redis(lambda pipe: self._script(keys, args, client=pipe))
            return None
        keys, args = script_arguments(spec, {ticker: record}, None)
        if self._redis(lambda pipe: self._script(keys, args, client=pipe)) is not None:
            self.stats["repopulated"] += 1
        return unpack(spec, record.payload)  # the very values the cached copy holds

    # -- leaderboards ------------------------------------------------------------------
    def board(self, name: str, limit: int = 10, *, lowest: bool = False) -> list[tuple[str, float]]:
        """The board's first `limit` members, best first (`lowest=True`: worst first, for
        two-sided boards such as return_1d's losers)."""
        if name not in BOARDS:
            raise UserError(f"unknown leaderboard {name!r}: one of {', '.join(BOARDS)}")
        key = board_key(name)

        def read(pipe):
            if lowest:
                pipe.zrange(key, 0, limit - 1, withscores=True)
            else:
                pipe.zrevrange(key, 0, limit - 1, withscores=True)

        cached = self._redis(read)
        if cached and cached[0]:
            self.stats["hit"] += 1
            return [(ticker, float(score)) for ticker, score in cached[0]]
        self.stats["miss"] += 1

        def query(conn):
            relations = self._relations(conn)
            session = source.latest_session(conn) if "curated.fct_daily_bars" in relations else None
            if session is None or not source.board_available(name, relations):
                return session, []
            return session, source.board(conn, name, session)

        session, members = self._query(query)
        if members and self.breaker.allow():
            try:
                write_board(self.client, name, members,
                            ttl_seconds(KINDS["bar"], session))
                self.breaker.success()
                self.stats["repopulated"] += 1
            except redis.RedisError as exc:
                self._redis_failed(exc)
        ordered = sorted(members, key=lambda m: (m[1], m[0]) if lowest else (-m[1], m[0]))
        return ordered[:limit]

    # -- plumbing ----------------------------------------------------------------------
    def _redis(self, build):
        """Run the commands `build` queues on a pipeline; None when Redis is down or skipped."""
        if not self.breaker.allow():
            self.stats["redis_down"] += 1
            return None
        try:
            pipe = self.client.pipeline(transaction=False)
            build(pipe)
            result = pipe.execute()
        except redis.RedisError as exc:
            self._redis_failed(exc)
            return None
        self.breaker.success()
        return result

    def _redis_failed(self, exc: Exception) -> None:
        self.stats["redis_down"] += 1
        self.breaker.failure()
        log.warning("cache: Redis unavailable (%s), answering from Postgres", exc)

    def _relations(self, conn: psycopg.Connection) -> set[str]:
        """The source relations that exist; asked again until all of them do."""
        if self._known_relations is None or len(self._known_relations) < source.RELATION_COUNT:
            self._known_relations = source.existing(conn)
        return self._known_relations

    def _query(self, run):
        if self._conn is None or self._conn.closed:
            self._conn = self.database.connect(autocommit=True)
            source.prepare(self._conn)
        try:
            return run(self._conn)
        except psycopg.OperationalError:
            self._conn.close()  # a dropped connection: the next read opens a new one
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self.client.close()

    def __enter__(self) -> CacheReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

