"""The lexicon scorer, and the transformer scorer on a tiny random BERT saved like FinBERT."""

from __future__ import annotations

import logging
import shutil
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.sentiment.config import SentimentConfig
from ml.sentiment.scorers import (
    LexiconScorer,
    ModelUnavailable,
    TransformerScorer,
    load_scorer,
    resolve_device,
)
from tickerhouse.errors import UserError

TEXTS = [
    "Apple shares jump 4% as investors cheer strong results",
    "Stocks fall",
    "Retailer cuts outlook, warns of weak demand as losses widen and a key customer scaled back",
    "What to watch for the market next week",
    "Drugmaker surges to a record high on trial data. Revenue beat analyst estimates and margins "
    "improved, while the company reaffirmed its full-year guidance.",
    "",
    "Tesla tumbles",
]


# -- lexicon ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, label, score", [
    ("Strong results and improved margins", "positive", 1.0),
    ("Losses widen on weak demand", "negative", -1.0),
    ("Strong sales offset weak margins amid losses", "negative", -1 / 3),
    ("Strong sales offset weak margins", "neutral", 0.0),
    ("Shares little changed ahead of the meeting", "neutral", 0.0),
    ("Results were not strong", "neutral", 0.0),  # a negated positive does not count
])
def test_lexicon_labels_and_scores(text, label, score):
    result = LexiconScorer().score([text])[0]
    assert (result.label, result.score) == (label, pytest.approx(score))
    assert result.p_positive is result.p_negative is result.p_neutral is None


def test_lexicon_matches_whole_words_and_counts_inflections():
    lexicon = LexiconScorer()
    assert lexicon.counts("DOWNGRADED downgrades Downgrade") == (0, 3)
    assert lexicon.counts("Gainsborough") == (0, 0)  # not GAINS
    assert lexicon.counts("not a strong quarter") == (0, 0)
    assert lexicon.counts("not at all a strong quarter") == (1, 0)  # the negation is 4 words back


def test_lexicon_identity():
    one, two = LexiconScorer(), LexiconScorer()
    assert one.name == "loughran-mcdonald" and one.kind == "lexicon"
    assert one.version == two.version and len(one.version) == 12
    assert one.describe()["negative_words"] > 2000


# -- transformer ------------------------------------------------------------------------------

def scorer(model_dir: Path, **config) -> TransformerScorer:
    return TransformerScorer.load(SentimentConfig(model=str(model_dir), **config))


def forced_model(source: Path, target: Path, winner: int) -> Path:
    """A copy of the tiny model whose classifier always picks output `winner`."""
    from transformers import AutoModelForSequenceClassification

    shutil.copytree(source, target)
    model = AutoModelForSequenceClassification.from_pretrained(target)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[winner] = 12.0
    model.save_pretrained(target)
    return target


def test_label_mapping_comes_from_the_model_config(tiny_model_dir, tmp_path):
    # The tiny model's labels are (neutral, positive, negative): FinBERT's order would be wrong.
    for winner, label, sign in ((1, "positive", 1), (2, "negative", -1), (0, "neutral", 0)):
        result = scorer(forced_model(tiny_model_dir, tmp_path / label, winner)).score(TEXTS)
        assert {r.label for r in result} == {label}
        assert all(r.score == pytest.approx(sign, abs=1e-4) for r in result)
        assert all(getattr(r, f"p_{label}") == pytest.approx(1, abs=1e-4) for r in result)


def test_scores_are_probabilities(tiny_model_dir):
    results = scorer(tiny_model_dir).score(TEXTS)
    p = np.array([[r.p_positive, r.p_negative, r.p_neutral] for r in results])
    assert np.allclose(p.sum(axis=1), 1) and (p >= 0).all()
    assert np.allclose([r.score for r in results], p[:, 0] - p[:, 1])
    labels = np.array(["positive", "negative", "neutral"])[p.argmax(axis=1)]
    assert [r.label for r in results] == labels.tolist()
    assert len({round(r.score, 6) for r in results}) == len(TEXTS)  # the texts are told apart


def test_batching_and_length_sorting_do_not_change_results(tiny_model_dir):
    texts = TEXTS + [" ".join(reversed(t.split())) for t in TEXTS] + [f"{a} {b}" for a, b in pairwise(TEXTS)]
    one_by_one = scorer(tiny_model_dir, batch_size=1).probabilities(texts)
    batched = scorer(tiny_model_dir, batch_size=8).probabilities(texts)
    assert np.allclose(one_by_one, batched, atol=1e-5)


def test_truncation_keeps_the_start_and_respects_the_model_limit(tiny_model_dir):
    model = scorer(tiny_model_dir, max_length=16)
    lengths = []
    model._model.register_forward_pre_hook(
        lambda _, args, kwargs: lengths.append(kwargs["input_ids"].shape[1]), with_kwargs=True)
    head, other = "Apple shares jump 4% as investors cheer strong results and", "Stocks fall"
    p = model.probabilities([head + " losses widen" * 50, head + " margins improved" * 80,
                             other + " losses widen" * 50])
    assert max(lengths) == 16
    assert np.allclose(p[0], p[1]) and not np.allclose(p[0], p[2])
    # A limit above the model's 64 positions is clamped instead of failing on a long text.
    long = scorer(tiny_model_dir, max_length=512)
    assert long.max_length == 64
    assert len(long.score(["word " * 1000])) == 1


def test_dynamic_int8_quantisation(tiny_model_dir):
    fp32, int8 = scorer(tiny_model_dir), scorer(tiny_model_dir, quantize=True)
    quantized = [m for m in int8._model.modules()
                 if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert int8.quantized and len(quantized) >= 2 * 6 + 1  # attention, feed-forward, classifier
    assert not any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in fp32._model.modules())
    assert int8.version != fp32.version
    p = int8.probabilities(TEXTS)
    assert np.allclose(p.sum(axis=1), 1)


def test_version_identifies_what_changes_the_output(tiny_model_dir, tmp_path):
    base = scorer(tiny_model_dir)
    assert scorer(tiny_model_dir, batch_size=3).version == base.version
    assert scorer(tiny_model_dir, max_length=32).version != base.version
    other = forced_model(tiny_model_dir, tmp_path / "other", 1)
    assert scorer(other).version != base.version
    assert base.name == tiny_model_dir.name and base.kind == "transformer"
    assert base.describe()["labels"] == ["neutral", "positive", "negative"]


def test_a_model_without_sentiment_labels_is_refused(tiny_model_dir, tmp_path):
    from transformers import AutoConfig

    target = shutil.copytree(tiny_model_dir, tmp_path / "generic")
    config = AutoConfig.from_pretrained(target)
    config.id2label = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    config.label2id = {v: k for k, v in config.id2label.items()}
    config.save_pretrained(target)
    with pytest.raises(UserError, match="not a positive/negative/neutral classifier"):
        load_scorer(SentimentConfig(model=str(target)))  # auto does not hide a wrong model


def test_missing_model_falls_back_to_the_lexicon_in_auto(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="ml.sentiment.scorers"):
        chosen = load_scorer(SentimentConfig(model=str(tmp_path / "absent")))
        hub = load_scorer(SentimentConfig())  # ProsusAI/finbert is not in the local cache
    assert isinstance(chosen, LexiconScorer) and isinstance(hub, LexiconScorer)
    assert "does not exist" in caplog.text and "ProsusAI/finbert" in caplog.text
    with pytest.raises(ModelUnavailable):
        load_scorer(SentimentConfig(model=str(tmp_path / "absent"), scorer="transformer"))
    assert isinstance(load_scorer(SentimentConfig(scorer="lexicon")), LexiconScorer)


def test_devices():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA"):
            resolve_device("cuda")


@pytest.mark.parametrize("bad", [dict(scorer="finbert"), dict(batch_size=0), dict(max_length=4),
                                 dict(device="tpu"), dict(model=" ")])
def test_config_is_checked(bad):
    with pytest.raises(ValueError):
        SentimentConfig(**bad)


def test_config_from_settings():
    class Settings:
        sentiment_model = "/models/finbert"
        sentiment_quantize = True
        sentiment_batch_size = None  # unset: the default stays

    config = SentimentConfig.from_settings(Settings())
    assert (config.model, config.quantize, config.batch_size) == ("/models/finbert", True, 32)
