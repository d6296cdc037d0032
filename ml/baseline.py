"""The baseline next-day return model: a pooled ridge regression on momentum and volatility.

Deliberately simple and fully reproducible: the same bars give the same coefficients and the
same predictions, so a rerun for a date rewrites nothing. Later models must beat it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
from psycopg import sql

from tickerhouse import calendar
from tickerhouse.database import Database

log = logging.getLogger(__name__)

MODEL_NAME = "baseline_ridge_momentum"
FEATURES = ("ret_1d", "ret_5d", "ret_20d", "vol_20d")
PARAMS = {"alpha": 1.0, "lookback_sessions": 120, "horizon_sessions": 1}
# Fewer sessions than this and momentum features are mostly undefined: the step is skipped.
MIN_SESSIONS = 30
MODEL_VERSION = hashlib.sha256(
    json.dumps({"features": FEATURES, "params": PARAMS}, sort_keys=True).encode()
).hexdigest()[:12]

DDL = """
create table if not exists ml.model_runs (
    run_id          uuid primary key,
    model_name      text not null,
    model_version   text not null,
    as_of_date      date not null,
    trained_from    date not null,
    trained_through date not null,
    training_rows   integer not null,
    params          jsonb not null,
    coefficients    jsonb not null,
    created_at      timestamptz not null default now()
);
create table if not exists ml.predictions (
    ticker            text not null,
    as_of_date        date not null,
    target_date       date not null,
    horizon_sessions  smallint not null,
    predicted_return  double precision not null,
    predicted_close   double precision not null,
    model_name        text not null,
    model_version     text not null,
    run_id            uuid not null references ml.model_runs (run_id),
    created_at        timestamptz not null default now(),
    primary key (ticker, as_of_date, horizon_sessions, model_name, model_version)
);
"""


@dataclass
class PredictionResult:
    as_of_date: dt.date
    written: int
    changed: int = 0
    skipped_reason: str | None = None
    run_id: str | None = None
    model: str = f"{MODEL_NAME}@{MODEL_VERSION}"


def load_bars(database: Database, as_of: dt.date, lookback_sessions: int) -> pd.DataFrame:
    """Closes for the `lookback_sessions` sessions up to and including `as_of` (nothing later)."""
    sessions = calendar.sessions_before(as_of, lookback_sessions - 1) + [as_of]
    with database.connect() as conn:
        rows = conn.execute(
            "select ticker, trade_date, close from curated.fct_daily_bars "
            "where trade_date between %s and %s",
            (sessions[0], as_of),
        ).fetchall()
    return pd.DataFrame(rows, columns=["ticker", "trade_date", "close"])


def make_features(bars: pd.DataFrame) -> pd.DataFrame:
    """Per ticker and date: momentum and volatility known at that date's close, and the next
    session's return as the target (NaN on the last date)."""
    closes = bars.pivot(index="trade_date", columns="ticker", values="close").sort_index()
    log_close = np.log(closes)
    ret_1d = log_close.diff()
    frames = {
        "ret_1d": ret_1d,
        "ret_5d": log_close.diff(5),
        "ret_20d": log_close.diff(20),
        "vol_20d": ret_1d.rolling(20, min_periods=15).std(),
        "target": ret_1d.shift(-1),
        "close": closes,
    }
    stacked = pd.concat({name: frame.stack(future_stack=True) for name, frame in frames.items()},
                        axis=1)
    stacked.index.names = ["trade_date", "ticker"]
    return stacked.reset_index()


def impute_missing(latest: pd.DataFrame) -> pd.DataFrame:
    """Every ticker gets a prediction: one listed too recently for a feature is treated as
    having no momentum (0) and the day's median volatility, i.e. it gets the market's view."""
    latest = latest[latest["close"].notna()].copy()
    for column in ("ret_1d", "ret_5d", "ret_20d"):
        latest[column] = latest[column].fillna(0.0)
    latest["vol_20d"] = latest["vol_20d"].fillna(latest["vol_20d"].median())
    return latest


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha).fit(x, y)
    return model.coef_, float(model.intercept_)


def ensure_tables(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute(DDL)


def predict(database: Database, as_of: dt.date) -> PredictionResult:
    ensure_tables(database)
    bars = load_bars(database, as_of, PARAMS["lookback_sessions"])
    sessions_seen = bars["trade_date"].nunique()
    if bars.empty or as_of not in set(bars["trade_date"]):
        return PredictionResult(as_of, 0, f"no bars for {as_of} in curated.fct_daily_bars")
    if sessions_seen < MIN_SESSIONS:
        return PredictionResult(
            as_of, 0, f"only {sessions_seen} sessions of history (needs {MIN_SESSIONS})")

    features = make_features(bars)
    train = features.dropna(subset=[*FEATURES, "target"])
    latest = impute_missing(features[features["trade_date"] == as_of])
    coef, intercept = fit_ridge(train[list(FEATURES)].to_numpy(), train["target"].to_numpy(),
                                PARAMS["alpha"])
    predicted = latest[list(FEATURES)].to_numpy() @ coef + intercept
    target_date = calendar.sessions_between(as_of, as_of + dt.timedelta(days=10))[1]

    run_id = str(uuid.uuid4())
    out = pd.DataFrame({
        "ticker": latest["ticker"].to_numpy(),
        "predicted_return": predicted,
        "predicted_close": latest["close"].to_numpy() * np.exp(predicted),
    })
    changed = _write(database, out, as_of, target_date, run_id, train, coef, intercept)
    return PredictionResult(as_of, len(out), changed, run_id=run_id if changed else None)


def _write(database: Database, out: pd.DataFrame, as_of: dt.date, target_date: dt.date,
           run_id: str, train: pd.DataFrame, coef: np.ndarray, intercept: float) -> int:
    """Upsert the day's predictions and return how many rows are new or changed. Rows whose
    values did not change keep their run id, so a rerun on unchanged data changes nothing."""
    with database.connect() as conn, conn.transaction():
        conn.execute(
            "insert into ml.model_runs (run_id, model_name, model_version, as_of_date, "
            "trained_from, trained_through, training_rows, params, coefficients) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (run_id, MODEL_NAME, MODEL_VERSION, as_of, train["trade_date"].min(),
             train["trade_date"].max(), len(train), json.dumps(PARAMS),
             json.dumps({"intercept": intercept, **dict(zip(FEATURES, coef.tolist(), strict=True))})),
        )
        conn.execute("create temp table new_predictions (ticker text, predicted_return float8, "
                     "predicted_close float8) on commit drop")
        with conn.cursor().copy(
                "copy new_predictions (ticker, predicted_return, predicted_close) from stdin") as copy:
            for row in out.itertuples(index=False):
                copy.write_row((row.ticker, float(row.predicted_return), float(row.predicted_close)))
        cursor = conn.execute(
            sql.SQL("""
            insert into ml.predictions as p (ticker, as_of_date, target_date, horizon_sessions,
                predicted_return, predicted_close, model_name, model_version, run_id)
            select ticker, %(as_of)s, %(target)s, %(horizon)s, predicted_return, predicted_close,
                   %(name)s, %(version)s, %(run_id)s
            from new_predictions
            on conflict (ticker, as_of_date, horizon_sessions, model_name, model_version)
            do update set predicted_return = excluded.predicted_return,
                          predicted_close = excluded.predicted_close,
                          target_date = excluded.target_date,
                          run_id = excluded.run_id,
                          created_at = now()
            where (p.predicted_return, p.predicted_close, p.target_date)
                  is distinct from (excluded.predicted_return, excluded.predicted_close,
                                    excluded.target_date)
            """),
            {"as_of": as_of, "target": target_date, "horizon": PARAMS["horizon_sessions"],
             "name": MODEL_NAME, "version": MODEL_VERSION, "run_id": run_id},
        )
        changed = cursor.rowcount
        if changed == 0:
            # Nothing new: do not leave a run behind that no prediction refers to.
            conn.execute("delete from ml.model_runs where run_id = %s", (run_id,))
    log.info("predictions for %s: %d of %d rows new or changed", as_of, changed, len(out))
    return changed
