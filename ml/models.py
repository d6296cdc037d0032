"""The models: baselines, the global gradient-boosting model and the small sequence model.

Every model predicts the log return over the next HORIZON bars from ml_features_daily rows and
answers `predict_frame(history, as_of)` with one row per ticker that has features on `as_of`:
predicted_return, predicted_lower / predicted_upper (an 80% interval) and direction_probability
(NaN where the model has none). `history_sessions` says how many sessions of rows it needs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.evaluation import daily_rank_ic, walk_forward_splits
from ml.features import FEATURE_COLUMNS, FEATURE_VERSION, HORIZON, period_vol

log = logging.getLogger(__name__)

INTERVAL_QUANTILES = (0.1, 0.9)


def _latest(history: pd.DataFrame, as_of) -> pd.DataFrame:
    return history[history["trade_date"] == as_of].sort_values("ticker", ignore_index=True)


def _output(rows: pd.DataFrame, predicted, lower=None, upper=None, probability=None) -> pd.DataFrame:
    nan = np.full(len(rows), np.nan)
    return pd.DataFrame({
        "ticker": rows["ticker"].to_numpy(),
        "predicted_return": np.asarray(predicted, dtype=float),
        "predicted_lower": nan if lower is None else np.asarray(lower, dtype=float),
        "predicted_upper": nan if upper is None else np.asarray(upper, dtype=float),
        "direction_probability": nan if probability is None else np.asarray(probability, dtype=float),
    })


# ---- baselines ------------------------------------------------------------------------------

def baseline_predictions(name: str, frame: pd.DataFrame, horizon: int = HORIZON) -> np.ndarray:
    """zero: no move. momentum: the last 20 bars' log return, scaled to the horizon.
    sector_mean: the sector's mean return over the last 5 bars carries on."""
    if name == "zero":
        return np.zeros(len(frame))
    if name == "momentum":
        return np.nan_to_num(np.log1p(frame["return_20d"].to_numpy(dtype=float)) * horizon / 20)
    if name == "sector_mean":
        return np.nan_to_num(np.log1p(frame["sector_mean_return_5d"].to_numpy(dtype=float))
                             * horizon / 5)
    raise ValueError(f"unknown baseline {name!r}")


BASELINES = ("zero", "momentum", "sector_mean")


@dataclass
class MomentumBaseline:
    """The last resort of the serving fallback chain: needs nothing but the day's features."""

    name: str = "baseline_momentum"
    version: str = FEATURE_VERSION
    history_sessions: int = 1

    def predict_frame(self, history: pd.DataFrame, as_of) -> pd.DataFrame:
        rows = _latest(history, as_of)
        return _output(rows, baseline_predictions("momentum", rows))


# ---- drift reference ------------------------------------------------------------------------

REFERENCE_SESSIONS = 60


def reference_bins(frame: pd.DataFrame, columns=FEATURE_COLUMNS, bins: int = 10,
                   max_rows: int = 200_000, seed: int = 0) -> dict:
    """Decile edges and proportions of each feature over the training window's last
    REFERENCE_SESSIONS sessions (missing values are a bin of their own), the reference the
    drift check compares a recent window with. Only its end: the start of a long window holds
    the indicators' warm-up (52-week features missing everywhere), which would look like drift
    forever."""
    if "trade_date" in frame and len(frame):
        dates = sorted(frame["trade_date"].unique())
        frame = frame[frame["trade_date"] >= dates[-REFERENCE_SESSIONS:][0]]
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed)
    reference = {}
    for column in columns:
        values = frame[column].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])) if len(finite) else []
        reference[column] = {"edges": list(map(float, edges)),
                             "proportions": bin_proportions(values, edges)}
    return reference


def bin_proportions(values: np.ndarray, edges) -> list[float]:
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    counts = np.bincount(np.searchsorted(edges, values[finite], side="right"),
                         minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, (~finite).sum())
    return list(map(float, counts / max(len(values), 1)))


# ---- the global gradient-boosting model -----------------------------------------------------

@dataclass
class GBMConfig:
    search_iter: int = 6
    inner_folds: int = 2
    inner_test_sessions: int = 20
    search_max_rows: int = 300_000
    max_iter: int = 100
    seed: int = 0


SEARCH_SPACE = {
    "learning_rate": [0.02, 0.05, 0.1],
    "max_leaf_nodes": [7, 15, 31],
    "min_samples_leaf": [100, 400, 1000],
    "l2_regularization": [0.0, 1.0, 10.0],
    "max_features": [0.5, 1.0],
}


def _winsorize(y: np.ndarray, low: float = 0.01, high: float = 0.99) -> np.ndarray:
    lo, hi = np.nanquantile(y, [low, high])
    return np.clip(y, lo, hi)


@dataclass
class GlobalGBM:
    name: str = "gbm_global"
    params: dict = field(default_factory=dict)
    regressor: object = None
    residual_quantiles: tuple[float, float] = (-1.0, 1.0)  # of residual / period volatility
    reference: dict = field(default_factory=dict)
    search_scores: list = field(default_factory=list)
    history_sessions: int = 1
    feature_version: str = FEATURE_VERSION

    def predict_frame(self, history: pd.DataFrame, as_of) -> pd.DataFrame:
        return self.predict_rows(_latest(history, as_of))

    def predict_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        x = rows[list(FEATURE_COLUMNS)].to_numpy(dtype=float)
        predicted = self.regressor.predict(x)
        vol = period_vol(rows)
        lower, upper = self.residual_quantiles
        # P(up) from the out-of-sample residual spread (an 80% interval spans 2 x 1.2816 sigma):
        # the direction the regression implies, with the confidence its errors allow
        sigma = np.maximum((upper - lower) / (2 * 1.2816), 1e-6) * vol
        probability = norm_cdf((predicted + (lower + upper) / 2 * vol) / sigma)
        return _output(rows, predicted, predicted + lower * vol, predicted + upper * vol,
                       probability)


def norm_cdf(x):
    from scipy.special import ndtr

    return ndtr(x)


def _hgb(params: dict, seed: int, max_iter: int):
    from sklearn.ensemble import HistGradientBoostingRegressor

    # 63 bins: histograms build faster than with 255, and 5-day returns carry no finer signal
    return HistGradientBoostingRegressor(max_iter=max_iter, max_bins=63, early_stopping=False,
                                         random_state=seed, **params)


def _fit_hgb(params: dict, config: GBMConfig, rows: pd.DataFrame):
    """A regressor of `params` fitted on `rows` (winsorized target). A feature with no value at
    all in `rows` (no news or fundamentals landed yet) is fitted as a constant: scikit-learn
    cannot bin an empty column, and a constant is never split on, so it predicts the same
    whatever the column holds later."""
    x = rows[list(FEATURE_COLUMNS)].to_numpy(dtype=float)
    x[:, np.isnan(x).all(axis=0)] = 0.0
    return _hgb(params, config.seed, config.max_iter).fit(x, _winsorize(rows["target"].to_numpy()))


def _predict_hgb(model, rows: pd.DataFrame) -> np.ndarray:
    return model.predict(rows[list(FEATURE_COLUMNS)].to_numpy(dtype=float))


def fit_gbm(train: pd.DataFrame, config: GBMConfig, horizon: int = HORIZON) -> GlobalGBM:
    """Randomized search over SEARCH_SPACE scored by mean daily rank IC on walk-forward splits
    inside `train` only, then a fit of the best parameters on all of `train`."""
    from sklearn.model_selection import ParameterSampler

    train = train.dropna(subset=["target"]).reset_index(drop=True)
    search_rows = train
    if len(train) > config.search_max_rows:
        search_rows = train.sample(config.search_max_rows, random_state=config.seed)
        search_rows = search_rows.sort_values(["trade_date", "ticker"], ignore_index=True)
    inner = walk_forward_splits(search_rows["trade_date"], n_folds=config.inner_folds,
                                test_size=config.inner_test_sessions, gap=horizon,
                                min_train=config.inner_test_sessions)
    candidates = list(ParameterSampler(SEARCH_SPACE, n_iter=config.search_iter,
                                       random_state=config.seed))
    scores = []
    residuals = None
    if inner and len(candidates) > 1:
        for params in candidates:
            fold_ic = []
            for split in inner:
                fit_rows = search_rows[search_rows["trade_date"].isin(set(split.train_dates))]
                test_rows = search_rows[search_rows["trade_date"].isin(set(split.test_dates))]
                predicted = _predict_hgb(_fit_hgb(params, config, fit_rows), test_rows)
                fold_ic.append(daily_rank_ic(test_rows["trade_date"], predicted,
                                             test_rows["target"]).mean())
            scores.append(float(np.nanmean(fold_ic)))
        best = candidates[int(np.nanargmax(scores))] if np.isfinite(scores).any() else candidates[0]
    else:
        best = candidates[0]
    # interval: residual quantiles (scaled by volatility) of the best parameters on the last inner fold
    if inner:
        split = inner[-1]
        fit_rows = search_rows[search_rows["trade_date"].isin(set(split.train_dates))]
        test_rows = search_rows[search_rows["trade_date"].isin(set(split.test_dates))]
        predicted = _predict_hgb(_fit_hgb(best, config, fit_rows), test_rows)
        residuals = (test_rows["target"].to_numpy() - predicted) / period_vol(test_rows)
    regressor = _fit_hgb(best, config, train)
    if residuals is None or len(residuals) < 50:
        residuals = (train["target"].to_numpy() - _predict_hgb(regressor, train)) / period_vol(train)
    quantiles = tuple(float(q) for q in np.nanquantile(residuals, INTERVAL_QUANTILES))
    return GlobalGBM(params=dict(best), regressor=regressor,
                     residual_quantiles=quantiles, reference=reference_bins(train),
                     search_scores=[{"params": dict(p), "ic": s}
                                    for p, s in zip(candidates, scores, strict=False)])


# ---- the sequence model (PyTorch) -----------------------------------------------------------

SEQ_COLUMNS = ("return_1d", "sector_relative_return_5d", "dollar_volume_ratio",
               "sentiment_score_1d", "realized_volatility_20d")


@dataclass
class SeqConfig:
    window: int = 60
    hidden: int = 16
    epochs: int = 4
    batch_size: int = 256
    max_samples: int = 20_000
    learning_rate: float = 3e-3
    seed: int = 0


def _panel(frame: pd.DataFrame, tickers: list[str], dates: list) -> np.ndarray:
    """[date, ticker, feature] array of SEQ_COLUMNS (NaN where missing)."""
    panel = np.full((len(dates), len(tickers), len(SEQ_COLUMNS)), np.nan, dtype=np.float32)
    date_index = {d: i for i, d in enumerate(dates)}
    ticker_index = {t: i for i, t in enumerate(tickers)}
    di = frame["trade_date"].map(date_index).to_numpy()
    ti = frame["ticker"].map(ticker_index).to_numpy()
    panel[di, ti, :] = frame[list(SEQ_COLUMNS)].to_numpy(dtype=np.float32)
    return panel


def _gru(n_features: int, hidden: int):
    import torch

    class GRURegressor(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = torch.nn.GRU(n_features, hidden, batch_first=True)
            self.head = torch.nn.Linear(hidden, 1)

        def forward(self, x):
            _, last = self.gru(x)
            return self.head(last[-1]).squeeze(-1)

    return GRURegressor()


@dataclass
class SequenceModel:
    """A one-layer GRU over each ticker's last `window` sessions of SEQ_COLUMNS."""

    name: str = "seq_gru"
    config: SeqConfig = field(default_factory=SeqConfig)
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    target_scale: float = 1.0
    state: dict | None = None
    residual_quantiles: tuple[float, float] = (-1.0, 1.0)
    reference: dict = field(default_factory=dict)
    feature_version: str = FEATURE_VERSION

    @property
    def history_sessions(self) -> int:
        return self.config.window

    def _module(self):
        module = _gru(len(SEQ_COLUMNS), self.config.hidden)
        if self.state is not None:
            module.load_state_dict(self.state)
        return module

    def _windows(self, panel: np.ndarray, date_idx: np.ndarray, ticker_idx: np.ndarray) -> np.ndarray:
        w = self.config.window
        padded = np.concatenate([np.full((w - 1, *panel.shape[1:]), np.nan, np.float32), panel])
        # rows date_idx - w + 1 .. date_idx of the unpadded panel
        offsets = np.arange(w)
        windows = padded[date_idx[:, None] + offsets[None, :], ticker_idx[:, None], :]
        windows = (windows - self.mean) / self.scale
        return np.nan_to_num(np.clip(windows, -5, 5)).astype(np.float32)

    def predict_on(self, frame: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
        """Predictions for `rows` (ticker, trade_date) from the sequences `frame` holds."""
        import torch

        tickers = sorted(frame["ticker"].unique())
        dates = sorted(frame["trade_date"].unique())
        panel = _panel(frame, tickers, dates)
        di = rows["trade_date"].map({d: i for i, d in enumerate(dates)}).to_numpy()
        ti = rows["ticker"].map({t: i for i, t in enumerate(tickers)}).to_numpy()
        module = self._module().eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(rows), 4096):
                x = torch.from_numpy(self._windows(panel, di[start:start + 4096], ti[start:start + 4096]))
                out.append(module(x).numpy())
        return (np.concatenate(out) if out else np.array([])) * self.target_scale

    def predict_frame(self, history: pd.DataFrame, as_of) -> pd.DataFrame:
        rows = _latest(history, as_of)
        predicted = self.predict_on(history, rows)
        vol = period_vol(rows)
        return _output(rows, predicted, predicted + self.residual_quantiles[0] * vol,
                       predicted + self.residual_quantiles[1] * vol)


def fit_sequence(train: pd.DataFrame, config: SeqConfig) -> SequenceModel:
    import torch

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    values = train[list(SEQ_COLUMNS)].to_numpy(dtype=np.float64)
    mean = np.nan_to_num(np.nanmean(values, axis=0)).astype(np.float32)
    scale = np.nan_to_num(np.nanstd(values, axis=0), nan=1.0).astype(np.float32)
    scale[scale == 0] = 1.0
    labelled = train.dropna(subset=["target"])
    target = _winsorize(labelled["target"].to_numpy())
    target_scale = float(np.std(target)) or 1.0
    model = SequenceModel(config=config, mean=mean, scale=scale, target_scale=target_scale,
                          reference=reference_bins(train, SEQ_COLUMNS))
    tickers = sorted(train["ticker"].unique())
    dates = sorted(train["trade_date"].unique())
    panel = _panel(train, tickers, dates)
    chosen = rng.choice(len(labelled), size=min(config.max_samples, len(labelled)), replace=False)
    chosen.sort()
    sample = labelled.iloc[chosen]
    di = sample["trade_date"].map({d: i for i, d in enumerate(dates)}).to_numpy()
    ti = sample["ticker"].map({t: i for i, t in enumerate(tickers)}).to_numpy()
    x = torch.from_numpy(model._windows(panel, di, ti))
    y = torch.from_numpy((target[chosen] / target_scale).astype(np.float32))
    module = model._module()
    optimiser = torch.optim.Adam(module.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    module.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), config.batch_size):
            batch = order[start:start + config.batch_size]
            optimiser.zero_grad()
            loss = torch.nn.functional.mse_loss(module(x[batch]), y[batch])
            loss.backward()
            optimiser.step()
    model.state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    residuals = (target[chosen] - model.predict_on(train, sample)) / period_vol(sample)
    model.residual_quantiles = tuple(float(q) for q in np.nanquantile(residuals, INTERVAL_QUANTILES))
    return model
