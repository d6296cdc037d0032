"""Injected faults: named profiles, per-request rules, and the log of what each one touched.

Decisions are deterministic: a profile draws from (seed, vendor, the vendor's request number),
so the same request sequence meets the same faults.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import rng

# Faults that replace or break the whole response.
TRANSPORT = (
    "down",
    "http_429",
    "http_5xx",
    "html_error",
    "reset",
    "truncated",
    "malformed_json",
    "slow",
    "av_note",
)
# Faults that alter the data inside an otherwise normal 200 response.
DATA = (
    "schema_rename",
    "schema_new_field",
    "schema_string_number",
    "bad_price",
    "bad_high_low",
    "bad_volume_spike",
    "bad_duplicate",
    "stale",
)
KINDS = TRANSPORT + DATA

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "http_429": {"retry_after": 1},
    "http_5xx": {"status": 503},
    "html_error": {"status": 502},
    "slow": {"delay_ms": 1500},
    "truncated": {"keep": 0.5},
    "malformed_json": {"keep": 0.6},
    "down": {"mode": "reset"},
    "bad_price": {"rows": 1, "value": "negative"},
    "bad_high_low": {"rows": 1},
    "bad_volume_spike": {"rows": 1, "factor": 100},
    "bad_duplicate": {"rows": 1},
    "stale": {"rows": 1},
    "schema_string_number": {"rows": 1},
}

PROFILES: dict[str, dict[str, Any]] = {
    "none": {},
    "flaky": {
        "rates": {
            "http_5xx": 0.03,
            "reset": 0.01,
            "slow": 0.02,
            "truncated": 0.01,
            "malformed_json": 0.01,
            "html_error": 0.01,
        },
        "bursts": {"http_5xx": 3},
    },
    "storm": {
        "rates": {"http_429": 0.08},
        "bursts": {"http_429": 6},
        "params": {"http_429": {"retry_after": 2}},
    },
    "bad-data": {
        "rates": {
            "bad_price": 0.05,
            "bad_high_low": 0.05,
            "bad_volume_spike": 0.05,
            "bad_duplicate": 0.05,
            "stale": 0.05,
        }
    },
    "schema-drift": {"rates": {"schema_rename": 0.05, "schema_new_field": 0.1, "schema_string_number": 0.05}},
    "av-note": {"rates": {"av_note": 0.3}},
    "chaos": {
        "rates": {
            "http_5xx": 0.02,
            "http_429": 0.02,
            "reset": 0.005,
            "slow": 0.005,
            "truncated": 0.005,
            "malformed_json": 0.005,
            "html_error": 0.005,
            "schema_rename": 0.01,
            "schema_new_field": 0.01,
            "schema_string_number": 0.01,
            "bad_price": 0.02,
            "bad_high_low": 0.02,
            "bad_volume_spike": 0.02,
            "bad_duplicate": 0.02,
            "stale": 0.02,
            "av_note": 0.05,
        },
        "bursts": {"http_5xx": 3, "http_429": 4},
        "params": {"slow": {"delay_ms": 800}},
    },
}
for _vendor in ("polygon", "finnhub", "alphavantage", "newsapi"):
    PROFILES[f"{_vendor}-down"] = {"down": [_vendor]}


@dataclass
class Fault:
    kind: str
    params: dict = field(default_factory=dict)
    source: str = "profile"  # "profile", "rule" or "header"


@dataclass
class Rule:
    fault: str
    count: int = 1
    vendor: str | None = None
    path_prefix: str = ""
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "fault": self.fault,
            "count": self.count,
            "vendor": self.vendor,
            "path_prefix": self.path_prefix,
            "params": self.params,
        }


def _params(kind: str, *overrides: dict | None) -> dict:
    out = dict(DEFAULT_PARAMS.get(kind, {}))
    for o in overrides:
        if o:
            out.update(o)
    return out


def parse_header(value: str) -> Fault:
    """`X-Emulator-Fault: kind[;name=value...]`."""
    kind, *rest = [p.strip() for p in value.split(";") if p.strip()]
    if kind not in KINDS:
        raise ValueError(f"unknown fault {kind!r}")
    params = {}
    for item in rest:
        name, _, val = item.partition("=")
        try:
            params[name] = float(val) if "." in val else int(val)
        except ValueError:
            params[name] = val
    return Fault(kind, _params(kind, params), "header")


class FaultEngine:
    def __init__(self, seed: int, profile: str | None):
        self.seed = seed
        self._lock = threading.Lock()
        self.profile = profile or "none"
        self.rules: list[Rule] = []
        self._bursts: dict[str, tuple[str, int]] = {}
        self.log: list[dict] = []

    def set_profile(self, name: str | None) -> None:
        name = name or "none"
        if name not in PROFILES:
            raise ValueError(f"unknown fault profile {name!r}: use one of {', '.join(sorted(PROFILES))}")
        with self._lock:
            self.profile = name
            self._bursts.clear()

    def add_rules(self, rules: list[dict], replace: bool = False) -> None:
        parsed = []
        for r in rules:
            kind = r.get("fault")
            if kind not in KINDS:
                raise ValueError(f"unknown fault {kind!r}: use one of {', '.join(KINDS)}")
            parsed.append(
                Rule(
                    fault=kind,
                    count=int(r.get("count", 1)),
                    vendor=r.get("vendor"),
                    path_prefix=r.get("path_prefix", ""),
                    params=dict(r.get("params") or {}),
                )
            )
        with self._lock:
            if replace:
                self.rules = []
            self.rules.extend(parsed)

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self._bursts.clear()

    def state(self) -> dict:
        with self._lock:
            return {
                "profile": self.profile,
                "profiles": sorted(PROFILES),
                "kinds": list(KINDS),
                "rules": [r.to_dict() for r in self.rules if r.count > 0],
            }

    def decide(self, vendor: str, path: str, seq: int, header: str | None = None) -> Fault | None:
        prof = PROFILES[self.profile]
        if vendor in prof.get("down", ()):
            return Fault("down", _params("down", prof.get("params", {}).get("down")), "profile")
        if header:
            return parse_header(header)
        with self._lock:
            for rule in self.rules:
                if rule.count > 0 and (rule.vendor in (None, vendor)) and path.startswith(rule.path_prefix):
                    rule.count -= 1
                    return Fault(rule.fault, _params(rule.fault, rule.params), "rule")
            burst = self._bursts.get(vendor)
            if burst and burst[1] > 0:
                self._bursts[vendor] = (burst[0], burst[1] - 1)
                return Fault(burst[0], _params(burst[0], prof.get("params", {}).get(burst[0])), "profile")
        rates = prof.get("rates", {})
        if not rates:
            return None
        u = rng.hash_uniform(self.seed, "fault", vendor, seq)
        acc = 0.0
        for kind in KINDS:
            rate = rates.get(kind, 0.0)
            if kind == "av_note" and vendor != "alphavantage":
                continue
            acc += rate
            if u < acc:
                length = prof.get("bursts", {}).get(kind, 1)
                if length > 1:
                    with self._lock:
                        self._bursts[vendor] = (kind, length - 1)
                return Fault(kind, _params(kind, prof.get("params", {}).get(kind)), "profile")
        return None

    def record(self, entry: dict) -> None:
        with self._lock:
            self.log.append(entry)

    def entries(self) -> list[dict]:
        with self._lock:
            return list(self.log)


# -- data faults -----------------------------------------------------------------------------------
@dataclass
class Shape:
    """Where a data fault can act inside one response body.

    rows: (ticker, date, row dict) for each record, the dicts being the payload's own.
    container: the list holding the row dicts (for duplicates), when rows live in a list.
    """

    rows: list[tuple[str | None, str | None, dict]]
    prices: tuple[str, ...] = ()
    high: str | None = None
    low: str | None = None
    volume: str | None = None
    rename: tuple[str, str] | None = None
    new_field: tuple[str, Any] | None = None
    numeric: tuple[str, ...] = ()
    numbers_become_strings: bool = True  # False: the drift turns string numbers into numbers
    container: list | None = None
    stale: Callable[[int], dict | None] | None = None  # previous-session values for row i
    recount: Callable[[], None] | None = None


def _pick(seed: int, seq: int, kind: str, n: int, k: int) -> list[int]:
    if n == 0:
        return []
    k = max(1, min(int(k), n))
    chosen: list[int] = []
    i = 0
    while len(chosen) < k:
        idx = rng.hash_u64(seed, "rows", seq, kind, i) % n
        if idx not in chosen:
            chosen.append(idx)
        i += 1
    return sorted(chosen)


def _to_number(value: Any) -> Any:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return value
    return int(f) if f.is_integer() and "." not in str(value) else f


def apply_data_fault(fault: Fault, shape: Shape | None, seed: int, seq: int) -> dict | None:
    """Alter the payload in place; return what was touched, or None if the fault cannot apply."""
    if shape is None or not shape.rows:
        return None
    kind, p = fault.kind, fault.params
    rows = shape.rows
    touched_rows: list[int] = []
    fields: list[str] = []
    scope = "rows"
    if kind == "schema_rename" and shape.rename:
        old, new = shape.rename
        for _, _, row in rows:
            if old in row:
                row[new] = row.pop(old)
        touched_rows, fields, scope = list(range(len(rows))), [old], "payload"
    elif kind == "schema_new_field" and shape.new_field:
        name, value = shape.new_field
        for _, _, row in rows:
            row[name] = value
        touched_rows, fields, scope = list(range(len(rows))), [name], "payload"
    elif kind == "schema_string_number" and shape.numeric:
        target = shape.numeric[rng.hash_u64(seed, "field", seq) % len(shape.numeric)]
        for i in _pick(seed, seq, kind, len(rows), p.get("rows", 1)):
            row = rows[i][2]
            if target in row:
                row[target] = str(row[target]) if shape.numbers_become_strings else _to_number(row[target])
                touched_rows.append(i)
        fields = [target]
    elif kind == "bad_price" and shape.prices:
        target = shape.prices[rng.hash_u64(seed, "field", seq) % len(shape.prices)]
        for i in _pick(seed, seq, kind, len(rows), p.get("rows", 1)):
            row = rows[i][2]
            if target in row:
                row[target] = _bad_value(row[target], p.get("value", "negative"))
                touched_rows.append(i)
        fields = [target]
    elif kind == "bad_high_low" and shape.high and shape.low:
        for i in _pick(seed, seq, kind, len(rows), p.get("rows", 1)):
            row = rows[i][2]
            hi, lo = row.get(shape.high), row.get(shape.low)
            if hi is None or lo is None:
                continue
            if float(hi) == float(lo):
                hi = _shift(hi, 0.01)
            row[shape.high], row[shape.low] = lo, hi
            touched_rows.append(i)
        fields = [shape.high, shape.low]
    elif kind == "bad_volume_spike" and shape.volume:
        factor = p.get("factor", 100)
        for i in _pick(seed, seq, kind, len(rows), p.get("rows", 1)):
            row = rows[i][2]
            if shape.volume in row:
                row[shape.volume] = _scale(row[shape.volume], factor)
                touched_rows.append(i)
        fields = [shape.volume]
    elif kind == "bad_duplicate" and shape.container is not None:
        picks = _pick(seed, seq, kind, len(rows), p.get("rows", 1))
        for i in reversed(picks):
            row = rows[i][2]
            pos = next(j for j, r in enumerate(shape.container) if r is row)
            shape.container.insert(pos + 1, copy.deepcopy(row))
        touched_rows = picks
        if shape.recount:
            shape.recount()
    elif kind == "stale" and shape.stale is not None:
        for i in _pick(seed, seq, kind, len(rows), p.get("rows", 1)):
            old = shape.stale(i)
            if old:
                rows[i][2].update(old)
                touched_rows.append(i)
                fields = sorted(set(fields) | set(old))
    else:
        return None
    if not touched_rows:
        return None
    tickers = sorted({rows[i][0] for i in touched_rows if rows[i][0] is not None})
    dates = sorted({rows[i][1] for i in touched_rows if rows[i][1] is not None})
    return {"scope": scope, "tickers": tickers, "dates": dates, "fields": fields, "rows": len(touched_rows)}


def _bad_value(value: Any, mode: str) -> Any:
    if isinstance(value, str):
        f = float(value)
        return "0.0000" if mode == "zero" else f"{-abs(f):.4f}"
    return 0 if mode == "zero" else -abs(value)


def _shift(value: Any, by: float) -> Any:
    if isinstance(value, str):
        return f"{float(value) + by:.4f}"
    return round(value + by, 4)


def _scale(value: Any, factor: float) -> Any:
    if isinstance(value, str):
        return str(int(float(value) * factor))
    return float(value) * factor if isinstance(value, float) else value * factor
