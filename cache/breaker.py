"""A small circuit breaker for the cache's Redis calls.

extract/resilience.py has one for the vendor APIs, but cache/ must not import extract, and that
one raises CircuitOpen (a UserError for the CLI) and counts in cooldowns of a minute; a cache
read wants a quiet yes/no and a short cooldown, so this is its own dozen lines. Not thread-safe
on purpose: a reader (and its breaker) belongs to one thread or one request handler.
"""

from __future__ import annotations

import time


class Breaker:
    """Closed: calls go through. After `threshold` consecutive failures it opens for `cooldown`
    seconds (calls are skipped); then one trial call is let through: success closes it, failure
    opens it again."""

    def __init__(self, threshold: int = 3, cooldown: float = 5.0, clock=time.monotonic) -> None:
        self.threshold, self.cooldown, self._clock = threshold, cooldown, clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self.opened_at >= self.cooldown else "open"

    def allow(self) -> bool:
        return self.state != "open"

    def success(self) -> None:
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold or self.opened_at is not None:
            self.opened_at = self._clock()
