"""Offline stand-ins for a FinBERT checkpoint, for tests and benches.

No sentiment model can be downloaded on these machines, so this builds one of the same kind: a
BERT sequence classifier with random weights and a WordPiece vocabulary trained on the texts
given, saved with `save_pretrained` into a directory that `TransformerScorer` loads exactly as
it would load a real model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# bert-base-uncased, the architecture of ProsusAI/finbert.
BERT_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
             "intermediate_size": 3072, "max_position_embeddings": 512, "vocab_size": 30522}
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 64}


def wordpiece_vocabulary(corpus: Iterable[str], vocab_size: int) -> dict[str, int]:
    """An uncased WordPiece vocabulary trained on `corpus` (BERT's special tokens first)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    tokenizer.train_from_iterator(corpus, trainer)
    return tokenizer.get_vocab()


def build_random_classifier(directory: Path, corpus: Iterable[str], *,
                            labels: Sequence[str] = ("positive", "negative", "neutral"),
                            wordpiece_size: int = 1000, seed: int = 0,
                            initializer_range: float = 0.02,
                            **architecture: int) -> Path:
    """Save a randomly initialised `BertForSequenceClassification` and its tokenizer.

    `architecture` overrides `BertConfig` sizes (TINY by default; BERT_BASE for bert-base). The
    tokenizer's vocabulary has up to `wordpiece_size` entries; the model's embedding table has
    `architecture["vocab_size"]` rows when that is larger, so it is the real model's size. A
    larger `initializer_range` makes a random model's outputs differ visibly from text to text.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    sizes = {**TINY, **architecture}
    vocab = wordpiece_vocabulary(corpus, wordpiece_size)
    sizes["vocab_size"] = max(len(vocab), sizes.get("vocab_size", 0))
    config = BertConfig(**sizes, num_labels=len(labels), initializer_range=initializer_range,
                        id2label=dict(enumerate(labels)),
                        label2id={label: i for i, label in enumerate(labels)})
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    BertTokenizer(vocab=vocab, model_max_length=sizes["max_position_embeddings"]).save_pretrained(directory)
    return directory
