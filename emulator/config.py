"""Settings of one emulator run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

PLANS = ("free", "paid", "invalid", "disabled")
VENDORS = ("polygon", "finnhub", "alphavantage", "newsapi")


@dataclass
class EmulatorConfig:
    seed: int = 42
    n_tickers: int = 6000
    # What the emulator believes is "now" (tz-aware); None follows the real clock.
    as_of: dt.datetime | None = None
    market_start: dt.date = dt.date(2015, 1, 2)
    # api key -> "free" | "paid" (also "invalid" / "disabled" to get those errors).
    # Any other non-empty key is a free-plan key, for every vendor.
    plans: dict[str, str] = field(default_factory=dict)
    limits_enabled: bool = True
    fault_profile: str | None = None
    planted_signal: float = 0.0
    # Time stands still except through Emulator.advance()/set_clock() (deterministic tests).
    freeze_clock: bool = False
    # Bound on the market caches, in MiB (checkpoints come on top: ~200 KB per 32 sessions
    # for 6,000 tickers).
    cache_mb: int = 96

    def __post_init__(self) -> None:
        if self.n_tickers < 1:
            raise ValueError("n_tickers must be at least 1")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        if self.as_of is not None and self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        for key, plan in self.plans.items():
            if plan not in PLANS:
                raise ValueError(f"unknown plan {plan!r} for key {key!r}: use one of {', '.join(PLANS)}")
        if self.fault_profile is not None:
            from .faults import PROFILES

            if self.fault_profile not in PROFILES:
                raise ValueError(
                    f"unknown fault profile {self.fault_profile!r}: use one of {', '.join(sorted(PROFILES))}"
                )

    def plan_of(self, key: str) -> str:
        return self.plans.get(key, "free")
