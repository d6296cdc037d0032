"""The one HTTP client every vendor source uses: quota, auth, classification, backoff, breaker.

Each request: the circuit breaker must allow it; the quota manager hands out a key with room in
every window (counting the call); the response is classified (`extract/responses.py`) and acted
on — used, waited for, skipped, failed or retried with full-jitter backoff — never retried
blindly on a status code. Built on dlt's `RESTClient`, given a plain `requests.Session` because
dlt's default session retries on status codes by itself.

Keys travel in headers wherever the vendor accepts one, so they never sit in URLs (which end up
in logs and exception texts); Alpha Vantage takes them only in the query string, and every
message leaving this module is redacted.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth, BearerTokenAuth

from extract.quota import Lease, QuotaManager
from extract.resilience import Backoff, CircuitBreaker
from extract.responses import Kind, Outcome, classify, redact
from tickerhouse.errors import UserError

log = logging.getLogger(__name__)

_AUTH = {
    "polygon": lambda key: BearerTokenAuth(token=key),
    "finnhub": lambda key: APIKeyAuth(name="X-Finnhub-Token", api_key=key, location="header"),
    "newsapi": lambda key: APIKeyAuth(name="X-Api-Key", api_key=key, location="header"),
    "alphavantage": lambda key: APIKeyAuth(name="apikey", api_key=key, location="query"),
}


class _RedactKeyParameters(logging.Filter):
    """urllib3 logs request URLs at DEBUG, Alpha Vantage's `apikey` included: strip it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), ()), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactKeyParameters())


class VendorError(UserError):
    """A request that did not yield data, with what the caller should do about it.

    `kind` is a `responses.Kind` (or "circuit_open"); the message is redacted."""

    def __init__(self, vendor: str, kind: str, reason: str, *, path: str = ""):
        super().__init__(f"{vendor}: {reason}" + (f" ({path})" if path else ""))
        self.vendor, self.kind, self.reason, self.path = vendor, kind, reason, path


@dataclass
class CallLog:
    """Requests sent per vendor by this process, and what came back (for the run summary)."""

    calls: Counter = field(default_factory=Counter)  # every request sent, retries included
    retries: Counter = field(default_factory=Counter)  # the requests that repeated an earlier one
    outcomes: Counter = field(default_factory=Counter)  # (vendor, kind) -> count


class VendorClient:
    """GET JSON from one vendor, within its limits, acting on each answer."""

    def __init__(self, vendor: str, base_url: str, quota: QuotaManager, *, call_log: CallLog,
                 breaker: CircuitBreaker | None = None, backoff: Backoff | None = None,
                 max_attempts: int = 5, timeout: float = 30.0,
                 acquire_timeout: float | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if vendor not in _AUTH:
            raise ValueError(f"unknown vendor {vendor!r}")
        self.vendor, self.base_url, self.quota = vendor, base_url, quota
        self.call_log, self.max_attempts, self.timeout = call_log, max_attempts, timeout
        self.breaker = breaker or CircuitBreaker(vendor)
        self.backoff = backoff or Backoff()
        self.acquire_timeout = acquire_timeout
        self._sleep = sleep
        self._session = requests.Session()
        self._clients: dict[str, RESTClient] = {}

    def _client(self, lease: Lease) -> RESTClient:
        client = self._clients.get(lease.key_id)
        if client is None:
            client = RESTClient(base_url=self.base_url, auth=_AUTH[self.vendor](lease.key),
                                session=self._session)
            self._clients[lease.key_id] = client
        return client

    def get(self, path: str, params: dict[str, Any] | None = None, *, endpoint: str) -> Outcome:
        """The OK or EMPTY outcome of `path` (its `payload` parsed), or a `VendorError` saying
        why not: skip it (not_yet_available, not_entitled), fail it (auth_error, bad_request),
        or it kept failing (transient, throttled), or the vendor's circuit is open."""
        last: Outcome | None = None
        for attempt in range(self.max_attempts):
            if not self.breaker.allow():
                raise VendorError(self.vendor, "circuit_open",
                                  f"circuit open after repeated failures; last: "
                                  f"{last.reason if last else 'earlier run'}", path=path)
            lease = self.quota.acquire(self.vendor, endpoint, timeout=self.acquire_timeout)
            outcome = self._send(lease, path, params)
            self.call_log.calls[self.vendor] += 1
            self.call_log.retries[self.vendor] += attempt > 0
            self.call_log.outcomes[(self.vendor, str(outcome.kind))] += 1
            last = outcome
            if outcome.kind in (Kind.OK, Kind.EMPTY):
                self.breaker.record_success()
                return outcome
            if outcome.kind == Kind.THROTTLED:
                # Our counts said there was room, so someone else is using the key (or the
                # vendor counts differently): keep every worker off it for as long as it says.
                seconds = None if outcome.day_budget_spent else \
                    self.backoff.delay(attempt, outcome.retry_after)
                self.quota.mark_throttled(self.vendor, lease.key_id, seconds,
                                          reason=outcome.reason)
                continue
            if outcome.kind == Kind.TRANSIENT:
                self.breaker.record_failure()
                if attempt + 1 < self.max_attempts:
                    self._sleep(self.backoff.delay(attempt, outcome.retry_after))
                continue
            # not_yet_available, not_entitled, auth_error, bad_request: retrying changes nothing.
            if outcome.kind == Kind.AUTH_ERROR:
                self.breaker.record_failure()
            raise VendorError(self.vendor, str(outcome.kind), outcome.reason, path=path)
        assert last is not None
        raise VendorError(self.vendor, str(last.kind),
                          f"gave up after {self.max_attempts} attempts: {last.reason}", path=path)

    def _send(self, lease: Lease, path: str, params: dict[str, Any] | None) -> Outcome:
        try:
            response = self._client(lease).get(path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            reason = redact(f"{type(exc).__name__}: {exc}", [lease.key])
            return Outcome(Kind.TRANSIENT, reason[:200])
        return classify(self.vendor, response.status_code, response.headers, response.content,
                        keys=[lease.key])
