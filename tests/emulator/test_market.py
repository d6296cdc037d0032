"""The emulated market: calendar, universe slots, bar consistency, news tone, lazy generation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from emulator import EmulatorConfig
from emulator.app import App
from emulator.market import F_C, F_GEN, F_H, F_L, F_NEWS, F_O, F_RET, F_TONE, F_V, Market

from .conftest import AS_OF, N_TICKERS, close_ms, grouped


@pytest.fixture(scope="module")
def churn_app():
    """A wider market over five years, so listings come and go."""
    return App(
        EmulatorConfig(
            seed=3, n_tickers=300, as_of=AS_OF, freeze_clock=True, market_start=dt.date(2019, 1, 2)
        )
    )


def test_every_session_has_exactly_n_rows_while_tickers_change(churn_app):
    app = churn_app
    latest = app.latest_session()
    seen: set[str] = set()
    uni = app.universe
    for t in range(0, latest + 1):
        gens = app.market.row(t)[F_GEN].astype(int)
        symbols = [uni.symbols[s, g] for s, g in enumerate(gens)]
        assert len(symbols) == len(set(symbols)) == 300
        seen.update(symbols)
    assert len(seen) > 300 + 20, "five years of a 300-slot market should see IPOs and delistings"


def test_bars_are_consistent(churn_app):
    app = churn_app
    rows = np.stack([app.market.row(t) for t in range(0, app.latest_session() + 1, 7)], axis=1)
    o, h, lo, c, v = rows[F_O], rows[F_H], rows[F_L], rows[F_C], rows[F_V]
    assert (lo > 0).all() and (v > 0).all()
    assert (lo <= np.minimum(o, c)).all() and (np.maximum(o, c) <= h).all()
    r = rows[F_RET].ravel()
    kurtosis = np.mean((r - r.mean()) ** 4) / np.var(r) ** 2
    assert kurtosis > 4, "returns should be fat-tailed"
    # volatility clustering: absolute returns are autocorrelated
    col = app.market.column(10, 0, app.latest_session())
    a = np.abs(col[F_RET][col[F_GEN] == col[F_GEN][0]])
    assert np.corrcoef(a[1:], a[:-1])[0, 1] > 0.05


def test_calendar_holidays_and_early_closes(client):
    sessions = client.get("/_emulator/calendar", params={"from": "2023-11-20", "to": "2023-12-29"}).json()[
        "sessions"
    ]
    days = {s["date"]: s for s in sessions}
    assert "2023-11-23" not in days and "2023-12-25" not in days and "2023-11-25" not in days
    assert (
        days["2023-11-24"]["early_close"] is True
        and days["2023-11-24"]["close_utc"] == "2023-11-24T18:00:00Z"
    )
    assert days["2023-11-22"]["early_close"] is False
    assert grouped(client, "2023-11-23").json()["resultsCount"] == 0
    early = grouped(client, "2023-11-24").json()["results"]
    assert all(r["t"] == close_ms(dt.date(2023, 11, 24), hour=13) for r in early)


def test_universe_admin(client):
    body = client.get("/_emulator/universe", params={"date": "2024-01-05"}).json()
    assert body["session"] is True and body["count"] == N_TICKERS
    listed = {r["T"] for r in grouped(client, "2024-01-05").json()["results"]}
    assert {t["ticker"] for t in body["tickers"]} == listed
    exchanges = {t["exchange"] for t in body["tickers"]}
    assert {"XNYS", "XNAS"} <= exchanges
    for t in body["tickers"]:
        assert t["market_cap"] > 0 and t["shares_outstanding"] > 0
        assert t["type"] == "ETF" or t["sector"]


def test_row_and_column_paths_agree_bit_for_bit():
    cfg = EmulatorConfig(seed=9, n_tickers=120, as_of=AS_OF, market_start=dt.date(2021, 1, 4))
    a, b = App(cfg), App(cfg)
    latest = a.latest_session()
    # b never computed a whole-market block: its columns come from the single-slot path
    for slot in (0, 3, 57, 119):
        col = b.market.column(slot, latest - 90, latest)
        rows = np.stack([a.market.row(t)[:, slot] for t in range(latest - 90, latest + 1)], axis=1)
        assert np.array_equal(col, rows)


def test_lazy_generation_keeps_memory_bounded(churn_app):
    m: Market = churn_app.market
    assert len(m._full) <= m._full_cap
    assert len(m.checkpoints) <= churn_app.latest_session() // 32 + 2


def test_news_tone_follows_returns_and_labels_are_served(client, churn_app):
    app = churn_app
    tones, rets = [], []
    for t in range(app.latest_session() - 120, app.latest_session()):
        row = app.market.row(t)
        has = row[F_NEWS] > 0
        tones += row[F_TONE][has].tolist()
        rets += row[F_RET][has].tolist()
    assert np.corrcoef(tones, rets)[0, 1] > 0.5
    labels = client.get("/_emulator/news/labels", params={"ticker": "AAPL", "from": "2023-12-01"}).json()[
        "labels"
    ]
    assert labels and {x["label"] for x in labels} <= {"positive", "neutral", "negative"}
    for x in labels:
        assert (x["label"] == "positive") == (x["score"] > 0.25)
        assert (x["label"] == "negative") == (x["score"] < -0.25)
    news = client.get(
        "/api/v1/company-news",
        params={"symbol": "AAPL", "from": "2023-12-01", "to": "2024-01-08", "token": "PAID"},
    ).json()
    by_id = {x["id"]: x for x in labels}
    assert {a["id"] for a in news} == set(by_id)
    one = news[0]
    assert (
        client.get("/_emulator/news/labels", params={"url": one["url"]}).json()["labels"][0]["id"]
        == one["id"]
    )
    scored = [(by_id[a["id"]]["score"], by_id[a["id"]]["return"]) for a in news]
    assert np.corrcoef(*zip(*scored, strict=True))[0, 1] > 0.3


def test_planted_signal_makes_a_sessions_news_tone_lead_the_return_two_sessions_later():
    """News of session t is out after t's close: the planted signal leans t+2's return, the
    first one a close-to-close trader can earn; t+1's return stays independent of it."""

    def lead_corr(strength: float, lag: int) -> float:
        app = App(
            EmulatorConfig(
                seed=4, n_tickers=200, as_of=AS_OF, market_start=dt.date(2022, 1, 3), planted_signal=strength
            )
        )
        rows = [app.market.row(t) for t in range(app.latest_session())]
        xs, ys = [], []
        for news, later in zip(rows, rows[lag:], strict=False):
            ok = (news[F_NEWS] > 0) & (news[F_GEN] == later[F_GEN])
            xs += news[F_TONE][ok].tolist()
            ys += (later[F_RET][ok] / np.std(later[F_RET])).tolist()
        return float(np.corrcoef(xs, ys)[0, 1])

    assert abs(lead_corr(0.0, 2)) < 0.05
    assert lead_corr(0.5, 2) > 0.1
    assert abs(lead_corr(0.5, 1)) < 0.05
