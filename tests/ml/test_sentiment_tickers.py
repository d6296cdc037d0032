"""Mapping article text to tickers, careful with tickers and names that are ordinary words."""

from __future__ import annotations

import pytest

from ml.sentiment.tickers import TickerDirectory, is_ambiguous_symbol, short_name

COMPANIES = [
    ("AAPL", "Apple Inc."), ("MSFT", "Microsoft Corporation"), ("ALL", "The Allstate Corporation"),
    ("IT", "Gartner, Inc."), ("ON", "ON Semiconductor Corporation"), ("A", "Agilent Technologies, Inc."),
    ("TGT", "Target Corporation"), ("KEY", "KeyCorp"), ("BRK.B", "Berkshire Hathaway Inc. Class B"),
    ("BF-B", "Brown-Forman Corporation Class B"), ("AMZN", "Amazon.com, Inc."),
    ("GM", "General Motors Company"), ("KO", "The Coca-Cola Company"), ("IPO", "Renaissance IPO ETF"),
    ("GOOGL", "Alphabet Inc. Class A"), ("GOOG", "Alphabet Inc. Class C"),
]


@pytest.fixture(scope="module")
def directory() -> TickerDirectory:
    return TickerDirectory(COMPANIES)


def found(directory: TickerDirectory, text: str) -> dict[str, str]:
    return {m.ticker: m.method for m in directory.find(text)}


@pytest.mark.parametrize("text, expected", [
    ("$AAPL and $msft rallied", {"AAPL": "cashtag", "MSFT": "cashtag"}),
    ("Gartner (NYSE: IT) raised its outlook", {"IT": "exchange", }),
    ("Apple Inc. (AAPL) shares slide", {"AAPL": "symbol"}),
    ("AAPL falls 3% as MSFT gains", {"AAPL": "symbol", "MSFT": "symbol"}),
    ("Apple's results beat estimates", {"AAPL": "name"}),
    ("Microsoft and Amazon compete for cloud deals", {"MSFT": "name", "AMZN": "name"}),
    ("General Motors recalls trucks", {"GM": "name"}),
    ("Coca-Cola raises prices", {"KO": "name"}),
    ("Berkshire Hathaway buys more BRK-B shares", {"BRK.B": "symbol"}),
    ("Shares of BF.B slid", {"BF-B": "symbol"}),
    ("Alphabet unveils a new model", {"GOOG": "name", "GOOGL": "name"}),
])
def test_evidence_of_each_kind(directory, text, expected):
    assert found(directory, text) == expected


@pytest.mark.parametrize("text", [
    "ALL of the banks fell; IT spending is ON the rise",  # tickers that are words
    "A new IPO market opens, says the CEO",  # a letter, acronyms
    "Investors target a key level as the market is on hold",  # names that are words, lower case
    "Target prices were raised across the sector",  # an ordinary-word name with no cue
    "an apple a day",  # a name in lower case
    "XYZ and QQQQ rose",  # not listed
])
def test_ordinary_words_are_not_tickers(directory, text):
    assert found(directory, text) == {}


@pytest.mark.parametrize("text, expected", [
    ("Target Corp. misses estimates", {"TGT": "name"}),
    ("Target shares tumble", {"TGT": "name"}),
    ("Target's holiday sales disappoint", {"TGT": "name"}),
    ("Target (TGT) cuts guidance", {"TGT": "symbol"}),
    ("$ALL and NASDAQ: ON moved", {"ALL": "cashtag", "ON": "exchange"}),
    ("Allstate lifts its dividend", {"ALL": "name"}),
])
def test_ambiguous_tickers_and_names_with_strong_evidence(directory, text, expected):
    assert found(directory, text) == expected


def test_text_in_capitals_does_not_match_bare_symbols(directory):
    assert found(directory, "MARKETS: AAPL AND MSFT LEAD A RALLY") == {}
    assert found(directory, "MARKETS: $AAPL LEADS") == {"AAPL": "cashtag"}


def test_vendor_tags_resolve_to_the_directory_spelling(directory):
    assert directory.resolve("brk/b") == "BRK.B" and directory.resolve("BF.B") == "BF-B"
    assert directory.resolve("TSLA") is None


def test_an_empty_directory_trusts_only_explicit_tickers():
    empty = TickerDirectory()
    assert found(empty, "$TSLA and NYSE: GE rose; AAPL too (MSFT)") == {"TSLA": "cashtag", "GE": "exchange"}
    assert empty.resolve("brk-b") == "BRK-B"


def test_short_names():
    assert short_name("Berkshire Hathaway Inc. Class B") == ("Berkshire", "Hathaway")
    assert short_name("The Goldman Sachs Group, Inc.") == ("Goldman", "Sachs")
    assert short_name("Taiwan Semiconductor Manufacturing Company Ltd. American Depositary Shares") == (
        "Taiwan", "Semiconductor", "Manufacturing")
    assert short_name("Amazon.com, Inc.") == ("Amazon",)
    assert short_name("KeyCorp") == ("KeyCorp",)


def test_ambiguity():
    assert all(is_ambiguous_symbol(t) for t in ("A", "ALL", "IT", "ON", "KEY", "CEO", "IPO"))
    assert not any(is_ambiguous_symbol(t) for t in ("AAPL", "MSFT", "BRK.B", "TGT"))
