"""Batch inference: every active ticker's 5-session forecast for a date into ml.predictions,
and its recommendation score into ml.recommendation_scores.

A/B: a ticker's arm is a hash of its symbol (stable across days and processes); the
challenger serves its share of tickers when there is one. Fallback: when the champion cannot
load or fails, the previous champion serves; then the momentum baseline. Every row says what
served it (`served_by`). Writes are idempotent per date and model version: a rerun on
unchanged inputs changes no row.

Recommendation score (formula v1), per ticker and day, 0 to 100:
    z = predicted_return / sigma   (sigma: the 80% interval's half-width / 1.2816, else the
                                    ticker's horizon volatility)
    s = sentiment_score_5d (news of the last five sessions, -1..1; 0 without news)
    q = 1 - 0.25 * (number of data-quality flags), at least 0.25; flags: `fallback` (not
        served by the champion or challenger), `sparse_features` (over a third of the
        features missing), `no_recent_news` is not a flag (silence is normal)
    score = 100 * (0.5 + q * (Phi(z + 0.5 * s) - 0.5))
so 50 is "no view", flags shrink a view towards 50, and a one-sigma predicted move with
neutral news scores about 84.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml import schema
from ml.baseline import PredictionResult
from ml.features import FEATURE_COLUMNS, HORIZON, load_frame, period_vol, sessions_back, target_date
from ml.models import MomentumBaseline
from tickerhouse.database import Database

log = logging.getLogger(__name__)

FORMULA_VERSION = "v1"
CHALLENGER_SHARE = 0.5


def ab_arm(ticker: str, challenger_share: float = CHALLENGER_SHARE) -> str:
    bucket = int(hashlib.sha256(ticker.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "challenger" if bucket < challenger_share else "champion"


@dataclass
class Served:
    model: object
    version: str
    run_id: str | None
    served_by: str


@dataclass
class ServingResult(PredictionResult):
    served: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _try_load(registry, version: str | None, served_by: str, failures: list[str]) -> Served | None:
    if registry is None or version is None:
        return None
    try:
        model, run_id = registry.load(version)
        return Served(model, version, run_id, served_by)
    except Exception as exc:  # any failure to load moves down the fallback chain
        failures.append(f"{served_by} v{version} did not load: {type(exc).__name__}: {exc}")
        log.warning(failures[-1])
        return None


def _predict(served: Served, history: pd.DataFrame, as_of, failures: list[str]) -> pd.DataFrame | None:
    try:
        out = served.model.predict_frame(history, as_of)
        if not np.isfinite(out["predicted_return"]).all():
            raise ValueError("non-finite predictions")
        return out
    except Exception as exc:  # a model that fails to predict is skipped like one that fails to load
        failures.append(f"{served.served_by} v{served.version} failed: {type(exc).__name__}: {exc}")
        log.warning(failures[-1])
        return None


def predict_day(database: Database, as_of: dt.date, *, registry=None,
                challenger_share: float = CHALLENGER_SHARE) -> ServingResult:
    """Score every active ticker with features on `as_of`. `registry` (ml.registry.Registry)
    is None when nothing is registered: the momentum baseline serves."""
    from ml.registry import CHALLENGER, CHAMPION, PREVIOUS

    schema.ensure_tables(database)
    failures: list[str] = []
    aliases = registry.aliases() if registry is not None else {}
    champion = _try_load(registry, aliases.get(CHAMPION), "champion", failures)
    challenger = _try_load(registry, aliases.get(CHALLENGER), "challenger", failures)
    models = [m for m in (champion, challenger) if m is not None]
    needed = max([m.model.history_sessions for m in models] + [1])
    history = load_frame(database, sessions_back(as_of, needed), as_of, with_target=False)
    active = _active_tickers(database)
    if active is not None:
        history = history[history["ticker"].isin(active)]
    latest = history[history["trade_date"] == as_of].sort_values("ticker", ignore_index=True)
    if latest.empty:
        return ServingResult(as_of, 0, skipped_reason=f"no feature rows for {as_of}")

    arms = latest["ticker"].map(lambda t: ab_arm(t, challenger_share) if challenger else "champion")
    pieces = []
    champion_out = _predict(champion, history, as_of, failures) if champion else None
    if champion_out is None:
        previous = _try_load(registry, aliases.get(PREVIOUS), "previous_champion", failures)
        champion_out = _predict(previous, history, as_of, failures) if previous else None
        champion = previous if champion_out is not None else None
    if champion_out is None:
        champion = Served(MomentumBaseline(), MomentumBaseline.version, None, "momentum_baseline")
        champion_out = champion.model.predict_frame(history, as_of)
    challenger_out = _predict(challenger, history, as_of, failures) if challenger else None
    for served, out in ((champion, champion_out), (challenger, challenger_out)):
        if out is None:
            continue
        arm = "champion" if served is champion else "challenger"
        mine = set(latest.loc[arms == arm, "ticker"])
        if served is champion and challenger_out is None:
            mine |= set(latest.loc[arms == "challenger", "ticker"])  # the challenger failed
        chosen = out[out["ticker"].isin(mine)].copy()
        chosen["ab_arm"] = arm if challenger else None
        chosen["served_by"] = served.served_by
        chosen["model_name"] = served.model.name
        chosen["model_version"] = served.version
        chosen["run_id"] = served.run_id or _baseline_run(database, served, as_of, latest)
        pieces.append(chosen)
    predictions = pd.concat(pieces, ignore_index=True).merge(
        latest[["ticker", "close"]], on="ticker")
    changed = _write_predictions(database, predictions, as_of)
    scores = recommendation_scores(predictions, latest)
    _write_scores(database, scores, as_of)
    served_counts = predictions["served_by"].value_counts().to_dict()
    model = ", ".join(f"{n}@{v}" for n, v in
                      predictions[["model_name", "model_version"]].drop_duplicates().itertuples(index=False))
    runs = predictions["run_id"].unique()
    return ServingResult(as_of, len(predictions), changed, run_id=str(runs[0]) if len(runs) == 1 else None,
                         model=model, served=served_counts, failures=failures)


def _active_tickers(database: Database) -> set[str] | None:
    with database.connect() as conn:
        if not conn.execute("select to_regclass('curated.dim_ticker') is not null").fetchone()[0]:
            return None
        return {row[0] for row in conn.execute(
            "select ticker from curated.dim_ticker where is_active").fetchall()}


def _baseline_run(database: Database, served: Served, as_of: dt.date, latest: pd.DataFrame) -> str:
    """A deterministic ml.model_runs row for a baseline (it has no training run)."""
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{served.model.name}/{served.version}/{as_of}"))
    schema.record_model_run(database, run_id, served.model.name, served.version, as_of, as_of, as_of,
                            0, {})
    return run_id


def _write_predictions(database: Database, predictions: pd.DataFrame, as_of: dt.date) -> int:
    target = target_date(as_of)
    columns = ("ticker", "predicted_return", "predicted_close", "predicted_lower", "predicted_upper",
               "direction_probability", "served_by", "ab_arm", "model_name", "model_version", "run_id")
    frame = predictions.assign(predicted_close=predictions["close"] * np.exp(predictions["predicted_return"]))

    def value(v):
        return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v

    with database.connect() as conn, conn.transaction():
        conn.execute("create temp table new_ml_predictions (ticker text, predicted_return float8, "
                     "predicted_close float8, predicted_lower float8, predicted_upper float8, "
                     "direction_probability float8, served_by text, ab_arm text, model_name text, "
                     "model_version text, run_id uuid) on commit drop")
        with conn.cursor().copy(f"copy new_ml_predictions ({', '.join(columns)}) from stdin") as copy:
            for row in frame[list(columns)].itertuples(index=False):
                copy.write_row([value(v.item() if hasattr(v, "item") else v) for v in row])
        cursor = conn.execute("""
            insert into ml.predictions as p (ticker, as_of_date, target_date, horizon_sessions,
                predicted_return, predicted_close, predicted_lower, predicted_upper,
                direction_probability, served_by, ab_arm, model_name, model_version, run_id)
            select ticker, %(as_of)s, %(target)s, %(horizon)s, predicted_return, predicted_close,
                   predicted_lower, predicted_upper, direction_probability, served_by, ab_arm,
                   model_name, model_version, run_id
            from new_ml_predictions
            on conflict (ticker, as_of_date, horizon_sessions, model_name, model_version)
            do update set predicted_return = excluded.predicted_return,
                          predicted_close = excluded.predicted_close,
                          predicted_lower = excluded.predicted_lower,
                          predicted_upper = excluded.predicted_upper,
                          direction_probability = excluded.direction_probability,
                          served_by = excluded.served_by, ab_arm = excluded.ab_arm,
                          target_date = excluded.target_date, run_id = excluded.run_id,
                          created_at = now()
            where (p.predicted_return, p.predicted_close, p.predicted_lower, p.predicted_upper,
                   p.direction_probability, p.served_by, p.ab_arm, p.target_date, p.run_id)
                  is distinct from (excluded.predicted_return, excluded.predicted_close,
                   excluded.predicted_lower, excluded.predicted_upper,
                   excluded.direction_probability, excluded.served_by, excluded.ab_arm,
                   excluded.target_date, excluded.run_id)
            """, {"as_of": as_of, "target": target, "horizon": HORIZON})
        return cursor.rowcount


def recommendation_scores(predictions: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    from scipy.stats import norm

    frame = predictions.merge(latest, on="ticker", suffixes=("", "_feature"))
    width = (frame["predicted_upper"] - frame["predicted_lower"]).to_numpy(dtype=float)
    sigma = np.where(np.isfinite(width) & (width > 0), width / (2 * 1.2816), period_vol(frame))
    z = frame["predicted_return"].to_numpy(dtype=float) / sigma
    sentiment = np.nan_to_num(frame["sentiment_score_5d"].to_numpy(dtype=float))
    fallback = ~frame["served_by"].isin(["champion", "challenger"]).to_numpy()
    sparse = frame[list(FEATURE_COLUMNS)].isna().mean(axis=1).to_numpy() > 1 / 3
    flags = [[name for name, on in (("fallback", f), ("sparse_features", s)) if on]
             for f, s in zip(fallback, sparse, strict=True)]
    quality = np.maximum(0.25, 1 - 0.25 * np.array([len(f) for f in flags]))
    score = 100 * (0.5 + quality * (norm.cdf(z + 0.5 * sentiment) - 0.5))
    return pd.DataFrame({"ticker": frame["ticker"], "score": np.round(score, 4),
                         "predicted_return": frame["predicted_return"], "uncertainty": sigma,
                         "sentiment": sentiment, "quality_flags": flags,
                         "model_name": frame["model_name"], "model_version": frame["model_version"]})


def _write_scores(database: Database, scores: pd.DataFrame, as_of: dt.date) -> None:
    rows = [(r.ticker, as_of, float(r.score), float(r.predicted_return), float(r.uncertainty),
             float(r.sentiment), list(r.quality_flags), r.model_name, r.model_version, FORMULA_VERSION)
            for r in scores.itertuples(index=False)]
    with database.connect() as conn, conn.transaction():
        conn.cursor().executemany("""
            insert into ml.recommendation_scores as s (ticker, as_of_date, score, predicted_return,
                uncertainty, sentiment, quality_flags, model_name, model_version, formula_version)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (ticker, as_of_date) do update set
                score = excluded.score, predicted_return = excluded.predicted_return,
                uncertainty = excluded.uncertainty, sentiment = excluded.sentiment,
                quality_flags = excluded.quality_flags, model_name = excluded.model_name,
                model_version = excluded.model_version, formula_version = excluded.formula_version,
                created_at = now()
            where (s.score, s.model_name, s.model_version, s.quality_flags)
                  is distinct from (excluded.score, excluded.model_name, excluded.model_version,
                                    excluded.quality_flags)
            """, rows)
