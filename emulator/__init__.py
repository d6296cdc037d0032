"""An offline stand-in for Polygon, Finnhub, Alpha Vantage and NewsAPI.

    from emulator import Emulator, EmulatorConfig
    with Emulator(EmulatorConfig(seed=42, n_tickers=500)) as emu:
        emu.url  # base URL of all four vendors

It shares no code with the extractors: it is written from the vendors' published behaviour.
"""

from .config import EmulatorConfig
from .faults import PROFILES as FAULT_PROFILES
from .server import Emulator, serve

__all__ = ["Emulator", "EmulatorConfig", "FAULT_PROFILES", "serve"]
