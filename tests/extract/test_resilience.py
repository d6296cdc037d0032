"""Backoff and circuit breaker, deterministic through injected randomness and clocks."""

from __future__ import annotations

from datetime import UTC, datetime
from random import Random

import pytest

from extract.resilience import (
    Backoff,
    BreakerState,
    BreakerStatus,
    CircuitBreaker,
    CircuitOpen,
    parse_retry_after,
)
from tickerhouse.errors import ServiceUnavailable

NOW = datetime(2026, 1, 5, 21, 30, tzinfo=UTC).timestamp()


def test_the_ceiling_doubles_up_to_the_cap():
    top = Backoff(base=1.0, cap=60.0, rng=lambda: 1.0)
    assert [top.delay(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert Backoff(rng=lambda: 0.0).delay(3) == 0.0
    assert Backoff(cap=60.0, rng=lambda: 0.5).delay(10_000) == 30.0  # no float overflow


def test_full_jitter_spreads_over_the_whole_range():
    backoff = Backoff(base=1.0, cap=60.0, rng=Random(42).random)
    delays = [backoff.delay(4) for _ in range(2000)]
    assert all(0.0 <= d <= 16.0 for d in delays)
    assert min(delays) < 0.5 and max(delays) > 15.5  # full, not "equal" jitter
    assert 7.0 < sum(delays) / len(delays) < 9.0


def test_retry_after_is_a_floor():
    assert Backoff(rng=lambda: 0.0).delay(0, retry_after=30.0) == 30.0
    assert Backoff(rng=lambda: 1.0).delay(5, retry_after=3.0) == 32.0
    with pytest.raises(ValueError):
        Backoff().delay(-1)


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0),
    (" 3 ", 3.0),
    ("0", 0.0),
    ("Mon, 05 Jan 2026 21:31:30 GMT", 90.0),
    ("Mon, 05 Jan 2026 21:29:00 GMT", 0.0),  # already past: go now
    ("Monday, 05-Jan-26 21:31:30 GMT", 90.0),  # the obsolete RFC 850 form
    ("-5", None),
    ("soon", None),
    ("", None),
    (None, None),
])
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, now=NOW) == seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_only():
    clock = Clock()
    breaker = CircuitBreaker("polygon", failure_threshold=3, cooldown=30.0, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()  # the streak is broken
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()

    breaker.record_failure()
    assert breaker.status() == BreakerStatus("polygon", BreakerState.OPEN, 3, 1030.0)
    assert not breaker.allow()
    clock.now += 12
    with pytest.raises(CircuitOpen) as caught:
        breaker.check()
    assert isinstance(caught.value, ServiceUnavailable)
    assert str(caught.value) == ("polygon: circuit open after 3 consecutive failures; "
                                 "next trial in 18 s")


def test_half_open_lets_one_trial_through_and_it_decides():
    clock = Clock()
    breaker = CircuitBreaker("finnhub", failure_threshold=1, cooldown=30.0, clock=clock)
    breaker.record_failure()
    clock.now += 30
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time

    breaker.record_failure()  # the trial failed: open for another cool-down
    assert breaker.status().retry_at == clock.now + 30
    clock.now += 30
    assert breaker.allow()
    breaker.record_success()
    assert breaker.status() == BreakerStatus("finnhub", BreakerState.CLOSED, 0, None)
    assert breaker.allow() and breaker.allow()


def test_a_trial_that_never_reports_back_stops_blocking_after_a_cool_down():
    clock = Clock()
    breaker = CircuitBreaker("newsapi", failure_threshold=1, cooldown=10.0, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    clock.now += 5
    assert not breaker.allow()
    with pytest.raises(CircuitOpen, match="a trial call is in flight"):
        breaker.check()
    clock.now += 5
    assert breaker.allow()
