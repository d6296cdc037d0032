"""Collapse copies of one article across vendors: the same URL, or a near-identical headline
published within a day.

Headlines compare as sets of normalised words (case, punctuation, wire prefixes such as
"UPDATE 2-" and a trailing " - Publisher" ignored) by Jaccard similarity. At the default 0.9 a
headline of under ten words must match word for word, and a longer one may differ by one added
word but not by a changed one (one changed word in ten is 9/11 < 0.9), so "shares rise" and
"shares fall" never merge. Candidate pairs come from prefix filtering (rarest words first: two
sets this similar must share one of their first few words), so no day's news is compared
pairwise. The window keeps a recurring headline ("Stocks rise as Wall Street cheers strong
economic data") on different days apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ml.sentiment.articles import SOURCES, NewsArticle

DUPLICATE_WINDOW = dt.timedelta(hours=24)
HEADLINE_SIMILARITY = 0.9
_EPSILON = 1e-9

_WIRE_PREFIX = re.compile(
    r"^(?:(?:update|corrected|refile|exclusive|breaking|wrapup)\s*\d*\s*[-:]\s*)+")
_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
_SUFFIX_SEPARATORS = (" - ", " | ", " – ", " — ")


@dataclass(frozen=True)
class KnownArticle:
    """An article already in the warehouse: new copies of it take its key."""

    key: str
    urls: frozenset[str]
    headline: str
    published_at: dt.datetime


@dataclass
class ArticleGroup:
    key: str
    records: list[NewsArticle]  # the new records, the representative (whose text is scored) first
    known: bool = False


def headline_words(headline: str, publisher: str | None = None) -> frozenset[str]:
    text = unicodedata.normalize("NFKC", headline).replace("\u2019", "'").casefold().strip()
    text = _WIRE_PREFIX.sub("", text)
    if publisher:
        for separator in _SUFFIX_SEPARATORS:
            text = text.removesuffix(separator + publisher.casefold())
    return frozenset(_WORD.findall(text))


def article_key(record: NewsArticle) -> str:
    """The stable id of a new article: a hash of its representative's canonical URL."""
    identity = record.url or f"{record.source}:{record.source_id}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def representative_order(record: NewsArticle) -> tuple:
    return record.published_at, SOURCES.index(record.source), record.url, record.source_id


@dataclass(frozen=True)
class _Node:
    urls: frozenset[str]
    words: frozenset[str]
    published_at: dt.datetime
    known: KnownArticle | None = None
    record: NewsArticle | None = None


class _Partition:
    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


def deduplicate(records: Sequence[NewsArticle], known: Iterable[KnownArticle] = (), *,
                window: dt.timedelta = DUPLICATE_WINDOW,
                similarity: float = HEADLINE_SIMILARITY) -> list[ArticleGroup]:
    """Group `records` (and any `known` articles they duplicate) into distinct articles.

    Each group holds the new records of one article; its key is the known article's when the
    group reaches one (the earliest, should a new record bridge two), else a new key from the
    representative record. Groups come out in order of publication.
    """
    nodes = [_Node(k.urls, headline_words(k.headline), k.published_at, known=k) for k in known]
    nodes += [_Node(frozenset({r.url}) if r.url else frozenset(),
                    headline_words(r.headline, r.publisher), r.published_at, record=r)
              for r in records]
    partition = _Partition(len(nodes))

    first_with_url: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for url in node.urls:
            partition.union(i, first_with_url.setdefault(url, i))

    frequency = Counter(word for node in nodes for word in node.words)
    postings: dict[str, list[int]] = defaultdict(list)
    for i, node in enumerate(nodes):
        words = sorted(node.words, key=lambda w: (frequency[w], w))
        prefix = len(words) - math.ceil(similarity * len(words) - _EPSILON) + 1
        compared: set[int] = set()
        for word in words[:prefix]:
            for j in postings[word]:
                if j in compared:
                    continue
                compared.add(j)
                other = nodes[j]
                if (abs(node.published_at - other.published_at) <= window
                        and _jaccard(node.words, other.words) >= similarity - _EPSILON):
                    partition.union(i, j)
            postings[word].append(i)

    members: dict[int, list[_Node]] = defaultdict(list)
    for i, node in enumerate(nodes):
        members[partition.find(i)].append(node)
    groups = []
    for group in members.values():
        records_in = sorted((n.record for n in group if n.record is not None), key=representative_order)
        if not records_in:
            continue
        knowns = sorted((n.known for n in group if n.known is not None),
                        key=lambda k: (k.published_at, k.key))
        key = knowns[0].key if knowns else article_key(records_in[0])
        groups.append(ArticleGroup(key=key, records=records_in, known=bool(knowns)))
    groups.sort(key=lambda g: (g.records[0].published_at, g.key))
    return groups


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    overlap = len(a & b)
    return overlap / (len(a) + len(b) - overlap)
