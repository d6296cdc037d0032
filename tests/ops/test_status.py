"""`tickerhouse status`: a health check that says why it fails."""

from __future__ import annotations

import datetime as dt

import pytest

from orchestration.cli import main
from orchestration.status import due_session, sessions_behind
from tests.ops.fixtures import empty, healthy_warehouse, record_run
from tickerhouse import alerts, calendar


@pytest.fixture(scope="module")
def scratch(scratch_databases):
    return scratch_databases("th_test_ops")


@pytest.fixture()
def warehouse(scratch, monkeypatch):
    database = empty(scratch)
    for name in ("POLYGON", "FINNHUB", "ALPHAVANTAGE", "NEWSAPI"):
        monkeypatch.delenv(f"TICKERHOUSE_{name}_API_KEY", raising=False)
    monkeypatch.setenv("TICKERHOUSE_DATABASE_URL", database.url())
    monkeypatch.setenv("COLUMNS", "240")  # rich tables: whole cells, easier to assert on
    return database


def status(capsys, *args: str) -> tuple[int, str]:
    code = main(["status", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, " ".join((captured.out + captured.err).split())  # rich wraps long lines


def test_new_database_is_not_healthy_and_says_what_to_do(warehouse, capsys):
    code, out = status(capsys)
    assert code == 1
    assert "no pipeline run recorded yet: run `tickerhouse run`" in out
    assert "curated.fct_daily_bars is not built yet" in out
    assert "not landed yet" in out  # sources are listed, not failed


def test_fresh_data_is_healthy(warehouse, capsys):
    healthy_warehouse(warehouse)
    code, out = status(capsys)
    assert code == 0, out
    assert "healthy" in out and "not healthy" not in out
    assert "daily_stock_pipeline" in out and "done" in out
    assert "raw.polygon_grouped_daily" in out
    # requests against the plan, retries apart (a retry is the same request again)
    assert "finnhub 3/3 +2 retries" in out and "polygon 1/1" in out


def test_stale_curated_table_fails_and_names_it(warehouse, capsys):
    sessions = healthy_warehouse(warehouse)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("delete from curated.fct_daily_bars where trade_date > %s", (sessions[-4],))
    code, out = status(capsys)
    assert code == 1
    assert (f"curated.fct_daily_bars ends at {sessions[-4]}, 3 session(s) behind {sessions[-1]}"
            in out)
    assert f"tickerhouse run --date {sessions[-1]}" in out


def test_stale_source_fails(warehouse, capsys):
    healthy_warehouse(warehouse)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("update raw.finnhub_quotes set _fetched_at = now() - interval '12 days'")
    code, out = status(capsys)
    assert code == 1
    assert "raw.finnhub_quotes last loaded 12.0 days ago (warn 3 d · error 10 d)" in out


def test_failed_last_run_fails_with_its_error(warehouse, capsys):
    sessions = healthy_warehouse(warehouse)
    run_id = record_run(warehouse, sessions[-1], "failed", failed_step="transform",
                        error="dbt build could not run: boom")
    code, out = status(capsys)
    assert code == 1
    assert f"last run {run_id} ({sessions[-1]}) failed at step transform" in out
    assert "RuntimeError: dbt build could not run: boom" in out
    # a later successful run clears it
    record_run(warehouse, sessions[-1])
    assert status(capsys)[0] == 0


def test_open_alert_fails_until_resolved(warehouse, capsys):
    healthy_warehouse(warehouse)
    alerts.raise_alert(warehouse, source="extract", kind="SchemaDrift", subject="finnhub",
                       message="finnhub quote: field 'c' is gone")
    code, out = status(capsys)
    assert code == 1
    assert "SchemaDrift finnhub: finnhub quote: field 'c' is gone" in out
    assert main(["resolve-alerts", "--all"]) == 0
    assert "1 alert(s) resolved" in capsys.readouterr().out
    assert status(capsys)[0] == 0


def test_alert_older_than_the_last_good_run_only_warns(warehouse, capsys):
    alerts.ensure_table(warehouse)
    alerts.raise_alert(warehouse, source="extract", kind="vendor_failed", subject="polygon",
                       message="polygon down")
    healthy_warehouse(warehouse)
    code, out = status(capsys)
    assert code == 0, out
    assert "warn alerts: alert #1 extract vendor_failed polygon" in out


def test_spent_quota_is_shown_as_a_warning(warehouse, capsys):
    healthy_warehouse(warehouse, extras=True)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("update ops.api_quota_daily set calls = 100 where vendor = 'newsapi'")
    code, out = status(capsys)
    assert code == 0, out
    assert "newsapi abc123: all 100 calls of" in out


def test_resolve_alerts_needs_ids_or_all(warehouse, capsys):
    assert main(["resolve-alerts"]) == 2
    assert "name the alert ids to resolve, or pass --all" in capsys.readouterr().err


@pytest.mark.parametrize(("now", "expected"), [
    (dt.datetime(2026, 11, 23, 7, 59, tzinfo=calendar.NEW_YORK), dt.date(2026, 11, 19)),  # Mon
    (dt.datetime(2026, 11, 23, 8, 0, tzinfo=calendar.NEW_YORK), dt.date(2026, 11, 20)),
    (dt.datetime(2026, 11, 27, 9, 0, tzinfo=calendar.NEW_YORK), dt.date(2026, 11, 25)),  # Thanksgiving
    (dt.datetime(2026, 11, 25, 9, 0, tzinfo=calendar.NEW_YORK), dt.date(2026, 11, 24)),
])
def test_due_session_allows_the_run_until_eight(now, expected):
    assert due_session(now) == expected


def test_sessions_behind_counts_sessions_not_days():
    assert sessions_behind(dt.date(2026, 11, 20), dt.date(2026, 11, 23)) == 1  # a weekend
    assert sessions_behind(dt.date(2026, 11, 25), dt.date(2026, 11, 27)) == 1  # Thanksgiving
    assert sessions_behind(dt.date(2026, 11, 24), dt.date(2026, 11, 24)) == 0


def test_model_fallback_is_a_warning_naming_the_arm(warehouse, capsys):
    sessions = healthy_warehouse(warehouse, extras=True)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("alter table ml.predictions add column served_by text default 'champion'")
        conn.execute("update ml.predictions set served_by = 'previous_champion' "
                     "where ticker in ('AAA', 'BBB')")
    code, out = status(capsys)
    assert code == 0, out
    assert (f"predictions for {sessions[-1]} partly served by the fallback chain "
            "(previous_champion 2)") in out
    assert "latest predictions served by: champion 3, previous_champion 2" in out
    assert "bootstrap baseline" not in out


def test_predictions_of_the_bootstrap_baseline_ask_for_a_trained_model(warehouse, capsys):
    sessions = healthy_warehouse(warehouse, extras=True)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("alter table ml.predictions add column served_by text")
        model = conn.execute("select min(model_name) from ml.predictions").fetchone()[0]
    code, out = status(capsys)
    assert code == 0, out
    assert (f"predictions for {sessions[-1]} come from the bootstrap baseline (5): no champion "
            f"is registered yet, train one with `tickerhouse ml train --date {sessions[-1]}`") in out
    assert f"latest predictions served by: {model} 5" in out
    assert "fallback chain" not in out
