"""Training, the registry, serving with its fallback chain, drift-triggered retraining, the A/B
promotion and the recommendation scores, on a synthetic curated history in a real Postgres."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURE_COLUMNS
from ml.models import GBMConfig, SeqConfig
from ml.synthetic import make_market, write_market
from ml.training import TrainConfig
from orchestration import ml_jobs
from tickerhouse import calendar
from tickerhouse.settings import load_settings

pytestmark = pytest.mark.slow

THROUGH = dt.date(2024, 6, 28)
SESSIONS = 160
AS_OF = calendar.sessions_before(THROUGH, 10)[0]  # ten sessions of "later" rows after it
TINY = TrainConfig(history_sessions=150, n_folds=2, test_sessions=10, min_train_sessions=40,
                   gbm=GBMConfig(search_iter=2, inner_folds=1, inner_test_sessions=10, max_iter=40),
                   seq=SeqConfig(window=20, hidden=4, epochs=1, max_samples=1500),
                   prophet_tickers=3)


@pytest.fixture(autouse=True, scope="module")
def _few_threads():
    # OpenMP and torch threads spin-wait on this shared 2-core machine: one is several times faster
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def market():
    return make_market(60, THROUGH, SESSIONS, signal=0.1, seed=9)


@pytest.fixture(scope="module")
def warehouse(scratch_databases, market):
    database = scratch_databases("th_test_ml")
    bars, dim, features = market
    keep = features["trade_date"] <= AS_OF
    write_market(database, bars[bars["trade_date"] <= AS_OF], dim, features[keep])
    return database


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(state_dir=tmp_path_factory.mktemp("ml_state"), ml_prophet_budget_seconds=0)


@pytest.fixture(scope="module")
def trained(settings, warehouse):
    return ml_jobs.train(settings, warehouse, AS_OF, TINY)


def predictions(database, as_of=AS_OF) -> pd.DataFrame:
    with database.connect() as conn:
        cursor = conn.execute("select * from ml.predictions where as_of_date = %s order by ticker, "
                              "model_name, model_version", (as_of,))
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


def test_training_registers_champion_and_challenger_and_reports_beside_baselines(trained, warehouse):
    assert set(trained.aliases) == {"champion", "challenger"}
    assert trained.versions == {"gbm_global": trained.aliases["champion"],
                                "seq_gru": trained.aliases["challenger"]}
    report = ml_jobs.report(warehouse)
    assert set(report["model_name"]) == {"gbm_global", "seq_gru", "prophet", "baseline_zero",
                                         "baseline_momentum", "baseline_sector_mean"}
    # Prophet on the 3 most traded tickers only, not registered (it fits per ticker daily)
    assert report.set_index("model_name").loc["prophet", "predictions"] == 3 * 20
    assert (report["folds"] == 2).all() and (report["test_days"] == 20).all()
    assert report.loc[report["model_name"] == "gbm_global", "mlflow_run_id"].notna().all()
    with warehouse.connect() as conn:
        runs = conn.execute("select model_name, trained_through, params from ml.model_runs "
                            "order by model_name").fetchall()
        tags = dict(conn.execute(
            "select key, value from mlflow.tags where run_uuid = %s",
            (trained.run_ids["gbm_global"],)).fetchall())
        params = dict(conn.execute("select key, value from mlflow.params where run_uuid = %s",
                                   (trained.run_ids["gbm_global"],)).fetchall())
    assert [r[0] for r in runs] == ["gbm_global", "seq_gru"]
    assert all(r[1] < AS_OF for r in runs)  # targets realised by the as-of date only
    assert tags["feature_version"] == "v1" and tags["data_through"] == str(runs[0][1])
    assert {"learning_rate", "max_leaf_nodes", "horizon"} <= set(params)


def test_batch_inference_covers_every_active_ticker_by_hash_arm_and_is_idempotent(
        trained, settings, warehouse):
    first = ml_jobs.predict_day(settings, warehouse, AS_OF)
    rows = predictions(warehouse)
    assert first.written == len(rows) == 60 and first.changed == 60
    assert set(rows["served_by"]) == {"champion", "challenger"}
    from ml.serving import ab_arm
    assert (rows["ab_arm"] == rows["ticker"].map(ab_arm)).all()
    assert (rows["served_by"] == rows["ab_arm"]).all()
    champion = rows[rows["served_by"] == "champion"]
    assert (champion["model_name"] == "gbm_global").all()
    assert (champion["predicted_lower"] < champion["predicted_return"]).all()
    assert (champion["predicted_return"] < champion["predicted_upper"]).all()
    assert champion["direction_probability"].between(0, 1).all()
    assert (rows["target_date"] == calendar.sessions_between(AS_OF, THROUGH)[5]).all()
    again = ml_jobs.predict_day(settings, warehouse, AS_OF)
    assert again.written == 60 and again.changed == 0
    pd.testing.assert_frame_equal(predictions(warehouse), rows)


def test_recommendation_scores_follow_the_documented_formula(trained, settings, warehouse):
    from scipy.stats import norm

    ml_jobs.predict_day(settings, warehouse, AS_OF)
    with warehouse.connect() as conn:
        cursor = conn.execute("select * from ml.recommendation_scores where as_of_date = %s", (AS_OF,))
        scores = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    assert len(scores) == 60 and scores["score"].between(0, 100).all()
    assert scores["score"].std() > 1  # the scores discriminate
    row = scores.iloc[0]
    quality = max(0.25, 1 - 0.25 * len(row["quality_flags"]))
    expected = 100 * (0.5 + quality * (norm.cdf(row["predicted_return"] / row["uncertainty"]
                                                + 0.5 * row["sentiment"]) - 0.5))
    assert row["score"] == pytest.approx(expected, abs=1e-3)


def test_predictions_for_a_day_ignore_rows_after_it(trained, settings, warehouse, market):
    ml_jobs.predict_day(settings, warehouse, AS_OF)
    before = predictions(warehouse)
    bars, dim, features = market
    with warehouse.connect() as conn:
        conn.execute("truncate curated.ml_features_daily, curated.fct_daily_bars, curated.dim_ticker")
        conn.commit()
    write_market(warehouse, bars, dim, features)  # the ten later sessions arrive
    try:
        result = ml_jobs.predict_day(settings, warehouse, AS_OF)
        assert result.changed == 0
        pd.testing.assert_frame_equal(predictions(warehouse), before)
    finally:
        keep = features["trade_date"] <= AS_OF
        write_market(warehouse, bars[bars["trade_date"] <= AS_OF], dim, features[keep])


def test_fallback_chain_previous_version_then_momentum(trained, settings, warehouse, monkeypatch):
    from ml.models import GlobalGBM
    from ml.registry import Registry

    retrained = ml_jobs.train(settings, warehouse, AS_OF, TINY)  # a refit: new champion
    champion, previous = retrained.aliases["champion"], trained.aliases["champion"]
    assert champion != previous
    load = Registry.load

    def broken_load(self, version):
        if version == champion:
            raise OSError("artifact missing")
        return load(self, version)

    monkeypatch.setattr(Registry, "load", broken_load)
    monkeypatch.setattr("ml.serving.CHALLENGER_SHARE", 0.5)
    result = ml_jobs.predict_day(settings, warehouse, AS_OF, prophet=False)
    rows = predictions(warehouse)
    served = rows[rows["model_version"] == previous]
    assert result.served["previous_champion"] == len(served) > 0
    assert (served["served_by"] == "previous_champion").all()
    assert any("champion v" in failure for failure in result.failures)

    def failing(self, history, as_of):
        raise RuntimeError("model blew up")

    monkeypatch.setattr(GlobalGBM, "predict_frame", failing)
    result = ml_jobs.predict_day(settings, warehouse, AS_OF, prophet=False)
    rows = predictions(warehouse)
    momentum = rows[rows["model_name"] == "baseline_momentum"]
    assert result.served["momentum_baseline"] == len(momentum) > 0
    assert (momentum["served_by"] == "momentum_baseline").all()
    expected = np.log1p(momentum.merge(
        pd.DataFrame(warehouse.connect().execute(
            "select ticker, return_20d from curated.ml_features_daily where trade_date = %s",
            (AS_OF,)).fetchall(), columns=["ticker", "r20"]), on="ticker")["r20"]) * 5 / 20
    np.testing.assert_allclose(momentum["predicted_return"].to_numpy(), expected.to_numpy())
    with warehouse.connect() as conn:
        flags = conn.execute("select quality_flags from ml.recommendation_scores where ticker = %s "
                             "and as_of_date = %s", (momentum["ticker"].iloc[0], AS_OF)).fetchone()[0]
    assert "fallback" in flags


def test_steps_predict_serves_the_champion_once_one_is_registered(trained, warehouse, monkeypatch):
    from orchestration import steps

    monkeypatch.setenv("TICKERHOUSE_ML_PROPHET_BUDGET_SECONDS", "0")
    result = steps.predict(warehouse, AS_OF)
    assert result.written == 60 and "gbm_global@" in result.model


def test_drift_triggers_retraining_and_every_decision_is_logged(trained, settings, warehouse):
    fresh = ml_jobs.retrain_if_needed(settings, warehouse, config=TINY)  # as the DAG calls it
    assert fresh.as_of == AS_OF  # the newest feature session
    assert not fresh.triggered and fresh.reason.startswith("no trigger")
    assert fresh.summary()["trained"] is False
    last5 = calendar.sessions_before(AS_OF, 4) + [AS_OF]
    with warehouse.connect() as conn:
        conn.execute("update curated.ml_features_daily set dollar_volume_ratio = dollar_volume_ratio * 20 "
                     "where trade_date = any(%s)", (last5,))
        conn.commit()
    try:
        drifted = ml_jobs.retrain_if_needed(settings, warehouse, AS_OF, TINY)
    finally:
        with warehouse.connect() as conn:
            conn.execute("update curated.ml_features_daily set dollar_volume_ratio = "
                         "dollar_volume_ratio / 20 where trade_date = any(%s)", (last5,))
            conn.commit()
    assert drifted.triggered and drifted.reason.startswith("drift: PSI of dollar_volume_ratio")
    assert drifted.result is not None and "champion" in drifted.result.aliases
    later = calendar.sessions_between(AS_OF + dt.timedelta(days=20), AS_OF + dt.timedelta(days=30))[0]
    with warehouse.connect() as conn:
        conn.execute("insert into curated.ml_features_daily select ticker, %s, feature_version, "
                     "sector, close, sector_mean_return_5d, " + ", ".join(FEATURE_COLUMNS) +
                     " from curated.ml_features_daily where trade_date = %s", (later, AS_OF))
        conn.commit()
    try:
        scheduled = ml_jobs.retrain_if_needed(settings, warehouse, later, TrainConfig(
            **{**TINY.__dict__, "train_sequence": False}))
        assert scheduled.triggered and scheduled.reason.startswith("schedule:")
    finally:
        with warehouse.connect() as conn:
            conn.execute("delete from curated.ml_features_daily where trade_date = %s", (later,))
            conn.commit()
    with warehouse.connect() as conn:
        log = conn.execute("select triggered, reason from ml.retrain_log order by logged_at").fetchall()
    assert [row[0] for row in log[-3:]] == [False, True, True]


def _plant_ab_predictions(database, champion: str, challenger: str, run_ids: tuple[str, str],
                          days: int, informative: bool) -> None:
    """Served predictions for `days` as-of dates, their targets realised: the champion's are
    noise; the challenger's are noise or (informative) the realised return plus noise."""
    from ml.serving import ab_arm

    rng = np.random.default_rng(5)
    sessions = calendar.sessions_between(AS_OF - dt.timedelta(days=120), AS_OF)
    as_of_dates = sessions[-(days + 5):-5]
    with database.connect() as conn:
        conn.execute("delete from ml.predictions where as_of_date < %s", (AS_OF,))
        bars = pd.DataFrame(conn.execute(
            "select ticker, trade_date, close from curated.fct_daily_bars").fetchall(),
            columns=["ticker", "trade_date", "close"]).pivot(index="trade_date", columns="ticker",
                                                             values="close")
        rows = []
        for day in as_of_dates:
            later = sessions[sessions.index(day) + 5]
            realised = np.log(bars.loc[later] / bars.loc[day])
            for ticker, value in realised.items():
                arm = ab_arm(ticker)
                signal = value if (arm == "challenger" and informative) else 0.0
                rows.append((ticker, day, later, 5, float(signal + rng.normal(0, 0.03)), 1.0,
                             "gbm_global" if arm == "champion" else "seq_gru",
                             champion if arm == "champion" else challenger,
                             run_ids[arm == "challenger"], arm, arm))
        conn.cursor().executemany(
            "insert into ml.predictions (ticker, as_of_date, target_date, horizon_sessions, "
            "predicted_return, predicted_close, model_name, model_version, run_id, served_by, ab_arm) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
        conn.commit()


def test_ab_promotes_the_challenger_only_on_a_meaningful_lead_over_the_minimum_window(
        trained, settings, warehouse):
    from ml.registry import alias_versions

    aliases = alias_versions(warehouse)
    champion, challenger = aliases["champion"], aliases["challenger"]
    with warehouse.connect() as conn:
        run_id = conn.execute("select run_id::text from ml.model_runs limit 1").fetchone()[0]
    runs = (run_id, run_id)

    _plant_ab_predictions(warehouse, champion, challenger, runs, days=8, informative=True)
    waiting = ml_jobs.ab_evaluate(settings, warehouse, AS_OF)
    assert waiting.decision == "waiting" and waiting.days == 8

    _plant_ab_predictions(warehouse, champion, challenger, runs, days=30, informative=False)
    even = ml_jobs.ab_evaluate(settings, warehouse, AS_OF)
    assert even.decision == "keep_champion" and even.days == 30 and abs(even.t_stat) < 2
    assert alias_versions(warehouse)["champion"] == champion

    _plant_ab_predictions(warehouse, champion, challenger, runs, days=30, informative=True)
    better = ml_jobs.ab_evaluate(settings, warehouse, AS_OF)
    assert better.decision == "promoted" and better.t_stat > 2
    assert better.ic_challenger > better.ic_champion
    after = alias_versions(warehouse)
    assert after["champion"] == challenger and after["previous_champion"] == champion
    assert "challenger" not in after
    with warehouse.connect() as conn:
        decisions = [row[0] for row in conn.execute(
            "select decision from ml.ab_evaluations order by evaluated_at").fetchall()]
    assert decisions == ["waiting", "keep_champion", "promoted"]


def test_cli_report_shows_models_beside_baselines(trained, warehouse, monkeypatch):
    from typer.testing import CliRunner

    from orchestration.cli import app

    monkeypatch.setenv("TICKERHOUSE_DATABASE_URL", warehouse.url())
    result = CliRunner().invoke(app, ["ml", "report"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("gbm_global", "prophet", "baseline_zero", "baseline_momentum",
                 "baseline_sector_mean", "IC t-stat", "IC hit rate", "MAE"):
        assert name in result.output
    bad = CliRunner().invoke(app, ["ml", "predict", "--date", "2024-06-15"])
    assert bad.exit_code != 0 and "not an NYSE session" in str(bad.exception)  # main() prints one line


def test_prophet_forecasts_the_top_tickers_within_its_budget(trained, warehouse):
    from ml.prophet_forecast import forecast_top, priority

    first = forecast_top(warehouse, AS_OF, budget_seconds=1.5, max_tickers=8)
    assert 1 <= first.tickers <= 8 and first.written == first.tickers
    rows = predictions(warehouse)
    rows = rows[rows["model_name"] == "prophet"]
    assert list(rows["ticker"]) == sorted(priority(warehouse, AS_OF, [])[:first.tickers])
    assert (rows["predicted_lower"] < rows["predicted_return"]).all()
    assert (rows["predicted_return"] < rows["predicted_upper"]).all()
    again = forecast_top(warehouse, AS_OF, budget_seconds=60, max_tickers=first.tickers)
    assert again.tickers == first.tickers and again.written == 0  # seeded: a rerun changes nothing
    watch = priority(warehouse, AS_OF, ["SAAZ"])
    assert watch[0] == "SAAZ"
