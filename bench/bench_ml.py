"""ML sidecar: training time of the global gradient-boosting model on 2 years x 6,000 tickers,
batch scoring of 6,000 tickers through the registry (champion + challenger arm, predictions and
recommendation scores written), and Prophet's cost per ticker.

Targets (issue 6): global model trained in under 2 minutes; 6,000 tickers scored in under 5 s.
The history is ml/synthetic.py's (the shape of curated.ml_features_daily), generated in memory
for training and written to a scratch database for serving, because serving reads Postgres.

Run: python -m bench.bench_ml
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from bench._report import write_section
from ml.models import GBMConfig, SeqConfig, fit_gbm, fit_sequence
from ml.synthetic import make_market, write_market
from ml.training import _record_run
from tickerhouse.database import Database

THROUGH = dt.date(2025, 6, 27)
TICKERS = 6000
SESSIONS = 504  # two years
CHUNK = 1500
SERVED_SESSIONS = 70  # what serving reads: the challenger's 60-session window and a margin
SERVER = "postgresql://postgres@127.0.0.1:5432/"


def market() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """6,000 tickers in chunks (bounded memory), symbols kept distinct across chunks."""
    parts = []
    for number in range(TICKERS // CHUNK):
        bars, dim, features = make_market(CHUNK, THROUGH, SESSIONS, signal=0.5, seed=number)
        rename = {t: f"{t}{number}" for t in dim["ticker"]}
        parts.append(tuple(frame.assign(ticker=frame["ticker"].map(rename))
                           for frame in (bars, dim, features)))
    return tuple(pd.concat(frames, ignore_index=True) for frames in zip(*parts, strict=True))


def with_target(features: pd.DataFrame) -> pd.DataFrame:
    features = features.sort_values(["ticker", "trade_date"], ignore_index=True)
    later = features.groupby("ticker")["close"].shift(-5)
    return features.assign(target=np.log(later / features["close"]))


def main() -> None:
    from ml import registry, schema, serving

    lines = []

    def measured(line: str) -> None:
        lines.append(line)
        print(line, flush=True)
    bars, dim, features = market()
    frame = with_target(features)
    labelled = frame.dropna(subset=["target"])
    began = time.perf_counter()
    gbm = fit_gbm(labelled, GBMConfig())
    train_seconds = time.perf_counter() - began
    measured(f"| global model (HistGradientBoosting): randomized search (6 candidates x 2 "
                 f"inner walk-forward folds on 300k rows), interval fit and final fit "
                 f"on {len(labelled):,} rows ({TICKERS:,} tickers x {SESSIONS} "
                 f"sessions, {len(gbm.reference)} features) | {train_seconds:.1f} s | < 120 s |")
    recent = frame[frame["trade_date"] >= sorted(frame["trade_date"].unique())[-250]]
    began = time.perf_counter()
    seq = fit_sequence(recent, SeqConfig())
    seq_seconds = time.perf_counter() - began
    measured(f"| sequence challenger (GRU, 60 sessions, 20k windows, 4 epochs) | "
                 f"{seq_seconds:.1f} s | |")

    name = f"th_bench_ml_{int(time.time())}"
    with psycopg.connect(SERVER + "postgres", autocommit=True) as conn:
        conn.execute(f"create database {name}")
    database = Database(SERVER + name)
    try:
        schema.ensure_tables(database)
        served_from = sorted(features["trade_date"].unique())[-SERVED_SESSIONS]
        # every bar (Prophet reads a year of closes), the features serving reads
        write_market(database, bars, dim, features[features["trade_date"] >= served_from])
        with tempfile.TemporaryDirectory() as state:
            reg = registry.Registry(database, Path(state))
            for model in (gbm, seq):
                _, version = reg.log_model(model, params={}, metrics={}, tags={})
                run_id = reg.client.get_model_version(registry.REGISTERED_MODEL, version).run_id
                _record_run(database, run_id, model, version, THROUGH, labelled.tail(1), {})
                reg.set_alias(registry.CHAMPION if model is gbm else registry.CHALLENGER, version)
            timings = []
            for _ in range(3):
                began = time.perf_counter()
                result = serving.predict_day(database, THROUGH, registry=registry.Registry(database))
                timings.append(time.perf_counter() - began)
            measured(f"| batch scoring of {result.written:,} tickers (registry load of champion "
                         f"and challenger, features, both arms, predictions and recommendation "
                         f"scores written; first run / rerun with nothing changed) | "
                         f"{timings[0]:.2f} s / {min(timings[1:]):.2f} s | < 5 s |")
            from ml.prophet_forecast import forecast_top
            forecast = forecast_top(database, THROUGH, budget_seconds=15, max_tickers=500)
            measured(f"| Prophet fit + 5-session forecast with interval, per ticker (250 closes; "
                         f"{forecast.tickers} tickers chosen by a 15 s budget) | "
                         f"{forecast.per_ticker_seconds * 1000:.0f} ms | |")
    finally:
        with psycopg.connect(SERVER + "postgres", autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")
    body = ("| what | time | target |\n|---|---|---|\n" + "\n".join(lines) + "\n\n"
            f"Scoring timings of 3 runs: {', '.join(f'{t:.2f}' for t in timings)} s "
            f"(median {statistics.median(timings):.2f} s).\n")
    write_section("ML sidecar", body)
    print(body)


if __name__ == "__main__":
    main()
