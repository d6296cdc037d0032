"""Tables of the ML sidecar in the `ml` schema (besides ml.model_runs and ml.predictions, which
ml/baseline.py creates; the columns added here extend ml.predictions for every model)."""

from __future__ import annotations

import datetime as dt
import json

from tickerhouse.database import Database

DDL = """
alter table ml.predictions add column if not exists predicted_lower double precision;
alter table ml.predictions add column if not exists predicted_upper double precision;
alter table ml.predictions add column if not exists direction_probability double precision;
alter table ml.predictions add column if not exists served_by text;
alter table ml.predictions add column if not exists ab_arm text;
create table if not exists ml.backtest_reports (
    report_id           uuid not null,
    created_at          timestamptz not null default now(),
    as_of_date          date not null,
    model_name          text not null,
    is_baseline         boolean not null,
    mlflow_run_id       text,
    feature_version     text not null,
    data_from           date not null,
    data_through        date not null,
    folds               integer not null,
    test_days           integer not null,
    predictions         integer not null,
    direction_accuracy  double precision,
    ic_mean             double precision,
    ic_tstat            double precision,
    ic_hit_rate         double precision,
    mae                 double precision,
    primary key (report_id, model_name)
);
create table if not exists ml.retrain_log (
    logged_at    timestamptz not null default now(),
    as_of_date   date not null,
    triggered    boolean not null,
    reason       text not null,
    details      jsonb not null default '{}'
);
create table if not exists ml.ab_evaluations (
    evaluated_at        timestamptz not null default now(),
    as_of_date          date not null,
    champion_version    text not null,
    challenger_version  text not null,
    days                integer not null,
    ic_champion         double precision,
    ic_challenger       double precision,
    mean_difference     double precision,
    t_stat              double precision,
    decision            text not null
);
create table if not exists ml.recommendation_scores (
    ticker            text not null,
    as_of_date        date not null,
    score             double precision not null,
    predicted_return  double precision not null,
    uncertainty       double precision not null,
    sentiment         double precision not null,
    quality_flags     text[] not null,
    model_name        text not null,
    model_version     text not null,
    formula_version   text not null,
    created_at        timestamptz not null default now(),
    primary key (ticker, as_of_date)
);
"""


def ensure_tables(database: Database) -> None:
    from ml.baseline import ensure_tables as ensure_baseline_tables

    with database.connect(autocommit=True) as conn:
        conn.execute("create schema if not exists ml")  # sql/timescale_setup.sql makes it too
    ensure_baseline_tables(database)
    with database.connect(autocommit=True) as conn:
        conn.execute(DDL)


def record_model_run(database: Database, run_id: str, model_name: str, model_version: str,
                     as_of: dt.date, trained_from: dt.date, trained_through: dt.date,
                     training_rows: int, params: dict) -> None:
    """The run's row in ml.model_runs, which ml.predictions.run_id references; run ids are
    deterministic, so a rerun keeps the row it made the first time."""
    with database.connect() as conn:
        conn.execute(
            "insert into ml.model_runs (run_id, model_name, model_version, as_of_date, "
            "trained_from, trained_through, training_rows, params, coefficients) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, '{}') on conflict (run_id) do nothing",
            (run_id, model_name, model_version, as_of, trained_from, trained_through,
             training_rows, json.dumps(params, default=str)))
