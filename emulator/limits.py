"""Per-key, per-vendor rate limits by plan, and the request counters."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """`limit` requests per sliding `seconds` (monotonic), or per calendar day in `day_tz`."""

    name: str
    limit: int
    seconds: float = 0.0
    day_tz: str | None = None


LIMITS: dict[tuple[str, str], list[Window]] = {
    ("polygon", "free"): [Window("minute", 5, seconds=60)],
    ("polygon", "paid"): [],
    ("finnhub", "free"): [Window("minute", 60, seconds=60), Window("second", 30, seconds=1)],
    ("finnhub", "paid"): [Window("minute", 300, seconds=60), Window("second", 30, seconds=1)],
    ("alphavantage", "free"): [Window("day", 25, day_tz="America/New_York")],
    ("alphavantage", "paid"): [Window("minute", 75, seconds=60)],
    ("newsapi", "free"): [Window("day", 100, day_tz="UTC")],
    ("newsapi", "paid"): [],
}


@dataclass
class Verdict:
    allowed: bool
    window: Window | None = None  # the window that refused, when refused
    remaining: int | None = None  # of the tightest window, after this request
    limit: int | None = None
    reset_in: float | None = None  # seconds until the tightest window has room again


class Limiter:
    def __init__(self, clock, enabled: bool = True):
        self.clock = clock
        self.enabled = enabled
        self._lock = threading.Lock()
        self._hits: dict[tuple, deque] = defaultdict(deque)
        self._days: dict[tuple, tuple[dt.date, int]] = {}

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
            self._days.clear()

    def check(self, vendor: str, key: str, plan: str) -> Verdict:
        """Admit (and count) the request, or refuse it without counting it."""
        windows = LIMITS.get((vendor, plan), [])
        if not self.enabled or not windows:
            return Verdict(True)
        with self._lock:
            mono = self.clock.monotonic()
            now = self.clock.now()
            tightest: tuple[int, int, float] | None = None
            for w in windows:
                if w.day_tz:
                    day = now.astimezone(ZoneInfo(w.day_tz)).date()
                    used_day, used = self._days.get((vendor, key, w.name), (day, 0))
                    used = used if used_day == day else 0
                    if used >= w.limit:
                        return Verdict(False, w, 0, w.limit, _to_midnight(now, w.day_tz))
                    left = w.limit - used - 1
                    reset = _to_midnight(now, w.day_tz)
                else:
                    hits = self._hits[(vendor, key, w.name)]
                    while hits and hits[0] <= mono - w.seconds + 1e-9:  # float slack at the boundary
                        hits.popleft()
                    if len(hits) >= w.limit:
                        return Verdict(False, w, 0, w.limit, hits[0] + w.seconds - mono)
                    left = w.limit - len(hits) - 1
                    reset = (hits[0] if hits else mono) + w.seconds - mono
                if tightest is None or left < tightest[0]:
                    tightest = (left, w.limit, reset)
            for w in windows:
                if w.day_tz:
                    day = now.astimezone(ZoneInfo(w.day_tz)).date()
                    used_day, used = self._days.get((vendor, key, w.name), (day, 0))
                    self._days[(vendor, key, w.name)] = (day, (used if used_day == day else 0) + 1)
                else:
                    self._hits[(vendor, key, w.name)].append(mono)
            assert tightest is not None
            return Verdict(True, None, tightest[0], tightest[1], tightest[2])

    def quotas(self) -> dict:
        """Day quotas used so far, per vendor and key."""
        out: dict = {}
        with self._lock:
            for (vendor, key, _), (day, used) in self._days.items():
                out.setdefault(vendor, {})[key] = {"day": day.isoformat(), "used": used}
        return out


def _to_midnight(now: dt.datetime, tz: str) -> float:
    local = now.astimezone(ZoneInfo(tz))
    nxt = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), ZoneInfo(tz))
    return (nxt - local).total_seconds()


OUTCOMES = ("answered", "rejected", "throttled", "faulted")


class Counters:
    """Every request, by vendor, key and endpoint, and by how it ended."""

    def __init__(self):
        self._lock = threading.Lock()
        self._c: dict = {}

    def add(self, vendor: str, key: str, endpoint: str, outcome: str) -> None:
        with self._lock:
            ep = (
                self._c.setdefault(vendor, {})
                .setdefault(key, {})
                .setdefault(endpoint, dict.fromkeys(OUTCOMES, 0))
            )
            ep[outcome] += 1

    def reset(self) -> None:
        with self._lock:
            self._c.clear()

    def snapshot(self) -> dict:
        def zero() -> dict:
            return dict.fromkeys(OUTCOMES, 0)

        def add_into(a: dict, b: dict) -> None:
            for k in OUTCOMES:
                a[k] += b[k]

        with self._lock:
            total = zero()
            vendors = {}
            for vendor, keys in sorted(self._c.items()):
                v_total = zero()
                v_keys = {}
                for key, eps in sorted(keys.items()):
                    k_total = zero()
                    for counts in eps.values():
                        add_into(k_total, counts)
                    v_keys[key] = {
                        "endpoints": {e: dict(c) for e, c in sorted(eps.items())},
                        "total": k_total,
                    }
                    add_into(v_total, k_total)
                vendors[vendor] = {"keys": v_keys, "total": v_total}
                add_into(total, v_total)
            return {"vendors": vendors, "total": total}
