"""ml_features_daily through dbt: point in time. Two warehouses get the same market, one of them
cut at a session; every feature row up to the cut must be identical in both. Then the cut one
catches up incrementally (several sessions at once, then a day with a late correction) and must
end identical to the full one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.dbt.warehouse import (
    RawLander,
    apply_setup,
    market,
    run_dbt,
    same_rows,
    sessions,
    table_rows,
    tickers,
)

pytestmark = pytest.mark.slow

THROUGH = dt.date(2024, 6, 28)
ALL_SESSIONS = sessions(275, THROUGH)  # past the 252 bars the 52-week features need
CUT = ALL_SESSIONS[-12]


def test_features_for_a_day_ignore_every_later_row(scratch_databases, tmp_path_factory):
    symbols = tickers(30)
    bars = market(symbols, ALL_SESSIONS, seed=5)
    full, cut = scratch_databases("th_test_mlfeat"), scratch_databases("th_test_mlfeat")
    for database, kept in ((full, bars), (cut, [b for b in bars if b.session <= CUT])):
        apply_setup(database.url())
        RawLander(database.url()).land(kept)

    def build(database):
        # cautious: skip the tests of models outside the lineage (they need models not built)
        return run_dbt(database.url(), tmp_path_factory.mktemp("dbt_target"), "build", "--select",
                       "+ml_features_daily", "--indirect-selection", "cautious", threads=1)

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(build, (full, cut)))
    for run in runs:
        assert run.ok, run.tail()

    def rows(database, through=CUT):
        with database.connect() as conn:
            return [row for row in table_rows(conn, "curated.ml_features_daily",
                                              exclude=("merged_at",)) if row[1] <= through]

    full_rows, cut_rows = rows(full), rows(cut)
    assert len(full_rows) == len(cut_rows) == 30 * len([d for d in ALL_SESSIONS if d <= CUT])
    assert same_rows(full_rows, cut_rows)
    with full.connect() as conn:
        filled = conn.execute(
            "select count(distance_from_52w_high), count(return_5d_lag5), "
            "count(sector_relative_return_5d), min(feature_version), max(trade_date) "
            "from curated.ml_features_daily").fetchone()
    assert filled[0] > 0 and filled[1] > 0 and filled[2] > 0
    assert filled[3] == "v1" and filled[4] == THROUGH

    # The cut warehouse catches up: the sessions but the last at once, then the last with a
    # late correction of an earlier bar, which both warehouses receive.
    later = [b for b in bars if CUT < b.session < THROUGH]
    RawLander(cut.url()).land(later)
    caught = build(cut)
    assert caught.ok, caught.tail()
    corrected = next(b for b in later if b.session == ALL_SESSIONS[-6])
    correction = dataclasses.replace(corrected, close=corrected.close * 1.01,
                                     high=max(corrected.high, corrected.close * 1.01))
    RawLander(cut.url()).land([b for b in bars if b.session == THROUGH] + [correction])
    RawLander(full.url()).land([correction])
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(build, (full, cut)))
    for run in runs:
        assert run.ok, run.tail()
    caught_up = rows(cut, THROUGH)
    assert len(caught_up) == 30 * len(ALL_SESSIONS)
    assert same_rows(rows(full, THROUGH), caught_up)
    with cut.connect() as conn:
        moved = conn.execute(
            "select count(*) from curated.ml_features_daily where ticker = %s and trade_date = %s "
            "and abs(return_1d_lag1 - %s) < 1e-12", (corrected.ticker, ALL_SESSIONS[-5],
                                                    correction.close / _close_before(bars, corrected) - 1)
        ).fetchone()[0]
    assert moved == 1  # the day after the correction sees the corrected return as its lag


def _close_before(bars, bar):
    earlier = [b for b in bars if b.ticker == bar.ticker and b.session < bar.session]
    return max(earlier, key=lambda b: b.session).close
