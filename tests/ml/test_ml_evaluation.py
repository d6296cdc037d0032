"""Walk-forward splits, the backtest metrics, PSI and the A/B hash: pure functions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from ml.drift import feature_psi
from ml.evaluation import daily_rank_ic, metrics, newey_west_tstat, walk_forward_splits
from ml.models import reference_bins
from ml.serving import ab_arm


def test_walk_forward_splits_expand_and_leave_a_gap_of_the_horizon():
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(200)]
    splits = walk_forward_splits(dates, n_folds=4, test_size=20, gap=5, min_train=50)
    assert len(splits) == 4
    previous_train = 0
    for split in splits:
        assert split.train_dates[0] == dates[0]  # expanding: always from the start
        assert len(split.train_dates) > previous_train
        previous_train = len(split.train_dates)
        gap = dates.index(split.test_dates[0]) - dates.index(split.train_dates[-1]) - 1
        assert gap == 5
        assert len(split.test_dates) == 20
    assert splits[-1].test_dates[-1] == dates[-1]
    # test blocks tile the end of the history without overlap
    tested = [d for s in splits for d in s.test_dates]
    assert len(tested) == len(set(tested)) == 80


def test_splits_too_short_for_the_minimum_training_window_are_dropped():
    dates = list(range(100))
    splits = walk_forward_splits(dates, n_folds=4, test_size=20, gap=5, min_train=30)
    assert [len(s.train_dates) for s in splits] == [35, 55, 75]


def test_daily_rank_ic_is_spearman_per_day():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"d": np.repeat(np.arange(5), 40), "p": rng.normal(size=200)})
    frame["y"] = frame["p"] * 0.3 + rng.normal(size=200)
    ic = daily_rank_ic(frame["d"], frame["p"], frame["y"])
    expected = [spearmanr(g["p"], g["y"]).statistic for _, g in frame.groupby("d")]
    np.testing.assert_allclose(ic.to_numpy(), expected, rtol=1e-12)


def test_newey_west_with_no_lags_is_the_plain_t_stat_and_lags_widen_it_for_overlap():
    rng = np.random.default_rng(2)
    x = rng.normal(0.1, 1, 400)
    plain = x.mean() / (x.std(ddof=0) / np.sqrt(len(x)))
    assert newey_west_tstat(x, lags=0) == pytest.approx(plain)
    overlapping = pd.Series(rng.normal(0.05, 1, 400)).rolling(5).mean().dropna()  # like 5-day ICs
    assert abs(newey_west_tstat(overlapping, lags=4)) < abs(newey_west_tstat(overlapping, lags=0))


def test_metrics_of_a_perfect_and_a_constant_prediction():
    dates = np.repeat(np.arange(10), 30)
    y = np.random.default_rng(3).normal(size=300)
    perfect = metrics(dates, y, y, horizon=5)
    assert perfect["direction_accuracy"] == 1 and perfect["ic_mean"] == pytest.approx(1)
    assert perfect["ic_hit_rate"] == 1 and perfect["mae"] == 0
    zero = metrics(dates, np.zeros(300), y, horizon=5)
    assert np.isnan(zero["ic_mean"]) and zero["mae"] == pytest.approx(np.abs(y).mean())
    assert zero["direction_accuracy"] == pytest.approx((y <= 0).mean())


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(4)
    train = pd.DataFrame({"x": rng.normal(size=20_000)})
    reference = reference_bins(train, ["x"])
    same = feature_psi(reference, pd.DataFrame({"x": rng.normal(size=3000)}))["x"]
    shifted = feature_psi(reference, pd.DataFrame({"x": rng.normal(1.0, 1, 3000)}))["x"]
    missing = feature_psi(reference, pd.DataFrame({"x": np.full(3000, np.nan)}))["x"]
    assert same < 0.02 and shifted > 0.25 and missing > 1


def test_ab_arms_are_a_stable_hash_split():
    tickers = [f"T{i:04d}" for i in range(4000)]
    arms = [ab_arm(t) for t in tickers]
    assert arms == [ab_arm(t) for t in tickers]
    share = arms.count("challenger") / len(arms)
    assert 0.45 < share < 0.55
    assert all(ab_arm(t, 0.0) == "champion" for t in tickers[:100])
