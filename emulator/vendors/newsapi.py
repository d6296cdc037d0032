"""NewsAPI (developer plan): /v2/everything and /v2/top-headlines."""

from __future__ import annotations

import datetime as dt
import re

from ..app import Response, VendorContext, json_response
from ..faults import Shape
from ..news import Article
from ..universe import N_SECTORS

HISTORY_DAYS = 30
DELAY = dt.timedelta(hours=24)
MAX_RESULTS = 100
CATEGORIES = ("business", "entertainment", "general", "health", "science", "sports", "technology")
# GICS sector index -> top-headlines category
SECTOR_CATEGORY = {0: "technology", 1: "health", 4: "technology"}


def _err(status: int, code: str, message: str, outcome: str = "rejected") -> Response:
    return json_response(status, {"status": "error", "code": code, "message": message}, outcome=outcome)


def _terms(q: str) -> list[str]:
    words = re.findall(r'"[^"]+"|\S+', q)
    out = []
    for w in words:
        w = w.strip('"').lstrip("+-").strip("()")
        if w and w.upper() not in ("AND", "OR", "NOT"):
            out.append(w.lower())
    return out


def _parse_when(text: str, end: bool) -> dt.datetime:
    text = text.strip()
    if len(text) == 10:
        day = dt.date.fromisoformat(text)
        t = dt.time(23, 59, 59) if end else dt.time(0, 0)
        return dt.datetime.combine(day, t, dt.UTC)
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class NewsAPI:
    vendor = "newsapi"

    def owns(self, path: str) -> bool:
        return path.rstrip("/") in ("/v2/everything", "/v2/top-headlines")

    def endpoint(self, req) -> str | None:
        return req.path.rstrip("/")

    def key(self, req) -> str | None:
        return req.arg("apiKey") or req.header("x-api-key") or None

    def not_found(self, ctx):
        return _err(404, "notFound", "The requested resource does not exist.")

    def missing_key(self, ctx):
        return _err(
            401,
            "apiKeyMissing",
            "Your API key is missing. Append this to the URL with the apiKey "
            "param, or use the x-api-key HTTP header.",
        )

    def invalid_key(self, ctx):
        if ctx.plan == "disabled":
            return _err(401, "apiKeyDisabled", "Your API key has been disabled.")
        return _err(
            401,
            "apiKeyInvalid",
            "Your API key is invalid or incorrect. Check your key, or go to "
            "https://newsapi.org to create a free API key.",
        )

    def rate_limited_body(self, ctx):
        return _err(
            429,
            "rateLimited",
            "You have made too many requests recently. Developer accounts are "
            "limited to 100 requests over a 24 hour period (50 requests available "
            "every 12 hours). Please upgrade to a paid plan if you need more "
            "requests.",
            outcome="throttled",
        )

    def throttled(self, ctx, verdict):
        return self.rate_limited_body(ctx)

    def server_error(self, ctx, status):
        return _err(
            status,
            "unexpectedError",
            "This shouldn't happen, and if it does then it's our fault, not "
            "yours. Try the request again shortly.",
            outcome="faulted",
        )

    def scope(self, ctx) -> dict:
        req = ctx.req
        return {"tickers": [], "dates": [d for d in (req.arg("from"), req.arg("to")) if d]}

    def handle(self, ctx: VendorContext) -> Response:
        if ctx.endpoint == "/v2/everything":
            return self.everything(ctx)
        return self.top_headlines(ctx)

    def _paging(self, ctx, default_size: int):
        req = ctx.req
        try:
            size = int(req.arg("pageSize") or default_size)
            page = int(req.arg("page") or 1)
        except ValueError:
            return (
                None,
                None,
                _err(400, "parameterInvalid", "The page and pageSize parameters must be integers."),
            )
        size = max(1, min(size, 100))
        if page < 1:
            return None, None, _err(400, "parameterInvalid", "The page parameter must be 1 or more.")
        if ctx.plan != "paid" and page * size > MAX_RESULTS:
            first = (page - 1) * size
            return (
                None,
                None,
                _err(
                    426,
                    "maximumResultsReached",
                    "You have requested too many results. Developer accounts are limited to a "
                    f"max of {MAX_RESULTS} results. You are trying to request results {first} to "
                    f"{first + size}. Please upgrade to a paid plan if you need more results.",
                ),
            )
        return size, page, None

    def _window(self, ctx):
        now = ctx.app.now()
        latest = now - DELAY if ctx.plan != "paid" else now
        earliest = (now - dt.timedelta(days=HISTORY_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
        return now, latest, earliest

    def _article(self, a: Article) -> dict:
        text = f"{a.summary} {a.summary}"
        content = text[:200] + f"… [+{len(text) - 200 + 1200} chars]" if len(text) > 200 else text
        return {
            "source": {"id": a.source_id, "name": a.source},
            "author": a.author,
            "title": a.title,
            "description": a.summary,
            "url": a.url,
            "urlToImage": a.image,
            "publishedAt": a.published_dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "content": content,
        }

    def _respond(self, ctx, arts: list[Article], size: int, page: int) -> Response:
        arts.sort(key=lambda a: (-a.published, a.id))
        chosen = arts[(page - 1) * size : page * size]
        out = [self._article(a) for a in chosen]
        body = {"status": "ok", "totalResults": len(arts), "articles": out}
        resp = json_response(200, body)
        resp.shape = Shape(
            rows=[(a.ticker, a.published_dt.date().isoformat(), r) for a, r in zip(chosen, out, strict=True)],
            rename=("publishedAt", "published_at"),
            new_field=("language", "en"),
            numeric=(),
            container=out,
        )
        return resp

    def _match(self, arts: list[Article], terms: list[str]) -> list[Article]:
        """Articles whose title or description holds any of the terms as whole words."""
        if not terms:
            return arts
        patterns = [re.compile(r"(?<![\w.-])" + re.escape(t) + r"(?![\w-])", re.I) for t in terms]
        return [a for a in arts if any(p.search(f"{a.title} {a.summary}") for p in patterns)]

    def _candidate_slots(self, ctx, terms: list[str], t_lo: int, t_hi: int):
        """Slots whose ticker news can match the terms, or None when any article might."""
        uni = ctx.app.universe
        slots: set[int] = set()
        gens = {(s, int(g)) for t in (t_lo, t_hi) for s, g in enumerate(uni.gen_at(t))}
        words = {}
        for s, g in gens:
            x = uni.listing(s, g)
            words[(s, g)] = set(re.findall(r"[\w.&'-]+", f"{x.symbol} {x.name} {x.sector_name}".lower()))
        for term in terms:
            matched = {s for (s, g), w in words.items() if term in w or all(p in w for p in term.split())}
            if not matched:
                return None
            slots |= matched
        return sorted(slots)

    def everything(self, ctx: VendorContext) -> Response:
        req = ctx.req
        q = req.arg("q") or req.arg("qInTitle")
        sources = [s for s in (req.arg("sources") or "").split(",") if s]
        domains = [s for s in (req.arg("domains") or "").split(",") if s]
        if not (q or sources or domains):
            return _err(
                400,
                "parametersMissing",
                "Required parameters are missing, the scope of your search is "
                "too broad. Please set any of the following required parameters "
                "and try again: q, qInTitle, sources, domains.",
            )
        size, page, error = self._paging(ctx, 100)
        if error:
            return error
        now, latest, earliest = self._window(ctx)
        try:
            start = _parse_when(req.arg("from"), False) if req.arg("from") else earliest
            end = _parse_when(req.arg("to"), True) if req.arg("to") else latest
        except ValueError:
            return _err(
                400, "parameterInvalid", "The from and to parameters must be ISO 8601 dates or times."
            )
        if ctx.plan != "paid" and start < earliest:
            return _err(
                426,
                "parameterInvalid",
                "You are trying to request results too far in the past. Your plan permits you to request "
                f"articles as far back as {earliest.date().isoformat()}, but you have requested "
                f"{start.date().isoformat()}. You may need to upgrade to a paid plan.",
            )
        end = min(end, latest)
        language = req.arg("language")
        if language and language != "en" or start > end:
            return self._respond(ctx, [], size, page)
        app = ctx.app
        t_lo, t_hi = app.news.session_window(start, end)
        terms = _terms(q or "")
        slots = self._candidate_slots(ctx, terms, t_lo, max(t_hi, t_lo)) if terms else None
        arts: list[Article] = []
        for t in range(t_lo, t_hi + 1):
            if slots is None:
                arts += app.news.for_session(t)
            else:
                arts += (
                    app.news.for_session(t, slots=slots) if slots else app.news.for_session(t, tickers=False)
                )
        lo_s, hi_s = start.timestamp(), end.timestamp()
        arts = [a for a in arts if lo_s <= a.published <= hi_s]
        if sources:
            arts = [a for a in arts if a.source_id in sources]
        if domains:
            arts = [a for a in arts if any(a.domain.endswith(d) for d in domains)]
        if req.arg("qInTitle") and not req.arg("q"):
            arts = [a for a in arts if any(t in a.title.lower() for t in terms)]
        else:
            arts = self._match(arts, terms)
        return self._respond(ctx, arts, size, page)

    def top_headlines(self, ctx: VendorContext) -> Response:
        req = ctx.req
        country, category, q = req.arg("country"), req.arg("category"), req.arg("q")
        sources = [s for s in (req.arg("sources") or "").split(",") if s]
        if not (country or category or q or sources):
            return _err(
                400,
                "parametersMissing",
                "Required parameters are missing. Please set any of the following "
                "parameters and try again: sources, q, language, country, "
                "category.",
            )
        if sources and (country or category):
            return _err(
                400,
                "parametersIncompatible",
                "You cannot mix the sources parameter with the country or category parameters.",
            )
        if category and category not in CATEGORIES:
            return _err(400, "parameterInvalid", f"The category parameter is invalid: {category}.")
        size, page, error = self._paging(ctx, 20)
        if error:
            return error
        if country and country.lower() != "us":
            return self._respond(ctx, [], size, page)
        app = ctx.app
        now, latest, _ = self._window(ctx)
        start = latest - dt.timedelta(days=3)
        t_lo, t_hi = app.news.session_window(start, latest)
        arts: list[Article] = []
        for t in range(t_lo, t_hi + 1):
            arts += app.news.for_session(t, tickers=False)
        lo_s, hi_s = start.timestamp(), latest.timestamp()
        arts = [a for a in arts if lo_s <= a.published <= hi_s]
        if category:
            arts = [a for a in arts if self._category(a) == category]
        if sources:
            arts = [a for a in arts if a.source_id in sources]
        arts = self._match(arts, _terms(q or ""))
        return self._respond(ctx, arts, size, page)

    def _category(self, a: Article) -> str:
        if a.kind == "market":
            return "business"
        from ..universe import SECTOR_NAMES

        idx = SECTOR_NAMES.index(a.sector) if a.sector in SECTOR_NAMES else N_SECTORS
        return SECTOR_CATEGORY.get(idx, "business")
