"""Finnhub: quote, company news, profile2, metric; candles are premium."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from .. import rng
from ..app import Response, VendorContext, json_response
from ..faults import Shape
from ..fundamentals import snapshot
from ..market import F_C, F_H, F_L, F_O, F_PC, F_V
from ..universe import SECTORS

ENDPOINTS = {
    "/api/v1/quote": "quote",
    "/api/v1/company-news": "company_news",
    "/api/v1/stock/profile2": "profile2",
    "/api/v1/stock/metric": "metric",
    "/api/v1/stock/candle": "candle",
}
EXCHANGE_NAMES = {
    "XNYS": "NEW YORK STOCK EXCHANGE, INC.",
    "XNAS": "NASDAQ NMS - GLOBAL MARKET",
    "XASE": "NYSE MKT LLC",
    "ARCX": "NYSE ARCA",
    "BATS": "CBOE BZX U.S. EQUITIES EXCHANGE",
}
ZERO_QUOTE = {"c": 0, "d": None, "dp": None, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0}
NEWS_HISTORY_DAYS = 365


class Finnhub:
    vendor = "finnhub"

    def owns(self, path: str) -> bool:
        return path.startswith("/api/v1/")

    def endpoint(self, req) -> str | None:
        return req.path.rstrip("/") if req.path.rstrip("/") in ENDPOINTS else None

    def key(self, req) -> str | None:
        return req.arg("token") or req.header("x-finnhub-token") or None

    def _err(self, status: int, text: str, **kw) -> Response:
        return json_response(status, {"error": text}, **kw)

    def not_found(self, ctx):
        return Response(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")

    def missing_key(self, ctx):
        return self._err(401, "Please use an API key.")

    def invalid_key(self, ctx):
        return self._err(401, "Invalid API key")

    def rate_limited_body(self, ctx):
        return self._err(429, "API limit reached. Please try again later. Remaining Limit: 0")

    def throttled(self, ctx, verdict):
        resp = self.rate_limited_body(ctx)
        self._limit_headers(ctx, resp, verdict)
        return resp

    def server_error(self, ctx, status):
        return self._err(status, "Internal server error")

    def _limit_headers(self, ctx, resp: Response, verdict) -> None:
        if verdict is None or verdict.limit is None:
            return
        now = ctx.app.now().timestamp()
        resp.headers["X-Ratelimit-Limit"] = str(verdict.limit)
        resp.headers["X-Ratelimit-Remaining"] = str(max(0, verdict.remaining or 0))
        resp.headers["X-Ratelimit-Reset"] = str(int(math.ceil(now + (verdict.reset_in or 0))))

    def scope(self, ctx) -> dict:
        req = ctx.req
        return {
            "tickers": [req.arg("symbol")] if req.arg("symbol") else [],
            "dates": [d for d in (req.arg("from"), req.arg("to")) if d],
        }

    def handle(self, ctx: VendorContext) -> Response:
        name = ENDPOINTS[ctx.endpoint]
        resp = getattr(self, name)(ctx)
        self._limit_headers(ctx, resp, ctx.verdict)
        return resp

    def _listing(self, ctx, latest: int):
        """(slot, gen, listing, session) of the symbol as of the latest session, or None."""
        app = ctx.app
        hit = app.universe.lookup(ctx.req.arg("symbol") or "", strict=True)
        if hit is None:
            return None
        slot, gen = hit
        listing = app.universe.listing(slot, gen)
        t = min(latest, listing.end)
        if t < max(listing.start, 0):
            return None
        return slot, gen, listing, t

    # -- quote -------------------------------------------------------------------------------
    def _quote_at(self, app, slot: int, t: int) -> dict:
        col = app.market.column(slot, t, t)[:, 0]
        c, pc = float(col[F_C]), float(col[F_PC])
        return {
            "c": c,
            "d": round(c - pc, 4),
            "dp": round((c / pc - 1.0) * 100.0, 4),
            "h": float(col[F_H]),
            "l": float(col[F_L]),
            "o": float(col[F_O]),
            "pc": pc,
            "t": int(app.calendar.close_s[t]),
        }

    def quote(self, ctx: VendorContext) -> Response:
        app = ctx.app
        symbol = ctx.req.arg("symbol") or ""
        found = self._listing(ctx, app.latest_session())
        if found is None:
            return json_response(200, dict(ZERO_QUOTE), scope={"tickers": [symbol]})
        slot, gen, listing, t = found
        body = self._quote_at(app, slot, t)
        day = app.calendar.date(t).isoformat()
        resp = json_response(200, body, scope={"tickers": [listing.symbol], "dates": [day]})

        def stale(_: int) -> dict | None:
            if t - 1 < max(listing.start, 0):
                return None
            return self._quote_at(app, slot, t - 1)

        resp.shape = Shape(
            rows=[(listing.symbol, day, body)],
            prices=("c", "o", "h", "l", "pc"),
            high="h",
            low="l",
            rename=("pc", "prevClose"),
            new_field=("v", None),
            numeric=("c", "pc", "o"),
            stale=stale,
        )
        return resp

    # -- company news -------------------------------------------------------------------------------
    def company_news(self, ctx: VendorContext) -> Response:
        app = ctx.app
        req = ctx.req
        symbol = req.arg("symbol")
        if not symbol:
            return self._err(422, "Missing symbol", outcome="rejected")
        try:
            day_from = dt.date.fromisoformat(req.arg("from") or "")
            day_to = dt.date.fromisoformat(req.arg("to") or "")
        except ValueError:
            return self._err(422, "Wrong date format. Please use YYYY-MM-DD.", outcome="rejected")
        scope = {"tickers": [symbol], "dates": [day_from.isoformat(), day_to.isoformat()]}
        hit = app.universe.lookup(symbol, strict=True)
        if hit is None:
            return json_response(200, [], scope=scope)
        slot, gen = hit
        now = app.now()
        if ctx.plan != "paid":
            day_from = max(day_from, (now - dt.timedelta(days=NEWS_HISTORY_DAYS)).date())
        lo = max(app.calendar.index_on_or_after(day_from - dt.timedelta(days=1)), 0)
        hi = min(app.calendar.index_on_or_before(day_to), app.calendar.index_on_or_before(now.date()))
        arts = app.news.for_listing(slot, gen, lo, hi)
        now_s = now.timestamp()
        out = []
        for a in sorted(arts, key=lambda a: (-a.published, a.id)):
            day = a.published_dt.date()
            if day_from <= day <= day_to and a.published <= now_s:
                out.append(
                    {
                        "category": "company",
                        "datetime": a.published,
                        "headline": a.title,
                        "id": a.id,
                        "image": a.image,
                        "related": a.ticker,
                        "source": a.source,
                        "summary": a.summary,
                        "url": a.url,
                    }
                )
        resp = json_response(200, out, scope=scope)
        resp.shape = Shape(
            rows=[
                (r["related"], dt.datetime.fromtimestamp(r["datetime"], dt.UTC).date().isoformat(), r)
                for r in out
            ],
            rename=("headline", "title"),
            new_field=("sentiment", None),
            numeric=("datetime", "id"),
            container=out,
        )
        return resp

    # -- profile2 -----------------------------------------------------------------------------------
    def profile2(self, ctx: VendorContext) -> Response:
        app = ctx.app
        found = self._listing(ctx, app.latest_session())
        if found is None:
            return json_response(200, {}, scope={"tickers": [ctx.req.arg("symbol") or ""]})
        slot, gen, x, t = found
        snap = snapshot(app.market, slot, gen, t, app.today())
        industry = "N/A" if x.type == "ETF" else SECTORS[x.sector][2][x.industry][1]
        slug = "".join(ch for ch in x.name.split(" ")[0].lower() if ch.isalnum()) or "company"
        h = rng.hash_u64(app.seed, "phone", slot, gen)
        body = {
            "country": x.country,
            "currency": "USD",
            "estimateCurrency": "USD",
            "exchange": EXCHANGE_NAMES[x.exchange],
            "finnhubIndustry": industry,
            "ipo": x.ipo.isoformat(),
            "logo": f"https://static.finnhub.example.com/logo/{x.symbol}.png",
            "marketCapitalization": round(snap["market_cap"] / 1e6, 4),
            "name": x.name,
            "phone": f"1{h % 900 + 100:03d}555{h % 10000:04d}",
            "shareOutstanding": round(snap["shares"] / 1e6, 4),
            "ticker": x.symbol,
            "weburl": f"https://www.{slug}.example.com/",
        }
        resp = json_response(
            200, body, scope={"tickers": [x.symbol], "dates": [app.calendar.date(t).isoformat()]}
        )
        resp.shape = Shape(
            rows=[(x.symbol, None, body)],
            prices=("marketCapitalization",),
            rename=("marketCapitalization", "marketCap"),
            new_field=("isin", None),
            numeric=("marketCapitalization", "shareOutstanding"),
        )
        return resp

    # -- metric -------------------------------------------------------------------------------------
    def metric(self, ctx: VendorContext) -> Response:
        app = ctx.app
        symbol = ctx.req.arg("symbol") or ""
        found = self._listing(ctx, app.latest_session())
        if found is None:
            return json_response(
                200,
                {"metric": {}, "metricType": ctx.req.arg("metric") or "all", "series": {}, "symbol": symbol},
                scope={"tickers": [symbol]},
            )
        slot, gen, x, t = found
        s = snapshot(app.market, slot, gen, t, app.today())
        metric = {
            "10DayAverageTradingVolume": round(s["avgvol10"] / 1e6, 5),
            "13WeekPriceReturnDaily": s["ret13w"],
            "26WeekPriceReturnDaily": s["ret26w"],
            "3MonthAverageTradingVolume": round(s["avgvol3m"] / 1e6, 5),
            "52WeekHigh": s["high52"],
            "52WeekHighDate": s["high52_date"].isoformat(),
            "52WeekLow": s["low52"],
            "52WeekLowDate": s["low52_date"].isoformat(),
            "52WeekPriceReturnDaily": s["ret52w"],
            "5DayPriceReturnDaily": s["ret5d"],
            "beta": s["beta"],
            "bookValuePerShareQuarterly": s["book"],
            "dividendPerShareAnnual": s["dividend_ps"] if s["dividend_ps"] else None,
            "dividendYieldIndicatedAnnual": round(s["dividend_yield"] * 100, 4)
            if s["dividend_yield"]
            else None,
            "epsTTM": s["eps_ttm"],
            "marketCapitalization": round(s["market_cap"] / 1e6, 4),
            "netProfitMarginTTM": round(s["profit_margin"] * 100, 4),
            "pbQuarterly": s["pb"],
            "peTTM": s["pe"],
            "revenuePerShareTTM": s["revenue_ps"],
        }
        series = {
            "annual": {"eps": [{"period": d.isoformat(), "v": v} for d, v in s["annual"]]},
            "quarterly": {"eps": [{"period": d.isoformat(), "v": v} for d, v in s["quarters"]]},
        }
        body = {
            "metric": metric,
            "metricType": ctx.req.arg("metric") or "all",
            "series": series,
            "symbol": x.symbol,
        }
        resp = json_response(
            200, body, scope={"tickers": [x.symbol], "dates": [app.calendar.date(t).isoformat()]}
        )
        resp.shape = Shape(
            rows=[(x.symbol, None, metric)],
            prices=("52WeekHigh", "52WeekLow"),
            high="52WeekHigh",
            low="52WeekLow",
            volume="10DayAverageTradingVolume",
            rename=("peTTM", "peBasicExclExtraTTM"),
            new_field=("peNormalizedAnnual", None),
            numeric=("52WeekHigh", "beta", "epsTTM"),
        )
        return resp

    # -- candles (premium) ----------------------------------------------------------------------------
    def candle(self, ctx: VendorContext) -> Response:
        if ctx.plan != "paid":
            return self._err(403, "You don't have access to this resource.", outcome="rejected")
        app = ctx.app
        req = ctx.req
        try:
            t_from, t_to = int(req.arg("from") or ""), int(req.arg("to") or "")
        except ValueError:
            return self._err(422, "Wrong from/to parameters", outcome="rejected")
        if (req.arg("resolution") or "D") not in ("D", "1D"):
            return json_response(200, {"s": "no_data"})
        hit = app.universe.lookup(req.arg("symbol") or "", strict=True)
        if hit is None:
            return json_response(200, {"s": "no_data"})
        slot, gen = hit
        x = app.universe.listing(slot, gen)
        cal = app.calendar
        lo = max(int(np.searchsorted(cal.close_s, t_from, side="left")), x.start, 0)
        hi = min(int(np.searchsorted(cal.close_s, t_to, side="right")) - 1, app.latest_session(), x.end)
        if hi < lo:
            return json_response(200, {"s": "no_data"})
        col = app.market.column(slot, lo, hi)
        ts = np.arange(lo, hi + 1)
        f = app.market.split_factor(
            np.full(len(ts), slot), np.full(len(ts), gen), ts, cal.index_on_or_before(app.today())
        )
        body = {
            "c": np.round(col[F_C] / f, 4).tolist(),
            "h": np.round(col[F_H] / f, 4).tolist(),
            "l": np.round(col[F_L] / f, 4).tolist(),
            "o": np.round(col[F_O] / f, 4).tolist(),
            "s": "ok",
            "t": cal.close_s[lo : hi + 1].astype(np.int64).tolist(),
            "v": np.round(col[F_V] * f).astype(np.int64).tolist(),
        }
        return json_response(200, body, scope={"tickers": [x.symbol]})
