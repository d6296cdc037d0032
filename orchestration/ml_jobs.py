"""The ML jobs the CLI (`tickerhouse ml ...`), the daily pipeline and the Airflow ml_retrain DAG
call: retrain when due, train, predict a day, evaluate the A/B test."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from ml import schema
from ml.baseline import PredictionResult
from tickerhouse.database import Database
from tickerhouse.settings import Settings

log = logging.getLogger(__name__)


def artifact_root(settings: Settings):
    return settings.state_dir / "mlflow-artifacts"


def _registry(database: Database, settings: Settings | None = None):
    from ml.registry import Registry

    return Registry(database, artifact_root(settings) if settings is not None else None)


def train_config(settings: Settings):
    """The training run the settings ask for (TICKERHOUSE_ML_…: folds, search, models)."""
    from ml.models import GBMConfig
    from ml.training import TrainConfig

    return TrainConfig(n_folds=settings.ml_backtest_folds,
                       train_sequence=settings.ml_train_sequence,
                       prophet_tickers=settings.ml_prophet_backtest_tickers,
                       gbm=GBMConfig(search_iter=settings.ml_search_candidates))


def train(settings: Settings, database: Database, as_of: dt.date, config=None, *,
          reason: str = "manual"):
    from ml.training import train as train_models

    return train_models(database, as_of, artifact_root(settings), config or train_config(settings),
                        reason=reason)


@dataclass
class RetrainDecision:
    as_of: dt.date | None
    triggered: bool
    reason: str
    result: object = None  # ml.training.TrainResult when trained

    def summary(self) -> dict:
        trained = self.result is not None
        return {"as_of": str(self.as_of), "triggered": self.triggered, "reason": self.reason,
                "trained": trained, "aliases": dict(self.result.aliases) if trained else {}}

    def __repr__(self) -> str:  # what Airflow shows of the task's result
        return repr(self.summary())


def latest_feature_date(database: Database) -> dt.date | None:
    with database.connect() as conn:
        if not conn.execute("select to_regclass('curated.ml_features_daily') is not null").fetchone()[0]:
            return None
        return conn.execute("select max(trade_date) from curated.ml_features_daily").fetchone()[0]


def _log_decision(database: Database, decision: RetrainDecision, details: dict) -> None:
    with database.connect() as conn:
        conn.execute("insert into ml.retrain_log (as_of_date, triggered, reason, details) "
                     "values (%s, %s, %s, %s)",
                     (decision.as_of, decision.triggered, decision.reason,
                      json.dumps(details, default=str)))


def retrain_if_needed(settings: Settings, database: Database, as_of: dt.date | None = None,
                      config=None, *, force: bool = False) -> RetrainDecision:
    """Train when there is no champion, when the champion was trained `ml_retrain_every_days`
    or more before `as_of` (the weekly schedule), or when a feature's PSI against the
    champion's training window crosses `ml_drift_threshold`. Every decision, trained or not,
    is logged with its reason in ml.retrain_log. `as_of` defaults to the newest session of the
    feature table. Unless forced, too little history is a logged decision, not an error (the
    scheduled DAG then simply waits for more)."""
    from ml import drift
    from ml.registry import CHAMPION, alias_versions
    from tickerhouse.errors import UserError

    schema.ensure_tables(database)
    as_of = as_of or latest_feature_date(database)
    if as_of is None:
        if force:
            raise UserError("curated.ml_features_daily is missing or empty: run the pipeline first")
        decision = RetrainDecision(None, False, "no feature rows yet")
        return decision
    details: dict = {}
    champion = alias_versions(database).get(CHAMPION)
    reason, model, run_id = None, None, None
    if force:
        reason = "forced"
    elif champion is None:
        reason = "no champion registered"
    else:
        registry = _registry(database, settings)
        try:
            model, run_id = registry.load(champion)
        except Exception as exc:  # an unloadable champion is replaced, not a crash
            model = None
            reason = f"champion v{champion} cannot load: {type(exc).__name__}: {exc}"
    if reason is None and model is not None:
        with database.connect() as conn:
            trained_on = conn.execute(
                "select as_of_date from ml.model_runs where run_id = %s", (run_id,)).fetchone()
        age = (as_of - trained_on[0]).days if trained_on else None
        details["champion"], details["age_days"] = champion, age
        result = drift.check(database, model, as_of)
        feature, worst = result.worst
        details["psi"] = {k: round(v, 4) for k, v in result.per_feature.items()}
        if age is None or age >= settings.ml_retrain_every_days:
            reason = f"schedule: champion trained {age} days ago"
        elif worst >= settings.ml_drift_threshold:
            reason = f"drift: PSI of {feature} is {worst:.3f} >= {settings.ml_drift_threshold}"
    decision = RetrainDecision(as_of, reason is not None,
                               reason or "no trigger: champion fresh and no drift")
    _log_decision(database, decision, details)
    if decision.triggered:
        log.info("retraining for %s: %s", as_of, decision.reason)
        try:
            decision.result = train(settings, database, as_of, config, reason=decision.reason)
        except UserError as exc:
            if force:
                raise
            decision = RetrainDecision(as_of, False, f"{decision.reason}; not trained: {exc}")
            _log_decision(database, decision, details)
    return decision


def predict_day(settings: Settings | None, database: Database, as_of: dt.date, *,
                prophet: bool = True) -> PredictionResult | None:
    """The day's predictions from the champion (and challenger arm), with the fallback chain.
    None when no champion was ever registered (the caller falls back to the ridge baseline)."""
    from ml.registry import CHAMPION, alias_versions
    from ml.serving import predict_day as serve

    if CHAMPION not in alias_versions(database):
        return None
    settings = settings or _settings()
    result = serve(database, as_of, registry=_registry(database, settings),
                   challenger_share=settings.ml_ab_challenger_share)
    if prophet and settings.ml_prophet_budget_seconds > 0 and result.written:
        from ml.prophet_forecast import forecast_top

        forecast = forecast_top(database, as_of, budget_seconds=settings.ml_prophet_budget_seconds,
                                max_tickers=settings.ml_prophet_max_tickers,
                                watchlist=settings.watchlist_tickers)
        log.info("prophet: %d tickers in %.1f s", forecast.tickers, forecast.seconds)
    return result


def ab_evaluate(settings: Settings, database: Database, as_of: dt.date):
    from ml.ab import evaluate

    return evaluate(database, _registry(database, settings), as_of,
                    min_days=settings.ml_ab_min_days, min_tstat=settings.ml_ab_min_tstat)


def report(database: Database):
    from ml.training import latest_report

    return latest_report(database)


def _settings() -> Settings:
    from tickerhouse.settings import load_settings

    return load_settings()
