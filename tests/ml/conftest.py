"""Fixtures for the sentiment tests: a tiny random BERT classifier saved like a real checkpoint,
and news from one small emulated market with its ground-truth labels."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from emulator import Emulator, EmulatorConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ET = ZoneInfo("America/New_York")
AS_OF = dt.datetime(2024, 3, 8, 21, 30, tzinfo=ET)
NEWS_FROM, NEWS_TO = dt.date(2024, 2, 12), dt.date(2024, 3, 8)
KEY = "ml-tests"

# The tiny model's tokenizer is trained on these; other words become sub-words or [UNK].
CORPUS = [
    "Apple shares jump 4% as investors cheer strong results",
    "Microsoft stock climbs after upbeat outlook",
    "Tesla tumbles 6% amid lawsuit concerns",
    "Analysts downgrade Intel on deteriorating margins",
    "Stocks fall as Wall Street worries about rates",
    "US stocks rally, led by broad gains",
    "Energy shares slump as oil prices slide",
    "Bank announces share buyback and raises dividend",
    "Retailer cuts outlook, warns of weak demand",
    "Chipmaker wins major contract, boosting growth prospects",
    "Company sets date for annual shareholder meeting",
    "What to watch for the market next week",
    "Shares little changed as investors await earnings",
    "Regulators open probe into accounting at the insurer",
    "Revenue beat analyst estimates and margins improved",
    "Losses widen as a key customer scaled back orders",
    "The company reaffirmed its full-year guidance",
    "Airline stock steady in quiet trading",
    "Drugmaker surges to a record high on trial data",
    "Utilities mixed in a choppy session",
] * 3


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """2 layers, hidden size 32; labels in an order unlike FinBERT's, so that nothing can
    depend on FinBERT's order. Weights drawn wide enough that texts score differently."""
    from ml.sentiment.testing import build_random_classifier

    return build_random_classifier(tmp_path_factory.mktemp("tiny-finbert"), CORPUS,
                                   labels=("neutral", "positive", "negative"), wordpiece_size=300,
                                   initializer_range=0.5, max_position_embeddings=64)


@dataclass(frozen=True)
class EmulatorNews:
    start: dt.datetime  # the window the news was asked for, [start, end)
    end: dt.datetime
    finnhub: list[dict]
    alphavantage: list[dict]
    newsapi: list[dict]
    labels: dict[str, str]  # article url -> ground-truth label
    companies: list[tuple[str, str]]  # (ticker, name) listed at AS_OF


@pytest.fixture(scope="session")
def emulator_news() -> EmulatorNews:
    config = EmulatorConfig(seed=11, n_tickers=40, as_of=AS_OF, freeze_clock=True,
                            market_start=dt.date(2022, 1, 3), plans={KEY: "paid"},
                            limits_enabled=False)
    with Emulator(config) as emu, httpx.Client(base_url=emu.url, timeout=60) as client:
        def get(path: str, **params):
            response = client.get(path, params=params)
            response.raise_for_status()
            return response.json()

        companies = [(row["ticker"], row["name"])
                     for row in get("/_emulator/universe", date=NEWS_TO.isoformat())["tickers"]]
        window = {"from": NEWS_FROM.isoformat(), "to": NEWS_TO.isoformat()}
        finnhub = [item for ticker, _ in companies
                   for item in get("/api/v1/company-news", symbol=ticker, token=KEY, **window)]
        alphavantage = [item for ticker, _ in companies[:10]
                        for item in get("/query", function="NEWS_SENTIMENT", tickers=ticker,
                                        time_from=NEWS_FROM.strftime("%Y%m%dT0000"), limit=1000,
                                        apikey=KEY)["feed"]]
        newsapi, page = [], 1
        while True:
            body = get("/v2/everything", sources="reuters,bloomberg", pageSize=100, page=page,
                       apiKey=KEY, **window)
            newsapi += body["articles"]
            if page * 100 >= body["totalResults"]:
                break
            page += 1
        labels = {row["url"]: row["label"]
                  for row in get("/_emulator/news/labels", **window)["labels"]}
    start = dt.datetime.combine(NEWS_FROM, dt.time(), dt.UTC)
    end = dt.datetime.combine(NEWS_TO + dt.timedelta(days=1), dt.time(), dt.UTC)
    return EmulatorNews(start, end, finnhub, alphavantage, newsapi, labels, companies)
