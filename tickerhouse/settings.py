"""The one place settings come from: environment variables `TICKERHOUSE_…`, optionally a `.env` file.

API keys are `SecretStr`: they never appear in a repr, a log line or an exception.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickerhouse.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Vendor = Literal["polygon", "finnhub", "alphavantage", "newsapi"]
VENDORS: tuple[Vendor, ...] = ("polygon", "finnhub", "alphavantage", "newsapi")

LIVE_BASE_URLS: dict[Vendor, str] = {
    "polygon": "https://api.polygon.io",
    "finnhub": "https://finnhub.io",
    "alphavantage": "https://www.alphavantage.co",
    "newsapi": "https://newsapi.org",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TICKERHOUSE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: SecretStr | None = Field(
        default=None,
        description="Postgres URL. Unset: 127.0.0.1:5432 if it answers, else an embedded Postgres.",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis URL for the cache. When nothing answers, the cache step is skipped.",
    )

    polygon_api_key: SecretStr | None = None
    finnhub_api_key: SecretStr | None = None
    alphavantage_api_key: SecretStr | None = None
    newsapi_api_key: SecretStr | None = None
    polygon_base_url: str = LIVE_BASE_URLS["polygon"]
    finnhub_base_url: str = LIVE_BASE_URLS["finnhub"]
    alphavantage_base_url: str = LIVE_BASE_URLS["alphavantage"]
    newsapi_base_url: str = LIVE_BASE_URLS["newsapi"]

    # Rate limits of each vendor key's plan: "5/min", "30/s,60/min", "25/day", or "none".
    # Defaults are the free tiers; set them to your plan's when you pay for one.
    polygon_limits: str = "5/min"
    finnhub_limits: str = "30/s,60/min"
    alphavantage_limits: str = "25/day"
    newsapi_limits: str = "100/day"

    history_sessions: int = Field(
        default=300,
        ge=0,
        description="Sessions of history bootstrapped before the first run's date (0: none).",
    )
    state_dir: Path = Field(
        default=PROJECT_ROOT / ".tickerhouse",
        description="Local state: embedded Postgres data, dlt pipeline state, model artifacts.",
    )
    watchlist: str = Field(
        default="",
        description="Comma-separated tickers fetched first by every vendor (e.g. AAPL,MSFT).",
    )
    finnhub_calls_per_run: int = Field(
        default=120, ge=0,
        description="Finnhub calls one daily run may spend (at 60/min, 120 take about a minute).")
    alphavantage_calls_per_run: int = Field(
        default=10, ge=0,
        description="Alpha Vantage calls one daily run may spend of the key's 25 a day.")
    newsapi_calls_per_run: int = Field(
        default=12, ge=0,
        description="NewsAPI calls one daily run may spend of the key's 100 a day.")
    # News sentiment scoring (ml/sentiment): unset keeps the scorer's own defaults —
    # ProsusAI/finbert when it is on disk, else the Loughran–McDonald lexicon.
    sentiment_model: str | None = Field(default=None, description="Model name or local directory.")
    sentiment_scorer: Literal["auto", "transformer", "lexicon"] | None = None
    sentiment_device: str | None = Field(default=None, description="auto, cpu or cuda[:N].")
    sentiment_batch_size: int | None = Field(default=None, ge=1)
    sentiment_max_length: int | None = Field(default=None, ge=8)
    sentiment_quantize: bool | None = Field(default=None, description="int8 on the CPU.")
    sentiment_allow_download: bool | None = None
    # The news sentiment pipeline (`tickerhouse sentiment run`, orchestration/sentiment.py).
    sentiment_window_hours: int = Field(
        default=4, ge=1, le=24, description="Length of one collection window; must divide 24.")
    sentiment_lookback_hours: int = Field(
        default=48, ge=1,
        description="Each run re-reads raw news published this far back (late articles: NewsAPI's "
                    "free plan is a day behind), scores what is new and re-aggregates.")
    sentiment_newsapi_calls_per_window: int = Field(
        default=14, ge=0, description="NewsAPI calls one window may spend (with reruns).")
    sentiment_finnhub_calls_per_window: int = Field(
        default=30, ge=0, description="Finnhub company-news calls one window may spend.")
    sentiment_alphavantage_calls_per_window: int = Field(
        default=2, ge=0, description="Alpha Vantage NEWS_SENTIMENT calls one window may spend.")
    sentiment_baseline_days: int = Field(
        default=30, ge=1, description="Trailing days a ticker's own sentiment baseline spans.")
    sentiment_baseline_min_articles: int = Field(
        default=5, ge=2, description="Baseline articles a ticker needs before it can shift.")
    sentiment_shift_k: float = Field(
        default=3.0, gt=0, description="A window's mean this many standard errors off the baseline alerts.")
    sentiment_shift_min_articles: int = Field(
        default=3, ge=1, description="Articles a window needs for a shift alert.")
    sentiment_burst_k: float = Field(
        default=3.0, gt=0, description="Articles this many deviations above the baseline rate alert.")
    sentiment_burst_min_articles: int = Field(
        default=5, ge=1, description="Articles a window needs for a burst alert.")
    sentiment_alert_cooldown_hours: int = Field(
        default=24, ge=0,
        description="Alerts of one kind for one ticker this close together are one event.")
    alert_webhook_url: str | None = Field(
        default=None,
        description="Where Airflow failure and deadline alerts are also POSTed as JSON "
                    "(Slack-style: a `text` field).")
    # ML sidecar (ml/, orchestration/ml_jobs.py)
    ml_retrain_every_days: int = Field(
        default=7, ge=1, description="Retrain when the champion's data ends this many days back.")
    ml_drift_threshold: float = Field(
        default=0.25, gt=0, description="Retrain when a feature's PSI reaches this.")
    ml_ab_challenger_share: float = Field(
        default=0.5, ge=0, le=1, description="Share of tickers (by hash) the challenger serves.")
    ml_ab_min_days: int = Field(
        default=20, ge=1, description="Days of realised returns before the A/B test may promote.")
    ml_ab_min_tstat: float = Field(
        default=2.0, gt=0, description="t-statistic the challenger's IC lead needs for promotion.")
    ml_backtest_folds: int = Field(
        default=4, ge=1, description="Walk-forward folds of the backtest each training runs.")
    ml_search_candidates: int = Field(
        default=6, ge=1, description="Hyperparameter sets the global model's randomized search "
                                     "tries (inside each training window).")
    ml_train_sequence: bool = Field(
        default=True, description="Backtest and register the PyTorch sequence challenger.")
    ml_prophet_backtest_tickers: int = Field(
        default=30, ge=0, description="Most traded tickers Prophet is backtested on per fold "
                                      "(0: Prophet not in the backtest).")
    ml_prophet_budget_seconds: float = Field(
        default=60.0, ge=0, description="Time the daily Prophet forecasts may take (0: none).")
    ml_prophet_max_tickers: int = Field(
        default=500, ge=0, description="At most this many Prophet forecasts a day.")
    emulator_tickers: int = Field(default=6000, ge=1, description="Universe size in emulator mode.")
    emulator_seed: int = Field(default=42, description="Seed of the emulated market.")
    cache_prewarm_tickers: int = Field(
        default=6000, ge=0,
        description="Tickers (top by dollar volume, after the watchlist) each load pre-warms in Redis.")

    @field_validator("sentiment_window_hours")
    @classmethod
    def _window_divides_day(cls, value: int) -> int:
        if 24 % value:
            raise ValueError(f"must divide 24 (1, 2, 3, 4, 6, 8, 12 or 24; got {value})")
        return value

    @field_validator("polygon_limits", "finnhub_limits", "alphavantage_limits", "newsapi_limits")
    @classmethod
    def _limits_parse(cls, value: str) -> str:
        parse_limits(value)
        return value.strip()

    @field_validator("polygon_base_url", "finnhub_base_url", "alphavantage_base_url",
                     "newsapi_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value.rstrip("/")

    def api_keys(self, vendor: Vendor) -> list[str]:
        """The vendor's keys (a comma-separated list in the setting); empty when unset."""
        secret: SecretStr | None = getattr(self, f"{vendor}_api_key")
        if secret is None:
            return []
        return [key.strip() for key in secret.get_secret_value().split(",") if key.strip()]

    def limits(self, vendor: Vendor) -> dict[str, int]:
        """The plan's limits per window ("second", "minute", "day"); absent = unlimited."""
        return parse_limits(getattr(self, f"{vendor}_limits"))

    def base_url(self, vendor: Vendor) -> str:
        return getattr(self, f"{vendor}_base_url")

    @property
    def watchlist_tickers(self) -> list[str]:
        return [t.strip().upper() for t in self.watchlist.split(",") if t.strip()]

    @property
    def has_any_live_key(self) -> bool:
        return any(self.api_keys(vendor) for vendor in VENDORS)

    @cached_property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"


_WINDOWS = {"s": "second", "sec": "second", "second": "second", "min": "minute",
            "minute": "minute", "day": "day", "d": "day"}


def parse_limits(text: str) -> dict[str, int]:
    """ "30/s,60/min" -> {"second": 30, "minute": 60}; "none" -> {}."""
    text = text.strip().lower()
    if text in ("none", "unlimited", ""):
        return {}
    limits: dict[str, int] = {}
    for part in text.split(","):
        count, sep, window = part.strip().partition("/")
        if not sep or not count.strip().isdigit() or window.strip() not in _WINDOWS \
                or int(count) < 1:
            raise ValueError(f"bad limit {part.strip()!r}: use forms like 5/min, 30/s, 25/day "
                             "or none")
        limits[_WINDOWS[window.strip()]] = int(count)
    return limits


def load_settings(**overrides) -> Settings:
    """Read settings; a malformed value becomes one readable line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "TICKERHOUSE_" + "_".join(str(part) for part in first["loc"]).upper()
        raise UserError(f"invalid setting {name}: {first['msg']}") from None
