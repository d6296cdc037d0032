"""Retrying politely: exponential backoff with full jitter, and a per-vendor circuit breaker.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th retry sleeps a
uniform random time in [0, min(cap, base * 2**n)], which spreads competing clients out best.
A vendor's Retry-After is a floor: we never come back earlier than it asked.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import StrEnum

from tickerhouse.errors import ServiceUnavailable


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait per a Retry-After header (delay-seconds or an HTTP-date, relative to the
    epoch time `now`); None when the header is absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": HTTP-dates are GMT by definition
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@dataclass(frozen=True)
class Backoff:
    base: float = 1.0
    cap: float = 60.0
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry `attempt` (0 for the first retry)."""
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0 (got {attempt})")
        # The exponent is clamped so that a long-running retry loop cannot overflow a float.
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt, 64))
        jittered = self.rng() * ceiling
        return jittered if retry_after is None else max(jittered, retry_after)


class BreakerState(StrEnum):
    CLOSED = "closed"  # calls flow
    OPEN = "open"  # calls are refused until the cool-down has passed
    HALF_OPEN = "half_open"  # one trial call decides: success closes, failure reopens


@dataclass(frozen=True)
class BreakerStatus:
    name: str
    state: BreakerState
    consecutive_failures: int
    retry_at: float | None  # when open: the clock time the next trial call may go out


class CircuitOpen(ServiceUnavailable):
    def __init__(self, status: BreakerStatus, now: float) -> None:
        self.status = status
        if status.retry_at is not None:
            when = f"next trial in {max(0.0, status.retry_at - now):.0f} s"
        else:
            when = "a trial call is in flight"
        super().__init__(f"{status.name}: circuit open after {status.consecutive_failures} "
                         f"consecutive failures; {when}")


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failures → half-open after `cooldown`
    seconds → closed on the first success (or open again on a failure). Thread-safe."""

    def __init__(self, name: str, *, failure_threshold: int = 5, cooldown: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1 or cooldown <= 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown > 0")
        self.name = name
        self._threshold = failure_threshold
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_since: float | None = None

    def _state(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if now - self._opened_at < self._cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state(self._clock())

    def status(self) -> BreakerStatus:
        with self._lock:
            state = self._state(self._clock())
            retry_at = (self._opened_at + self._cooldown  # type: ignore[operator]
                        if state is BreakerState.OPEN else None)
            return BreakerStatus(self.name, state, self._failures, retry_at)

    def allow(self) -> bool:
        """Whether a call may go out now. Half-open lets one trial call through at a time."""
        with self._lock:
            now = self._clock()
            state = self._state(now)
            if state is not BreakerState.HALF_OPEN:
                return state is BreakerState.CLOSED
            # A trial whose caller never reported back stops blocking after one cool-down.
            if self._trial_since is not None and now - self._trial_since < self._cooldown:
                return False
            self._trial_since = now
            return True

    def check(self) -> None:
        """Raise `CircuitOpen` unless a call may go out now."""
        if not self.allow():
            raise CircuitOpen(self.status(), self._clock())

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_since = None

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_since = None
            if self._opened_at is not None or self._failures >= self._threshold:
                self._opened_at = self._clock()
