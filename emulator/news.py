"""News articles whose tone follows the market, with the ground truth kept here.

Every article is a pure function of (seed, session, entity, k): an entity is a universe slot
(the ticker listed there that day), a sector, or the whole market. The number of articles and
the latent tone of a ticker's news on a session come from the market model (big moves bring
more news); the article's own score adds a little noise, and its ground-truth label is the
score's sign class. Article ids encode (session, entity, k), so a label can be looked up from
an id or a url alone. Articles appear after the session's close, so they describe the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from . import rng
from .market import BLOCK, F_GEN, F_NEWS, F_RET, F_TONE, MAX_NEWS, Market
from .universe import N_SECTORS, SECTORS, Universe

ID_OFFSET = 1_000_000
SLOTS_PER_ID = 8  # k < 8; MAX_NEWS is 6
SECTOR_ARTICLES = 2
MARKET_ARTICLES = 2
POSITIVE, NEGATIVE = 0.25, -0.25

# (display name, NewsAPI source id or None, domain)
SOURCES = [
    ("Reuters", "reuters", "reuters.example.com"),
    ("Bloomberg", "bloomberg", "bloomberg.example.com"),
    ("CNBC", "cnbc", "cnbc.example.com"),
    ("The Wall Street Journal", "the-wall-street-journal", "wsj.example.com"),
    ("Business Insider", "business-insider", "businessinsider.example.com"),
    ("MarketWatch", None, "marketwatch.example.com"),
    ("Benzinga", None, "benzinga.example.com"),
    ("Seeking Alpha", None, "seekingalpha.example.com"),
    ("The Motley Fool", None, "fool.example.com"),
    ("Yahoo Finance", None, "finance.yahoo.example.com"),
]
AUTHORS = [
    "Jane Whitaker",
    "Marcus Lee",
    "Priya Raman",
    "Tom Okafor",
    "Elena Petrova",
    "David Kim",
    "Sofia Alvarez",
    "Liam O'Connor",
    "Hannah Becker",
    "Omar Haddad",
]

_POS_MOVE = [
    "{name} ({ticker}) shares jump {pct}% as investors cheer strong results",
    "{name} stock climbs {pct}% after upbeat outlook",
    "{ticker} rallies {pct}% on analyst upgrade",
    "{name} gains {pct}% as demand beats expectations",
    "{name} surges {pct}% to a record high",
]
_POS_FLAT = [
    "{name} wins major contract, boosting growth prospects",
    "{name} announces share buyback and raises dividend",
    "Analysts upgrade {name} ({ticker}) on strong momentum",
]
_NEG_MOVE = [
    "{name} ({ticker}) shares slide {pct}% after disappointing quarter",
    "{name} stock falls {pct}% on weak guidance",
    "{ticker} drops {pct}% as analysts downgrade the shares",
    "{name} tumbles {pct}% amid lawsuit concerns",
    "{name} sinks {pct}% as losses widen",
]
_NEG_FLAT = [
    "{name} faces regulatory probe over accounting",
    "{name} cuts outlook, warns of weak demand",
    "Analysts downgrade {name} ({ticker}) on deteriorating margins",
]
_NEUTRAL = [
    "{name} ({ticker}) shares little changed as investors await earnings",
    "{name} stock steady after company reaffirms guidance",
    "{ticker} holds steady in quiet trading",
    "{name} sets date for annual shareholder meeting",
    "What to watch for {name} next week",
]
_POS_WHY = [
    "revenue beat analyst estimates",
    "the company raised its full-year forecast",
    "margins improved more than expected",
    "a new product line drew strong orders",
]
_NEG_WHY = [
    "revenue missed analyst estimates",
    "the company cut its full-year forecast",
    "margins shrank on rising costs",
    "a key customer scaled back orders",
]
_NEU_WHY = [
    "results are due later this month",
    "management repeated its earlier guidance",
    "trading volume was close to its average",
    "analysts kept their ratings unchanged",
]
_SECTOR_POS = [
    "{sector} stocks rally as investors rotate into the sector",
    "{sector} shares climb on upbeat industry data",
]
_SECTOR_NEG = [
    "{sector} stocks slump as investors pull back",
    "{sector} shares fall on worries about slowing demand",
]
_SECTOR_NEU = ["{sector} stocks mixed in choppy session", "{sector} sector little changed"]
_MARKET_POS = [
    "Stocks rise as Wall Street cheers strong economic data",
    "US stocks rally, led by broad gains",
]
_MARKET_NEG = ["Stocks fall as Wall Street worries about rates", "US stocks slide in broad selloff"]
_MARKET_NEU = [
    "US stocks end little changed ahead of economic data",
    "Wall Street flat as investors await central bank",
]


def label_of(score: float) -> str:
    if score > POSITIVE:
        return "positive"
    if score < NEGATIVE:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class Article:
    id: int
    kind: str  # "ticker", "sector" or "market"
    session: int
    entity: int
    k: int
    ticker: str | None
    name: str | None
    sector: str | None
    published: int  # epoch seconds
    source: str
    source_id: str | None
    domain: str
    author: str | None
    title: str
    summary: str
    url: str
    image: str
    score: float
    label: str
    ret: float

    @property
    def published_dt(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.published, dt.UTC)


class News:
    def __init__(self, seed: int, market: Market, universe: Universe):
        self.seed = seed
        self.market = market
        self.uni = universe
        self.cal = market.cal
        self.entities = universe.n + N_SECTORS + 1
        self._cache: dict[int, Article] = {}

    # -- ids ------------------------------------------------------------------------------
    def article_id(self, t: int, entity: int, k: int) -> int:
        return ID_OFFSET + (t * self.entities + entity) * SLOTS_PER_ID + k

    def decode(self, article_id: int) -> tuple[int, int, int] | None:
        x = article_id - ID_OFFSET
        if x < 0:
            return None
        k = x % SLOTS_PER_ID
        x //= SLOTS_PER_ID
        return x // self.entities, x % self.entities, k

    def by_id(self, article_id: int) -> Article | None:
        dec = self.decode(article_id)
        if dec is None:
            return None
        t, entity, k = dec
        if t >= len(self.cal):
            return None
        if entity < self.uni.n:
            col = self.market.slot_block(entity, t // BLOCK)[:, t % BLOCK]
            if k >= int(col[F_NEWS]):
                return None
            return self.ticker_article(t, entity, int(col[F_GEN]), k, float(col[F_TONE]), float(col[F_RET]))
        if entity < self.uni.n + N_SECTORS:
            return self.sector_article(t, entity - self.uni.n, k) if k < SECTOR_ARTICLES else None
        return self.market_article(t, k) if k < MARKET_ARTICLES else None

    def by_url(self, url: str) -> Article | None:
        tail = url.rstrip("/").rsplit("-", 1)[-1]
        return self.by_id(int(tail)) if tail.isdigit() else None

    # -- building articles ---------------------------------------------------------------------
    def _common(self, aid: int, t: int):
        h = rng.hash_u64(self.seed, "article", aid)
        src = SOURCES[h % len(SOURCES)]
        author = None if (h >> 8) % 5 == 0 else AUTHORS[(h >> 12) % len(AUTHORS)]
        minutes = 5 + (h >> 20) % 270
        published = int(self.cal.close_s[t]) + 60 * minutes
        noise = float(rng.logit(np.array(rng.hash_uniform(self.seed, "anoise", aid))))
        return h, src, author, published, noise

    def _finish(
        self,
        aid,
        kind,
        t,
        entity,
        k,
        ticker,
        name,
        sector,
        title,
        summary,
        score,
        ret,
        h,
        src,
        author,
        published,
    ) -> Article:
        day = dt.datetime.fromtimestamp(published, dt.UTC)
        slug = "-".join(w for w in "".join(c.lower() if c.isalnum() else " " for c in title).split()[:8])
        url = f"https://{src[2]}/markets/{day:%Y/%m/%d}/{slug}-{aid}"
        image = f"https://{src[2]}/images/{aid}.jpg"
        art = Article(
            id=aid,
            kind=kind,
            session=t,
            entity=entity,
            k=k,
            ticker=ticker,
            name=name,
            sector=sector,
            published=published,
            source=src[0],
            source_id=src[1],
            domain=src[2],
            author=author,
            title=title,
            summary=summary,
            url=url,
            image=image,
            score=round(score, 4),
            label=label_of(score),
            ret=ret,
        )
        return art

    def ticker_article(self, t: int, slot: int, gen: int, k: int, tone: float, ret: float) -> Article:
        aid = self.article_id(t, slot, k)
        hit = self._cache.get(aid)
        if hit is not None:
            return hit
        listing = self.uni.listing(slot, gen)
        h, src, author, published, noise = self._common(aid, t)
        score = float(np.clip(tone + 0.12 * noise, -1.0, 1.0))
        label = label_of(score)
        pct = f"{abs(ret) * 100:.1f}"
        name = listing.name.replace(" American Depositary Shares", "")
        fields = {"name": name, "ticker": listing.symbol, "pct": pct}
        pick = (h >> 28) % 997
        moved_up, moved_down = ret > 0.004, ret < -0.004
        if label == "positive":
            templates, why = (_POS_MOVE if moved_up else _POS_FLAT), _POS_WHY
        elif label == "negative":
            templates, why = (_NEG_MOVE if moved_down else _NEG_FLAT), _NEG_WHY
        else:
            templates, why = _NEUTRAL, _NEU_WHY
        title = templates[pick % len(templates)].format(**fields)
        direction = "rose" if ret > 0 else "fell"
        sector = listing.sector_name or "exchange-traded fund"
        summary = (
            f"Shares of {name} ({listing.symbol}) {direction} {pct}% on "
            f"{self.cal.date(t):%A} after {why[(pick // 7) % len(why)]}. "
            f"The company is part of the {sector} sector."
        )
        art = self._finish(
            aid,
            "ticker",
            t,
            slot,
            k,
            listing.symbol,
            name,
            listing.sector_name or None,
            title,
            summary,
            score,
            ret,
            h,
            src,
            author,
            published,
        )
        self._remember(art)
        return art

    def _factor_article(
        self, kind: str, t: int, entity: int, k: int, factor_ret: float, scale: float, sector: str | None
    ) -> Article:
        aid = self.article_id(t, entity, k)
        hit = self._cache.get(aid)
        if hit is not None:
            return hit
        h, src, author, published, noise = self._common(aid, t)
        z = factor_ret / scale
        x = 0.9 * z + 0.5 * noise
        score = float(np.clip(x / np.sqrt(1.0 + x * x) + 0.05 * noise, -1.0, 1.0))
        label = label_of(score)
        pick = (h >> 28) % 997
        if kind == "sector":
            pool = {"positive": _SECTOR_POS, "negative": _SECTOR_NEG, "neutral": _SECTOR_NEU}[label]
            title = pool[pick % len(pool)].format(sector=sector)
            summary = (
                f"{sector} stocks moved {factor_ret * 100:+.1f}% on {self.cal.date(t):%A} "
                f"relative to the broader market."
            )
        else:
            pool = {"positive": _MARKET_POS, "negative": _MARKET_NEG, "neutral": _MARKET_NEU}[label]
            title = pool[pick % len(pool)]
            summary = f"The broad US stock market moved {factor_ret * 100:+.1f}% on {self.cal.date(t):%A}."
        art = self._finish(
            aid,
            kind,
            t,
            entity,
            k,
            None,
            None,
            sector,
            title,
            summary,
            score,
            factor_ret,
            h,
            src,
            author,
            published,
        )
        self._remember(art)
        return art

    def sector_article(self, t: int, sector: int, k: int) -> Article:
        fb = self.market.factor_block(t // BLOCK)
        return self._factor_article(
            "sector", t, self.uni.n + sector, k, float(fb[1 + sector, t % BLOCK]), 0.006, SECTORS[sector][0]
        )

    def market_article(self, t: int, k: int) -> Article:
        fb = self.market.factor_block(t // BLOCK)
        return self._factor_article(
            "market", t, self.uni.n + N_SECTORS, k, float(fb[0, t % BLOCK]), 0.009, None
        )

    def _remember(self, art: Article) -> None:
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[art.id] = art

    # -- queries --------------------------------------------------------------------------------
    def for_listing(self, slot: int, gen: int, t_from: int, t_to: int) -> list[Article]:
        """A listing's articles over sessions t_from..t_to, oldest first."""
        t_from = max(t_from, 0)
        if t_to < t_from:
            return []
        col = self.market.column(slot, t_from, t_to)
        out = []
        for j in np.nonzero((col[F_NEWS] > 0) & (col[F_GEN] == gen))[0]:
            for k in range(int(col[F_NEWS, j])):
                out.append(
                    self.ticker_article(
                        t_from + int(j), slot, gen, k, float(col[F_TONE, j]), float(col[F_RET, j])
                    )
                )
        return out

    def for_session(
        self,
        t: int,
        slots: np.ndarray | None = None,
        tickers: bool = True,
        sectors: bool = True,
        market: bool = True,
    ) -> list[Article]:
        """Every article of session t (optionally only some slots' ticker news)."""
        out: list[Article] = []
        if market:
            out += [self.market_article(t, k) for k in range(MARKET_ARTICLES)]
        if sectors:
            out += [self.sector_article(t, s, k) for s in range(N_SECTORS) for k in range(SECTOR_ARTICLES)]
        if tickers:
            row = self.market.row(t)
            counts = row[F_NEWS]
            idx = np.nonzero(counts > 0)[0]
            if slots is not None:
                idx = np.intersect1d(idx, slots)
            for slot in idx.tolist():
                for k in range(int(counts[slot])):
                    out.append(
                        self.ticker_article(
                            t,
                            slot,
                            int(row[F_GEN, slot]),
                            k,
                            float(row[F_TONE, slot]),
                            float(row[F_RET, slot]),
                        )
                    )
        return out

    def session_window(self, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
        """Sessions whose articles (published after the close) can fall in [start, end]."""
        lo = self.cal.index_on_or_after((start - dt.timedelta(days=1)).date())
        hi = self.cal.index_on_or_before(end.date())
        return max(lo, 0), hi


__all__ = ["Article", "News", "label_of", "MAX_NEWS"]
