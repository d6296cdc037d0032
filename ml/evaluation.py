"""Walk-forward splits and the backtest metrics.

Splits are by date, never by row: every ticker of a session is on the same side. Between a
training window and the test block that follows it lie `gap` sessions (the horizon): the
targets of those sessions end inside the test block, so training on them would leak it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Split:
    train_dates: list
    test_dates: list


def walk_forward_splits(dates, *, n_folds: int, test_size: int, gap: int,
                        min_train: int) -> list[Split]:
    """Expanding-window splits over the sorted unique `dates`: the last n_folds * test_size
    dates are the test blocks; each block trains on every date up to `gap` dates before it."""
    dates = sorted(set(dates))
    splits = []
    for fold in range(n_folds):
        test_start = len(dates) - (n_folds - fold) * test_size
        train_end = test_start - gap
        if train_end < min_train:
            continue
        splits.append(Split(dates[:train_end], dates[test_start:test_start + test_size]))
    return splits


def daily_rank_ic(dates, predictions, targets) -> pd.Series:
    """Spearman correlation of predictions and realised returns, per date (NaN on a date where
    either side is constant)."""
    frame = pd.DataFrame({"date": dates, "p": predictions, "y": targets}).dropna()
    ranked = frame.groupby("date")[["p", "y"]].rank()
    ranked["date"] = frame["date"]
    grouped = ranked.groupby("date")
    mean = grouped.transform("mean")
    dp, dy = ranked["p"] - mean["p"], ranked["y"] - mean["y"]
    parts = pd.DataFrame({"date": ranked["date"], "xy": dp * dy, "xx": dp * dp, "yy": dy * dy})
    sums = parts.groupby("date")[["xy", "xx", "yy"]].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        ic = sums["xy"] / np.sqrt(sums["xx"] * sums["yy"])
    return ic.replace([np.inf, -np.inf], np.nan)


def newey_west_tstat(values, lags: int) -> float:
    """t-statistic of the mean with Newey–West standard errors. Daily ICs of a 5-day target
    overlap by 4 days, so they are autocorrelated and the naive t-stat would overstate."""
    x = np.asarray(pd.Series(values).dropna(), dtype=float)
    n = len(x)
    if n < 3:
        return float("nan")
    centred = x - x.mean()
    variance = centred @ centred / n
    for lag in range(1, min(lags, n - 1) + 1):
        weight = 1 - lag / (lags + 1)
        variance += 2 * weight * (centred[lag:] @ centred[:-lag]) / n
    if variance <= 0:
        return float("nan")
    return float(x.mean() / math.sqrt(variance / n))


def metrics(dates, predictions, targets, *, horizon: int, direction=None) -> dict[str, float]:
    """direction accuracy, daily rank IC mean / t-stat / hit rate, MAE. `direction` (predicted
    up or not) defaults to predictions > 0."""
    predictions = np.asarray(predictions, dtype=float)
    targets = np.asarray(targets, dtype=float)
    up = predictions > 0 if direction is None else np.asarray(direction, dtype=bool)
    ic = daily_rank_ic(dates, predictions, targets).dropna()
    return {
        "direction_accuracy": float(np.mean(up == (targets > 0))),
        "ic_mean": float(ic.mean()) if len(ic) else float("nan"),
        "ic_tstat": newey_west_tstat(ic, lags=horizon - 1),
        "ic_hit_rate": float((ic > 0).mean()) if len(ic) else float("nan"),
        "mae": float(np.mean(np.abs(predictions - targets))),
        "test_days": int(len(set(dates))),
        "predictions": int(len(predictions)),
    }
