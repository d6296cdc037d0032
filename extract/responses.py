"""What a vendor's HTTP answer means for the extractor: use it, wait, skip, fail or retry.

A status-code retry policy is not enough: Alpha Vantage throttles and rejects with HTTP 200,
Polygon uses 403 both for "too early, come back tonight" and "never on your plan", and a 2xx
body can be cut short. `classify` reads status, headers and body together
(see /work/shared/vendor-facts.md for the shapes it knows).

No API key ever leaves this module: reasons are passed through `redact`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from extract.resilience import parse_retry_after

REDACTED = "REDACTED"
_MAX_REASON = 200
# Query parameters the four vendors take keys in: Polygon/NewsAPI apiKey, Alpha Vantage apikey,
# Finnhub token (plus the usual spellings, in case a caller's URL uses them).
_KEY_PARAM = re.compile(r"(?i)([?&](?:apikey|api_key|token|access_token)=)[^&#\s\"']*")


class Kind(StrEnum):
    OK = "ok"
    EMPTY = "empty"  # the vendor answered, with no data (e.g. Polygon on a market holiday)
    THROTTLED = "throttled"  # wait (retry_after when the vendor said), then retry
    NOT_YET_AVAILABLE = "not_yet_available"  # skip now, retry later (after the close)
    NOT_ENTITLED = "not_entitled"  # the plan does not cover it: skip, no retry, fail over
    AUTH_ERROR = "auth_error"  # the key is missing/invalid/disabled: fail
    BAD_REQUEST = "bad_request"  # this request is wrong: fail it, not the run
    TRANSIENT = "transient"  # 5xx, error pages, cut-off bodies: retry with backoff


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    reason: str
    retry_after: float | None = None  # seconds, when the vendor said (Retry-After)
    # The vendor says this key's budget for its day is spent (Alpha Vantage's daily-limit
    # message): mark the key throttled until the day resets rather than retrying.
    day_budget_spent: bool = False
    payload: Any = field(default=None, repr=False)  # the parsed JSON of ok/empty answers

    @property
    def retryable(self) -> bool:
        return self.kind in (Kind.THROTTLED, Kind.NOT_YET_AVAILABLE, Kind.TRANSIENT)


def redact(text: str, keys: Iterable[str]) -> str:
    """`text` (a URL, a message) with every key parameter's value and every literal key removed."""
    text = _KEY_PARAM.sub(rf"\g<1>{REDACTED}", text)
    variants = {v for key in keys if key for v in (key, quote(key, safe=""))}
    for variant in sorted(variants, key=len, reverse=True):
        text = text.replace(variant, REDACTED)
    return text


def classify(vendor: str, status: int, headers: Mapping[str, str], body: bytes, *,
             keys: Iterable[str] = (), clock: Callable[[], float] = time.time) -> Outcome:
    """The outcome of one response from `vendor` (polygon, finnhub, alphavantage, newsapi)."""
    retry_after = parse_retry_after(_header(headers, "Retry-After"), now=clock())
    outcome = _classify(vendor, status, body, retry_after)
    reason = redact(outcome.reason, keys)
    if len(reason) > _MAX_REASON:
        reason = reason[:_MAX_REASON - 1] + "…"
    return replace(outcome, reason=reason)


def _classify(vendor: str, status: int, body: bytes, retry_after: float | None) -> Outcome:
    specific = _BY_VENDOR.get(vendor)
    if specific is None:
        raise ValueError(f"unknown vendor {vendor!r}")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _by_status(status, _describe_non_json(status, body), retry_after)
    message = _message(payload)
    outcome = specific(status, payload, message, retry_after)
    if outcome is not None:
        return outcome
    if 200 <= status < 300:
        if payload in ({}, []):
            return Outcome(Kind.EMPTY, "empty answer", payload=payload)
        return Outcome(Kind.OK, "ok", payload=payload)
    return _by_status(status, f"HTTP {status}: {message}" if message else f"HTTP {status}",
                      retry_after)


def _polygon(status: int, payload: Any, message: str, retry_after: float | None) -> Outcome | None:
    if not isinstance(payload, dict):
        return None
    if payload.get("status") == "NOT_AUTHORIZED":
        if "before end of day" in message:
            return Outcome(Kind.NOT_YET_AVAILABLE, f"not final yet: {message}")
        # "You are not entitled to this data" (beyond the plan's history) and any other plan
        # refusal; an invalid key is a 401 with status ERROR instead.
        return Outcome(Kind.NOT_ENTITLED, f"not on this plan: {message}")
    if 200 <= status < 300 and not payload.get("results") and (
            payload.get("resultsCount") == 0 or payload.get("count") == 0):
        return Outcome(Kind.EMPTY, "no results (a market holiday or weekend?)", payload=payload)
    return None


def _finnhub(status: int, payload: Any, message: str, retry_after: float | None) -> Outcome | None:
    if status == 403 and "don't have access" in message:
        return Outcome(Kind.NOT_ENTITLED, f"premium endpoint: {message}")
    return None


def _alphavantage(status: int, payload: Any, message: str,
                  retry_after: float | None) -> Outcome | None:
    if not (200 <= status < 300 and isinstance(payload, dict)):
        return None
    if "Error Message" in payload:
        return Outcome(Kind.BAD_REQUEST, f"rejected: {payload['Error Message']}")
    notice = payload.get("Information") or payload.get("Note")
    if not isinstance(notice, str) or any(k not in ("Information", "Note") for k in payload):
        return None
    lowered = notice.lower()
    if "premium endpoint" in lowered:
        return Outcome(Kind.NOT_ENTITLED, f"premium endpoint: {notice}")
    if any(term in lowered for term in ("rate limit", "call frequency", "requests per day")):
        # The current free limit is per day; the old Note spoke of minutes and days at once.
        per_day = "per day" in lowered and "per minute" not in lowered
        return Outcome(Kind.THROTTLED, f"rate limited: {notice}", retry_after,
                       day_budget_spent=per_day)
    if "api key" in lowered or "apikey" in lowered:
        return Outcome(Kind.AUTH_ERROR, f"key refused: {notice}")
    return Outcome(Kind.BAD_REQUEST, f"refused: {notice}")


_NEWSAPI_CODES = {
    "rateLimited": Kind.THROTTLED,
    "apiKeyInvalid": Kind.AUTH_ERROR,
    "apiKeyDisabled": Kind.AUTH_ERROR,
    "apiKeyMissing": Kind.AUTH_ERROR,
    "apiKeyExhausted": Kind.AUTH_ERROR,
    "parameterInvalid": Kind.BAD_REQUEST,
    "parametersMissing": Kind.BAD_REQUEST,
    "maximumResultsReached": Kind.BAD_REQUEST,
    "sourcesTooMany": Kind.BAD_REQUEST,
    "sourceDoesNotExist": Kind.BAD_REQUEST,
    "unexpectedError": Kind.TRANSIENT,
}


def _newsapi(status: int, payload: Any, message: str, retry_after: float | None) -> Outcome | None:
    if not isinstance(payload, dict):
        return None
    if payload.get("status") == "error":
        code = payload.get("code")
        kind = _NEWSAPI_CODES.get(code) if isinstance(code, str) else None
        if kind is None:
            return None
        return Outcome(kind, f"{code}: {message}" if message else str(code),
                       retry_after if kind is Kind.THROTTLED else None)
    if 200 <= status < 300 and payload.get("status") == "ok" and not payload.get("articles") \
            and payload.get("totalResults") == 0:
        return Outcome(Kind.EMPTY, "no articles", payload=payload)
    return None


_BY_VENDOR = {"polygon": _polygon, "finnhub": _finnhub, "alphavantage": _alphavantage,
              "newsapi": _newsapi}


def _by_status(status: int, reason: str, retry_after: float | None) -> Outcome:
    """The outcome a status code implies when the body says nothing more specific."""
    if status == 429:
        return Outcome(Kind.THROTTLED, f"rate limited ({reason})", retry_after)
    if 200 <= status < 300 or status in (408, 425) or status >= 500:
        return Outcome(Kind.TRANSIENT, reason, retry_after)
    if status in (401, 403):
        # An unexplained 403 fails loudly: skipping it as "not entitled" could hide a blocked key.
        return Outcome(Kind.AUTH_ERROR, reason)
    return Outcome(Kind.BAD_REQUEST, reason)


def _message(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    for name in ("message", "error", "Error Message", "Information", "Note"):
        value = payload.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def _describe_non_json(status: int, body: bytes) -> str:
    if not body.strip():
        return f"HTTP {status} with an empty body"
    if body.lstrip()[:1] == b"<":
        return f"HTTP {status} with an HTML page instead of JSON"
    if 200 <= status < 300 and body.lstrip()[:1] in (b"{", b"["):
        return f"HTTP {status} with truncated or malformed JSON ({len(body)} bytes)"
    return f"HTTP {status} with a non-JSON body"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
