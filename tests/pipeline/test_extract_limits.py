"""The daily extraction against the emulator's free plans: inside every limit, and what faults
break is reported, kept as dead letters, and completed by a rerun without duplicates."""

import datetime as dt
import os

import pytest

from emulator import Emulator, EmulatorConfig
from orchestration import steps
from orchestration.vendors import choose_source, vendor_access
from tickerhouse.settings import load_settings

pytestmark = pytest.mark.slow

TRADE_DATE = dt.date(2026, 11, 20)
UNIVERSE = 6000
FREE_KEYS = {"polygon": "free-polygon", "finnhub": "free-finnhub",
             "alphavantage": "free-av", "newsapi": "free-news"}


@pytest.fixture()
def emulator():
    with Emulator(EmulatorConfig(seed=11, n_tickers=UNIVERSE)) as emu:
        yield emu


def live_settings(emulator, redis_url, tmp_path, **budgets):
    env = {f"TICKERHOUSE_{vendor.upper()}_API_KEY": key for vendor, key in FREE_KEYS.items()}
    env |= {f"TICKERHOUSE_{vendor.upper()}_BASE_URL": emulator.url for vendor in FREE_KEYS}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return load_settings(history_sessions=0, state_dir=tmp_path / "state", redis_url=redis_url,
                             **budgets)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


def extract(settings, database):
    steps.prepare_warehouse(database)
    with vendor_access(settings, choose_source(settings, "live")) as access:
        return steps.extract(settings, database, TRADE_DATE, access)


def over_limit(emulator) -> dict[str, int]:
    vendors = emulator.counts()["vendors"]
    return {vendor: data["total"]["throttled"] for vendor, data in vendors.items()
            if data["total"]["throttled"]}


def answered(emulator) -> dict[str, int]:
    return {vendor: data["total"]["answered"]
            for vendor, data in emulator.counts()["vendors"].items()}


def raw_duplicates(database) -> dict[str, int]:
    keys = {"polygon_grouped_daily": '"T", "t"', "finnhub_quotes": "symbol, t",
            "finnhub_profiles": "ticker", "alphavantage_overviews": '"Symbol"',
            "newsapi_articles": "url"}
    found = {}
    with database.connect() as conn:
        for table, key in keys.items():
            if conn.execute("select to_regclass(%s)", (f"raw.{table}",)).fetchone()[0]:
                found[table] = conn.execute(
                    f"select count(*) - count(distinct ({key})) from raw.{table}").fetchone()[0]
    return found


def test_daily_run_spends_the_plan_inside_every_free_limit(emulator, scratch_databases,
                                                           redis_url, tmp_path):
    database = scratch_databases("th_test_limits")
    # 65 Finnhub calls cross its 60/min: the run must wait for the window, not go over it.
    settings = live_settings(emulator, redis_url, tmp_path, finnhub_calls_per_run=65,
                             alphavantage_calls_per_run=6, newsapi_calls_per_run=4)
    result = extract(settings, database)

    assert result.calls["polygon"] == 1  # the whole market in one call
    assert result.rows["polygon_grouped_daily"] == UNIVERSE
    for vendor in ("finnhub", "alphavantage", "newsapi"):
        assert result.calls[vendor] == result.planned_calls[vendor] > 0, vendor
    assert over_limit(emulator) == {}
    assert answered(emulator) == result.calls


@pytest.mark.parametrize("profile", ["flaky", "storm", "av-note", "finnhub-down",
                                     "schema-drift"])
def test_faults_are_survived_reported_and_completed_by_a_rerun(profile, emulator,
                                                               scratch_databases, redis_url,
                                                               tmp_path):
    database = scratch_databases("th_test_faults")
    settings = live_settings(emulator, redis_url, tmp_path, finnhub_calls_per_run=12,
                             alphavantage_calls_per_run=4, newsapi_calls_per_run=3)
    emulator.set_fault_profile(profile)
    first = extract(settings, database)
    assert over_limit(emulator) == {}
    assert raw_duplicates(database) == {t: 0 for t in raw_duplicates(database)}
    if profile in ("finnhub-down", "schema-drift"):
        assert first.failed_vendors or any("dead letter" in note for note in first.notes), first
    landed_first = sum(first.rows.values())

    emulator.set_fault_profile("none")
    second = extract(settings, database)
    assert raw_duplicates(database) == {t: 0 for t in raw_duplicates(database)}
    assert second.failed_vendors == {}
    with database.connect() as conn:
        bars = conn.execute("select count(*) from raw.polygon_grouped_daily").fetchone()[0]
    assert bars == UNIVERSE
    assert landed_first + sum(second.rows.values()) > 0


def test_polygon_down_the_days_bars_fall_back_to_alpha_vantage(emulator, scratch_databases,
                                                               redis_url, tmp_path):
    database = scratch_databases("th_test_fallback")
    settings = live_settings(emulator, redis_url, tmp_path, finnhub_calls_per_run=0,
                             alphavantage_calls_per_run=5, newsapi_calls_per_run=0)
    steps.prepare_warehouse(database)
    previous = dt.date(2026, 11, 19)
    with vendor_access(settings, choose_source(settings, "live")) as access:
        steps.extract(settings, database, previous, access)  # the universe, from the day before
        emulator.set_fault_profile("polygon-down")
        result = steps.extract(settings, database, TRADE_DATE, access)

    assert "polygon" in result.failed_vendors
    assert result.calls["alphavantage"] == 5
    with database.connect() as conn:
        symbols = conn.execute("select count(distinct symbol) from raw.alphavantage_daily "
                               "where date = %s", (TRADE_DATE.isoformat(),)).fetchone()[0]
        alert = conn.execute("select kind, subject from ops.alerts where source = 'extract'"
                             ).fetchall()
    assert symbols == 5
    assert alert == [("vendor_failed", "polygon")]
    assert any("fall back to Alpha Vantage" in note for note in result.notes)
