"""Company fundamentals derived from the market path (shared by Finnhub and Alpha Vantage).

Earnings follow the price: each quarter's EPS is the listing's earnings yield times its price
at the quarter's end, with some noise, reported 45 days after the quarter closes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import rng
from .market import F_C, F_H, F_L, F_V, Market
from .universe import Universe

REPORT_LAG_DAYS = 45


def quarter_ends(before: dt.date, count: int) -> list[dt.date]:
    """The last `count` calendar quarter ends reported by `before`, newest first."""
    out = []
    y, q = before.year, (before.month - 1) // 3 + 1
    while len(out) < count:
        q -= 1
        if q == 0:
            y, q = y - 1, 4
        end = dt.date(y, 3 * q, 31 if q in (1, 4) else 30)
        if end + dt.timedelta(days=REPORT_LAG_DAYS) <= before:
            out.append(end)
    return out


def shares_at(uni: Universe, slot: int, gen: int, t: int) -> float:
    mult = 1.0
    for sess, ratio in uni.splits_of(slot, gen):
        if sess <= t:
            mult *= ratio
    return float(uni.shares0[gen, slot]) * mult


def snapshot(market: Market, slot: int, gen: int, t_latest: int, today: dt.date) -> dict:
    """Price statistics and fundamentals of a listing as of session t_latest (split-adjusted)."""
    uni, cal = market.uni, market.cal
    start = max(0, int(uni.starts[slot, gen]))
    lo = max(start, t_latest - 251)
    col = market.column(slot, lo, t_latest)
    ts = np.arange(lo, t_latest + 1)
    f = market.split_factor(np.full(len(ts), slot), np.full(len(ts), gen), ts, t_latest)
    close = np.round(col[F_C] / f, 4)
    high = np.round(col[F_H] / f, 4)
    low = np.round(col[F_L] / f, 4)
    vol = col[F_V] * f
    last = float(close[-1])

    def ret(n: int) -> float | None:
        return None if len(close) <= n else round((last / float(close[-1 - n]) - 1.0) * 100, 4)

    ih, il = int(np.argmax(high)), int(np.argmin(low))
    shares = shares_at(uni, slot, gen, t_latest)
    ey = float(uni.ey[gen, slot])
    quarters = []
    for qend in quarter_ends(today, 20):
        idx = cal.index_on_or_before(qend)
        if idx < start:
            break
        c = float(market.column(slot, idx, idx)[F_C, 0])
        c /= float(market.split_factor(np.array([slot]), np.array([gen]), np.array([idx]), t_latest)[0])
        noise = float(rng.logit(np.array(rng.hash_uniform(market.seed, "eps", slot, gen, qend.isoformat()))))
        quarters.append((qend, round(ey / 4.0 * c * (1.0 + 0.15 * noise), 4), c))
    eps_ttm = round(sum(q[1] for q in quarters[:4]), 4) if len(quarters) >= 4 else None
    annual = []
    for year in sorted({q[0].year for q in quarters if q[0].month == 12}, reverse=True):
        qs = [q for q in quarters if q[0].year == year]
        if len(qs) == 4:
            annual.append((dt.date(year, 12, 31), round(sum(q[1] for q in qs), 4)))
    bp = float(uni.bp[gen, slot])
    book = round(bp * (quarters[0][2] if quarters else last), 4)
    margin = 0.04 + 0.2 * rng.hash_uniform(market.seed, "margin", slot, gen)
    dyield = float(uni.dyield[gen, slot])
    divs = market.dividend_sessions(slot, gen, max(start, t_latest - 300), t_latest)
    return {
        "close": last,
        "shares": shares,
        "market_cap": last * shares,
        "high52": float(high[ih]),
        "high52_date": cal.date(lo + ih),
        "low52": float(low[il]),
        "low52_date": cal.date(lo + il),
        "ret5d": ret(5),
        "ret13w": ret(63),
        "ret26w": ret(126),
        "ret52w": ret(251),
        "avgvol10": float(np.mean(vol[-10:])),
        "avgvol3m": float(np.mean(vol[-63:])),
        "ma50": float(np.mean(close[-50:])),
        "ma200": float(np.mean(close[-200:])),
        "beta": round(float(uni.beta[gen, slot]), 4),
        "eps_ttm": eps_ttm,
        "pe": round(last / eps_ttm, 4) if eps_ttm and eps_ttm > 0 else None,
        "quarters": [(q[0], q[1]) for q in quarters[:8]],
        "annual": annual[:5],
        "latest_quarter": quarters[0][0] if quarters else None,
        "book": book,
        "pb": round(last / book, 4) if book > 0 else None,
        "revenue_ps": round(abs(eps_ttm) / margin, 4) if eps_ttm else None,
        "profit_margin": round(margin if (eps_ttm or 0) > 0 else -margin, 4),
        "dividend_ps": round(dyield * last, 4),
        "dividend_yield": round(dyield, 4),
        "ex_dividend": cal.date(divs[-1][0]) if divs else None,
    }
