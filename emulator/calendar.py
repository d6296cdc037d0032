"""The NYSE (XNYS) session calendar, indexed from the emulated market's first session.

Session indices are stable: index 0 is the first session on or after `market_start`, and
extending the horizon only appends sessions.
"""

from __future__ import annotations

import datetime as dt
import threading
import warnings
from zoneinfo import ZoneInfo

import numpy as np

ET = ZoneInfo("America/New_York")
UTC = dt.UTC


class Calendar:
    def __init__(self, market_start: dt.date, horizon: dt.date):
        self.market_start = market_start
        self._lock = threading.Lock()
        self.sessions = np.empty(0, dtype="datetime64[D]")
        self.close_s = np.empty(0, dtype=np.int64)
        self.early = np.empty(0, dtype=bool)
        self.end = market_start
        self._index: dict[dt.date, int] = {}
        self._extend(horizon)

    def _extend(self, horizon: dt.date) -> None:
        import exchange_calendars as xcals

        # Build past the horizon so blocks near "now" never need an immediate rebuild.
        end = max(horizon, self.market_start) + dt.timedelta(days=400)
        with warnings.catch_warnings():
            # exchange_calendars itself trips a pandas deprecation warning; not ours to fix.
            warnings.filterwarnings("ignore", message=".*Series.values.*")
            cal = xcals.get_calendar("XNYS", start=self.market_start.isoformat(), end=end.isoformat())
        sessions = cal.sessions
        closes = cal.closes
        early = np.zeros(len(sessions), dtype=bool)
        if len(cal.early_closes):
            early = np.asarray(sessions.isin(cal.early_closes))
        self.sessions = np.asarray(sessions.values.astype("datetime64[D]"))
        self.close_s = np.asarray(
            closes.dt.tz_convert(None).to_numpy().astype("datetime64[s]").astype(np.int64)
        )
        self.early = early
        self.end = end
        self._index = {d: i for i, d in enumerate(self.sessions.astype(object))}

    def ensure_date(self, day: dt.date) -> None:
        if day > self.end - dt.timedelta(days=5):
            with self._lock:
                if day > self.end - dt.timedelta(days=5):
                    self._extend(day)

    def ensure_count(self, count: int) -> None:
        while len(self.sessions) < count:
            with self._lock:
                if len(self.sessions) < count:
                    self._extend(self.end + dt.timedelta(days=max(60, (count - len(self.sessions)) * 2)))

    def __len__(self) -> int:
        return len(self.sessions)

    def date(self, idx: int) -> dt.date:
        return self.sessions[idx].astype(object)

    def index_of(self, day: dt.date) -> int | None:
        """Session index of `day`, or None when the exchange is closed that day."""
        self.ensure_date(day)
        return self._index.get(day)

    def index_on_or_before(self, day: dt.date) -> int:
        """Index of the last session on or before `day` (-1 when before the first)."""
        self.ensure_date(day)
        return int(np.searchsorted(self.sessions, np.datetime64(day, "D"), side="right")) - 1

    def index_on_or_after(self, day: dt.date) -> int:
        self.ensure_date(day)
        return int(np.searchsorted(self.sessions, np.datetime64(day, "D"), side="left"))

    def close_utc(self, idx: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(int(self.close_s[idx]), UTC)

    def latest_final(self, now: dt.datetime, available_at: dt.time | None = None) -> int:
        """Last session whose data is final at `now`.

        A session is final at its close, or at `available_at` (ET wall time) on its date when
        given (Polygon's free plan only sees a day after ~20:00 ET).
        """
        today = now.astimezone(ET).date()
        idx = self.index_on_or_before(today)
        if idx < 0:
            return -1
        if self.date(idx) == today:
            if available_at is None:
                ready = int(now.timestamp()) >= int(self.close_s[idx])
            else:
                ready = now.astimezone(ET).time() >= available_at
            if not ready:
                idx -= 1
        return idx
