"""After a load: invalidate exactly the cached keys whose data changed, pre-warm the hot tickers,
rebuild the leaderboards that changed.

Each hash carries the content hash of its values (field `_h`); a load compares it with the new
data's and touches a key only when they differ. Changed keys of hot tickers (the watchlist and
the top by dollar volume) are rewritten, those of the others are deleted and come back on their
next read (cache/reader.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis

from cache import source
from cache.layout import (
    BOARD_DIGESTS_KEY,
    BOARDS,
    DIGEST_FIELD,
    KINDS,
    MAX_TTL,
    META_KEY,
    Kind,
    board_key,
    encode,
    ttl_seconds,
)
from cache.source import Record
from tickerhouse.database import Database
from tickerhouse.errors import ServiceUnavailable

log = logging.getLogger(__name__)

_BATCH = 1000  # keys per script call: each call blocks Redis for a few milliseconds at most

# Compare-and-write in one server-side step per batch. Packing each field as its own command
# argument costs redis-py about 0.5 s for 18,000 hashes (measured); one argument per key does
# not. ARGV: field count n, the n field names, then per key: ttl (0: only invalidate), digest,
# payload (the values joined by \31, empty for null). Returns one code per key:
# w written, i invalidated (deleted), . unchanged, - absent and left absent.
_COMPARE_AND_WRITE = """
local n = tonumber(ARGV[1])
local codes = {}
for k = 1, #KEYS do
  local base = n + 1 + (k - 1) * 3
  local ttl, digest, payload = tonumber(ARGV[base + 1]), ARGV[base + 2], ARGV[base + 3]
  local current = redis.call('HGET', KEYS[k], '_h')
  if current == digest then
    codes[k] = '.'
  elseif ttl == 0 then
    if current then redis.call('DEL', KEYS[k]); codes[k] = 'i' else codes[k] = '-' end
  else
    local args = {'_h', digest}
    local start, i = 1, 1
    while i <= n do
      local stop = string.find(payload, '\\31', start, true)
      local value = string.sub(payload, start, (stop or 0) - 1)
      if value ~= '' then args[#args + 1] = ARGV[1 + i]; args[#args + 1] = value end
      if not stop then break end
      start, i = stop + 1, i + 1
    end
    if current then redis.call('DEL', KEYS[k]) end
    redis.call('HSET', KEYS[k], unpack(args))
    redis.call('EXPIRE', KEYS[k], ttl)
    codes[k] = 'w'
  end
end
return table.concat(codes)
"""
assert DIGEST_FIELD == "_h"  # the script spells it out


@dataclass
class CacheResult:
    session: dt.date | None
    tickers: int = 0  # hot tickers whose latest bar is now in the cache
    keys_written: int = 0
    keys_invalidated: int = 0
    keys_unchanged: int = 0
    boards_written: list[str] = field(default_factory=list)
    per_kind: dict[str, Counter] = field(default_factory=dict)
    read_seconds: float = 0.0
    write_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def connect(redis_url: str, *, timeout: float = 10) -> redis.Redis:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=timeout,
                                  decode_responses=True)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise ServiceUnavailable(f"cannot reach Redis at {describe(redis_url)}: {exc}") from None
    return client


def describe(redis_url: str) -> str:
    # redis://[:password@]host:port/db -> host:port/db, without credentials.
    return redis_url.rsplit("@", 1)[-1].removeprefix("redis://")


def write_records(client: redis.Redis, kind: Kind, records: dict[str, Record],
                  hot: set[str] | None, now: dt.datetime | None = None) -> Counter:
    """Compare-and-write the records of one kind (ticker -> record); `hot=None` writes them all,
    otherwise tickers outside `hot` are only invalidated. Returns a count per outcome code."""
    script = compare_and_write(client)
    outcomes: Counter = Counter()
    pipe = client.pipeline(transaction=False)
    tickers = sorted(records)
    for start in range(0, len(tickers), _BATCH):
        batch = {ticker: records[ticker] for ticker in tickers[start:start + _BATCH]}
        script(*script_arguments(kind, batch, hot, now), client=pipe)
    for codes in pipe.execute():
        outcomes.update(codes)
    return outcomes


def compare_and_write(client: redis.Redis):
    return client.register_script(_COMPARE_AND_WRITE)


def script_arguments(kind: Kind, records: dict[str, Record], hot: set[str] | None,
                     now: dt.datetime | None = None) -> tuple[list[str], list]:
    """(keys, args) of one compare-and-write call."""
    keys, args = [], [len(kind.fields), *kind.field_names]
    for ticker, (session, payload, digest) in records.items():
        keys.append(kind.key(ticker))
        args += [ttl_seconds(kind, session, now) if hot is None or ticker in hot else 0,
                 digest, payload]
    return keys, args


def write_board(client: redis.Redis, name: str, members: list[tuple[str, float]], ttl: int) -> bool:
    """Replace a leaderboard when its members or scores changed (or it is gone); True if written.
    The new board is built under a temporary key and renamed over the old one, so a reader never
    sees it half-built."""
    digest = hashlib.blake2b(
        "|".join(f"{ticker}:{encode(float(score))}" for ticker, score in members).encode(),
        digest_size=8).hexdigest()
    key = board_key(name)
    check = client.pipeline(transaction=False)
    check.hget(BOARD_DIGESTS_KEY, name)
    check.exists(key)
    stored, exists = check.execute()
    if stored == digest and (exists or not members):
        return False
    pipe = client.pipeline(transaction=True)
    if members:
        staging = f"{key}:building"
        pipe.delete(staging)
        pipe.zadd(staging, {ticker: float(score) for ticker, score in members})
        pipe.expire(staging, ttl)
        pipe.rename(staging, key)
    else:
        pipe.delete(key)
    pipe.hset(BOARD_DIGESTS_KEY, name, digest)
    pipe.expire(BOARD_DIGESTS_KEY, MAX_TTL)
    pipe.execute()
    return True


def refresh(database: Database, client: redis.Redis, *, watchlist: Sequence[str] = (),
            prewarm: int = 6000, now: dt.datetime | None = None) -> CacheResult:
    """Bring the cache in line with the warehouse's latest session (see the module docstring).
    Idempotent: a rerun with unchanged data writes nothing."""
    started = time.perf_counter()
    with database.connect() as conn:
        source.prepare(conn)
        relations = source.existing(conn)
        if "curated.fct_daily_bars" not in relations or (session := source.latest_session(conn)) is None:
            return CacheResult(None, notes=["no bars in curated.fct_daily_bars: nothing to cache"])
        hot = source.hot_tickers(conn, session, list(watchlist), prewarm)
        records = {kind: source.all_records(conn, kind, session)
                   for kind in KINDS if source.kind_available(kind, relations)}
        boards = {name: source.board(conn, name, session)
                  for name in BOARDS if source.board_available(name, relations)}
    result = CacheResult(session, read_seconds=time.perf_counter() - started)

    started = time.perf_counter()
    for kind, kind_records in records.items():
        outcomes = write_records(client, KINDS[kind], kind_records, hot, now)
        result.per_kind[kind] = outcomes
        result.keys_written += outcomes["w"]
        result.keys_invalidated += outcomes["i"]
        result.keys_unchanged += outcomes["."]
    board_ttl = ttl_seconds(KINDS["bar"], session, now)
    result.boards_written = [name for name, members in boards.items()
                             if write_board(client, name, members, board_ttl)]
    client.hset(META_KEY, mapping={"session": session.isoformat(),
                                   "refreshed_at": encode(now or dt.datetime.now(dt.UTC))})
    client.expire(META_KEY, MAX_TTL)
    result.write_seconds = time.perf_counter() - started
    result.tickers = len(hot & set(records.get("bar", ())))
    result.notes += memory_notes(client)
    for note in result.notes:
        log.warning("cache: %s", note)
    log.info("cache: %s, %d hot tickers; keys written %d, invalidated %d, unchanged %d; boards %s",
             session, result.tickers, result.keys_written, result.keys_invalidated,
             result.keys_unchanged, ", ".join(result.boards_written) or "unchanged")
    return result


def memory_notes(client: redis.Redis) -> list[str]:
    """A reminder when the server would grow without bound or refuse writes when full."""
    try:
        config = client.config_get("maxmemory*")
    except redis.ResponseError:  # CONFIG disabled (managed Redis): its operator sets the policy
        return []
    if int(config.get("maxmemory", 0)) == 0 or config.get("maxmemory-policy") == "noeviction":
        return ["Redis has no memory bound: set maxmemory and maxmemory-policy volatile-lru "
                "(README, cache layer)"]
    return []
