"""The quality net: tests that must fail when the data is wrong, test windows, the ops ledger, the
roles, and docs in which every model and column is described."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid

import psycopg
import pytest
from psycopg import errors, sql

from .warehouse import (
    DBT,
    DBT_PROJECT_DIR,
    apply_setup,
    market,
    next_session,
    run_dbt,
    sessions,
    tickers,
)

pytestmark = pytest.mark.timeout(600)

UNIVERSE = tickers(60)
HISTORY_END = dt.date(2026, 6, 30)
HISTORY = sessions(60, HISTORY_END)
PARTIAL_DAY = next_session(HISTORY_END)
BARS = {(bar.ticker, bar.session): bar for bar in market(UNIVERSE, [*HISTORY, PARTIAL_DAY], seed=11)}


def bars_of(session, names):
    return [BARS[(ticker, session)] for ticker in names]


@pytest.fixture(scope="module")
def built(warehouse, lander, dbt_target):
    lander.land([bar for session in HISTORY for bar in bars_of(session, UNIVERSE)])
    done = run_dbt(warehouse.url(), dbt_target, "build")
    assert done.ok, done.tail()
    return done


def failing_tests(warehouse, invocation_status: str = "fail") -> set[str]:
    with psycopg.connect(warehouse.url()) as conn:
        rows = conn.execute(
            "select test_name from ops.dbt_test_results where invocation_id = ("
            "  select invocation_id from ops.dbt_invocations order by run_started_at desc limit 1)"
            " and status = %s", (invocation_status,)).fetchall()
    return {row[0] for row in rows}


def test_calendar_aware_anomaly_tests_fail_on_a_partial_session_and_recover(built, warehouse,
                                                                            lander, dbt_target):
    # a vendor answers for half the market only...
    lander.land(bars_of(PARTIAL_DAY, UNIVERSE[:30]))
    done = run_dbt(warehouse.url(), dbt_target, "build")
    assert not done.ok
    assert {"row_count_per_trading_day", "missing_ticker_share"} <= failing_tests(warehouse)
    # ... and the rest arrives with the next run: the same session is whole again
    lander.land(bars_of(PARTIAL_DAY, UNIVERSE[30:]))
    done = run_dbt(warehouse.url(), dbt_target, "build")
    assert done.ok, done.tail()
    assert failing_tests(warehouse) == set()


def test_a_skipped_session_fails_the_row_count_test(built, warehouse, dbt_target, scratch_databases,
                                                    tmp_path):
    gap_db = scratch_databases("th_test_dbt_gap")
    apply_setup(gap_db.url())
    from .warehouse import RawLander

    skipped = HISTORY[-10]
    RawLander(gap_db.url()).land([bar for session in HISTORY if session != skipped
                                  for bar in bars_of(session, UNIVERSE)])
    done = run_dbt(gap_db.url(), tmp_path, "build", "--select", "+fct_daily_bars")
    assert not done.ok
    with psycopg.connect(gap_db.url()) as conn:
        failures = conn.execute(
            "select test_name, failures from ops.dbt_test_results where status = 'fail'").fetchall()
    assert ("row_count_per_trading_day", 1) in failures


def test_the_no_lookahead_test_catches_an_indicator_that_used_a_later_bar(built, warehouse,
                                                                          dbt_target):
    with psycopg.connect(warehouse.url(), autocommit=True) as conn:
        newest = conn.execute("select max(trade_date) from curated.fct_daily_indicators").fetchone()[0]
        ticker = UNIVERSE[0]
        previous = conn.execute(
            "select trade_date, sma_20 from curated.fct_daily_indicators where ticker = %s "
            "and trade_date < %s order by trade_date desc limit 1", (ticker, newest)).fetchone()
        # the newest row's SMA is replaced by one that counted the next bar too
        stored = conn.execute("select sma_20 from curated.fct_daily_indicators where ticker = %s "
                              "and trade_date = %s", (ticker, newest)).fetchone()[0]
        conn.execute("update curated.fct_daily_indicators set sma_20 = %s "
                     "where ticker = %s and trade_date = %s", (stored * 1.01, ticker, newest))
        try:
            done = run_dbt(warehouse.url(), dbt_target, "test", "--select",
                           "assert_indicators_use_no_later_bars")
            assert not done.ok and "Got 1 result" in done.stdout
        finally:
            conn.execute("update curated.fct_daily_indicators set sma_20 = %s "
                         "where ticker = %s and trade_date = %s", (stored, ticker, newest))
        assert previous is not None


def test_daily_tests_read_a_window_and_the_full_scope_reads_everything(built, warehouse, dbt_target):
    compiled = (dbt_target / "compiled" / "tickerhouse" / "models" / "curated" /
                "_curated__models.yml" / "not_null_fct_daily_bars_ticker.sql")
    text = compiled.read_text()
    assert "merged_at = (select max(merged_at)" in text and "- 31" in text
    done = run_dbt(warehouse.url(), dbt_target, "test", "--select", "fct_daily_bars,test_type:generic",
                   "--vars", "{test_scope: full}")
    assert done.ok, done.tail()
    assert "merged_at = (select max(merged_at)" not in compiled.read_text()


def test_every_invocation_and_test_result_is_kept_in_ops(built, warehouse):
    with psycopg.connect(warehouse.url()) as conn:
        invocations = conn.execute("select count(*), count(*) filter (where command = 'build') "
                                   "from ops.dbt_invocations").fetchone()
        kinds = dict(conn.execute("select test_kind, count(distinct unique_id) "
                                  "from ops.dbt_test_results group by 1").fetchall())
        history = conn.execute(
            "select count(distinct invocation_id) from ops.dbt_test_results "
            "where tested_node = 'fct_daily_bars' and test_name = 'unique_combination_of_columns'"
        ).fetchone()[0]
        commands = conn.execute("select command, tests_passed, tests_failed from ops.dbt_invocations "
                                "order by run_started_at").fetchall()
    assert invocations[1] >= 3
    assert kinds["generic"] > 100 and kinds["singular"] >= 5 and kinds["unit"] >= 5
    # every build, and the full-scope `dbt test`, recorded the same test
    assert history == invocations[0] - 1, commands  # all but the no-lookahead `dbt test`


def test_an_analyst_reads_curated_and_is_refused_elsewhere_and_on_every_write(built, warehouse):
    from ml.baseline import ensure_tables

    ensure_tables(warehouse)  # ml.predictions and ml.model_runs, as the ML step creates them
    login = f"th_test_analyst_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg.connect(warehouse.url(), autocommit=True)
    admin.execute(sql.SQL("create role {} login in role tickerhouse_analyst").format(
        sql.Identifier(login)))
    try:
        analyst_url = warehouse.with_database(warehouse.name).url().replace("postgres@", f"{login}@", 1)
        with psycopg.connect(analyst_url, autocommit=True) as analyst:
            assert analyst.execute("select count(*) from curated.fct_daily_bars").fetchone()[0] > 0
            assert analyst.execute("select count(*) from curated.agg_weekly_bars").fetchone()[0] > 0
            assert analyst.execute("select count(*) from curated.dim_ticker_history").fetchone()[0] > 0
            for table in ("raw.polygon_grouped_daily", "ml.predictions", "ops.dbt_invocations",
                          "staging.int_daily_bars_validated", "quarantine.quarantined_daily_bars"):
                with pytest.raises(errors.InsufficientPrivilege):
                    analyst.execute(f"select 1 from {table} limit 1")
            # read-only, curated included: no writes to raw, ops, ml or curated, no new tables
            for statement in (
                "insert into raw.polygon_grouped_daily (\"T\", \"t\", _session_date, _dlt_load_id) "
                "values ('X', 0, current_date, '1')",
                "delete from raw.polygon_grouped_daily",
                "create table raw.analyst_scratch (x int)",
                "insert into ops.dbt_invocations (invocation_id) values ('x')",
                "create table ops.analyst_scratch (x int)",
                "insert into ml.predictions select * from ml.predictions",
                "update curated.fct_daily_bars set close = 0",
                "create table curated.analyst_scratch (x int)",
            ):
                with pytest.raises(errors.InsufficientPrivilege):
                    analyst.execute(statement)
    finally:
        admin.execute(sql.SQL("drop owned by {}").format(sql.Identifier(login)))
        admin.execute(sql.SQL("drop role {}").format(sql.Identifier(login)))
        admin.close()


def test_docs_generate_and_describe_every_model_and_column(built, warehouse, dbt_target):
    done = run_dbt(warehouse.url(), dbt_target, "docs", "generate")
    assert done.ok, done.tail()
    manifest = json.loads((dbt_target / "manifest.json").read_text())
    catalog = json.loads((dbt_target / "catalog.json").read_text())
    undescribed = []
    for unique_id, node in {**manifest["nodes"], **manifest["sources"]}.items():
        if node["resource_type"] not in ("model", "seed", "snapshot", "source"):
            continue
        if node.get("package_name") != "tickerhouse":
            continue
        if not node.get("description", "").strip():
            undescribed.append(unique_id)
        documented = {name.lower(): column for name, column in node["columns"].items()}
        built_columns = (catalog["nodes"].get(unique_id) or catalog["sources"].get(unique_id) or
                         {"columns": {}})["columns"]
        for column in built_columns:
            if not (documented.get(column.lower()) or {}).get("description", "").strip():
                undescribed.append(f"{unique_id}.{column}")
    assert undescribed == []
    assert "model.tickerhouse.fct_daily_indicators" in catalog["nodes"]


def test_docs_serve_answers_with_the_generated_site(built, warehouse, dbt_target):
    assert (dbt_target / "catalog.json").exists()  # generated by the test above
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TICKERHOUSE_DATABASE_URL": warehouse.url(),
           "DBT_TARGET_PATH": str(dbt_target), "DBT_LOG_PATH": str(dbt_target / "logs")}
    server = subprocess.Popen([str(DBT), "docs", "serve", "--port", str(port), "--no-browser"],
                              cwd=DBT_PROJECT_DIR, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json", timeout=5) as answer:
                    assert "fct_daily_bars" in answer.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "dbt docs serve did not answer"
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
