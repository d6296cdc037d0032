"""Reading the feature table (curated.ml_features_daily) and the forward-return target.

Features come only from the dbt model, whose rows are point in time. The target, the log
return over the next HORIZON bars, is computed here from fct_daily_bars restricted to the
window asked for: a frame loaded `through` a date holds no information from after it.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
from psycopg import ClientCursor

from tickerhouse import calendar
from tickerhouse.database import Database
from tickerhouse.errors import UserError

FEATURE_VERSION = "v1"  # must match ml_features_daily's feature_version
HORIZON = 5
FEATURE_COLUMNS = (
    "return_1d", "return_5d", "return_20d", "return_1d_lag1", "return_1d_lag2", "return_5d_lag5",
    "realized_volatility_20d", "rsi_14", "macd_histogram_pct", "bollinger_position",
    "distance_from_52w_high", "log_dollar_volume_20d", "dollar_volume_ratio",
    "sector_relative_return_5d", "sector_relative_return_20d", "pe_ratio", "price_to_book",
    "dividend_yield", "log_market_cap", "article_count_1d", "sentiment_score_1d",
    "article_count_5d", "sentiment_score_5d",
)
EXTRA_COLUMNS = ("ticker", "trade_date", "feature_version", "sector", "close",
                 "sector_mean_return_5d")
FEATURE_TABLE = "curated.ml_features_daily"


def _copy_frame(database: Database, query: str, params: dict) -> pd.DataFrame:
    """A query's rows through COPY ... CSV: several times faster than fetching tuples for the
    millions of rows a training window holds."""
    buffer = io.BytesIO()
    with database.connect() as conn, ClientCursor(conn) as cursor:
        statement = cursor.mogrify(query, params)  # COPY takes no bind parameters
        with cursor.copy(f"copy ({statement}) to stdout with (format csv, header true)") as copy:
            for chunk in copy:
                buffer.write(chunk)
    buffer.seek(0)
    frame = pd.read_csv(buffer, dtype={"ticker": str, "sector": str, "feature_version": str})
    for column in ("trade_date", "target_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def check_table(database: Database) -> None:
    with database.connect() as conn:
        if not conn.execute("select to_regclass(%s) is not null", (FEATURE_TABLE,)).fetchone()[0]:
            raise UserError(f"{FEATURE_TABLE} does not exist: run the dbt build first "
                            "(tickerhouse run, or dbt build --select ml_features_daily)")


def load_frame(database: Database, start: dt.date, through: dt.date, *,
               with_target: bool = True) -> pd.DataFrame:
    """Feature rows from `start` to `through`, with `target` (log return over the next HORIZON
    bars, known only when those bars are on or before `through`) and `target_date`."""
    check_table(database)
    columns = ", ".join(f"f.{c}" for c in (*EXTRA_COLUMNS, *FEATURE_COLUMNS))
    if with_target:
        query = f"""
            with bars as (
                select ticker, trade_date,
                       ln(lead(close, {HORIZON}) over w / close) as target,
                       lead(trade_date, {HORIZON}) over w as target_date
                from curated.fct_daily_bars
                where trade_date between %(start)s and %(through)s
                window w as (partition by ticker order by trade_date)
            )
            select {columns}, bars.target, bars.target_date
            from {FEATURE_TABLE} f
            left join bars using (ticker, trade_date)
            where f.trade_date between %(start)s and %(through)s
        """
    else:
        query = (f"select {columns} from {FEATURE_TABLE} f "
                 "where f.trade_date between %(start)s and %(through)s")
    frame = _copy_frame(database, query, {"start": start, "through": through})
    versions = set(frame["feature_version"].dropna().unique())
    if versions - {FEATURE_VERSION}:
        raise UserError(f"{FEATURE_TABLE} holds feature version(s) {sorted(versions)}, this code "
                        f"reads {FEATURE_VERSION}: rebuild dbt or upgrade tickerhouse")
    for column in FEATURE_COLUMNS:
        frame[column] = frame[column].astype("float64")
    return frame.sort_values(["trade_date", "ticker"], ignore_index=True)


def sessions_back(through: dt.date, count: int) -> dt.date:
    """The first of the `count` sessions ending with `through`."""
    if count <= 1:
        return through
    return calendar.sessions_before(through, count - 1)[0]


def target_date(as_of: dt.date, horizon: int = HORIZON) -> dt.date:
    return calendar.sessions_between(as_of, as_of + dt.timedelta(days=horizon * 2 + 10))[horizon]


def period_vol(frame: pd.DataFrame, horizon: int = HORIZON) -> np.ndarray:
    """Each row's expected standard deviation of a horizon-bar log return, from its annualised
    20-day volatility (the cross-section's median where that is missing)."""
    vol = frame["realized_volatility_20d"].to_numpy(dtype=float) * np.sqrt(horizon / 252)
    fallback = np.nanmedian(vol) if np.isfinite(vol).any() else 0.05
    vol = np.where(np.isfinite(vol) & (vol > 0), vol, fallback)
    return vol
