"""One quota manager for every vendor, every API key and every process.

`acquire` hands out a lease on a key only when that key has room in every window the vendor
imposes, counting the call at that moment (a worker that dies after acquiring has still spent
it: never over). Keys are fingerprinted (`key_id`); the secret itself is never stored or logged.

Where the counts live:
- per-second / per-minute windows: a sliding log per key and window in Redis, checked and
  appended by one Lua script, so no rolling window (the vendors' may be rolling) ever holds more
  than the limit. Keys: ``tickerhouse:quota:{<vendor>}:<key_id>:<1|60>s`` (sorted sets of
  admission times; the hash tag keeps a vendor's keys in one cluster slot).
- per-day counts: ``ops.api_quota_daily`` in Postgres, one row per vendor, key and vendor day,
  incremented by an upsert guarded by the limit, so they survive restarts and never pass it.
- vendor throttles and the Redis/Postgres hand-over state: ``ops.api_key_state``.

Each window is held `margin` seconds longer than the vendor's so that jitter in request latency
cannot land two calls closer together at the vendor than we spaced them here.

When Redis is down (or `redis_client` is None), the windows are kept in Postgres instead:
a sliding log in ``ops.api_key_state.fallback_calls``, read and written under an exclusive
per-vendor advisory lock, so processes stay coordinated (a per-process limiter would let N
processes make N times the limit). Each store lacks the calls admitted through the other, so a
key switching stores waits until the last call admitted through the other store has left the
longest window: Redis-path admissions record their time in Postgres, and are made under the same
advisory lock held shared, so a Postgres-window admission sees every Redis admission that could
still be in its window. That costs up to one window of silence per switch (a minute for
Polygon), never a call over the limit (given clocks that agree: one host, or NTP). A Redis
that comes back empty (restart, flush) is caught the same way: its log lacks a call Postgres
saw go through it. After a failure Redis is retried only every `REDIS_RETRY_SECONDS`, so an
outage does not add redis-py's own retries to every call.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import redis

from extract.responses import redact
from tickerhouse.database import Database
from tickerhouse.errors import ServiceUnavailable, UserError
from tickerhouse.settings import VENDORS, Settings

log = logging.getLogger(__name__)

REDIS_RETRY_SECONDS = 5.0
_EPSILON = 0.001  # sleep a hair past the computed instant so float rounding cannot spin a loop


@dataclass(frozen=True)
class VendorLimits:
    per_second: int | None
    per_minute: int | None
    per_day: int | None
    day_timezone: str = "UTC"  # where the vendor's day starts and ends

    def __post_init__(self) -> None:
        for name in ("per_second", "per_minute", "per_day"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 or None (got {value})")
        ZoneInfo(self.day_timezone)  # an unknown zone fails here, not at the first call

    def windows(self, margin: float) -> list[tuple[int, float, int]]:
        """(label seconds, span in seconds including margin, limit), shortest first."""
        return [(seconds, seconds + margin, limit)
                for seconds, limit in ((1, self.per_second), (60, self.per_minute))
                if limit is not None]

    def day_of(self, now: float) -> date:
        return datetime.fromtimestamp(now, ZoneInfo(self.day_timezone)).date()

    def day_end(self, day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), datetime.min.time(),
                                ZoneInfo(self.day_timezone))


FREE_TIER_LIMITS: dict[str, VendorLimits] = {
    "polygon": VendorLimits(per_second=None, per_minute=5, per_day=None),
    "finnhub": VendorLimits(per_second=30, per_minute=60, per_day=None),
    # Alpha Vantage does not say when its day starts. Assumed: midnight US/Eastern, the time
    # zone its data is stamped in. If it is aligned otherwise, a burst across our boundary can
    # still be refused; `classify` reports that body and the key is then marked spent.
    "alphavantage": VendorLimits(per_second=None, per_minute=None, per_day=25,
                                 day_timezone="America/New_York"),
    "newsapi": VendorLimits(per_second=None, per_minute=None, per_day=100, day_timezone="UTC"),
}


def key_fingerprint(key: str) -> str:
    """The only form of an API key that is ever stored, logged or shown."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Lease:
    vendor: str
    endpoint: str
    key_id: str
    key: str = field(repr=False)  # the secret, for the request only
    acquired_at: float  # clock time the call was admitted and counted


@dataclass(frozen=True)
class KeyUsage:
    vendor: str
    key_id: str
    day: date  # the vendor's day (in its day_timezone)
    used: int
    limit: int | None  # None: no daily limit
    throttled_until: datetime | None

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


class QuotaError(UserError):
    def __init__(self, vendor: str, message: str) -> None:
        super().__init__(message)
        self.vendor = vendor


class QuotaExhausted(QuotaError):
    """Every key of the vendor has spent its day (or is throttled until the day resets)."""

    def __init__(self, vendor: str, keys: int, limit: int | None, day: date,
                 resets_at: datetime) -> None:
        self.resets_at = resets_at
        budget = f"{limit} calls a day each" if limit is not None else "throttled by the vendor"
        super().__init__(vendor, (
            f"{vendor}: all {keys} API key(s) are spent for {day} ({budget}); the day resets "
            f"at {resets_at:%Y-%m-%d %H:%M %Z}. Wait, or add a key to "
            f"TICKERHOUSE_{vendor.upper()}_API_KEY (comma-separated)"))


class QuotaTimeout(QuotaError):
    def __init__(self, vendor: str, timeout: float, wait: float) -> None:
        self.wait = wait
        super().__init__(vendor, f"{vendor}: no API key has room within {timeout:g} s "
                                 f"(the next in about {math.ceil(wait)} s)")


@dataclass(frozen=True)
class _Key:
    key_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class _KeyState:
    key: _Key
    calls: int  # today
    throttled_until: float | None
    last_redis: float | None  # the last call admitted through the Redis window
    fallback_calls: tuple[float, ...]  # calls admitted through the Postgres window (recent)


_DDL = """
create schema if not exists ops;
create table if not exists ops.api_quota_daily (
    vendor text not null,
    key_id text not null,                   -- sha256 prefix of the key, never the key
    day date not null,                      -- the vendor's day, in its own time zone
    calls integer not null,
    day_limit integer,                      -- null: the vendor has no daily limit
    updated_at timestamptz not null default now(),
    primary key (vendor, key_id, day)
);
create table if not exists ops.api_key_state (
    vendor text not null,
    key_id text not null,
    throttled_until timestamptz,            -- the vendor asked us to stay away until then
    throttle_reason text,
    last_redis_call_at timestamptz,         -- last call admitted through the Redis windows
    fallback_calls timestamptz[] not null default '{}',  -- Postgres-window log (Redis down)
    updated_at timestamptz not null default now(),
    primary key (vendor, key_id)
);
"""

_READ_STATES = """
select k.key_id, coalesce(d.calls, 0), s.throttled_until, s.last_redis_call_at,
       coalesce(s.fallback_calls, '{}')
from unnest(%(key_ids)s::text[]) with ordinality as k(key_id, position)
left join ops.api_quota_daily d
       on d.vendor = %(vendor)s and d.key_id = k.key_id and d.day = %(day)s
left join ops.api_key_state s on s.vendor = %(vendor)s and s.key_id = k.key_id
order by k.position
"""

# Count one call; no row comes back when the key's day is already spent.
_COUNT = """
insert into ops.api_quota_daily as d (vendor, key_id, day, calls, day_limit)
values (%(vendor)s, %(key_id)s, %(day)s, 1, %(limit)s)
on conflict (vendor, key_id, day) do update
   set calls = d.calls + 1, day_limit = excluded.day_limit, updated_at = now()
 where excluded.day_limit is null or d.calls < excluded.day_limit
returning d.calls
"""

_RECORD_REDIS = """
insert into ops.api_key_state as s (vendor, key_id, last_redis_call_at)
values (%(vendor)s, %(key_id)s, %(at)s)
on conflict (vendor, key_id) do update
   set last_redis_call_at = greatest(s.last_redis_call_at, excluded.last_redis_call_at),
       updated_at = now()
"""

_RECORD_FALLBACK = """
insert into ops.api_key_state as s (vendor, key_id, fallback_calls)
values (%(vendor)s, %(key_id)s, %(calls)s::timestamptz[])
on conflict (vendor, key_id) do update
   set fallback_calls = excluded.fallback_calls, updated_at = now()
"""

_THROTTLE = """
insert into ops.api_key_state as s (vendor, key_id, throttled_until, throttle_reason)
values (%(vendor)s, %(key_id)s, %(until)s, %(reason)s)
on conflict (vendor, key_id) do update
   set throttle_reason = case when s.throttled_until > excluded.throttled_until
                              then s.throttle_reason else excluded.throttle_reason end,
       throttled_until = greatest(s.throttled_until, excluded.throttled_until),
       updated_at = now()
"""

_LOCK_SHARED = "select pg_advisory_xact_lock_shared(hashtextextended(%s, 0))"
_LOCK_EXCLUSIVE = "select pg_advisory_xact_lock(hashtextextended(%s, 0))"

# Admit one call on the first candidate key with room in every window, or say how long until
# the soonest has room. Sliding logs: sorted sets of admission times, pruned to each window.
# KEYS: per candidate, one sorted set per window, windows shortest first.
# ARGV: now, member, window count n, then span and limit per window, then per candidate:
#   not_before (calls admitted through the Postgres window are not in these logs) and
#   last_redis (the last call Postgres saw admitted through Redis; 0 when none).
_ADMIT_LUA = """
local function num(x) return string.format('%.17g', x) end
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local soonest = -1
for c = 0, #KEYS / n - 1 do
  local wait = tonumber(ARGV[4 + 2 * n + 2 * c]) - now
  local last_redis = tonumber(ARGV[5 + 2 * n + 2 * c])
  for w = 1, n do
    local key = KEYS[c * n + w]
    local span = tonumber(ARGV[2 + 2 * w])
    local limit = tonumber(ARGV[3 + 2 * w])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now - span))
    local count = redis.call('ZCARD', key)
    if count >= limit then
      local edge = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')[2]
      wait = math.max(wait, tonumber(edge) + span - now)
    end
    if w == n and last_redis > now - span then
      -- Postgres saw a call admitted here that this log lacks: Redis lost data (a restart, a
      -- flush). Treat the window as full until that call has left it.
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]
      if newest == nil or tonumber(newest) < last_redis - 0.001 then
        wait = math.max(wait, last_redis + span - now)
      end
    end
  end
  if wait <= 0 then
    for w = 1, n do
      local key = KEYS[c * n + w]
      redis.call('ZADD', key, ARGV[1], ARGV[2])
      -- Only collects idle logs: the scores decide the window (so an injected clock works).
      redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[2 + 2 * w])) + 60)
    end
    return {c + 1, '0'}
  end
  if soonest < 0 or wait < soonest then soonest = wait end
end
return {0, num(soonest)}
"""


class QuotaManager:
    """Hands out API keys within every vendor limit, across threads and processes.

    `limits` maps vendor -> VendorLimits; `keys` maps vendor -> its API keys, rotated (each
    within its own limits). `redis_client` may be None: windows are then kept in Postgres.
    """

    def __init__(self, redis_client: redis.Redis | None, database: Database,
                 limits: Mapping[str, VendorLimits], keys: Mapping[str, Sequence[str]], *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, margin: float = 0.25) -> None:
        unknown = sorted(set(keys) - set(limits))
        if unknown:
            raise ValueError(f"keys given for vendors without limits: {unknown}")
        if margin < 0:
            raise ValueError(f"margin must be >= 0 (got {margin})")
        self._database = database
        self._limits = dict(limits)
        self._keys: dict[str, tuple[_Key, ...]] = {}
        for vendor in self._limits:
            # A key listed twice must not get twice its limits.
            unique = dict.fromkeys(k for k in keys.get(vendor, ()) if k)
            self._keys[vendor] = tuple(_Key(key_fingerprint(k), k) for k in unique)
        self._secrets = tuple(k.secret for ks in self._keys.values() for k in ks)
        self._clock = clock
        self._sleep = sleep
        self._margin = margin
        self._script = (redis_client.register_script(_ADMIT_LUA)
                        if redis_client is not None else None)
        self._redis_retry_at: float | None = None  # set while Redis is considered down
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, redis_client: redis.Redis | None,
                      database: Database, **kwargs) -> QuotaManager:
        keys = {vendor: settings.api_keys(vendor) for vendor in VENDORS}
        return cls(redis_client, database, FREE_TIER_LIMITS, keys, **kwargs)

    def calls_per_minute(self, vendor: str) -> int | None:
        """The most calls `vendor`'s keys together may make in a minute (None: no such limit)."""
        limits = self._limits[vendor]
        rates = [limit * 60 // seconds for seconds, _, limit in limits.windows(0)]
        return min(rates) * len(self._keys[vendor]) if rates else None

    def acquire(self, vendor: str, endpoint: str, *, timeout: float | None = None) -> Lease:
        """Block until some key of `vendor` has room in every window; count the call on it.

        Raises QuotaExhausted when no key has calls left today, QuotaTimeout when no key will
        have room within `timeout` seconds (raised as soon as that is known).
        """
        limits, keys = self._vendor(vendor)
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            with self._lock:
                now = self._clock()
                result = self._attempt(vendor, endpoint, limits, keys, now)
            if isinstance(result, Lease):
                log.debug("%s %s: key %s", vendor, endpoint, result.key_id)
                return result
            if deadline is not None and now + result > deadline:
                raise QuotaTimeout(vendor, timeout or 0.0, result)
            if result > 0:
                self._sleep(result + _EPSILON)

    def mark_throttled(self, vendor: str, key_id: str, seconds: float | None = None, *,
                       reason: str = "") -> None:
        """Keep every worker off a key the vendor throttled despite our counts (someone else
        used it): for `seconds` (e.g. its Retry-After), or with None until the vendor's day
        resets (Alpha Vantage's daily-limit answer)."""
        limits, keys = self._vendor(vendor)
        if key_id not in {k.key_id for k in keys}:
            raise ValueError(f"{vendor} has no key {key_id}")
        now = self._clock()
        until = (limits.day_end(limits.day_of(now)) if seconds is None
                 else _utc(now + seconds))
        reason = redact(reason, self._secrets)
        with self._lock, self._pg() as conn:
            conn.execute(_THROTTLE, {"vendor": vendor, "key_id": key_id, "until": until,
                                     "reason": reason or None})
        log.warning("%s key %s throttled until %s%s", vendor, key_id, until.isoformat(),
                    f": {reason}" if reason else "")

    def usage_today(self, vendor: str | None = None) -> list[KeyUsage]:
        """Calls counted today per vendor (each in its own day) and key."""
        vendors = [vendor] if vendor is not None else list(self._limits)
        now = self._clock()
        usage = []
        with self._lock, self._pg() as conn:
            for name in vendors:
                limits, keys = self._vendor(name, need_keys=False)
                day = limits.day_of(now)
                for state in self._read_states(conn, name, keys, day):
                    until = state.throttled_until
                    usage.append(KeyUsage(name, state.key.key_id, day, state.calls,
                                          limits.per_day,
                                          _utc(until) if until is not None and until > now
                                          else None))
        return usage

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> QuotaManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one admission attempt: a Lease, or seconds until one may succeed ----------------------

    def _attempt(self, vendor: str, endpoint: str, limits: VendorLimits,
                 keys: tuple[_Key, ...], now: float) -> Lease | float:
        day = limits.day_of(now)
        windows = limits.windows(self._margin)
        via_redis = bool(windows) and self._redis_usable(now)
        with self._pg() as conn, conn.transaction():
            if windows:
                conn.execute(_LOCK_SHARED if via_redis else _LOCK_EXCLUSIVE,
                             (f"tickerhouse.quota:{vendor}",))
            states = self._read_states(conn, vendor, keys, day)
            day_end = limits.day_end(day).timestamp()
            usable = [s for s in states
                      if (limits.per_day is None or s.calls < limits.per_day)
                      and (s.throttled_until is None or s.throttled_until < day_end)]
            if not usable:
                raise QuotaExhausted(vendor, len(keys), limits.per_day, day, limits.day_end(day))
            ready = sorted((s for s in usable
                            if s.throttled_until is None or s.throttled_until <= now),
                           key=lambda s: s.calls)  # least used first; stable for ties
            wait = min((s.throttled_until - now for s in usable
                        if s.throttled_until is not None and s.throttled_until > now),
                       default=math.inf)
            if not ready:
                return wait
            if not windows:
                chosen, window_wait = ready[0], 0.0
            elif via_redis:
                try:
                    chosen, window_wait = self._admit_redis(vendor, ready, windows, now)
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    # Had the script run before the connection broke, its admission would only
                    # be a phantom entry: no lease was handed out, so no request goes out.
                    self._redis_down(now, exc)
                    return 0.0
            else:
                chosen, window_wait = _admit_postgres(ready, windows, now)
            if chosen is None:
                return min(wait, window_wait)
            counted = conn.execute(_COUNT, {"vendor": vendor, "key_id": chosen.key.key_id,
                                            "day": day, "limit": limits.per_day}).fetchone()
            if counted is None:
                return 0.0  # another process spent this key's last call of the day meanwhile
            if via_redis:
                conn.execute(_RECORD_REDIS, {"vendor": vendor, "key_id": chosen.key.key_id,
                                             "at": _utc(now)})
            elif windows:
                longest = windows[-1][1]
                recent = [t for t in chosen.fallback_calls if t > now - longest] + [now]
                conn.execute(_RECORD_FALLBACK, {"vendor": vendor, "key_id": chosen.key.key_id,
                                                "calls": [_utc(t) for t in recent]})
            return Lease(vendor, endpoint, chosen.key.key_id, chosen.key.secret, now)

    def _admit_redis(self, vendor: str, ready: list[_KeyState],
                     windows: list[tuple[int, float, int]],
                     now: float) -> tuple[_KeyState | None, float]:
        assert self._script is not None
        longest = windows[-1][1]
        keys = [f"tickerhouse:quota:{{{vendor}}}:{state.key.key_id}:{label}s"
                for state in ready for label, _, _ in windows]
        args: list[str | int] = [repr(now), uuid.uuid4().hex, len(windows)]
        for _, span, limit in windows:
            args += [repr(span), limit]
        for state in ready:
            not_before = max(state.fallback_calls) + longest if state.fallback_calls else 0.0
            args += [repr(not_before), repr(state.last_redis or 0.0)]
        index, wait = self._script(keys=keys, args=args)
        if self._redis_retry_at is not None:
            log.warning("Redis answers again: rate windows are back in Redis")
            self._redis_retry_at = None
        return (ready[int(index) - 1], 0.0) if int(index) else (None, float(wait))

    def _redis_usable(self, now: float) -> bool:
        return self._script is not None and (self._redis_retry_at is None
                                             or now >= self._redis_retry_at)

    def _redis_down(self, now: float, exc: Exception) -> None:
        if self._redis_retry_at is None:
            log.warning("Redis unreachable (%s: %s): rate windows move to Postgres; each key "
                        "first waits out its longest window", type(exc).__name__, exc)
        self._redis_retry_at = now + REDIS_RETRY_SECONDS

    # -- Postgres ------------------------------------------------------------------------------

    def _read_states(self, conn: psycopg.Connection, vendor: str, keys: tuple[_Key, ...],
                     day: date) -> list[_KeyState]:
        by_id = {key.key_id: key for key in keys}
        rows = conn.execute(_READ_STATES, {"key_ids": list(by_id), "vendor": vendor,
                                           "day": day}).fetchall()
        return [_KeyState(by_id[key_id], calls, _epoch(throttled), _epoch(last_redis),
                          tuple(t.timestamp() for t in fallback))
                for key_id, calls, throttled, last_redis, fallback in rows]

    @contextmanager
    def _pg(self) -> Iterator[psycopg.Connection]:
        if self._conn is None or self._conn.closed:
            conn = self._database.connect(autocommit=True)
            try:
                with conn.transaction():
                    # Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog.
                    conn.execute(_LOCK_EXCLUSIVE, ("tickerhouse.quota.ddl",))
                    conn.execute(_DDL)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        try:
            yield self._conn
        except psycopg.OperationalError as exc:
            self._conn.close()
            self._conn = None
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise ServiceUnavailable(f"lost Postgres at {self._database.describe()} while "
                                     f"counting API calls: {reason}") from None

    def _vendor(self, vendor: str, *,
                need_keys: bool = True) -> tuple[VendorLimits, tuple[_Key, ...]]:
        if vendor not in self._limits:
            raise UserError(f"no rate limits known for vendor {vendor!r} "
                            f"(known: {', '.join(self._limits)})")
        keys = self._keys[vendor]
        if need_keys and not keys:
            raise UserError(f"no API key for {vendor}: set TICKERHOUSE_{vendor.upper()}_API_KEY "
                            f"(several keys: comma-separated)")
        return self._limits[vendor], keys


def _admit_postgres(ready: list[_KeyState], windows: list[tuple[int, float, int]],
                    now: float) -> tuple[_KeyState | None, float]:
    """The Postgres-window twin of the Lua script (run under the exclusive vendor lock)."""
    longest = windows[-1][1]
    soonest = math.inf
    for state in ready:
        # Calls admitted through Redis are not in this log: wait out the window after the last.
        wait = state.last_redis + longest - now if state.last_redis is not None else 0.0
        for _, span, limit in windows:
            inside = sorted(t for t in state.fallback_calls if t > now - span)
            if len(inside) >= limit:
                wait = max(wait, inside[len(inside) - limit] + span - now)
        if wait <= 0:
            return state, 0.0
        soonest = min(soonest, wait)
    return None, soonest


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
