"""The walking skeleton end to end: emulator → dlt → dbt → ML → Redis, on real services."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from orchestration.pipeline import run_daily
from tests.conftest import clear_redis
from tickerhouse.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.slow

TRADE_DATE = dt.date(2026, 11, 20)
HISTORY = 40  # enough sessions for the baseline model's features
UNIVERSE = 6000
# Small per-run budgets keep the free plans' minute windows out of the test's time.
BUDGETS = {"finnhub_calls_per_run": 10, "alphavantage_calls_per_run": 4,
           "newsapi_calls_per_run": 3}
CALLS = {"polygon": HISTORY + 1, "finnhub": 10, "alphavantage": 4, "newsapi": 3}


@pytest.fixture(scope="module")
def warehouse(scratch_databases):
    return scratch_databases("th_test_pipeline")


@pytest.fixture(scope="module")
def settings(tmp_path_factory, redis_url):
    return load_settings(
        history_sessions=HISTORY,
        emulator_tickers=UNIVERSE,
        state_dir=tmp_path_factory.mktemp("state"),
        redis_url=redis_url,
        **BUDGETS,
    )


@pytest.fixture(scope="module")
def first_run(settings, warehouse, redis_url, tmp_path_factory):
    clear_redis(redis_url)  # the cache tests below count every key
    target = tmp_path_factory.mktemp("dbt_target")
    summary = run_daily(settings, TRADE_DATE, "emulator", database=warehouse, dbt_target_path=target)
    yield summary
    clear_redis(redis_url)


def table_counts(warehouse) -> dict[str, object]:
    with warehouse.connect() as conn:
        return {
            "raw": conn.execute("select count(*) from raw.polygon_grouped_daily").fetchone()[0],
            "bars": conn.execute("select count(*) from curated.fct_daily_bars").fetchone()[0],
            "bars_today": conn.execute("select count(*) from curated.fct_daily_bars "
                                       "where trade_date = %s", (TRADE_DATE,)).fetchone()[0],
            "last_load": conn.execute("select max(load_id) from curated.fct_daily_bars").fetchone()[0],
            "predictions": conn.execute(
                "select count(*), count(distinct run_id), min(created_at) from ml.predictions "
                "where as_of_date = %s", (TRADE_DATE,)).fetchone(),
            "runs": conn.execute("select count(*) from ml.model_runs").fetchone()[0],
        }


def test_first_run_lands_the_whole_universe_for_the_date(first_run, warehouse):
    assert first_run.status == "done", first_run
    assert first_run.dbt_failures == []
    counts = table_counts(warehouse)
    assert counts["bars_today"] == UNIVERSE
    assert counts["bars"] == UNIVERSE * (HISTORY + 1)
    assert counts["raw"] == counts["bars"]
    # One grouped-daily call per session (the history, then the day), then the plan's calls.
    assert first_run.api_calls == CALLS == first_run.planned_calls
    assert first_run.rows_landed["polygon_grouped_daily"] == UNIVERSE * (HISTORY + 1)
    assert first_run.failed_vendors == {}
    assert any("bootstrapped 40 sessions" in note and "emulated paid" in note
               for note in first_run.notes)
    assert first_run.models_built >= 2 and first_run.tests_passed >= 10


def test_predictions_cover_every_ticker_with_model_version_and_run(first_run, warehouse):
    assert first_run.predictions == UNIVERSE
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select p.target_date, p.model_name, p.model_version, r.trained_through "
            "from ml.predictions p join ml.model_runs r using (run_id) "
            "where p.as_of_date = %s group by 1, 2, 3, 4", (TRADE_DATE,)).fetchall()
        missing = conn.execute(
            "select count(*) from curated.fct_daily_bars b where trade_date = %s and not exists "
            "(select 1 from ml.predictions p where p.ticker = b.ticker and p.as_of_date = %s)",
            (TRADE_DATE, TRADE_DATE)).fetchone()[0]
    assert missing == 0
    [(target_date, model_name, model_version, trained_through)] = rows
    assert target_date == dt.date(2026, 11, 23)  # the next session
    assert model_name == "baseline_ridge_momentum" and len(model_version) == 12
    # The target of the last training row is the as-of day's return: nothing later is used.
    assert trained_through < TRADE_DATE


def test_cache_holds_the_latest_bar_and_prediction_per_ticker(first_run, warehouse, redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = list(client.scan_iter("tickerhouse:v2:bar:*", count=1000))
    assert len(keys) == UNIVERSE == first_run.cached_tickers
    with warehouse.connect() as conn:
        ticker, close = conn.execute(
            "select ticker, close from curated.fct_daily_bars where trade_date = %s "
            "order by volume desc limit 1", (TRADE_DATE,)).fetchone()
    cached = client.hgetall(f"tickerhouse:v2:bar:{ticker}")
    assert cached["trade_date"] == TRADE_DATE.isoformat()
    assert float(cached["close"]) == pytest.approx(close, rel=1e-9)
    prediction = client.hgetall(f"tickerhouse:v2:pred:{ticker}")
    assert "predicted_return" in prediction and prediction["model_name"] == "baseline_ridge_momentum"
    assert 0 < client.ttl(f"tickerhouse:v2:bar:{ticker}") <= 7 * 24 * 3600
    assert client.zcard("tickerhouse:v2:board:dollar_volume") == 100


def test_second_run_is_idempotent(first_run, settings, warehouse, tmp_path_factory):
    before = table_counts(warehouse)
    again = run_daily(settings, TRADE_DATE, "emulator", database=warehouse,
                      dbt_target_path=tmp_path_factory.mktemp("dbt_target_again"))
    assert again.status == "done"
    assert again.api_calls == {} and again.rows_landed == {}
    assert table_counts(warehouse) == before  # same rows, same load, same prediction run


def test_analyst_can_build_and_document_the_dbt_project_by_hand(first_run, warehouse):
    env = {**os.environ, "TICKERHOUSE_DATABASE_URL": warehouse.url(),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    dbt = str(Path(sys.executable).parent / "dbt")
    for command in (["build"], ["docs", "generate"]):
        result = subprocess.run([dbt, *command], cwd=PROJECT_ROOT / "dbt_project", env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:]
    catalog = PROJECT_ROOT / "dbt_project" / "target" / "catalog.json"
    assert "fct_daily_bars" in catalog.read_text()


def test_without_redis_the_cache_step_is_skipped_and_nothing_else_fails(first_run, warehouse,
                                                                        tmp_path_factory):
    settings = load_settings(history_sessions=HISTORY, emulator_tickers=UNIVERSE,
                             state_dir=tmp_path_factory.mktemp("state_noredis"),
                             redis_url="redis://127.0.0.1:1/0", **BUDGETS)
    summary = run_daily(settings, TRADE_DATE, "emulator", database=warehouse,
                        dbt_target_path=tmp_path_factory.mktemp("dbt_target_noredis"))
    assert summary.status == "done"
    assert summary.cached_tickers is None
    assert any(note.startswith("cache skipped") for note in summary.notes)
    assert summary.predictions == UNIVERSE


def test_the_run_ledger_records_each_step(first_run, warehouse):
    with warehouse.connect() as conn:
        run_id, status, details = conn.execute(
            "select run_id, status, details from ops.pipeline_runs where trade_date = %s "
            "order by started_at limit 1", (TRADE_DATE,)).fetchone()
        steps = dict(conn.execute(
            "select step, status from ops.pipeline_steps where run_id = %s", (run_id,)).fetchall())
        extract_details = conn.execute(
            "select details from ops.pipeline_steps where run_id = %s and step = 'extract'",
            (run_id,)).fetchone()[0]
    assert status == "done"
    assert steps == {"check_calendar": "done", "extract": "done", "transform": "done",
                     "predict": "done", "refresh_cache": "done"}
    assert details["predictions"] == UNIVERSE
    assert extract_details["calls"] == CALLS
