"""A synthetic but realistic curated history for the ML tests and benchmarks: bars, the ticker
dimension and ml_features_daily rows, written straight into curated-shaped tables (a dbt build
of years of history would take minutes; the dbt model itself is tested through dbt).

Returns follow a one-factor model with sector effects and per-ticker volatility; news arrives
on about a third of the days with a tone in [-1, 1]. With `signal` > 0, a ticker's next-day
return leans towards its news tone (`signal` times its daily volatility times the tone): a
known weak signal the models must find out of sample, and must not find when it is 0.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd

from ml.features import FEATURE_COLUMNS, FEATURE_VERSION
from tickerhouse import calendar
from tickerhouse.database import Database

SECTORS = ("Technology", "Health Care", "Financials", "Energy", "Industrials", "Utilities")

TABLES_DDL = """
create schema if not exists curated;
create table if not exists curated.fct_daily_bars (
    ticker text not null, trade_date date not null, open double precision,
    high double precision, low double precision, close double precision,
    volume double precision, primary key (ticker, trade_date));
create table if not exists curated.dim_ticker (
    ticker text primary key, sector text, is_active boolean not null);
create table if not exists curated.ml_features_daily (
    ticker text not null, trade_date date not null, feature_version text not null,
    sector text, close double precision, sector_mean_return_5d double precision,
    {features}, primary key (ticker, trade_date));
""".format(features=", ".join(f"{c} double precision" for c in FEATURE_COLUMNS))


def tickers(count: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [f"S{letters[i // 676 % 26]}{letters[i // 26 % 26]}{letters[i % 26]}" for i in range(count)]


def make_market(n_tickers: int, through: dt.date, n_sessions: int, *, signal: float = 0.0,
                seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(bars, dim_ticker, features) frames."""
    rng = np.random.default_rng(seed)
    sessions = [*calendar.sessions_before(through, n_sessions - 1), through]
    symbols = tickers(n_tickers)
    t, n = len(sessions), n_tickers
    sector = rng.integers(0, len(SECTORS), n)
    daily_vol = np.exp(rng.normal(np.log(0.02), 0.35, n))
    beta = rng.normal(1.0, 0.3, n)
    market = rng.normal(0.0003, 0.01, t)
    sector_moves = rng.normal(0, 0.006, (t, len(SECTORS)))
    has_news = rng.random((t, n)) < 0.35
    tone = np.where(has_news, np.clip(rng.normal(0, 0.5, (t, n)), -1, 1), np.nan)
    noise = rng.standard_normal((t, n)) * daily_vol
    returns = market[:, None] * beta + sector_moves[:, sector] + noise
    if signal:
        returns[1:] += signal * daily_vol * np.nan_to_num(tone[:-1])
    log_close = np.log(rng.uniform(5, 300, n)) + np.cumsum(returns, axis=0)
    close = np.exp(log_close)
    volume = np.exp(rng.normal(np.log(2e5), 1.0, n)) * np.exp(rng.normal(0, 0.3, (t, n)))

    c = pd.DataFrame(close, index=sessions, columns=symbols)
    dv = c * volume
    r1 = c.pct_change()
    log_r = np.log(c).diff()
    r5, r20 = c.pct_change(5), c.pct_change(20)
    gain, loss = log_r.clip(lower=0), (-log_r).clip(lower=0)
    rsi = 100 - 100 / (1 + gain.ewm(alpha=1 / 14, min_periods=14).mean()
                       / loss.ewm(alpha=1 / 14, min_periods=14).mean())
    ema12, ema26 = c.ewm(span=12, min_periods=26).mean(), c.ewm(span=26, min_periods=26).mean()
    macd = ema12 - ema26
    sma, sd = c.rolling(20).mean(), c.rolling(20).std(ddof=0)
    adv = dv.rolling(20).mean()
    sector_of = pd.Series(np.array(SECTORS)[sector], index=symbols)

    def sector_mean(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.T.groupby(sector_of).transform("mean").T

    tone_frame = pd.DataFrame(tone, index=sessions, columns=symbols)
    count = pd.DataFrame(has_news.astype(float), index=sessions, columns=symbols)
    tone_sum = (tone_frame.fillna(0) * count).rolling(5, min_periods=1).sum()
    count_5d = count.rolling(5, min_periods=1).sum()
    fundamentals = {name: pd.DataFrame(np.repeat(values[None, :], t, axis=0), index=sessions,
                                       columns=symbols)
                    for name, values in (("pe_ratio", rng.normal(20, 8, n)),
                                         ("price_to_book", rng.lognormal(1, 0.5, n)),
                                         ("dividend_yield", rng.uniform(0, 0.05, n)),
                                         ("log_market_cap", rng.normal(22, 1.5, n)))}
    frames = {
        "close": c, "return_1d": r1, "return_5d": r5, "return_20d": r20,
        "return_1d_lag1": r1.shift(1), "return_1d_lag2": r1.shift(2), "return_5d_lag5": r5.shift(5),
        "realized_volatility_20d": log_r.rolling(20).std() * np.sqrt(252), "rsi_14": rsi,
        "macd_histogram_pct": (macd - macd.ewm(span=9).mean()) / c,
        "bollinger_position": (c - (sma - 2 * sd)) / (4 * sd),
        "distance_from_52w_high": c / c.rolling(252, min_periods=1).max() - 1,
        "log_dollar_volume_20d": np.log(adv), "dollar_volume_ratio": dv / adv,
        "sector_mean_return_5d": sector_mean(r5),
        "sector_relative_return_5d": r5 - sector_mean(r5),
        "sector_relative_return_20d": r20 - sector_mean(r20),
        **fundamentals,
        "article_count_1d": count, "sentiment_score_1d": tone_frame,
        "article_count_5d": count_5d, "sentiment_score_5d": tone_sum / count_5d.where(count_5d > 0),
    }
    stacked = pd.concat({k: v.stack(future_stack=True) for k, v in frames.items()}, axis=1)
    stacked.index.names = ["trade_date", "ticker"]
    features = stacked.reset_index()
    features["feature_version"] = FEATURE_VERSION
    features["sector"] = features["ticker"].map(sector_of)
    bars = pd.DataFrame({"ticker": features["ticker"], "trade_date": features["trade_date"],
                         "close": features["close"],
                         "volume": volume.reshape(-1)})
    bars["open"] = bars["high"] = bars["low"] = bars["close"]
    dim = pd.DataFrame({"ticker": symbols, "sector": sector_of.to_numpy(), "is_active": True})
    return bars, dim, features


def _copy(conn, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="")
    buffer.seek(0)
    columns = ", ".join(frame.columns)
    with conn.cursor().copy(f"copy {table} ({columns}) from stdin with (format csv)") as copy:
        copy.write(buffer.getvalue())


def write_market(database: Database, bars: pd.DataFrame, dim: pd.DataFrame,
                 features: pd.DataFrame, *, replace: bool = True) -> None:
    """Write the frames into curated-shaped tables (created when missing)."""
    columns = ["ticker", "trade_date", "feature_version", "sector", "close",
               "sector_mean_return_5d", *FEATURE_COLUMNS]
    with database.connect() as conn, conn.transaction():
        conn.execute(TABLES_DDL)
        if replace:
            conn.execute("truncate curated.fct_daily_bars, curated.dim_ticker, curated.ml_features_daily")
        _copy(conn, "curated.fct_daily_bars",
              bars[["ticker", "trade_date", "open", "high", "low", "close", "volume"]])
        _copy(conn, "curated.dim_ticker", dim[["ticker", "sector", "is_active"]])
        _copy(conn, "curated.ml_features_daily", features[columns])
    with database.connect(autocommit=True) as conn:
        conn.execute("analyze curated.fct_daily_bars; analyze curated.ml_features_daily")
