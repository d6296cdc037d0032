"""Where vendor data comes from for a run: the bundled emulator, or the live services."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from extract.quota import FREE_TIER_LIMITS, VendorLimits
from tickerhouse.errors import UserError
from tickerhouse.settings import VENDORS, Settings, Vendor

log = logging.getLogger(__name__)

Source = Literal["emulator", "live"]

# Emulator keys: any non-empty key is a free-plan key; the bootstrap key is mapped to the
# emulated paid plan so a first run can load 300 sessions of history in seconds.
EMULATOR_FREE_KEY = "tickerhouse-emulator-free"
EMULATOR_PAID_KEY = "tickerhouse-emulator-paid"


# The emulator's paid plan has no limits; our quota manager is told so for its key.
UNLIMITED = VendorLimits(per_second=None, per_minute=None, per_day=None)


@dataclass
class VendorAccess:
    """Base URL, keys and their plan's limits per vendor for one run; and the keys (with their
    limits) that may bootstrap history, which in emulator mode are on a paid plan."""

    source: Source
    base_urls: dict[str, str]
    keys: dict[str, list[str]]
    limits: dict[str, VendorLimits]
    bootstrap_keys: dict[str, list[str]] = field(default_factory=dict)
    bootstrap_limits: dict[str, VendorLimits] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def has(self, vendor: Vendor) -> bool:
        return bool(self.keys.get(vendor))


def configured_limits(settings: Settings) -> dict[str, VendorLimits]:
    """Each vendor's limits from the settings, on the vendor's own day boundary."""
    limits = {}
    for vendor in VENDORS:
        plan = settings.limits(vendor)
        limits[vendor] = VendorLimits(per_second=plan.get("second"),
                                      per_minute=plan.get("minute"), per_day=plan.get("day"),
                                      day_timezone=FREE_TIER_LIMITS[vendor].day_timezone)
    return limits


def choose_source(settings: Settings, requested: str | None) -> Source:
    if requested in (None, "auto"):
        return "live" if settings.has_any_live_key else "emulator"
    if requested not in ("emulator", "live"):
        raise UserError(f"unknown source {requested!r}: use emulator or live")
    if requested == "live" and not settings.has_any_live_key:
        raise UserError("--source live needs at least one TICKERHOUSE_<VENDOR>_API_KEY")
    return requested  # type: ignore[return-value]


@contextlib.contextmanager
def vendor_access(settings: Settings, source: Source) -> Iterator[VendorAccess]:
    if source == "live":
        keys = {vendor: settings.api_keys(vendor) for vendor in VENDORS}
        missing = [vendor for vendor in VENDORS if not keys[vendor]]
        if len(missing) == len(VENDORS):
            raise UserError("--source live needs at least one TICKERHOUSE_<VENDOR>_API_KEY")
        yield VendorAccess(
            source="live",
            base_urls={vendor: settings.base_url(vendor) for vendor in VENDORS},
            keys={vendor: k for vendor, k in keys.items() if k},
            limits=configured_limits(settings),
            bootstrap_keys={vendor: k for vendor, k in keys.items() if k},
            bootstrap_limits=configured_limits(settings),
            notes=[f"{vendor}: no API key set, skipped" for vendor in missing],
        )
        return

    from emulator import Emulator, EmulatorConfig

    config = EmulatorConfig(
        seed=settings.emulator_seed,
        n_tickers=settings.emulator_tickers,
        plans={EMULATOR_PAID_KEY: "paid"},
    )
    with Emulator(config) as emulator:
        log.info("vendor emulator serving at %s", emulator.url)
        yield VendorAccess(
            source="emulator",
            base_urls={vendor: emulator.url for vendor in VENDORS},
            keys={vendor: [EMULATOR_FREE_KEY] for vendor in VENDORS},
            limits=dict(FREE_TIER_LIMITS),
            bootstrap_keys={vendor: [EMULATOR_PAID_KEY] for vendor in VENDORS},
            bootstrap_limits={vendor: UNLIMITED for vendor in VENDORS},
        )
