"""The one HTTP client every vendor source uses: auth, quota, classification, backoff, redaction.

Built on dlt's `RESTClient`, given a plain `requests.Session`: dlt's default session retries on
status codes blindly, while these vendors need each failure read (Alpha Vantage throttles with
HTTP 200 bodies, Polygon's 403 can mean "not yet" or "never"); see `extract/responses.py`.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth, BearerTokenAuth

from tickerhouse.errors import UserError

log = logging.getLogger(__name__)

# How each vendor takes its key. Headers wherever the vendor accepts one, so keys never sit in
# URLs (which end up in logs and exception texts); Alpha Vantage accepts only the query string.
_AUTH = {
    "polygon": lambda key: BearerTokenAuth(token=key),
    "finnhub": lambda key: APIKeyAuth(name="X-Finnhub-Token", api_key=key, location="header"),
    "newsapi": lambda key: APIKeyAuth(name="X-Api-Key", api_key=key, location="header"),
    "alphavantage": lambda key: APIKeyAuth(name="apikey", api_key=key, location="query"),
}


class VendorError(UserError):
    """A vendor request that failed for a reason the caller must act on (message redacted)."""

    def __init__(self, vendor: str, kind: str, reason: str):
        super().__init__(f"{vendor}: {reason}")
        self.vendor, self.kind, self.reason = vendor, kind, reason


@dataclass
class CallLog:
    """Requests sent per vendor in this process (for the run summary)."""

    calls: Counter = field(default_factory=Counter)


def redact(text: str, keys: list[str]) -> str:
    for key in keys:
        if key:
            text = text.replace(key, "***")
    return text


class VendorClient:
    """GET JSON from one vendor with one of its keys."""

    def __init__(self, vendor: str, base_url: str, keys: list[str], *, call_log: CallLog,
                 timeout: float = 30.0, max_attempts: int = 5):
        if vendor not in _AUTH:
            raise ValueError(f"unknown vendor {vendor!r}")
        if not keys:
            raise UserError(f"{vendor}: no API key configured "
                            f"(set TICKERHOUSE_{vendor.upper()}_API_KEY)")
        self.vendor, self.base_url, self.keys = vendor, base_url, keys
        self.call_log, self.timeout, self.max_attempts = call_log, timeout, max_attempts
        self._clients = {
            key: RESTClient(base_url=base_url, auth=_AUTH[vendor](key), session=requests.Session())
            for key in keys
        }

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, requests.Response]:
        key = self.keys[0]
        client = self._clients[key]
        last_reason = "no attempt made"
        for attempt in range(self.max_attempts):
            try:
                response = client.get(path, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                last_reason = redact(f"{type(exc).__name__}: {exc}", self.keys)
                self.call_log.calls[self.vendor] += 1
                self._sleep_backoff(attempt, None)
                continue
            self.call_log.calls[self.vendor] += 1
            if response.status_code == 429 or response.status_code >= 500:
                last_reason = f"HTTP {response.status_code}"
                self._sleep_backoff(attempt, response.headers.get("Retry-After"))
                continue
            try:
                payload = response.json()
            except json.JSONDecodeError:
                last_reason = f"malformed JSON (HTTP {response.status_code})"
                self._sleep_backoff(attempt, None)
                continue
            if response.status_code == 403 and isinstance(payload, dict) \
                    and payload.get("status") == "NOT_AUTHORIZED":
                kind = "not_yet_available" if "before end of day" in payload.get("message", "") \
                    else "not_entitled"
                raise VendorError(self.vendor, kind, redact(payload.get("message", ""), self.keys))
            if response.status_code >= 400:
                raise VendorError(self.vendor, "http_error",
                                  redact(f"HTTP {response.status_code} on {path}", self.keys))
            return payload, response
        raise VendorError(self.vendor, "transient",
                          f"gave up on {path} after {self.max_attempts} attempts ({last_reason})")

    @staticmethod
    def _sleep_backoff(attempt: int, retry_after: str | None) -> None:
        import random

        delay = random.uniform(0, min(30.0, 0.5 * 2**attempt))
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(delay)
