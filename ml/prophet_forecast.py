"""Prophet price forecasts with intervals for the top-priority tickers, within a time budget.

Prophet costs ~60–110 ms a ticker here, so all 6,000 would take minutes: tickers are taken in
priority order (the watchlist, then 20-day dollar volume) until the budget is spent or
`max_tickers` are done, the cost of the next one estimated from the mean so far.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml import schema
from ml.features import HORIZON, sessions_back, target_date
from tickerhouse.database import Database

log = logging.getLogger(__name__)

MODEL_NAME = "prophet"
HISTORY_SESSIONS = 250
INTERVAL_WIDTH = 0.8


@dataclass
class ProphetResult:
    tickers: int
    seconds: float
    per_ticker_seconds: float
    written: int


def priority(database: Database, as_of: dt.date, watchlist: list[str]) -> list[str]:
    with database.connect() as conn:
        rows = conn.execute(
            "select ticker from curated.ml_features_daily where trade_date = %s "
            "order by log_dollar_volume_20d desc nulls last, ticker", (as_of,)).fetchall()
    ranked = [row[0] for row in rows]
    listed = set(ranked)
    return [t for t in watchlist if t in listed] + [t for t in ranked if t not in set(watchlist)]


def fit_log_price(closes: pd.Series):
    """Prophet fitted on the log closes (indexed by date): trend only, interval sampled."""
    from prophet import Prophet

    for name in ("cmdstanpy", "prophet"):
        logging.getLogger(name).setLevel(logging.WARNING)
    frame = pd.DataFrame({"ds": pd.to_datetime(closes.index), "y": np.log(closes.to_numpy())})
    model = Prophet(interval_width=INTERVAL_WIDTH, daily_seasonality=False,
                    weekly_seasonality=False, yearly_seasonality=False, uncertainty_samples=200)
    return model.fit(frame)


def forecast_one(closes: pd.Series, future_dates: list[dt.date]) -> tuple[float, float, float]:
    """(yhat, lower, upper) of the log close on the last of `future_dates`."""
    model = fit_log_price(closes)
    np.random.seed(0)  # the interval is sampled: seeded so a rerun writes the same numbers
    forecast = model.predict(pd.DataFrame({"ds": pd.to_datetime(future_dates)})).iloc[-1]
    return forecast["yhat"], forecast["yhat_lower"], forecast["yhat_upper"]


def backtest_predictions(train: pd.DataFrame, test: pd.DataFrame, n_tickers: int) -> pd.Series:
    """Prophet's predicted log return over HORIZON for the `test` rows of the `n_tickers` most
    traded tickers (by 20-day dollar volume on the last training day), indexed like `test`.

    One fit per ticker on its training closes (the last HISTORY_SESSIONS), as a weekly refit
    would: each test day's prediction is the fitted log price at its target date minus that
    day's log close, both known by the day's close. Prophet costs ~80 ms a fit, so a fold of
    the backtest covers a few dozen tickers, not the universe."""
    last = train[train["trade_date"] == train["trade_date"].max()]
    tickers = last.nlargest(n_tickers, "log_dollar_volume_20d")["ticker"]
    targets = {d: target_date(d, HORIZON) for d in test["trade_date"].unique()}
    parts = []
    for ticker in tickers:
        closes = (train.loc[train["ticker"] == ticker, ["trade_date", "close"]]
                  .sort_values("trade_date").set_index("trade_date")["close"]
                  .tail(HISTORY_SESSIONS))
        rows = test[test["ticker"] == ticker]
        if len(closes) < 30 or rows.empty:
            continue
        future = pd.to_datetime(rows["trade_date"].map(targets))
        fitted = fit_log_price(closes).predict(pd.DataFrame({"ds": future}))["yhat"].to_numpy()
        parts.append(pd.Series(fitted - np.log(rows["close"].to_numpy()), index=rows.index))
    return pd.concat(parts) if parts else pd.Series(dtype=float)


def forecast_top(database: Database, as_of: dt.date, *, budget_seconds: float, max_tickers: int,
                 watchlist: list[str] | None = None) -> ProphetResult:
    import prophet

    from ml.serving import _write_predictions

    order = priority(database, as_of, watchlist or [])[:max_tickers]
    if not order:
        return ProphetResult(0, 0.0, 0.0, 0)
    with database.connect() as conn:
        rows = conn.execute(
            "select ticker, trade_date, close from curated.fct_daily_bars where ticker = any(%s) "
            "and trade_date between %s and %s order by ticker, trade_date",
            (order, sessions_back(as_of, HISTORY_SESSIONS), as_of)).fetchall()
    bars = pd.DataFrame(rows, columns=["ticker", "trade_date", "close"])
    by_ticker = {t: g.set_index("trade_date")["close"] for t, g in bars.groupby("ticker")}
    future = [target_date(as_of, h) for h in range(1, HORIZON + 1)]
    started = time.perf_counter()
    out = []
    for ticker in order:
        elapsed = time.perf_counter() - started
        if out and elapsed + elapsed / len(out) > budget_seconds:
            break
        closes = by_ticker.get(ticker)
        if closes is None or len(closes) < 30:
            continue
        yhat, lower, upper = forecast_one(closes, future)
        last = np.log(closes.iloc[-1])
        out.append({"ticker": ticker, "predicted_return": yhat - last, "predicted_lower": lower - last,
                    "predicted_upper": upper - last, "close": float(closes.iloc[-1])})
    seconds = time.perf_counter() - started
    if not out:
        return ProphetResult(0, seconds, 0.0, 0)
    version = f"{prophet.__version__}-w{HISTORY_SESSIONS}"
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{MODEL_NAME}/{version}/{as_of}"))
    schema.record_model_run(database, run_id, MODEL_NAME, version, as_of,
                            sessions_back(as_of, HISTORY_SESSIONS), as_of, len(bars),
                            {"interval_width": INTERVAL_WIDTH})
    frame = pd.DataFrame(out).assign(direction_probability=np.nan, served_by=MODEL_NAME, ab_arm=None,
                                     model_name=MODEL_NAME, model_version=version, run_id=run_id)
    written = _write_predictions(database, frame, as_of)
    return ProphetResult(len(out), seconds, seconds / len(out), written)
