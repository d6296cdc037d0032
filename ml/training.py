"""Training with an honest walk-forward backtest, then registration.

`train` loads the window of features ending at `as_of` (targets only where realised by then),
evaluates the global gradient-boosting model, the sequence model, Prophet (on the most traded
tickers only: it fits per ticker) and the baselines on the same expanding walk-forward splits
(gap = horizon; hyperparameters searched inside each training window only), writes the
backtest report to ml.backtest_reports, fits the final models on the whole window, logs them
to MLflow and registers them with their aliases.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml import schema
from ml.evaluation import metrics, walk_forward_splits
from ml.features import FEATURE_VERSION, HORIZON, load_frame, sessions_back
from ml.models import BASELINES, GBMConfig, SeqConfig, baseline_predictions, fit_gbm, fit_sequence
from ml.prophet_forecast import MODEL_NAME as PROPHET_MODEL
from ml.prophet_forecast import backtest_predictions
from tickerhouse.database import Database
from tickerhouse.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    history_sessions: int = 500
    n_folds: int = 4
    test_sessions: int = 20
    min_train_sessions: int = 60
    train_sequence: bool = True
    # Prophet is backtested on this many of the most traded tickers per fold (0: not at all);
    # it forecasts per ticker (~80 ms a fit), so not on the whole universe.
    prophet_tickers: int = 30
    gbm: GBMConfig = field(default_factory=GBMConfig)
    seq: SeqConfig = field(default_factory=SeqConfig)


@dataclass
class TrainResult:
    as_of: dt.date
    report_id: str
    report: pd.DataFrame  # one row per model and baseline
    versions: dict[str, str] = field(default_factory=dict)  # model name -> registered version
    run_ids: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def backtest(frame: pd.DataFrame, config: TrainConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Out-of-sample predictions of every model and baseline on the walk-forward splits, and
    their metrics (one row per model)."""
    labelled = frame.dropna(subset=["target"])
    splits = walk_forward_splits(labelled["trade_date"], n_folds=config.n_folds,
                                 test_size=config.test_sessions, gap=HORIZON,
                                 min_train=config.min_train_sessions)
    if not splits:
        raise UserError(f"not enough history to backtest: {labelled['trade_date'].nunique()} "
                        f"sessions with realised targets, need {config.min_train_sessions} "
                        f"+ {HORIZON} + {config.test_sessions}")
    outputs = []
    for number, split in enumerate(splits):
        train_dates, test_dates = set(split.train_dates), set(split.test_dates)
        train = labelled[labelled["trade_date"].isin(train_dates)]
        test = labelled[labelled["trade_date"].isin(test_dates)].reset_index(drop=True)
        fold = {"fold": number, "ticker": test["ticker"], "trade_date": test["trade_date"],
                "target": test["target"]}
        gbm = fit_gbm(train, config.gbm)
        predicted = gbm.predict_rows(test)
        outputs.append(pd.DataFrame({**fold, "model": gbm.name,
                                     "prediction": predicted["predicted_return"],
                                     "up": predicted["direction_probability"] > 0.5}))
        if config.train_sequence:
            # the sequence model sees feature rows up to the test date (no targets)
            seq = fit_sequence(train, config.seq)
            history = frame[frame["trade_date"] <= max(test_dates)]
            outputs.append(pd.DataFrame({**fold, "model": seq.name,
                                         "prediction": seq.predict_on(history, test)}))
        if config.prophet_tickers:
            predicted = backtest_predictions(train, test, config.prophet_tickers)
            rows = test.loc[predicted.index]
            outputs.append(pd.DataFrame({"fold": number, "ticker": rows["ticker"],
                                         "trade_date": rows["trade_date"],
                                         "target": rows["target"], "model": PROPHET_MODEL,
                                         "prediction": predicted}))
        for name in BASELINES:
            outputs.append(pd.DataFrame({**fold, "model": f"baseline_{name}",
                                         "prediction": baseline_predictions(name, test)}))
        log.info("backtest fold %d: trained through %s, tested %s..%s", number,
                 max(train_dates), min(test_dates), max(test_dates))
    predictions = pd.concat(outputs, ignore_index=True)
    rows = []
    for model, group in predictions.groupby("model", sort=False):
        direction = group["up"] if "up" in group and group["up"].notna().all() else None
        rows.append({"model_name": model, "is_baseline": model.startswith("baseline_"),
                     "folds": len(splits),
                     **metrics(group["trade_date"], group["prediction"], group["target"],
                               horizon=HORIZON,
                               direction=None if direction is None else direction.astype(bool))})
    return predictions, pd.DataFrame(rows)


def train(database: Database, as_of: dt.date, artifact_root, config: TrainConfig | None = None,
          *, reason: str = "manual") -> TrainResult:
    from ml.registry import CHALLENGER, CHAMPION, Registry

    config = config or TrainConfig()
    schema.ensure_tables(database)
    start = sessions_back(as_of, config.history_sessions)
    frame = load_frame(database, start, as_of)
    if frame.empty or as_of not in set(frame["trade_date"]):
        raise UserError(f"no feature rows for {as_of} in curated.ml_features_daily")
    timings: dict[str, float] = {}
    began = time.perf_counter()
    _, report = backtest(frame, config)
    timings["backtest"] = time.perf_counter() - began

    labelled = frame.dropna(subset=["target"])
    window = {"data_from": str(labelled["trade_date"].min()),
              "data_through": str(labelled["trade_date"].max()), "as_of": str(as_of)}
    models = []
    began = time.perf_counter()
    models.append(fit_gbm(labelled, config.gbm))
    timings["fit_gbm"] = time.perf_counter() - began
    if config.train_sequence:
        began = time.perf_counter()
        models.append(fit_sequence(frame[frame["target"].notna() | (frame["trade_date"] <= as_of)],
                                   config.seq))
        timings["fit_sequence"] = time.perf_counter() - began

    registry = Registry(database, artifact_root)
    result = TrainResult(as_of, str(uuid.uuid4()), report, seconds=timings)
    aliases = registry.aliases()
    champion_kind = registry.version_kind(aliases[CHAMPION]) if CHAMPION in aliases else None
    for model in models:
        row = report[report["model_name"] == model.name].iloc[0]
        params = (model.params if hasattr(model, "params") and model.params
                  else {k: v for k, v in vars(model.config).items()} if hasattr(model, "config") else {})
        backtest_metrics = {f"backtest_{k}": row[k] for k in
                            ("direction_accuracy", "ic_mean", "ic_tstat", "ic_hit_rate", "mae")}
        run_id, version = registry.log_model(
            model, params={**params, "horizon": HORIZON, "history_sessions": config.history_sessions},
            metrics={**backtest_metrics, "training_rows": len(labelled)},
            tags={"feature_version": FEATURE_VERSION, "reason": reason, **window})
        result.versions[model.name], result.run_ids[model.name] = version, run_id
        _record_run(database, run_id, model, version, as_of, labelled, params)
        # the first model becomes champion; a refit of the champion's kind replaces it (the
        # old one stays as previous_champion); any other kind is the challenger A/B tests
        if champion_kind is None:
            registry.promote(version)
            champion_kind = model.name
            result.aliases[CHAMPION] = version
        elif model.name == champion_kind:
            registry.promote(version)
            result.aliases[CHAMPION] = version
        else:
            registry.set_alias(CHALLENGER, version)
            result.aliases[CHALLENGER] = version
    _write_report(database, result, labelled)
    return result


def _record_run(database: Database, run_id: str, model, version: str, as_of: dt.date,
                labelled: pd.DataFrame, params: dict) -> None:
    schema.record_model_run(database, run_id, model.name, version, as_of,
                            labelled["trade_date"].min(), labelled["trade_date"].max(),
                            len(labelled), params)


def _write_report(database: Database, result: TrainResult, labelled: pd.DataFrame) -> None:
    columns = ("direction_accuracy", "ic_mean", "ic_tstat", "ic_hit_rate", "mae")
    with database.connect() as conn, conn.transaction():
        for row in result.report.itertuples(index=False):
            conn.execute(
                "insert into ml.backtest_reports (report_id, as_of_date, model_name, is_baseline, "
                "mlflow_run_id, feature_version, data_from, data_through, folds, test_days, "
                "predictions, direction_accuracy, ic_mean, ic_tstat, ic_hit_rate, mae) "
                "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (result.report_id, result.as_of, row.model_name, row.is_baseline,
                 result.run_ids.get(row.model_name), FEATURE_VERSION,
                 labelled["trade_date"].min(), labelled["trade_date"].max(), row.folds,
                 row.test_days, row.predictions,
                 *(None if not np.isfinite(getattr(row, c)) else float(getattr(row, c))
                   for c in columns)))


def latest_report(database: Database) -> pd.DataFrame:
    schema.ensure_tables(database)
    with database.connect() as conn:
        cursor = conn.execute(
            "select * from ml.backtest_reports where report_id = (select report_id from "
            "ml.backtest_reports order by created_at desc limit 1) order by is_baseline, ic_mean desc")
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
