"""QuotaManager against the real Redis and Postgres: injected clocks run minutes of quota time
in milliseconds; one test races two real processes in real time."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import uuid
from bisect import bisect_left
from datetime import UTC, date, datetime
from pathlib import Path
from random import Random
from zoneinfo import ZoneInfo

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from extract.quota import (
    FREE_TIER_LIMITS,
    QuotaExhausted,
    QuotaManager,
    QuotaTimeout,
    VendorLimits,
    key_fingerprint,
)
from tickerhouse.errors import UserError

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC).timestamp()  # a Monday, mid-session
POLYGON = FREE_TIER_LIMITS["polygon"]


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def make_manager(redis_client, database, clock):
    made: list[QuotaManager] = []

    def make(limits, keys, *, client=redis_client, margin=0.0) -> QuotaManager:
        manager = QuotaManager(client, database, limits, keys, clock=clock, sleep=clock.sleep,
                               margin=margin)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


def new_key() -> str:
    return f"key{uuid.uuid4().hex}"


def near(expected):
    """Equal within 0.1 ms: epoch times are ~1.8e9, so pytest.approx's relative default is
    half an hour wide."""
    return pytest.approx(expected, rel=0, abs=1e-4)


def busiest(times: list[float], span: float) -> int:
    """The most admissions any half-open window [t, t + span) holds."""
    times = sorted(times)
    return max((bisect_left(times, t + span) - i for i, t in enumerate(times)), default=0)


def dead_redis() -> redis.Redis:
    """A client for a port nothing listens on, without redis-py's own retries."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5,
                       retry=Retry(NoBackoff(), 0))


def test_calls_per_minute_is_the_tightest_window_times_the_keys(make_manager):
    manager = make_manager({"polygon": POLYGON, "finnhub": VendorLimits(30, 60, None),
                            "newsapi": VendorLimits(None, None, 100)},
                           {"polygon": [new_key(), new_key()], "finnhub": [new_key()],
                            "newsapi": [new_key()]})
    assert manager.calls_per_minute("polygon") == 10  # 5 a minute on each of two keys
    assert manager.calls_per_minute("finnhub") == 60  # the minute binds before 30 a second
    assert manager.calls_per_minute("newsapi") is None  # a daily limit only


def test_free_tier_limits_follow_the_vendor_facts():
    assert FREE_TIER_LIMITS == {
        "polygon": VendorLimits(None, 5, None, "UTC"),
        "finnhub": VendorLimits(30, 60, None, "UTC"),
        "alphavantage": VendorLimits(None, None, 25, "America/New_York"),
        "newsapi": VendorLimits(None, None, 100, "UTC"),
    }
    with pytest.raises(ValueError, match="per_minute"):
        VendorLimits(None, 0, None)


def test_the_key_itself_is_never_stored_or_shown(make_manager, redis_client, pg_conn):
    key = new_key()
    quota = make_manager({"polygon": POLYGON}, {"polygon": [key]})
    lease = quota.acquire("polygon", "grouped-daily")
    quota.mark_throttled("polygon", lease.key_id, 5, reason=f"429 for ?apiKey={key}")

    assert lease.key == key
    assert lease.key_id == key_fingerprint(key) == hashlib.sha256(key.encode()).hexdigest()[:12]
    assert key not in repr(lease)
    assert all(key not in name.decode() for name in redis_client.scan_iter())
    stored = pg_conn.execute("select a::text from ops.api_quota_daily a union all "
                             "select s::text from ops.api_key_state s").fetchall()
    assert any(lease.key_id in row for (row,) in stored)
    assert all(key not in row for (row,) in stored)


def test_no_rolling_minute_ever_holds_more_than_the_limit(make_manager, clock):
    quota = make_manager({"polygon": POLYGON}, {"polygon": [new_key()]})
    gaps = Random(7)
    times, waited = [], []
    while clock.now < START + 600:  # ten minutes of quota time, irregular demand
        sleeps = len(clock.sleeps)
        times.append(quota.acquire("polygon", "grouped-daily").acquired_at)
        waited.append(len(clock.sleeps) > sleeps)
        clock.now += gaps.choice([0.0, 0.0, 3.0, 17.5, 41.0])

    assert busiest(times, 60.0) == 5
    # Every wait ended the moment the oldest of the last five calls left the window.
    assert sum(waited) >= 5
    assert all(times[i] == near(times[i - 5] + 60.001)
               for i in range(len(times)) if waited[i])


def test_finnhub_keeps_both_the_second_and_the_minute_window(make_manager, clock):
    quota = make_manager({"finnhub": FREE_TIER_LIMITS["finnhub"]}, {"finnhub": [new_key()]})
    times = [quota.acquire("finnhub", "quote").acquired_at - START for _ in range(61)]

    assert times[:30] == [0.0] * 30
    assert times[30:60] == near([1.001] * 30)  # the per-second window
    assert times[60] == near(60.001)  # the per-minute window


def test_margin_holds_each_window_longer_than_the_vendor(make_manager):
    quota = make_manager({"polygon": POLYGON}, {"polygon": [new_key()]}, margin=0.25)
    times = [quota.acquire("polygon", "grouped-daily").acquired_at - START for _ in range(6)]
    assert times[5] == near(60.251)


def test_keys_rotate_each_within_its_own_limits(make_manager, clock):
    first, second = new_key(), new_key()
    # A key listed twice must not get twice its budget.
    quota = make_manager({"polygon": POLYGON}, {"polygon": [first, second, first]})
    leases = [quota.acquire("polygon", "grouped-daily") for _ in range(11)]

    assert [lease.acquired_at for lease in leases[:10]] == [START] * 10
    assert sorted(lease.key for lease in leases[:10]) == sorted([first] * 5 + [second] * 5)
    assert leases[10].acquired_at == near(START + 60.001)


def test_the_day_ends_at_midnight_in_the_vendors_time_zone(make_manager, clock):
    new_york = ZoneInfo("America/New_York")
    clock.now = datetime(2026, 1, 5, 23, 30, tzinfo=new_york).timestamp()  # 04:30 UTC on the 6th
    key = new_key()
    quota = make_manager({"alphavantage": FREE_TIER_LIMITS["alphavantage"]},
                         {"alphavantage": [key]})
    for _ in range(25):
        quota.acquire("alphavantage", "OVERVIEW")

    with pytest.raises(QuotaExhausted) as caught:
        quota.acquire("alphavantage", "OVERVIEW", timeout=3600)
    assert caught.value.resets_at == datetime(2026, 1, 6, tzinfo=new_york)
    assert "2026-01-05" in str(caught.value) and key not in str(caught.value)
    [usage] = quota.usage_today("alphavantage")
    assert (usage.day, usage.used, usage.limit, usage.remaining) == (date(2026, 1, 5), 25, 25, 0)

    clock.now = caught.value.resets_at.timestamp() + 1
    quota.acquire("alphavantage", "OVERVIEW")
    [usage] = quota.usage_today("alphavantage")
    assert (usage.day, usage.used, usage.remaining) == (date(2026, 1, 6), 1, 24)


def test_exhausted_only_when_every_key_is_spent(make_manager):
    limits = {"newsapi": VendorLimits(None, None, 3)}
    quota = make_manager(limits, {"newsapi": [new_key(), new_key()]})
    leases = [quota.acquire("newsapi", "everything") for _ in range(6)]
    assert sorted(lease.key_id for lease in leases).count(leases[0].key_id) == 3
    with pytest.raises(QuotaExhausted, match="all 2 API key"):
        quota.acquire("newsapi", "everything")
    assert [u.remaining for u in quota.usage_today("newsapi")] == [0, 0]


def test_the_daily_count_survives_a_restart(make_manager, redis_url):
    key = new_key()
    limits = {"alphavantage": FREE_TIER_LIMITS["alphavantage"]}
    before = make_manager(limits, {"alphavantage": [key]})
    for _ in range(20):
        before.acquire("alphavantage", "NEWS_SENTIMENT")
    before.close()

    # A new process: new manager, new Redis connection, the same Postgres.
    after = make_manager(limits, {"alphavantage": [key]},
                         client=redis.Redis.from_url(redis_url))
    assert [u.used for u in after.usage_today("alphavantage")] == [20]
    for _ in range(5):
        after.acquire("alphavantage", "NEWS_SENTIMENT")
    with pytest.raises(QuotaExhausted):
        after.acquire("alphavantage", "NEWS_SENTIMENT")


def test_the_day_count_holds_when_another_process_takes_the_last_call(make_manager,
                                                                      monkeypatch):
    key = new_key()
    limits = {"alphavantage": FREE_TIER_LIMITS["alphavantage"]}
    first, second = (make_manager(limits, {"alphavantage": [key]}) for _ in range(2))
    for _ in range(24):
        first.acquire("alphavantage", "OVERVIEW")

    read = second._read_states

    def read_then_lose_the_race(*args):
        states = read(*args)  # second sees one call left...
        monkeypatch.setattr(second, "_read_states", read)
        first.acquire("alphavantage", "OVERVIEW")  # ...which first spends before second counts
        return states

    monkeypatch.setattr(second, "_read_states", read_then_lose_the_race)
    with pytest.raises(QuotaExhausted):
        second.acquire("alphavantage", "OVERVIEW")
    assert [u.used for u in second.usage_today("alphavantage")] == [25]


def test_a_throttled_key_is_left_alone_until_the_vendor_allows(make_manager, clock, pg_conn):
    busy, spare = new_key(), new_key()
    quota = make_manager({"polygon": POLYGON}, {"polygon": [busy, spare]})
    quota.mark_throttled("polygon", key_fingerprint(busy), 30,
                         reason=f"HTTP 429 for /v2/aggs?apiKey={busy}")
    assert {quota.acquire("polygon", "grouped-daily").key for _ in range(5)} == {spare}

    # The spare's minute is full, the busy key is still cooling down: it waits for the sooner.
    lease = quota.acquire("polygon", "grouped-daily")
    assert (lease.key, lease.acquired_at) == (busy, near(START + 30.001))
    reason = pg_conn.execute("select throttle_reason from ops.api_key_state where key_id = %s",
                             (lease.key_id,)).fetchone()[0]
    assert reason == "HTTP 429 for /v2/aggs?apiKey=REDACTED"


def test_a_key_the_vendor_spent_for_the_day_is_not_waited_for(make_manager):
    key = new_key()
    quota = make_manager({"alphavantage": FREE_TIER_LIMITS["alphavantage"]},
                         {"alphavantage": [key]})
    quota.acquire("alphavantage", "OVERVIEW")
    quota.mark_throttled("alphavantage", key_fingerprint(key), None,
                         reason="Our standard API rate limit is 25 requests per day.")
    with pytest.raises(QuotaExhausted):
        quota.acquire("alphavantage", "OVERVIEW")
    [usage] = quota.usage_today("alphavantage")
    assert usage.used == 1 and usage.throttled_until is not None


def test_timeout_is_raised_as_soon_as_it_cannot_be_met(make_manager, clock):
    quota = make_manager({"polygon": POLYGON}, {"polygon": [new_key()]})
    for _ in range(5):
        quota.acquire("polygon", "grouped-daily")

    for timeout in (0, 10):
        with pytest.raises(QuotaTimeout) as caught:
            quota.acquire("polygon", "grouped-daily", timeout=timeout)
        assert caught.value.wait == near(60.0)
    assert clock.sleeps == []
    assert quota.acquire("polygon", "grouped-daily", timeout=61).acquired_at > START + 60


def test_missing_keys_and_unknown_vendors_are_user_errors(make_manager):
    quota = make_manager(FREE_TIER_LIMITS, {"polygon": [new_key()]})
    with pytest.raises(UserError, match="TICKERHOUSE_FINNHUB_API_KEY"):
        quota.acquire("finnhub", "quote")
    with pytest.raises(UserError, match="'iex'"):
        quota.acquire("iex", "quote")


def test_windows_move_to_postgres_while_redis_is_down_and_back(make_manager, clock):
    key = new_key()
    up = make_manager({"polygon": POLYGON}, {"polygon": [key]})
    down = make_manager({"polygon": POLYGON}, {"polygon": [key]}, client=dead_redis())
    times = [up.acquire("polygon", "grouped-daily").acquired_at for _ in range(2)]

    # Postgres does not know how many calls Redis admitted: wait out their window, then fill it.
    clock.now += 10
    times += [down.acquire("polygon", "grouped-daily").acquired_at for _ in range(6)]
    assert times[2] == near(START + 60.001)
    assert times[2:7] == [times[2]] * 5
    assert times[7] == near(times[2] + 60.001)

    # Back on Redis, which lacks the calls admitted through Postgres: wait those out too.
    times.append(up.acquire("polygon", "grouped-daily").acquired_at)
    assert times[8] == near(times[7] + 60.001)
    assert busiest(times, 60.0) == 5


def test_a_redis_that_lost_its_data_does_not_forget_recent_calls(make_manager, clock,
                                                                 redis_client):
    quota = make_manager({"polygon": POLYGON}, {"polygon": [new_key()]})
    times = [quota.acquire("polygon", "grouped-daily").acquired_at for _ in range(3)]
    for name in redis_client.scan_iter("tickerhouse:quota:*"):
        redis_client.delete(name)  # a restart without persistence

    clock.now += 1
    times += [quota.acquire("polygon", "grouped-daily").acquired_at for _ in range(3)]
    assert times[3] == near(START + 60.001)
    assert busiest(times, 60.0) <= 5


WORKER = r"""
import json, sys
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from extract.quota import QuotaExhausted, QuotaManager, VendorLimits
from tickerhouse.database import Database

conninfo, redis_url, key = sys.argv[1:4]
client = redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
limits = {"polygon": VendorLimits(per_second=5, per_minute=None, per_day=12)}
times = []
with QuotaManager(client, Database(conninfo), limits, {"polygon": [key]}, margin=0.0) as quota:
    quota.usage_today()  # connected and set up before the race starts
    print("ready", flush=True)
    sys.stdin.readline()
    while True:
        try:
            times.append(quota.acquire("polygon", "grouped-daily", timeout=10).acquired_at)
        except QuotaExhausted:
            break
print(json.dumps(times))
"""


@pytest.mark.parametrize("windows_in", ["redis", "postgres"])
def test_two_processes_together_stay_inside_the_limits(windows_in, database, redis_url):
    if windows_in == "postgres":
        port = dead_redis().connection_pool.connection_kwargs["port"]
        redis_url = f"redis://127.0.0.1:{port}/0"
    key = new_key()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, database.conninfo, redis_url, key],
                                cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    assert [worker.stdout.readline() for worker in workers] == ["ready\n"] * 2
    for worker in workers:  # both start hammering at the same moment
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = [json.loads(worker.communicate(timeout=60)[0]) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]

    times = sorted(t for result in results for t in result)
    assert all(result for result in results)  # both got calls through
    assert len(times) == 12  # the day budget, exactly: never over, nothing lost
    assert busiest(times, 1.0) == 5  # no rolling second holds more than the limit
    assert times[-1] - times[0] >= 2.0  # 12 calls at 5/s need two full windows
