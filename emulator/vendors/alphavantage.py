"""Alpha Vantage: TIME_SERIES_DAILY, OVERVIEW, NEWS_SENTIMENT. Errors and throttling are 200s."""

from __future__ import annotations

import datetime as dt

import numpy as np

from .. import rng
from ..app import Response, VendorContext, json_response
from ..calendar import ET
from ..faults import Shape
from ..fundamentals import snapshot
from ..market import F_C, F_H, F_L, F_O, F_V
from ..news import Article
from ..universe import SECTORS

DOCS = "https://www.alphavantage.co/documentation/"
MISSING_KEY = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
)
DAILY_LIMIT = (
    "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. "
    "Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to "
    "instantly remove all daily rate limits."
)
PREMIUM_MINUTE = (
    "Thank you for using Alpha Vantage! You have exceeded the rate limit of your premium plan "
    "(75 requests per minute). Please upgrade at https://www.alphavantage.co/premium/ for a "
    "higher request volume."
)
FULL_IS_PREMIUM = (
    "Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium "
    "feature for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans "
    "at https://www.alphavantage.co/premium/ to instantly unlock all premium features"
)
NEWS_INVALID = (
    "Invalid inputs. Please refer to the API documentation "
    "https://www.alphavantage.co/documentation#newsapi and try again."
)
SENTIMENT_DEFINITION = (
    "x <= -0.35: Bearish; -0.35 < x <= -0.15: Somewhat-Bearish; -0.15 < x < 0.15: "
    "Neutral; 0.15 <= x < 0.35: Somewhat_Bullish; x >= 0.35: Bullish"
)
RELEVANCE_DEFINITION = "0 < x <= 1, with a higher score indicating higher relevance."
EXCHANGES = {"XNYS": "NYSE", "XNAS": "NASDAQ", "XASE": "NYSE MKT", "ARCX": "NYSE ARCA", "BATS": "BATS"}
# the sector topic AV tags an article with, by GICS sector index
SECTOR_TOPICS = [
    "Technology",
    "Life Sciences",
    "Finance",
    "Retail & Wholesale",
    "Technology",
    "Manufacturing",
    "Manufacturing",
    "Energy & Transportation",
    "Energy & Transportation",
    "Real Estate & Construction",
    "Manufacturing",
]
TOPIC_PARAMS = {
    "technology": "Technology",
    "life_sciences": "Life Sciences",
    "finance": "Finance",
    "retail_wholesale": "Retail & Wholesale",
    "manufacturing": "Manufacturing",
    "energy_transportation": "Energy & Transportation",
    "real_estate": "Real Estate & Construction",
    "financial_markets": "Financial Markets",
    "economy_macro": "Economy - Macro",
    "earnings": "Earnings",
}


def sentiment_label(x: float) -> str:
    if x <= -0.35:
        return "Bearish"
    if x <= -0.15:
        return "Somewhat-Bearish"
    if x < 0.15:
        return "Neutral"
    if x < 0.35:
        return "Somewhat-Bullish"
    return "Bullish"


def _s(value, digits: int | None = None) -> str:
    if value is None:
        return "None"
    if digits is None:
        return str(value)
    return f"{value:.{digits}f}"


class AlphaVantage:
    vendor = "alphavantage"

    def owns(self, path: str) -> bool:
        return path.rstrip("/") == "/query"

    def endpoint(self, req) -> str | None:
        fn = (req.arg("function") or "").upper()
        return f"/query?function={fn}" if fn else "/query"

    def key(self, req) -> str | None:
        return req.arg("apikey") or None

    def _error(self, text: str) -> Response:
        return json_response(200, {"Error Message": text}, outcome="rejected")

    def not_found(self, ctx):
        return self._error("Invalid API call. Please retry or visit the documentation (" + DOCS + ").")

    def missing_key(self, ctx):
        return self._error(MISSING_KEY)

    def invalid_key(self, ctx):
        return self._error(MISSING_KEY)

    def rate_limited_body(self, ctx):
        return json_response(200, {"Information": DAILY_LIMIT})

    def throttled(self, ctx, verdict):
        text = DAILY_LIMIT if verdict.window is not None and verdict.window.day_tz else PREMIUM_MINUTE
        return json_response(200, {"Information": text})

    def server_error(self, ctx, status):
        return Response(status, b"", content_type="text/plain")

    def scope(self, ctx) -> dict:
        req = ctx.req
        tickers = [req.arg("symbol")] if req.arg("symbol") else []
        tickers += [s for s in (req.arg("tickers") or "").split(",") if s]
        return {"tickers": tickers, "dates": []}

    def handle(self, ctx: VendorContext) -> Response:
        fn = (ctx.req.arg("function") or "").upper()
        if fn == "TIME_SERIES_DAILY":
            return self.daily(ctx)
        if fn == "OVERVIEW":
            return self.overview(ctx)
        if fn == "NEWS_SENTIMENT":
            return self.news(ctx)
        return self._error(f"This API function ({ctx.req.arg('function') or ''}) does not exist.")

    def _lookup(self, ctx, latest: int):
        app = ctx.app
        hit = app.universe.lookup(ctx.req.arg("symbol") or "")
        if hit is None:
            return None
        slot, gen = hit
        x = app.universe.listing(slot, gen)
        t = min(latest, x.end)
        if t < max(x.start, 0):
            return None
        return slot, gen, x, t

    # -- TIME_SERIES_DAILY ---------------------------------------------------------------------
    def daily(self, ctx: VendorContext) -> Response:
        app = ctx.app
        req = ctx.req
        size = (req.arg("outputsize") or "compact").lower()
        invalid = self._error(
            f"Invalid API call. Please retry or visit the documentation ({DOCS}) for TIME_SERIES_DAILY."
        )
        if size not in ("compact", "full"):
            return invalid
        if size == "full" and ctx.plan != "paid":
            return json_response(200, {"Information": FULL_IS_PREMIUM}, outcome="rejected")
        found = self._lookup(ctx, app.latest_session())
        if found is None:
            return invalid
        slot, gen, x, t = found
        lo = max(x.start, 0) if size == "full" else max(x.start, 0, t - 99)
        col = app.market.column(slot, lo, t)
        cal = app.calendar
        rows = {}
        series: list[tuple[str, dict]] = []
        o, h, lo_, c = (col[k].tolist() for k in (F_O, F_H, F_L, F_C))
        v = col[F_V].astype(np.int64).tolist()
        for j in range(t - lo, -1, -1):
            day = cal.date(lo + j).isoformat()
            row = {
                "1. open": f"{o[j]:.4f}",
                "2. high": f"{h[j]:.4f}",
                "3. low": f"{lo_[j]:.4f}",
                "4. close": f"{c[j]:.4f}",
                "5. volume": str(v[j]),
            }
            rows[day] = row
            series.append((day, row))
        scope = {"tickers": [x.symbol], "dates": [series[-1][0], series[0][0]]}
        if (req.arg("datatype") or "json").lower() == "csv":
            lines = ["timestamp,open,high,low,close,volume"]
            lines += [
                f"{d},{r['1. open']},{r['2. high']},{r['3. low']},{r['4. close']},{r['5. volume']}"
                for d, r in series
            ]
            return Response(
                200,
                ("\r\n".join(lines) + "\r\n").encode(),
                content_type="application/x-download",
                scope=scope,
            )
        body = {
            "Meta Data": {
                "1. Information": "Daily Prices (open, high, low, close) and Volumes",
                "2. Symbol": req.arg("symbol"),
                "3. Last Refreshed": series[0][0],
                "4. Output Size": "Compact" if size == "compact" else "Full size",
                "5. Time Zone": "US/Eastern",
            },
            "Time Series (Daily)": rows,
        }
        index = {d: i for i, (d, _) in enumerate(series)}

        def stale(i: int) -> dict | None:
            day = series[i][0]
            k = index[day] + 1
            return dict(series[k][1]) if k < len(series) else None

        resp = json_response(200, body, scope=scope)
        resp.shape = Shape(
            rows=[(x.symbol, d, r) for d, r in series],
            prices=("1. open", "4. close", "2. high", "3. low"),
            high="2. high",
            low="3. low",
            volume="5. volume",
            rename=("5. volume", "6. volume"),
            new_field=("7. dividend amount", "0.0000"),
            numeric=("4. close", "5. volume"),
            numbers_become_strings=False,
            stale=stale,
        )
        return resp

    # -- OVERVIEW --------------------------------------------------------------------------------
    def overview(self, ctx: VendorContext) -> Response:
        app = ctx.app
        found = self._lookup(ctx, app.latest_session())
        if found is None or found[2].type == "ETF":
            return json_response(200, {}, scope={"tickers": [ctx.req.arg("symbol") or ""]})
        slot, gen, x, t = found
        s = snapshot(app.market, slot, gen, t, app.today())
        sector = SECTORS[x.sector]
        body = {
            "Symbol": x.symbol,
            "AssetType": "Common Stock",
            "Name": x.name,
            "Description": f"{x.name} operates in the {sector[2][x.industry][0].lower()} industry.",
            "CIK": str(int(x.cik)),
            "Exchange": EXCHANGES[x.exchange],
            "Currency": "USD",
            "Country": "USA" if x.country == "US" else x.country,
            "Sector": sector[1],
            "Industry": sector[2][x.industry][2],
            "Address": "-",
            "FiscalYearEnd": "December",
            "LatestQuarter": s["latest_quarter"].isoformat() if s["latest_quarter"] else "None",
            "MarketCapitalization": str(int(round(s["market_cap"]))),
            "PERatio": _s(s["pe"], 2) if s["pe"] else "None",
            "BookValue": _s(s["book"], 2),
            "DividendPerShare": _s(s["dividend_ps"], 2) if s["dividend_ps"] else "None",
            "DividendYield": _s(s["dividend_yield"], 4) if s["dividend_yield"] else "0",
            "EPS": _s(s["eps_ttm"], 2) if s["eps_ttm"] is not None else "None",
            "RevenuePerShareTTM": _s(s["revenue_ps"], 2) if s["revenue_ps"] else "None",
            "ProfitMargin": _s(s["profit_margin"], 3),
            "Beta": _s(s["beta"], 3),
            "52WeekHigh": _s(s["high52"], 2),
            "52WeekLow": _s(s["low52"], 2),
            "50DayMovingAverage": _s(s["ma50"], 2),
            "200DayMovingAverage": _s(s["ma200"], 2),
            "SharesOutstanding": str(int(round(s["shares"]))),
            "PriceToBookRatio": _s(s["pb"], 2) if s["pb"] else "-",
            "DividendDate": "None",
            "ExDividendDate": s["ex_dividend"].isoformat() if s["ex_dividend"] else "None",
        }
        resp = json_response(
            200, body, scope={"tickers": [x.symbol], "dates": [app.calendar.date(t).isoformat()]}
        )
        resp.shape = Shape(
            rows=[(x.symbol, None, body)],
            prices=("52WeekHigh", "52WeekLow"),
            high="52WeekHigh",
            low="52WeekLow",
            rename=("PERatio", "PE Ratio"),
            new_field=("AnalystRatingStrongBuy", "3"),
            numeric=("MarketCapitalization", "PERatio", "SharesOutstanding"),
            numbers_become_strings=False,
        )
        return resp

    # -- NEWS_SENTIMENT ------------------------------------------------------------------------------
    def news(self, ctx: VendorContext) -> Response:
        app = ctx.app
        req = ctx.req
        now = app.now()
        try:
            limit = max(1, min(int(req.arg("limit") or 50), 1000))
            t_from = _av_time(req.arg("time_from")) if req.arg("time_from") else None
            t_to = _av_time(req.arg("time_to")) if req.arg("time_to") else now
        except ValueError:
            return json_response(200, {"Information": NEWS_INVALID}, outcome="rejected")
        t_to = min(t_to, now)
        tickers = [s.strip() for s in (req.arg("tickers") or "").split(",") if s.strip()]
        topics = [s.strip().lower() for s in (req.arg("topics") or "").split(",") if s.strip()]
        if any(tp not in TOPIC_PARAMS for tp in topics):
            return json_response(200, {"Information": NEWS_INVALID}, outcome="rejected")
        listings = []
        for sym in tickers:
            hit = app.universe.lookup(sym)
            if hit is None:
                return json_response(200, {"Information": NEWS_INVALID}, outcome="rejected")
            listings.append(hit)
        cal = app.calendar
        hi = cal.index_on_or_before(t_to.astimezone(ET).date())
        floor = cal.index_on_or_after((t_from - dt.timedelta(days=1)).date()) if t_from else max(0, hi - 250)
        sort = (req.arg("sort") or "LATEST").upper()
        lo_s, hi_s = (t_from.timestamp() if t_from else 0.0), t_to.timestamp()
        want = {TOPIC_PARAMS[tp] for tp in topics}

        def keep(a: Article) -> bool:
            return lo_s <= a.published <= hi_s and (not want or bool(want & set(self._topics(a))))

        picked: list[Article] = []
        if len(listings) > 1:
            picked = []  # an article names one company, and AV wants every ticker named
        elif listings:
            slot, gen = listings[0]
            picked = [a for a in app.news.for_listing(slot, gen, max(floor, 0), hi) if keep(a)]
        else:
            # Market-wide. A session's articles all come out between its close and the next one,
            # so walking sessions in order and stopping at `limit` loses nothing.
            if sort == "EARLIEST":
                t = max(floor, 0)
                while t <= hi and len(picked) < limit:
                    picked += [a for a in app.news.for_session(t) if keep(a)]
                    t += 1
            else:
                t = hi
                while t >= max(floor, 0) and len(picked) < limit and (t_from or hi - t <= 20):
                    picked += [a for a in app.news.for_session(t) if keep(a)]
                    t -= 1
        if sort == "EARLIEST":
            picked.sort(key=lambda a: (a.published, a.id))
        elif sort == "RELEVANCE":
            picked.sort(key=lambda a: (-abs(a.score), -a.published, a.id))
        else:
            picked.sort(key=lambda a: (-a.published, a.id))
        feed = [self._item(app, a) for a in picked[:limit]]
        body = {
            "items": str(len(feed)),
            "sentiment_score_definition": SENTIMENT_DEFINITION,
            "relevance_score_definition": RELEVANCE_DEFINITION,
            "feed": feed,
        }
        resp = json_response(200, body, scope={"tickers": tickers})
        resp.shape = Shape(
            rows=[
                (a.ticker, a.published_dt.date().isoformat(), f)
                for a, f in zip(picked[:limit], feed, strict=True)
            ],
            rename=("overall_sentiment_score", "sentiment_score"),
            new_field=("lang", "en"),
            numeric=("overall_sentiment_score",),
            container=feed,
        )
        return resp

    def _topics(self, a: Article) -> list[str]:
        if a.kind == "market":
            return ["Financial Markets", "Economy - Macro"]
        from ..universe import SECTOR_NAMES

        idx = SECTOR_NAMES.index(a.sector) if a.sector in SECTOR_NAMES else 0
        out = [SECTOR_TOPICS[idx]]
        if a.kind == "ticker":
            out.append("Financial Markets")
            if "results" in a.title or "quarter" in a.title or "outlook" in a.title:
                out.append("Earnings")
        return out

    def _item(self, app, a: Article) -> dict:
        noise = float(rng.logit(np.array(rng.hash_uniform(app.seed, "av-sentiment", a.id))))
        score = round(float(np.clip(0.6 * a.score + 0.08 * noise, -1.0, 1.0)), 6)
        topics = [
            {"topic": tp, "relevance_score": f"{1.0 / (i + 1):.6f}".rstrip("0").rstrip(".")}
            for i, tp in enumerate(self._topics(a))
        ]
        ticker_sentiment = []
        if a.ticker:
            ts = round(float(np.clip(0.7 * a.score + 0.1 * noise, -1.0, 1.0)), 6)
            ticker_sentiment.append(
                {
                    "ticker": a.ticker,
                    "relevance_score": f"{0.6 + 0.4 * abs(a.score):.6f}",
                    "ticker_sentiment_score": f"{ts:.6f}",
                    "ticker_sentiment_label": sentiment_label(ts),
                }
            )
        return {
            "title": a.title,
            "url": a.url,
            "time_published": a.published_dt.astimezone(ET).strftime("%Y%m%dT%H%M%S"),
            "authors": [a.author] if a.author else [],
            "summary": a.summary,
            "banner_image": a.image,
            "source": a.source,
            "category_within_source": "n/a",
            "source_domain": a.domain,
            "topics": topics,
            "overall_sentiment_score": score,
            "overall_sentiment_label": sentiment_label(score),
            "ticker_sentiment": ticker_sentiment,
        }


def _av_time(text: str) -> dt.datetime:
    text = text.strip()
    fmt = "%Y%m%dT%H%M%S" if len(text) == 15 else "%Y%m%dT%H%M"
    return dt.datetime.strptime(text, fmt).replace(tzinfo=ET)
