"""The emulator's state and request dispatch, independent of the HTTP transport."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from . import rng
from .calendar import ET, Calendar
from .clock import Clock
from .config import PLANS, EmulatorConfig
from .faults import DATA, Fault, FaultEngine, apply_data_fault
from .limits import Counters, Limiter
from .market import Market
from .news import News
from .universe import Universe


@dataclass
class Request:
    method: str
    target: str  # path and query as received
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        self.path = parts.path
        self.query: dict[str, str] = {}
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            self.query.setdefault(k, v)

    def arg(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able object, or bytes already encoded
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    outcome: str = "answered"  # answered | rejected | throttled | faulted
    shape: Any = None  # faults.Shape, when data faults can act on this body
    scope: dict = field(default_factory=dict)  # tickers/dates the request covered
    # Transport directives for the HTTP layer
    reset: bool = False
    truncate_to: int | None = None
    delay: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, (bytes, bytearray)):
            return bytes(self.body)
        if isinstance(self.body, str):
            return self.body.encode()
        return orjson.dumps(self.body)


def json_response(status: int, body: Any, **kw) -> Response:
    return Response(status=status, body=body, **kw)


class App:
    def __init__(self, config: EmulatorConfig):
        from .vendors import ADAPTERS

        self.config = config
        self.seed = config.seed
        self.clock = Clock(config.as_of, frozen=config.freeze_clock)
        now = self.clock.now()
        self.calendar = Calendar(config.market_start, now.astimezone(ET).date())
        self.universe = Universe(config.seed, config.n_tickers, config.market_start, self.calendar.date)
        self.universe.resolve_pinned_splits(self.calendar.index_of)
        self.market = Market(
            config.seed, self.universe, self.calendar, config.planted_signal, cache_mb=config.cache_mb
        )
        self.news = News(config.seed, self.market, self.universe)
        self.limiter = Limiter(self.clock, enabled=config.limits_enabled)
        self.counters = Counters()
        self.faults = FaultEngine(config.seed, config.fault_profile)
        self.plans = dict(config.plans)
        self._seq_lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._global_seq = 0
        self.adapters = ADAPTERS
        self._cache_lock = threading.Lock()
        self.payload_cache: dict = {}

    # -- time -------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        return self.now().astimezone(ET).date()

    def latest_session(self, available_at: dt.time | None = None) -> int:
        """Last session whose data is out at the emulator's now."""
        return self.calendar.latest_final(self.now(), available_at)

    # -- bookkeeping ----------------------------------------------------------------------------
    def plan_of(self, key: str) -> str:
        return self.plans.get(key, "free")

    def next_seq(self, vendor: str) -> tuple[int, int]:
        with self._seq_lock:
            self._global_seq += 1
            n = self._seq.get(vendor, 0) + 1
            self._seq[vendor] = n
            return n, self._global_seq

    def request_id(self, vendor: str, seq: int) -> str:
        return rng.hash_hex(self.seed, "request", vendor, seq)

    def reset(self) -> None:
        self.counters.reset()
        self.faults.reset()
        self.limiter.reset()
        with self._seq_lock:
            self._seq.clear()
            self._global_seq = 0

    def cached(self, key: tuple, build, limit: int = 16):
        with self._cache_lock:
            hit = self.payload_cache.get(key)
        if hit is not None:
            return hit
        value = build()
        with self._cache_lock:
            if len(self.payload_cache) >= limit:
                self.payload_cache.pop(next(iter(self.payload_cache)))
            self.payload_cache[key] = value
        return value

    # -- dispatch -------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path.startswith("/_emulator/") or req.path == "/_emulator":
            from .admin import handle_admin

            return handle_admin(self, req)
        adapter = next((a for a in self.adapters if a.owns(req.path)), None)
        if adapter is None:
            return json_response(
                404, {"status": "NOT_FOUND", "message": f"no vendor serves {req.path}"}, outcome="rejected"
            )
        return self._vendor_request(adapter, req)

    def _vendor_request(self, adapter, req: Request) -> Response:
        vendor = adapter.vendor
        seq, gseq = self.next_seq(vendor)
        endpoint = adapter.endpoint(req)
        key = adapter.key(req) or ""
        ctx = VendorContext(self, req, vendor, seq, key, self.plan_of(key) if key else "free", endpoint)
        counted_key = key or "<missing>"

        def finish(resp: Response, outcome: str | None = None) -> Response:
            if outcome:
                resp.outcome = outcome
            elif resp.outcome == "answered" and resp.status >= 400:
                resp.outcome = "rejected"
            self.counters.add(vendor, counted_key, endpoint or req.path, resp.outcome)
            return resp

        if endpoint is None:
            return finish(adapter.not_found(ctx), "rejected")
        if not key:
            return finish(adapter.missing_key(ctx), "rejected")
        if ctx.plan in ("invalid", "disabled"):
            return finish(adapter.invalid_key(ctx), "rejected")

        fault = None
        try:
            fault = self.faults.decide(vendor, req.path, seq, req.header("x-emulator-fault"))
        except ValueError as exc:
            return finish(json_response(400, {"error": f"X-Emulator-Fault: {exc}"}), "rejected")
        if fault is not None and fault.kind not in DATA and fault.kind != "slow":
            resp = self._transport_fault(adapter, ctx, fault)
            self._log(ctx, gseq, fault, resp.status, adapter.scope(ctx), None)
            return finish(resp, "faulted")

        verdict = self.limiter.check(vendor, key, ctx.plan)
        if not verdict.allowed:
            return finish(adapter.throttled(ctx, verdict), "throttled")
        ctx.verdict = verdict
        ctx.mutable = fault is not None and fault.kind in DATA
        resp = adapter.handle(ctx)
        if fault is not None and fault.kind == "slow":
            resp.delay = float(fault.params.get("delay_ms", 1500)) / 1000.0
            self._log(ctx, gseq, fault, resp.status, resp.scope, None)
        elif fault is not None and resp.status == 200:
            touched = apply_data_fault(fault, resp.shape, self.seed, gseq)
            if touched is not None:
                self._log(ctx, gseq, fault, resp.status, resp.scope, touched)
        return finish(resp)

    def _transport_fault(self, adapter, ctx: VendorContext, fault: Fault) -> Response:
        kind, p = fault.kind, fault.params
        if kind == "down":
            if p.get("mode") == "http":
                return html_page(503, "Service Unavailable")
            return Response(status=0, reset=True)
        if kind == "reset":
            return Response(status=0, reset=True)
        if kind == "html_error":
            return html_page(
                int(p.get("status", 502)),
                "Bad Gateway" if int(p.get("status", 502)) == 502 else "Service Unavailable",
            )
        if kind == "http_429":
            resp = adapter.rate_limited_body(ctx)
            resp.headers["Retry-After"] = str(p.get("retry_after", 1))
            return resp
        if kind == "http_5xx":
            return adapter.server_error(ctx, int(p.get("status", 503)))
        if kind == "av_note":
            if ctx.vendor != "alphavantage":
                return adapter.server_error(ctx, 503)
            return json_response(200, {"Note": AV_NOTE})
        # truncated / malformed_json: a real answer, cut short (no quota spent)
        ctx.verdict = None
        resp = adapter.handle(ctx)
        data = resp.encoded()
        keep = max(1, min(len(data) - 1, int(len(data) * float(p.get("keep", 0.5)))))
        if kind == "truncated":
            resp.truncate_to = keep
        else:
            resp.body = data[:keep]
        resp.shape = None
        return resp

    def _log(
        self, ctx: VendorContext, gseq: int, fault: Fault, status: int, scope: dict, touched: dict | None
    ) -> None:
        entry = {
            "seq": gseq,
            "vendor_seq": ctx.seq,
            "vendor": ctx.vendor,
            "endpoint": ctx.endpoint,
            "path": ctx.req.path,
            "key": ctx.key,
            "fault": fault.kind,
            "source": fault.source,
            "params": fault.params,
            "status": status,
            "time": self.now().isoformat().replace("+00:00", "Z"),
        }
        if touched is None:
            entry.update(
                {
                    "scope": "response",
                    "tickers": list(scope.get("tickers", [])),
                    "dates": list(scope.get("dates", [])),
                    "fields": [],
                }
            )
        else:
            entry.update(touched)
        self.faults.record(entry)


AV_NOTE = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
    "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like "
    "to target a higher API call frequency."
)


def html_page(status: int, title: str) -> Response:
    body = (
        f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(status=status, body=body.encode(), content_type="text/html")


class VendorContext:
    """One vendor request on its way through the emulator."""

    def __init__(
        self, app: App, req: Request, vendor: str, seq: int, key: str, plan: str, endpoint: str | None
    ):
        self.app = app
        self.req = req
        self.vendor = vendor
        self.seq = seq
        self.key = key
        self.plan = plan
        self.endpoint = endpoint
        self.verdict = None
        self.mutable = False

    @property
    def request_id(self) -> str:
        return self.app.request_id(self.vendor, self.seq)


__all__ = ["App", "Request", "Response", "VendorContext", "json_response", "html_page", "PLANS"]
