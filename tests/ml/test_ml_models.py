"""The models train on what a young warehouse has: feature columns no vendor has filled yet."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ml.models import GBMConfig, SeqConfig, fit_gbm
from ml.synthetic import make_market
from ml.training import TrainConfig, backtest

NEVER_LANDED = ("sentiment_score_1d", "sentiment_score_5d", "pe_ratio", "price_to_book",
                "dividend_yield", "log_market_cap")


def young_warehouse_frame():
    """Features as after the first runs: prices only, no news or fundamentals yet."""
    _, _, features = make_market(40, dt.date(2024, 6, 28), 140, seed=2)
    features = features.sort_values(["ticker", "trade_date"], ignore_index=True)
    later = features.groupby("ticker")["close"].shift(-5)
    features["target"] = np.log(later / features["close"])
    features["target_date"] = features.groupby("ticker")["trade_date"].shift(-5)
    features[list(NEVER_LANDED)] = np.nan
    return features


def test_gbm_trains_and_predicts_with_columns_that_have_no_value_at_all():
    frame = young_warehouse_frame()
    model = fit_gbm(frame.dropna(subset=["target"]), GBMConfig(search_iter=2, max_iter=10))
    last = frame[frame["trade_date"] == frame["trade_date"].max()]
    predicted = model.predict_rows(last)
    assert len(predicted) == 40 and np.isfinite(predicted["predicted_return"]).all()
    # the empty columns were never split on: a value arriving later changes nothing
    filled = last.assign(**{column: 0.7 for column in NEVER_LANDED})
    assert np.array_equal(model.predict_rows(filled)["predicted_return"],
                          predicted["predicted_return"])


@pytest.mark.slow
def test_backtest_runs_every_model_on_a_young_warehouse():
    _, report = backtest(young_warehouse_frame(),
                         TrainConfig(n_folds=2, test_sessions=10, min_train_sessions=40,
                                     gbm=GBMConfig(search_iter=2, max_iter=10),
                                     seq=SeqConfig(window=20, epochs=1, max_samples=2000),
                                     prophet_tickers=3))
    report = report.set_index("model_name")
    assert {"gbm_global", "seq_gru", "prophet", "baseline_zero", "baseline_momentum"} \
        <= set(report.index)
    assert (report.loc[["gbm_global", "seq_gru", "prophet"], "test_days"] == 20).all()
    assert report.loc["gbm_global", "predictions"] == 40 * 20
    # Prophet: the 3 most traded tickers of each fold's last training day, every test day
    assert report.loc["prophet", "predictions"] == 3 * 20
    assert np.isfinite(report.loc["prophet", ["ic_mean", "mae", "direction_accuracy"]]).all()


def test_a_training_run_is_sized_by_the_settings():
    from orchestration.ml_jobs import train_config
    from tickerhouse.settings import load_settings

    config = train_config(load_settings(ml_backtest_folds=2, ml_search_candidates=3,
                                        ml_train_sequence=False, ml_prophet_backtest_tickers=0))
    assert (config.n_folds, config.gbm.search_iter, config.train_sequence,
            config.prophet_tickers) == (2, 3, False, 0)
    default = train_config(load_settings())
    assert (default.n_folds, default.gbm.search_iter, default.train_sequence,
            default.prophet_tickers) == (4, 6, True, 30)
