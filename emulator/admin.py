"""Admin endpoints under /_emulator/ (no auth): counters, faults, clock, ground truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import orjson

from .app import App, Request, Response, json_response
from .calendar import ET
from .config import PLANS
from .fundamentals import shares_at
from .market import F_C, F_PC
from .universe import SECTOR_NAMES


def _bad(message: str, status: int = 400) -> Response:
    return json_response(status, {"error": message})


def _date(text: str | None, default: dt.date) -> dt.date:
    return dt.date.fromisoformat(text) if text else default


def handle_admin(app: App, req: Request) -> Response:
    route = req.path[len("/_emulator") :].rstrip("/") or "/"
    try:
        body = orjson.loads(req.body) if req.body.strip() else {}
    except orjson.JSONDecodeError:
        return _bad("the body is not JSON")
    try:
        return _route(app, req, route, body)
    except (ValueError, KeyError, TypeError) as exc:
        return _bad(str(exc))


def _route(app: App, req: Request, route: str, body: dict) -> Response:
    method = req.method
    if route == "/health":
        cfg = app.config
        return json_response(
            200,
            {
                "status": "ok",
                "seed": cfg.seed,
                "n_tickers": cfg.n_tickers,
                "now": _iso(app.now()),
                "market_start": cfg.market_start.isoformat(),
                "fault_profile": app.faults.profile,
                "limits_enabled": app.limiter.enabled,
                "planted_signal": cfg.planted_signal,
                "latest_session": _session_date(app, app.latest_session()),
            },
        )
    if route == "/counts":
        return json_response(200, counts(app))
    if route == "/reset" and method == "POST":
        app.reset()
        return json_response(200, {"status": "ok"})
    if route == "/faults":
        if method == "POST":
            if "profile" in body:
                app.faults.set_profile(body["profile"])
            if "rules" in body:
                app.faults.add_rules(list(body["rules"]), replace=bool(body.get("replace", False)))
            elif body.get("replace"):
                app.faults.add_rules([], replace=True)
        return json_response(200, app.faults.state())
    if route == "/faults/log":
        entries = app.faults.entries()
        if req.arg("vendor"):
            entries = [e for e in entries if e["vendor"] == req.arg("vendor")]
        return json_response(200, {"faults": entries, "count": len(entries)})
    if route == "/news/labels":
        return json_response(200, labels(app, req))
    if route == "/universe":
        return json_response(200, universe(app, _date(req.arg("date"), app.today())))
    if route == "/calendar":
        today = app.today()
        lo = _date(req.arg("from"), today - dt.timedelta(days=30))
        hi = _date(req.arg("to"), today)
        cal = app.calendar
        cal.ensure_date(hi)
        i, j = cal.index_on_or_after(lo), cal.index_on_or_before(hi)
        sessions = [
            {
                "date": cal.date(k).isoformat(),
                "close_utc": _iso(cal.close_utc(k)),
                "early_close": bool(cal.early[k]),
            }
            for k in range(max(i, 0), j + 1)
        ]
        return json_response(200, {"sessions": sessions, "count": len(sessions)})
    if route == "/clock":
        if method == "POST":
            if "set" in body:
                when = dt.datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00"))
                app.clock.set(when)
            if "advance" in body:
                app.clock.advance(float(body["advance"]))
        now = app.now()
        return json_response(
            200,
            {
                "now": _iso(now),
                "now_et": now.astimezone(ET).isoformat(),
                "frozen": app.clock.frozen,
                "monotonic": app.clock.monotonic(),
                "latest_session": _session_date(app, app.latest_session()),
            },
        )
    if route == "/plans":
        if method == "POST":
            for key, plan in body.items():
                if plan not in PLANS:
                    raise ValueError(f"unknown plan {plan!r}: use one of {', '.join(PLANS)}")
                app.plans[key] = plan
        return json_response(200, {"plans": dict(app.plans), "default": "free"})
    if route == "/actions":
        return json_response(200, actions(app, req.arg("ticker") or ""))
    return _bad(f"no admin endpoint {req.method} {req.path}", 404)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _session_date(app: App, idx: int) -> str | None:
    return app.calendar.date(idx).isoformat() if idx >= 0 else None


def counts(app: App) -> dict:
    snap = app.counters.snapshot()
    snap["quota"] = app.limiter.quotas()
    return snap


def labels(app: App, req: Request) -> dict:
    news = app.news
    found = []
    ids = [x for x in (req.arg("id") or "").split(",") if x.strip()]
    if ids or req.arg("url"):
        for x in ids:
            a = news.by_id(int(x))
            if a is not None:
                found.append(a)
        if req.arg("url"):
            a = news.by_url(req.arg("url"))
            if a is not None:
                found.append(a)
    else:
        today = app.today()
        lo = _date(req.arg("from"), today - dt.timedelta(days=30))
        hi = min(_date(req.arg("to"), today), today)
        start = dt.datetime.combine(lo, dt.time(), dt.UTC)
        end = dt.datetime.combine(hi, dt.time(23, 59, 59), dt.UTC)
        t_lo, t_hi = news.session_window(start, end)
        now_s = app.now().timestamp()
        ticker = req.arg("ticker")
        if ticker:
            hit = app.universe.lookup(ticker)
            if hit is None:
                raise ValueError(f"unknown ticker {ticker!r}")
            arts = news.for_listing(hit[0], hit[1], t_lo, t_hi)
        else:
            arts = []
            sector = req.arg("sector")
            for t in range(t_lo, t_hi + 1):
                arts += news.for_session(t, tickers=not sector)
            if sector:
                arts = [a for a in arts if a.sector == sector]
        found = [a for a in arts if start.timestamp() <= a.published <= min(end.timestamp(), now_s)]
    found.sort(key=lambda a: (a.published, a.id))
    return {
        "labels": [
            {
                "id": a.id,
                "url": a.url,
                "kind": a.kind,
                "ticker": a.ticker,
                "sector": a.sector,
                "published": _iso(a.published_dt),
                "session": app.calendar.date(a.session).isoformat(),
                "title": a.title,
                "label": a.label,
                "score": a.score,
                "return": round(a.ret, 6),
            }
            for a in found
        ],
        "count": len(found),
        "thresholds": {"positive": "> 0.25", "negative": "< -0.25"},
    }


def universe(app: App, day: dt.date) -> dict:
    cal = app.calendar
    idx = cal.index_of(day) if day >= app.config.market_start else None
    t = idx if idx is not None else cal.index_on_or_before(day)
    if t < 0:
        return {"date": day.isoformat(), "session": False, "count": 0, "tickers": []}
    row = app.market.row(t)
    out = []
    for x in app.universe.active_slots_listings(t):
        close = float(row[F_C, x.slot])

        shares = shares_at(app.universe, x.slot, x.gen, t)
        out.append(
            {
                "ticker": x.symbol,
                "name": x.name,
                "slot": x.slot,
                "type": x.type,
                "exchange": x.exchange,
                "sector": x.sector_name or None,
                "industry": x.industry_name,
                "country": x.country,
                "ipo": x.ipo.isoformat(),
                "listed_from": cal.date(x.start).isoformat() if x.start >= 0 else None,
                "last_session": cal.date(x.end).isoformat() if x.end < len(cal) else None,
                "close": close,
                "shares_outstanding": shares,
                "market_cap": round(close * shares, 2),
                "cik": x.cik,
                "composite_figi": x.composite_figi,
            }
        )
    return {
        "date": day.isoformat(),
        "session": idx is not None,
        "as_of_session": cal.date(t).isoformat(),
        "early_close": bool(cal.early[t]) if idx is not None else False,
        "count": len(out),
        "sectors": SECTOR_NAMES,
        "tickers": out,
    }


def actions(app: App, ticker: str) -> dict:
    hit = app.universe.lookup(ticker)
    if hit is None:
        raise ValueError(f"unknown ticker {ticker!r}")
    slot, gen = hit
    x = app.universe.listing(slot, gen)
    cal = app.calendar
    latest = min(app.latest_session(), x.end)
    splits = [
        {
            "date": cal.date(s).isoformat(),
            "ratio": r,
            "split_from": 1 if r >= 1 else round(1 / r),
            "split_to": r if r >= 1 else 1,
        }
        for s, r in app.universe.splits_of(slot, gen)
        if s <= latest
    ]
    divs = []
    for t, q in app.market.dividend_sessions(slot, gen, 0, latest):
        pc = float(app.market.column(slot, t, t)[F_PC, 0])
        divs.append({"ex_date": cal.date(t).isoformat(), "amount": float(np.round(pc * q, 4)), "yield": q})
    return {"ticker": x.symbol, "splits": splits, "dividends": divs}
