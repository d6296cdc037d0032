"""Polygon.io: grouped daily, per-ticker range aggregates, reference tickers."""

from __future__ import annotations

import base64
import datetime as dt
import re
from urllib.parse import quote, unquote

import numpy as np
import orjson

from ..app import Response, VendorContext, json_response
from ..calendar import ET
from ..faults import Shape
from ..market import F_C, F_GEN, F_H, F_L, F_MISS, F_N, F_O, F_V, F_VW

GROUPED = re.compile(r"^/v2/aggs/grouped/locale/us/market/stocks/([^/]+)/?$")
RANGE = re.compile(r"^/v2/aggs/ticker/([^/]+)/range/([^/]+)/([^/]+)/([^/]+)/([^/]+)/?$")
TICKERS = re.compile(r"^/v3/reference/tickers/?$")
FREE_DAY_FINAL = dt.time(20, 0)
PRICING = "https://polygon.io/pricing"


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).decode().rstrip("=")


def _unb64(text: str) -> dict | None:
    try:
        return orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() not in ("false", "0", "no")


class Polygon:
    vendor = "polygon"

    def owns(self, path: str) -> bool:
        return path.startswith("/v2/aggs/") or path.startswith("/v3/reference/")

    def endpoint(self, req) -> str | None:
        if GROUPED.match(req.path):
            return "/v2/aggs/grouped/locale/us/market/stocks/{date}"
        if RANGE.match(req.path):
            return "/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}"
        if TICKERS.match(req.path):
            return "/v3/reference/tickers"
        return None

    def key(self, req) -> str | None:
        key = req.arg("apiKey")
        if key:
            return key
        auth = req.header("authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return None

    # -- errors ---------------------------------------------------------------------------------
    def _error(self, ctx: VendorContext, status: int, text: str, **kw) -> Response:
        return json_response(status, {"status": "ERROR", "request_id": ctx.request_id, "error": text}, **kw)

    def not_found(self, ctx):
        return json_response(
            404,
            {
                "status": "NOT_FOUND",
                "request_id": ctx.request_id,
                "message": "The requested resource was not found.",
            },
        )

    def missing_key(self, ctx):
        return self._error(ctx, 401, "API Key was not provided")

    def invalid_key(self, ctx):
        return self._error(ctx, 401, "Unknown API Key")

    def rate_limited_body(self, ctx):
        return self._error(
            ctx,
            429,
            "You've exceeded the maximum requests per minute, please wait or "
            "upgrade your subscription to continue.",
        )

    def throttled(self, ctx, verdict):
        return self.rate_limited_body(ctx)

    def server_error(self, ctx, status):
        return self._error(ctx, status, "Internal server error. Please try again.")

    def _not_authorized(self, ctx, message: str) -> Response:
        return json_response(
            403,
            {"status": "NOT_AUTHORIZED", "request_id": ctx.request_id, "message": message},
            outcome="rejected",
        )

    def _history_start(self, ctx) -> dt.date:
        if ctx.plan == "paid":
            return ctx.app.config.market_start
        today = ctx.app.today()
        try:
            return today.replace(year=today.year - 2)
        except ValueError:  # Feb 29
            return today.replace(year=today.year - 2, day=28)

    def _latest(self, ctx) -> int:
        return ctx.app.latest_session(None if ctx.plan == "paid" else FREE_DAY_FINAL)

    def scope(self, ctx) -> dict:
        """Tickers and dates a request asks for (what a fault on it breaks)."""
        m = GROUPED.match(ctx.req.path)
        if m:
            return {"tickers": [], "dates": [unquote(m.group(1))]}
        m = RANGE.match(ctx.req.path)
        if m:
            return {"tickers": [unquote(m.group(1))], "dates": [unquote(m.group(4)), unquote(m.group(5))]}
        return {"tickers": [], "dates": [ctx.req.arg("date")] if ctx.req.arg("date") else []}

    # -- dispatch -------------------------------------------------------------------------------
    def handle(self, ctx: VendorContext) -> Response:
        path = ctx.req.path
        m = GROUPED.match(path)
        if m:
            return self.grouped(ctx, unquote(m.group(1)))
        m = RANGE.match(path)
        if m:
            return self.range(ctx, *(unquote(g) for g in m.groups()))
        return self.tickers(ctx)

    # -- grouped daily ---------------------------------------------------------------------------
    def grouped(self, ctx: VendorContext, date_text: str) -> Response:
        app = ctx.app
        adjusted = _bool(ctx.req.arg("adjusted"), True)
        try:
            day = dt.date.fromisoformat(date_text)
        except ValueError:
            return self._error(
                ctx,
                400,
                f"Could not parse the date parameter '{date_text}'. Use the format YYYY-MM-DD.",
                outcome="rejected",
            )
        now = app.now()
        today = now.astimezone(ET).date()
        scope = {"dates": [day.isoformat()]}
        if day == today and not (ctx.plan == "paid") and now.astimezone(ET).time() < FREE_DAY_FINAL:
            return self._not_authorized(
                ctx,
                f"Attempted to request today's data before end of day. Please upgrade your plan at {PRICING}",
            )
        if day < self._history_start(ctx):
            return self._not_authorized(
                ctx, f"You are not entitled to this data. Please upgrade your plan at {PRICING}"
            )
        idx = app.calendar.index_of(day) if day >= app.config.market_start else None
        if idx is not None and idx > self._latest(ctx):
            idx = None
        if idx is None:
            body = {
                "queryCount": 0,
                "resultsCount": 0,
                "adjusted": adjusted,
                "status": "OK",
                "request_id": ctx.request_id,
            }
            return json_response(200, body, scope=scope)
        now_idx = app.calendar.index_on_or_before(today)
        if not ctx.mutable:
            n, results = app.cached(
                ("grouped", idx, adjusted, now_idx), lambda: self._grouped_bytes(app, idx, adjusted, now_idx)
            )
            head = b'{"queryCount":%d,"resultsCount":%d,"adjusted":%s,"results":' % (
                n,
                n,
                b"true" if adjusted else b"false",
            )
            tail = b',"status":"OK","request_id":"%s","count":%d}' % (ctx.request_id.encode(), n)
            return Response(200, head + results + tail, scope=scope)
        rows = self._grouped_rows(app, idx, adjusted, now_idx)
        body = {
            "queryCount": len(rows),
            "resultsCount": len(rows),
            "adjusted": adjusted,
            "results": rows,
            "status": "OK",
            "request_id": ctx.request_id,
            "count": len(rows),
        }

        def recount() -> None:
            body["queryCount"] = body["resultsCount"] = body["count"] = len(rows)

        prev = idx - 1

        def stale(i: int) -> dict | None:
            if prev < 0:
                return None
            old = self._grouped_row_map(app, prev, adjusted, now_idx).get(rows[i]["T"])
            if old is None:
                return None
            return {k: v for k, v in old.items() if k not in ("T", "t")}

        resp = Response(200, body, scope=scope)
        resp.shape = Shape(
            rows=[(r["T"], day.isoformat(), r) for r in rows],
            prices=("o", "c", "h", "l"),
            high="h",
            low="l",
            volume="v",
            rename=("c", "close"),
            new_field=("otc", False),
            numeric=("c", "o", "v", "vw"),
            container=rows,
            stale=stale,
            recount=recount,
        )
        return resp

    def _grouped_arrays(self, app, idx: int, adjusted: bool, now_idx: int) -> dict:
        row = app.market.row(idx)
        slots = np.arange(app.universe.n)
        gens = row[F_GEN].astype(np.int64)
        f = app.market.split_factor(slots, gens, np.full(len(slots), idx), now_idx) if adjusted else None

        def adj(x):
            return x if f is None else np.round(x / f, 4)

        return {
            "T": [app.universe.symbols[s, g] for s, g in zip(slots.tolist(), gens.tolist(), strict=True)],
            "v": row[F_V] if f is None else np.round(row[F_V] * f),
            "vw": adj(row[F_VW]),
            "o": adj(row[F_O]),
            "c": adj(row[F_C]),
            "h": adj(row[F_H]),
            "l": adj(row[F_L]),
            "t": int(app.calendar.close_s[idx]) * 1000,
            "n": row[F_N].astype(np.int64),
            "miss": row[F_MISS] > 0,
        }

    def _grouped_rows(self, app, idx, adjusted, now_idx) -> list[dict]:
        a = self._grouped_arrays(app, idx, adjusted, now_idx)
        cols = [a[k].tolist() for k in ("v", "vw", "o", "c", "h", "l", "n", "miss")]
        t = a["t"]
        rows = []
        for sym, v, vw, o, c, h, low, n, miss in zip(a["T"], *cols, strict=True):
            if miss:
                rows.append({"T": sym, "v": v, "o": o, "c": c, "h": h, "l": low, "t": t})
            else:
                rows.append({"T": sym, "v": v, "vw": vw, "o": o, "c": c, "h": h, "l": low, "t": t, "n": n})
        return rows

    def _grouped_row_map(self, app, idx, adjusted, now_idx) -> dict:
        return {r["T"]: r for r in self._grouped_rows(app, idx, adjusted, now_idx)}

    def _grouped_bytes(self, app, idx, adjusted, now_idx) -> tuple[int, bytes]:
        rows = self._grouped_rows(app, idx, adjusted, now_idx)
        return len(rows), orjson.dumps(rows)

    # -- range aggregates --------------------------------------------------------------------------
    def range(self, ctx: VendorContext, ticker: str, mult: str, timespan: str, frm: str, to: str) -> Response:
        app = ctx.app
        req = ctx.req
        cursor = _unb64(req.arg("cursor", "")) if req.arg("cursor") else {}
        if cursor is None:
            return self._error(ctx, 400, "Invalid cursor.", outcome="rejected")
        adjusted = cursor.get("adjusted", _bool(req.arg("adjusted"), True))
        sort = cursor.get("sort", (req.arg("sort") or "asc").lower())
        try:
            limit = int(cursor.get("limit", req.arg("limit") or 5000))
        except ValueError:
            return self._error(ctx, 400, "Could not parse the limit parameter.", outcome="rejected")
        limit = max(1, min(limit, 50000))
        offset = int(cursor.get("offset", 0))
        if mult != "1" or timespan != "day":
            return self._error(
                ctx,
                400,
                f"The emulator serves 1/day aggregates only, not {mult}/{timespan}.",
                outcome="rejected",
            )
        try:
            day_from, day_to = _parse_day(frm), _parse_day(to)
        except ValueError:
            return self._error(
                ctx,
                400,
                "Could not parse the from/to parameters. Use YYYY-MM-DD or a Unix millisecond timestamp.",
                outcome="rejected",
            )
        scope = {"tickers": [ticker], "dates": [day_from.isoformat(), day_to.isoformat()]}
        if day_from < self._history_start(ctx):
            return self._not_authorized(
                ctx, f"You are not entitled to this data. Please upgrade your plan at {PRICING}"
            )
        empty = {
            "ticker": ticker,
            "queryCount": 0,
            "resultsCount": 0,
            "adjusted": adjusted,
            "status": "OK",
            "request_id": ctx.request_id,
        }
        hit = app.universe.lookup(ticker, strict=True)
        if hit is None:
            return json_response(200, empty, scope=scope)
        slot, gen = hit
        listing = app.universe.listing(slot, gen)
        cal = app.calendar
        lo = max(cal.index_on_or_after(day_from), listing.start, 0)
        hi = min(cal.index_on_or_before(day_to), self._latest(ctx), listing.end)
        if hi < lo:
            return json_response(200, empty, scope=scope)
        col = app.market.column(slot, lo, hi)
        ts = np.arange(lo, hi + 1)
        now_idx = cal.index_on_or_before(app.today())
        f = (
            app.market.split_factor(np.full(len(ts), slot), np.full(len(ts), gen), ts, now_idx)
            if adjusted
            else np.ones(len(ts))
        )
        # same arithmetic as the grouped files, so both agree to the last digit
        arr = {
            "v": np.round(col[F_V] * f),
            "vw": np.round(col[F_VW] / f, 4),
            "o": np.round(col[F_O] / f, 4),
            "c": np.round(col[F_C] / f, 4),
            "h": np.round(col[F_H] / f, 4),
            "l": np.round(col[F_L] / f, 4),
        }
        lists = {k: v.tolist() for k, v in arr.items()}
        n_list = col[F_N].astype(np.int64).tolist()
        miss = (col[F_MISS] > 0).tolist()

        def mk(j: int) -> dict:
            r = {
                "v": lists["v"][j],
                "vw": lists["vw"][j],
                "o": lists["o"][j],
                "c": lists["c"][j],
                "h": lists["h"][j],
                "l": lists["l"][j],
                "t": int(cal.close_s[lo + j]) * 1000,
                "n": n_list[j],
            }
            if miss[j]:
                del r["vw"], r["n"]
            return r

        order = list(range(len(ts)))
        if sort == "desc":
            order.reverse()
        total = len(ts)
        page = order[offset : offset + limit]
        results = [mk(j) for j in page]
        body = {
            "ticker": listing.symbol,
            "queryCount": total,
            "resultsCount": len(results),
            "adjusted": adjusted,
            "results": results,
            "status": "OK",
            "request_id": ctx.request_id,
            "count": len(results),
        }
        if offset + limit < total:
            nxt = _b64({"offset": offset + limit, "limit": limit, "sort": sort, "adjusted": adjusted})
            body["next_url"] = (
                f"{req.base_url}/v2/aggs/ticker/{quote(ticker, safe='.-')}/range/1/day/"
                f"{frm}/{to}?cursor={nxt}"
            )
        dates = [cal.date(lo + j).isoformat() for j in page]

        def recount() -> None:
            body["resultsCount"] = body["count"] = len(results)

        def stale(i: int) -> dict | None:
            j = page[i]
            if j == 0:
                return None
            return {k: v for k, v in mk(j - 1).items() if k != "t"}

        resp = Response(200, body, scope=scope)
        resp.shape = Shape(
            rows=[(listing.symbol, d, r) for d, r in zip(dates, results, strict=True)],
            prices=("o", "c", "h", "l"),
            high="h",
            low="l",
            volume="v",
            rename=("c", "close"),
            new_field=("otc", False),
            numeric=("c", "o", "v"),
            container=results,
            stale=stale,
            recount=recount,
        )
        return resp

    # -- reference tickers -----------------------------------------------------------------------------
    def tickers(self, ctx: VendorContext) -> Response:
        app = ctx.app
        req = ctx.req
        cursor = _unb64(req.arg("cursor", "")) if req.arg("cursor") else {}
        if cursor is None:
            return self._error(ctx, 400, "Invalid cursor.", outcome="rejected")
        q = dict(req.query)
        q.pop("cursor", None)
        q.pop("apiKey", None)
        q.update({k: v for k, v in cursor.items() if k != "after"})
        after = cursor.get("after")
        try:
            limit = max(1, min(int(q.get("limit", 100)), 1000))
        except ValueError:
            return self._error(ctx, 400, "Could not parse the limit parameter.", outcome="rejected")
        active = _bool(q.get("active"), True)
        market = q.get("market", "stocks")
        order = q.get("order", "asc").lower()
        today = app.today()
        when = today
        if q.get("date"):
            try:
                when = min(dt.date.fromisoformat(q["date"]), today)
            except ValueError:
                return self._error(ctx, 400, "Could not parse the date parameter.", outcome="rejected")
        t = app.calendar.index_on_or_before(when)
        listings = app.cached(("tickers", t, active), lambda: _listings(app, t, active), limit=16)
        if market != "stocks":
            listings = []
        if q.get("ticker"):
            listings = [x for x in listings if x.symbol == q["ticker"]]
        if q.get("type"):
            listings = [x for x in listings if x.type == q["type"]]
        if q.get("exchange"):
            listings = [x for x in listings if x.exchange == q["exchange"]]
        if q.get("search"):
            s = q["search"].lower()
            listings = [x for x in listings if s in x.symbol.lower() or s in x.name.lower()]
        if order == "desc":
            listings = listings[::-1]
        if after is not None:
            listings = [x for x in listings if (x.symbol > after if order != "desc" else x.symbol < after)]
        page = listings[:limit]
        stamp = f"{today.isoformat()}T00:00:00Z"
        results = []
        for x in page:
            r = {
                "ticker": x.symbol,
                "name": x.name,
                "market": "stocks",
                "locale": "us",
                "primary_exchange": x.exchange,
                "type": x.type,
                "active": active,
                "currency_name": "usd",
                "cik": x.cik,
                "composite_figi": x.composite_figi,
                "share_class_figi": x.share_class_figi,
                "last_updated_utc": stamp,
            }
            if not active:
                r["delisted_utc"] = f"{app.calendar.date(x.end + 1).isoformat()}T00:00:00Z"
            results.append(r)
        body = {"results": results, "status": "OK", "request_id": ctx.request_id, "count": len(results)}
        if len(listings) > limit:
            nxt = dict(q)
            nxt["after"] = page[-1].symbol
            body["next_url"] = f"{req.base_url}/v3/reference/tickers?cursor={_b64(nxt)}"

        def recount() -> None:
            body["count"] = len(results)

        resp = Response(200, body, scope={"tickers": [], "dates": [when.isoformat()]})
        resp.shape = Shape(
            rows=[(r["ticker"], None, r) for r in results],
            rename=("ticker", "symbol"),
            new_field=("source_feed", "sip"),
            numeric=("cik",),
            numbers_become_strings=False,
            container=results,
            recount=recount,
        )
        return resp


def _listings(app, t: int, active: bool) -> list:
    uni = app.universe
    if active:
        out = uni.active_slots_listings(t)
    else:
        out = [x for x in uni.delisted_before(t) if x.end >= 0]
    return sorted(out, key=lambda x: x.symbol)


def _parse_day(text: str) -> dt.date:
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, dt.UTC).astimezone(ET).date()
    return dt.date.fromisoformat(text)
