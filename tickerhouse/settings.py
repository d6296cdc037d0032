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
    emulator_tickers: int = Field(default=6000, ge=1, description="Universe size in emulator mode.")
    emulator_seed: int = Field(default=42, description="Seed of the emulated market.")

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
