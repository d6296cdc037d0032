"""Drift: population stability index of each feature, a recent window against the champion's
training window (the reference bins stored in the model)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.features import load_frame, sessions_back
from ml.models import bin_proportions
from tickerhouse.database import Database

EPSILON = 1e-4


def psi(expected: list[float], actual: list[float]) -> float:
    e = np.maximum(np.asarray(expected, dtype=float), EPSILON)
    a = np.maximum(np.asarray(actual, dtype=float), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass
class DriftResult:
    as_of: dt.date
    per_feature: dict[str, float]

    @property
    def worst(self) -> tuple[str, float]:
        name = max(self.per_feature, key=self.per_feature.get)
        return name, self.per_feature[name]


def feature_psi(reference: dict, frame: pd.DataFrame) -> dict[str, float]:
    return {column: psi(ref["proportions"], bin_proportions(frame[column].to_numpy(dtype=float),
                                                            ref["edges"]))
            for column, ref in reference.items() if column in frame}


def check(database: Database, model, as_of: dt.date, window_sessions: int = 5) -> DriftResult:
    frame = load_frame(database, sessions_back(as_of, window_sessions), as_of, with_target=False)
    return DriftResult(as_of, feature_psi(model.reference, frame))
