"""The emulator's idea of time: a wall clock (which day it is) and a monotonic clock (rate
windows). Both can be moved forward by tests; the wall clock can also be set."""

from __future__ import annotations

import datetime as dt
import threading
import time

UTC = dt.UTC


class Clock:
    def __init__(self, as_of: dt.datetime | None, frozen: bool = False):
        self._lock = threading.Lock()
        self._frozen = frozen
        self._wall0 = (as_of or dt.datetime.now(UTC)).astimezone(UTC)
        self._follow_real = as_of is None and not frozen
        self._mono0 = time.monotonic()
        self._wall_offset = 0.0
        self._mono_offset = 0.0

    def _elapsed(self) -> float:
        return 0.0 if self._frozen else time.monotonic() - self._mono0

    def now(self) -> dt.datetime:
        with self._lock:
            if self._follow_real:
                return dt.datetime.now(UTC) + dt.timedelta(seconds=self._wall_offset)
            return self._wall0 + dt.timedelta(seconds=self._elapsed() + self._wall_offset)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed() + self._mono_offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._wall_offset += seconds
            self._mono_offset += seconds

    def set(self, when: dt.datetime) -> None:
        """Jump the wall clock to `when`; rate windows see the jump only if it is forward."""
        if when.tzinfo is None:
            raise ValueError("time must be timezone-aware")
        current = self.now()
        with self._lock:
            self._follow_real = False
            self._wall0 = when.astimezone(UTC)
            self._mono0 = time.monotonic()
            self._wall_offset = 0.0
            self._mono_offset += max(0.0, (when - current).total_seconds())

    @property
    def frozen(self) -> bool:
        return self._frozen
