"""Ledger, raw and curated rows written straight into a scratch database: what `status` and
`report` read, without running the pipeline."""

from __future__ import annotations

import datetime as dt
import math
import time

from orchestration import ledger
from orchestration.status import due_session
from tickerhouse import alerts, calendar
from tickerhouse.database import Database

TICKERS = [("AAA", "Technology"), ("BBB", "Technology"), ("CCC", "Energy"), ("DDD", "Health Care"),
           ("EEE", "Energy")]


SCHEMAS = ("raw", "curated", "ml", "quarantine", "ops")


def empty(database: Database) -> Database:
    """The database as new: every schema the tests write dropped."""
    with database.connect(autocommit=True) as conn:
        for schema in SCHEMAS:
            conn.execute(f"drop schema if exists {schema} cascade")
    return database


def record_run(database: Database, trade_date: dt.date, status: str = "done",
               failed_step: str | None = None, error: str = "") -> str:
    ledger.ensure_tables(database)
    run_id = ledger.start_run(database, "daily_stock_pipeline", trade_date, trigger="cli")
    for name in ("check_calendar", "extract", "transform", "predict"):
        try:
            with ledger.step(database, run_id, name) as record:
                if name == "extract":
                    # finnhub's 3 planned requests took 5 calls: two were retried once
                    record.details.update(rows={"polygon_grouped_daily": len(TICKERS)},
                                          calls={"polygon": 1, "finnhub": 5},
                                          retries={"finnhub": 2},
                                          planned_calls={"polygon": 1, "finnhub": 3})
                if name == "transform":
                    record.details.update(models=12, tests=80, failures=[])
                if name == "predict":
                    record.details.update(predictions=len(TICKERS), model="baseline@abc")
                if name == failed_step:
                    raise RuntimeError(error)
        except RuntimeError:
            break
    ledger.finish_run(database, run_id, status)
    return run_id


def sessions_ending(last: dt.date, count: int) -> list[dt.date]:
    return calendar.sessions_before(last, count - 1) + [last]


def write_raw(database: Database, fetched_at: dt.datetime, sessions: list[dt.date]) -> None:
    load_id = f"{fetched_at.timestamp():.6f}"
    with database.connect(autocommit=True) as conn:
        conn.execute("create schema if not exists raw")
        conn.execute('create table raw.polygon_grouped_daily ("T" text, c double precision, '
                     "_session_date date, _fetched_at timestamptz, _dlt_load_id text)")
        conn.execute("create table raw.finnhub_quotes (symbol text, c double precision, "
                     "_fetched_at timestamptz, _dlt_load_id text)")
        conn.cursor().executemany(
            "insert into raw.polygon_grouped_daily values (%s, 10, %s, %s, %s)",
            [(ticker, day, fetched_at, load_id) for day in sessions for ticker, _ in TICKERS])
        conn.execute("insert into raw.finnhub_quotes values ('AAA', 10, %s, %s)",
                     (fetched_at, load_id))


def write_curated(database: Database, sessions: list[dt.date]) -> None:
    """Bars, indicators, tickers and sector aggregates for `sessions` (a deterministic walk)."""
    with database.connect(autocommit=True) as conn:
        for schema in ("curated", "ml", "quarantine"):
            conn.execute(f"create schema if not exists {schema}")
        conn.execute("create table curated.fct_daily_bars (ticker text, trade_date date, "
                     "close double precision, source text)")
        conn.execute("create table curated.fct_daily_indicators (ticker text, trade_date date, "
                     "return_1d double precision)")
        conn.execute("create table curated.dim_ticker (ticker text, sector text, "
                     "last_trade_date date)")
        conn.execute("create table curated.agg_sector_daily (sector text, trade_date date)")
        bars, indicators = [], []
        for index, (ticker, sector) in enumerate(TICKERS):
            close = 20.0 + index
            for step, day in enumerate(sessions):
                change = 0.02 * math.sin(step * 0.7 + index)
                close *= 1 + change
                bars.append((ticker, day, close))
                indicators.append((ticker, day, change))
            conn.execute("insert into curated.dim_ticker values (%s, %s, %s)",
                         (ticker, sector, sessions[-1]))
        cursor = conn.cursor()
        cursor.executemany("insert into curated.fct_daily_bars values (%s, %s, %s, 'polygon')",
                           bars)
        cursor.executemany("insert into curated.fct_daily_indicators values (%s, %s, %s)",
                           indicators)
        conn.execute("insert into curated.agg_sector_daily select distinct t.sector, b.trade_date "
                     "from curated.fct_daily_bars b join curated.dim_ticker t using (ticker)")


def write_extras(database: Database, sessions: list[dt.date]) -> None:
    """dbt results, quarantine, sentiment, predictions and today's quota: the report's other
    charts."""
    now = dt.datetime.now(dt.UTC)
    with database.connect(autocommit=True) as conn:
        conn.execute("create table ops.dbt_invocations (invocation_id text primary key, "
                     "command text, target_name text, run_started_at timestamptz, "
                     "completed_at timestamptz, dbt_version text, models_ok int, "
                     "models_failed int, tests_passed int, tests_warned int, tests_failed int, "
                     "tests_skipped int)")
        conn.execute("create table ops.dbt_test_results (invocation_id text, unique_id text, "
                     "test_name text, test_kind text, tested_node text, column_name text, "
                     "status text, severity text, failures bigint, execution_seconds float8, "
                     "message text, run_started_at timestamptz)")
        for days_ago in range(5, -1, -1):
            started = now - dt.timedelta(days=days_ago)
            warned = 1 if days_ago % 2 else 0
            conn.execute("insert into ops.dbt_invocations values (%s, 'build', 'dev', %s, %s, "
                         "'1.11', 12, 0, %s, %s, 0, 0)",
                         (f"inv{days_ago}", started, started, 80 - warned, warned))
            if warned:
                conn.execute("insert into ops.dbt_test_results values (%s, 't.vz', 'volume_zscore',"
                             " 'generic', 'fct_daily_bars', 'volume', 'warn', 'error', 3, 0.1, "
                             "'Got 3 results', %s)", (f"inv{days_ago}", started))
        conn.execute("create table quarantine.quarantined_daily_bars (source text, ticker text, "
                     "trade_date date, primary_rule text)")
        for rule, count in (("impossible_jump", 3), ("duplicate", 7), ("high_below_low", 1)):
            for n in range(count):
                conn.execute("insert into quarantine.quarantined_daily_bars values "
                             "('polygon', %s, %s, %s)", (f"Q{n}", sessions[-1 - n % 3], rule))
        conn.execute("create table curated.agg_ticker_daily_sentiment (ticker text, "
                     "session_date date, article_count int, positive_count int, "
                     "negative_count int, neutral_count int, mean_sentiment_score float8)")
        conn.cursor().executemany(
            "insert into curated.agg_ticker_daily_sentiment values (%s, %s, 4, 2, 1, 1, %s)",
            [(ticker, day, 0.3 * math.sin(step)) for step, day in enumerate(sessions)
             for ticker, _ in TICKERS[:3]])
        conn.execute("create table ml.predictions (ticker text, as_of_date date, "
                     "target_date date, horizon_sessions smallint, predicted_return float8, "
                     "model_name text)")
        upcoming = calendar.sessions_between(sessions[-1] + dt.timedelta(days=1),
                                             sessions[-1] + dt.timedelta(days=7))[0]
        conn.cursor().executemany(
            "insert into ml.predictions values (%s, %s, %s, 1, %s, 'baseline')",
            [(ticker, as_of, target, 0.001 * (index - 2))
             for as_of, target in zip(sessions, [*sessions[1:], upcoming], strict=True)
             for index, (ticker, _) in enumerate(TICKERS)])
        conn.execute("create table ops.api_quota_daily (vendor text, key_id text, day date, "
                     "calls int, day_limit int, updated_at timestamptz default now())")
        conn.execute("insert into ops.api_quota_daily values ('newsapi', 'abc123', %s, 12, 100), "
                     "('finnhub', 'abc123', %s, 40, null)", (now.date(), now.date()))


def healthy_warehouse(database: Database, *, extras: bool = False) -> list[dt.date]:
    """A warehouse whose last run is done and whose data is as fresh as the SLAs ask."""
    now = dt.datetime.now(dt.UTC)
    sessions = sessions_ending(due_session(now), 25)
    alerts.ensure_table(database)
    record_run(database, sessions[-1])
    write_raw(database, now - dt.timedelta(minutes=5), sessions)
    write_curated(database, sessions)
    if extras:
        write_extras(database, sessions)
    time.sleep(0.01)  # alerts raised by a test come after the run started
    return sessions
