"""One normalised news record, and adapters from each vendor's payload items.

Adapters take an item exactly as the vendor sends it (field names and formats verbatim, nested
lists and objects as such); `raw.py` rebuilds that shape from the raw tables. An item that
cannot be scored (no headline, no time, no URL or id, NewsAPI's "[Removed]") gives None.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

Source = Literal["finnhub", "alphavantage", "newsapi"]
# Also the tie-break when several vendors carry the same article: the first one's text is scored.
SOURCES: tuple[Source, ...] = ("finnhub", "alphavantage", "newsapi")

# Alpha Vantage writes `time_published` without a zone. Its other endpoints report US/Eastern,
# and the emulator (written from the vendor notes) publishes New York wall time.
ALPHAVANTAGE_ZONE = ZoneInfo("America/New_York")

_TRACKING_PARAM = re.compile(
    r"utm_\w+|fbclid|gclid|dclid|mc_cid|mc_eid|ocid|cmpid|ncid|taid|mod|guccounter"
    r"|guce_referrer(?:_sig)?|soc_src|soc_trk|feedtype|src|ref"
)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TickerMention:
    ticker: str
    # vendor: the vendor tagged it; cashtag ($AAPL), exchange (NASDAQ: AAPL), symbol ((AAPL) or
    # a bare AAPL), name (the company's name): matched in the text, see tickers.py.
    method: str
    relevance: float | None = None
    vendor_score: float | None = None
    vendor_label: str | None = None


@dataclass(frozen=True)
class NewsArticle:
    source: Source
    source_id: str
    url: str  # canonical, see canonical_url
    published_at: dt.datetime  # timezone-aware
    headline: str
    summary: str = ""
    publisher: str | None = None
    tickers: tuple[TickerMention, ...] = ()
    # The vendor's own overall sentiment (Alpha Vantage), kept to compare with ours.
    vendor_score: float | None = None
    vendor_label: str | None = None

    @property
    def text(self) -> str:
        return article_text(self.headline, self.summary)


def article_text(headline: str, summary: str) -> str:
    """What a scorer reads: the headline, then the summary (truncation drops the summary's end)."""
    if not summary or summary == headline:
        return headline
    joiner = " " if headline.endswith((".", "!", "?", ":")) else ". "
    return f"{headline}{joiner}{summary}"


def canonical_url(url: str) -> str:
    """The URL with scheme, `www.`, fragment, trailing slash and tracking parameters dropped, so
    that copies of one article reached through different feeds compare equal."""
    url = url.strip()
    parts = urlsplit(url)
    if not parts.netloc or parts.hostname is None:
        return url
    host = parts.hostname.lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _TRACKING_PARAM.fullmatch(k.lower()))
    return urlunsplit(("https", host, parts.path.rstrip("/"), urlencode(query), ""))


def clean_text(value: Any) -> str:
    """Plain text from a vendor string: entities decoded, tags and runs of whitespace removed."""
    if not isinstance(value, str):
        return ""
    return _SPACE.sub(" ", _TAG.sub(" ", html.unescape(value))).strip()


def symbol(value: Any) -> str:
    """A ticker as vendors spell it, upper-cased; empty when there is none."""
    return str(value or "").strip().lstrip("$").upper()


def _float(value: Any) -> float | None:
    # Alpha Vantage sends numbers as strings, and "None" or "-" for missing values.
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _source_id(item_id: Any, url: str) -> str:
    return str(item_id) if item_id not in (None, "", 0, "0") else url


def from_finnhub(item: Mapping[str, Any]) -> NewsArticle | None:
    """A `/company-news` item: {category, datetime (epoch s), headline, id, image, related,
    source, summary, url}; `related` may list several symbols, comma-separated."""
    headline, url = clean_text(item.get("headline")), canonical_url(str(item.get("url") or ""))
    try:
        published = dt.datetime.fromtimestamp(int(item["datetime"]), dt.UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    if not headline or not (url or item.get("id")) or published.timestamp() <= 0:
        return None
    related = [symbol(s) for s in str(item.get("related") or "").split(",")]
    return NewsArticle(
        source="finnhub",
        source_id=_source_id(item.get("id"), url),
        url=url,
        published_at=published,
        headline=headline,
        summary=clean_text(item.get("summary")),
        publisher=clean_text(item.get("source")) or None,
        tickers=tuple(TickerMention(s, "vendor") for s in dict.fromkeys(related) if s),
    )


def from_alphavantage(item: Mapping[str, Any]) -> NewsArticle | None:
    """A NEWS_SENTIMENT `feed` item; its overall and per-ticker sentiment are kept as the vendor's.
    Non-equity tags (CRYPTO:BTC, FOREX:USD) are not tickers."""
    headline, url = clean_text(item.get("title")), canonical_url(str(item.get("url") or ""))
    stamp = str(item.get("time_published") or "")
    try:
        wall = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S" if len(stamp) == 15 else "%Y%m%dT%H%M")
    except ValueError:
        return None
    if not headline or not url:
        return None
    mentions = {}
    for entry in item.get("ticker_sentiment") or ():
        ticker = symbol(entry.get("ticker"))
        if ticker and ":" not in ticker and ticker not in mentions:
            mentions[ticker] = TickerMention(
                ticker, "vendor",
                relevance=_float(entry.get("relevance_score")),
                vendor_score=_float(entry.get("ticker_sentiment_score")),
                vendor_label=entry.get("ticker_sentiment_label") or None,
            )
    return NewsArticle(
        source="alphavantage",
        source_id=url,
        url=url,
        published_at=wall.replace(tzinfo=ALPHAVANTAGE_ZONE),
        headline=headline,
        summary=clean_text(item.get("summary")),
        publisher=clean_text(item.get("source")) or None,
        tickers=tuple(mentions.values()),
        vendor_score=_float(item.get("overall_sentiment_score")),
        vendor_label=item.get("overall_sentiment_label") or None,
    )


def from_newsapi(item: Mapping[str, Any]) -> NewsArticle | None:
    """An `articles` item: {source: {id, name}, author, title, description, url, urlToImage,
    publishedAt (ISO 8601), content}. NewsAPI tags no tickers: tickers.py finds them."""
    headline, url = clean_text(item.get("title")), canonical_url(str(item.get("url") or ""))
    if not headline or headline == "[Removed]" or not url:
        return None
    try:
        published = dt.datetime.fromisoformat(str(item.get("publishedAt") or ""))
    except ValueError:
        return None
    if published.tzinfo is None:
        published = published.replace(tzinfo=dt.UTC)
    source = item.get("source")
    publisher = clean_text(source.get("name")) if isinstance(source, Mapping) else ""
    return NewsArticle(
        source="newsapi",
        source_id=url,
        url=url,
        published_at=published,
        headline=headline,
        summary=clean_text(item.get("description")),
        publisher=publisher or None,
    )


ADAPTERS = {"finnhub": from_finnhub, "alphavantage": from_alphavantage, "newsapi": from_newsapi}
