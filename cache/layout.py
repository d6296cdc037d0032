"""Key names, what each kind of hash holds, and how long it may live (the layout is described in
the package docstring). Values are compact strings; `encode`/`decode` are the only translation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from tickerhouse import calendar

# Versioned namespace: a change of layout bumps the version instead of misreading old keys
# (v1 was one hash per ticker with the bar and prediction together).
NAMESPACE = "tickerhouse:v2"
DIGEST_FIELD = "_h"  # content hash of the values, stored in the hash itself
SEPARATOR = "\x1f"  # ASCII unit separator: joins a record's values on the way to the write script

QUOTE_TTL = 5 * 60  # intraday quotes go stale in minutes
FUNDAMENTALS_TTL = 2 * 24 * 3600  # ratios change with filings, at most daily
MIN_TTL = 3600  # a late or replayed load still gets an hour
MAX_TTL = 7 * 24 * 3600
# The daily run for a session starts at 06:00 New York the weekday after it; the grace covers
# a slow or retried run, so daily keys outlive the gap between two loads but not by days.
LOAD_HOUR = 6
LOAD_GRACE = dt.timedelta(hours=3)
NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Kind:
    """One kind of per-ticker hash: its fields (name, type) and how its TTL is decided."""

    name: str
    fields: tuple[tuple[str, str], ...]  # type: f float, i int, d date, t text, ts timestamp
    ttl: str  # "session": until the next session's load; "quote"; "fundamentals"
    session_field: str | None = None

    @cached_property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    def key(self, ticker: str) -> str:
        return f"{NAMESPACE}:{self.name}:{ticker}"


def _floats(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, "f") for name in names)


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("bar", (("trade_date", "d"), *_floats("open", "high", "low", "close"), ("volume", "i"),
                 ("vwap", "f"), ("trade_count", "i"), ("source", "t")),
         ttl="session", session_field="trade_date"),
    Kind("ind", (("trade_date", "d"), *_floats(
        "return_1d", "return_5d", "return_20d", "sma_20", "sma_50", "sma_200", "ema_12", "ema_20",
        "ema_26", "ema_50", "ema_200", "macd", "macd_signal", "macd_histogram", "rsi_14",
        "bollinger_upper_20", "bollinger_lower_20", "atr_14", "realized_volatility_20d",
        "high_52w", "low_52w", "distance_from_52w_high", "distance_from_52w_low",
        "dollar_volume", "avg_dollar_volume_20d")),
         ttl="session", session_field="trade_date"),
    Kind("pred", (("as_of_date", "d"), ("target_date", "d"), *_floats(
        "predicted_return", "predicted_close"), ("model_name", "t"), ("model_version", "t")),
         ttl="session", session_field="as_of_date"),
    Kind("fund", (*_floats("pe_ratio", "price_to_book", "dividend_yield", "market_cap", "eps_ttm",
                           "book_value_per_share", "shares_outstanding"),
                  ("latest_quarter", "d"), ("known_at", "ts")),
         ttl="fundamentals"),
    Kind("quote", (("quoted_at", "ts"), *_floats(
        "current_price", "open", "high", "low", "previous_close", "change", "change_ratio")),
         ttl="quote"),
)}

# Leaderboards (sorted sets, member = ticker). Two-sided boards keep both ends: ZREVRANGE gives
# the top (gainers), ZRANGE the bottom (losers).
BOARDS: dict[str, bool] = {  # name -> two-sided
    "return_1d": True,  # top gainers / losers of the session
    "dollar_volume": False,  # most active by close x volume
    # highest recommendation score: ml.predictions has no score column, so the board ranks the
    # predicted next-session return and is named for it
    "predicted_return": False,
    "sentiment_shift": True,  # change of mean news sentiment since the ticker's previous session
}
BOARD_DEPTH = 100  # members kept at each end: a leaderboard is read from the top


def board_key(name: str) -> str:
    return f"{NAMESPACE}:board:{name}"


BOARD_DIGESTS_KEY = f"{NAMESPACE}:board-digests"
META_KEY = f"{NAMESPACE}:meta"


def encode(value) -> str:
    """A compact string for a leaderboard score or a timestamp (hash values are rendered by
    Postgres, see cache/source.py)."""
    if type(value) is float:
        return format(value, ".10g")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return str(value)


_DECODERS = {"f": float, "i": int, "d": dt.date.fromisoformat, "t": str,
             "ts": lambda text: dt.datetime.fromisoformat(text.replace("Z", "+00:00"))}


def unpack(kind: Kind, payload: str) -> dict:
    """A payload (values joined by SEPARATOR) -> typed values, as `decode` gives from a hash."""
    return decode(kind, dict(zip(kind.field_names, payload.split(SEPARATOR), strict=True)))


def decode(kind: Kind, stored: dict) -> dict:
    """A hash as read from Redis (str fields) -> typed values; absent fields are None."""
    out = {}
    for name, type_code in kind.fields:
        text = stored.get(name)
        out[name] = None if text in (None, "") else _DECODERS[type_code](text)
    return out


@lru_cache(maxsize=64)  # the calendar lookup costs ~0.7 ms; a load asks for a handful of dates
def next_load_at(session: dt.date) -> dt.datetime:
    """When the load that replaces `session`'s data is expected to be done."""
    following = calendar.sessions_between(session + dt.timedelta(days=1),
                                          session + dt.timedelta(days=14))[0]
    load_day = following + dt.timedelta(days=1)
    while load_day.weekday() >= 5:
        load_day += dt.timedelta(days=1)
    return dt.datetime.combine(load_day, dt.time(LOAD_HOUR), NEW_YORK) + LOAD_GRACE


# A ticker with no data of a kind (no quote fetched, no fundamentals yet) is cached as a hash
# holding only this digest, so that repeated reads do not each ask Postgres; a load that brings
# the data replaces it like any changed value.
ABSENT = "-"


def absent_ttl(kind: Kind) -> int:
    return QUOTE_TTL if kind.ttl == "quote" else MIN_TTL


def ttl_seconds(kind: Kind, session: dt.date | None, now: dt.datetime | None = None) -> int:
    """Seconds a hash of this kind may live: quotes minutes, fundamentals days, daily data until
    the load after its session is done."""
    if kind.ttl == "quote":
        return QUOTE_TTL
    if kind.ttl == "fundamentals":
        return FUNDAMENTALS_TTL
    now = now or dt.datetime.now(dt.UTC)
    left = (next_load_at(session) - now).total_seconds()
    return int(min(MAX_TTL, max(MIN_TTL, left)))
