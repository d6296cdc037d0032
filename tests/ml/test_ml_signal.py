"""The backtest finds a planted weak signal out of sample, and finds nothing when there is none.

The synthetic market (ml/synthetic.py) plants yesterday's news tone into today's return; the
features carry the tone (sentiment_score_1d) but nothing says how it matters. Features and
targets are read back from Postgres through ml.features.load_frame, as training reads them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ml.features import load_frame
from ml.models import GBMConfig
from ml.synthetic import make_market, write_market
from ml.training import TrainConfig, backtest

pytestmark = pytest.mark.slow

THROUGH = dt.date(2024, 6, 28)
CONFIG = TrainConfig(n_folds=4, test_sessions=20, train_sequence=False,
                     gbm=GBMConfig(search_iter=3, max_iter=60))


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # OpenMP threads spin-wait on this shared 2-core machine: one thread is several times faster
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def backtest_report(database, signal: float):
    bars, dim, features = make_market(200, THROUGH, 260, signal=signal, seed=3)
    write_market(database, bars, dim, features)
    frame = load_frame(database, dt.date(2023, 1, 1), THROUGH)
    _, report = backtest(frame, CONFIG)
    return report.set_index("model_name")


@pytest.fixture(scope="module")
def warehouse(scratch_databases):
    return scratch_databases("th_test_mlsig")


def test_planted_signal_gives_a_positive_out_of_sample_rank_ic(warehouse):
    report = backtest_report(warehouse, signal=1.0)
    gbm = report.loc["gbm_global"]
    assert gbm["ic_mean"] > 0 and gbm["ic_tstat"] > 3, report
    assert gbm["test_days"] == 80 and gbm["folds"] == 4
    # the baselines know nothing of news: the model must beat them
    assert gbm["ic_mean"] > report.loc[["baseline_momentum", "baseline_sector_mean"], "ic_mean"].max()


def test_without_the_signal_the_ic_is_indistinguishable_from_zero(warehouse):
    report = backtest_report(warehouse, signal=0.0)
    assert abs(report.loc["gbm_global", "ic_tstat"]) < 2, report
