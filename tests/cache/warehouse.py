"""A small warehouse for the cache tests and bench: the curated tables the cache reads, created
from their dbt contracts (dbt_project/models/curated/_curated__models.yml, so a renamed column
breaks these tests as it would break the cache), ml.predictions from ml.baseline, and a stand-in
for the staging quotes view; filled with a deterministic market of two sessions."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import yaml
from psycopg import sql

from ml.baseline import DDL as ML_DDL
from tickerhouse.database import Database
from tickerhouse.settings import PROJECT_ROOT

CONTRACTS = PROJECT_ROOT / "dbt_project" / "models" / "curated" / "_curated__models.yml"
CURATED = ("fct_daily_bars", "fct_daily_indicators", "fct_fundamentals",
           "agg_ticker_daily_sentiment")
SESSION = dt.date(2026, 11, 20)  # a Friday; the next session is Monday the 23rd
PREVIOUS = dt.date(2026, 11, 19)
QUOTES_DDL = """
create table staging.stg_finnhub__quotes (
    ticker text, quoted_epoch bigint, quoted_at timestamptz, quote_date date,
    current_price double precision, open double precision, high double precision,
    low double precision, previous_close double precision, change double precision,
    change_ratio double precision, request_id text, fetched_at timestamptz, load_id text,
    loaded_at timestamptz)
"""


def contract_columns(model: str) -> list[tuple[str, str]]:
    models = {m["name"]: m for m in yaml.safe_load(CONTRACTS.read_text())["models"]}
    return [(column["name"], column["data_type"]) for column in models[model]["columns"]]


def tickers(count: int) -> list[str]:
    return [f"T{index:04d}" for index in range(count)]


@dataclass
class Market:
    database: Database
    tickers: list[str]

    def execute(self, query: str, params=None) -> None:
        with self.database.connect(autocommit=True) as conn:
            conn.execute(query, params)


def build(database: Database, count: int = 200, *, seed: int = 3) -> Market:
    """Create the tables and fill them: bars and indicators for two sessions, a prediction per
    ticker, fundamentals from two vendors for half, quotes for 20, news sentiment for 30."""
    names = tickers(count)
    rng = random.Random(seed)
    with database.connect(autocommit=True) as conn:
        for schema in ("curated", "ml", "staging"):
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        for model in CURATED:
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(data_type))
                for name, data_type in contract_columns(model))
            conn.execute(sql.SQL("create table curated.{} ({})").format(sql.Identifier(model),
                                                                       columns))
        conn.execute("create unique index on curated.fct_daily_bars (ticker, trade_date)")
        conn.execute("create unique index on curated.fct_daily_indicators (ticker, trade_date)")
        conn.execute(ML_DDL)
        conn.execute(QUOTES_DDL)
        run_id = "00000000-0000-0000-0000-000000000001"
        conn.execute("insert into ml.model_runs values (%s, 'baseline_ridge_momentum', 'v1', %s, "
                     "%s, %s, 1000, '{}', '{}')", (run_id, SESSION, PREVIOUS, PREVIOUS))

        bars, indicators, predictions, fundamentals, quotes, sentiment = [], [], [], [], [], []
        merged = dt.datetime(2026, 11, 21, 11, 5, tzinfo=dt.UTC)
        for index, ticker in enumerate(names):
            previous_close = round(rng.uniform(5, 400), 2)
            close = round(previous_close * (1 + rng.gauss(0, 0.03)), 2)
            for day, price in ((PREVIOUS, previous_close), (SESSION, close)):
                volume = rng.randrange(10_000, 50_000_000)
                bars.append((ticker, day, price, price * 1.02, price * 0.97, price, volume,
                             price * 1.001, volume // 100, "polygon", "1", merged, merged))
            indicators.append((ticker, SESSION, close, 120, close / previous_close - 1,
                               None if index % 7 == 0 else rng.gauss(0, 0.05), close * 0.98,
                               close * volume, rng.uniform(30, 70), merged))
            predictions.append((ticker, SESSION, dt.date(2026, 11, 23), 1, rng.gauss(0, 0.01),
                                close * (1 + rng.gauss(0, 0.01)), "baseline_ridge_momentum", "v1",
                                run_id))
            if index % 2 == 0:
                known = dt.datetime(2026, 11, 18, 12, tzinfo=dt.UTC)
                fundamentals.append((ticker, "alphavantage_overview", known, None, True,
                                     rng.uniform(5, 40), rng.uniform(1, 9), 0.01,
                                     close * 1e8, 2.5, 20.0, 1e8, dt.date(2026, 9, 30), "1"))
                fundamentals.append((ticker, "finnhub_metrics", known + dt.timedelta(days=2), None,
                                     True, rng.uniform(5, 40), None, 0.02, close * 1.1e8, None,
                                     None, None, None, "2"))
            if index < 20:
                quoted = dt.datetime(2026, 11, 20, 21, tzinfo=dt.UTC)
                quotes.append((ticker, quoted, close, previous_close, close - previous_close,
                               close / previous_close - 1, quoted + dt.timedelta(minutes=1)))
            if index < 30:
                for day in (PREVIOUS, SESSION):
                    sentiment.append((ticker, day, 3, 1, 1, 1, round(rng.uniform(-1, 1), 3), 0.0))
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into curated.fct_daily_bars (ticker, trade_date, open, high, low, close, "
                "volume, vwap, trade_count, source, load_id, loaded_at, merged_at) values "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", bars)
            cursor.executemany(
                "insert into curated.fct_daily_indicators (ticker, trade_date, close, bars_seen, "
                "return_1d, return_20d, sma_20, dollar_volume, rsi_14, merged_at) values "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", indicators)
            cursor.executemany("insert into ml.predictions (ticker, as_of_date, target_date, "
                               "horizon_sessions, predicted_return, predicted_close, model_name, "
                               "model_version, run_id) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                               predictions)
            cursor.executemany(
                "insert into curated.fct_fundamentals (ticker, source, known_at, known_until, "
                "is_current, pe_ratio, price_to_book, dividend_yield, market_cap, eps_ttm, "
                "book_value_per_share, shares_outstanding, latest_quarter, load_id) values "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", fundamentals)
            cursor.executemany(
                "insert into staging.stg_finnhub__quotes (ticker, quoted_at, current_price, "
                "previous_close, change, change_ratio, fetched_at) values "
                "(%s, %s, %s, %s, %s, %s, %s)", quotes)
            cursor.executemany(
                "insert into curated.agg_ticker_daily_sentiment (ticker, session_date, "
                "article_count, positive_count, negative_count, neutral_count, "
                "mean_sentiment_score, net_sentiment) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                sentiment)
    return Market(database, names)
