"""TrainConfig: every knob of `radlabel train`, validated once and saved with the model."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

Variant = Literal["mention", "tfidf", "lora", "full", "decoder-lora"]
VARIANTS: tuple[str, ...] = ("mention", "tfidf", "lora", "full", "decoder-lora")

# Learning rates that learned on the synthetic set (see /work/shared/notes/enc.md section 5):
# LoRA needs a large LR; full fine-tuning a moderate one (5e-5 was too low for 3 epochs).
DEFAULT_LR = {"mention": 0.0, "tfidf": 0.0, "lora": 1e-3, "full": 2e-4, "decoder-lora": 5e-4}


class TrainConfig(BaseModel):
    variant: Variant = "mention"
    base: str | None = Field(None, description="encoder/decoder folder or GGUF; None = packaged default")
    epochs: float = 3.0
    max_steps: int = Field(-1, description="stop after this many optimizer steps (-1: run all epochs)")
    lr: float | None = None
    max_length: int = 128
    batch_size: int = 16
    bf16: bool = True
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_targets: list[str] | None = None
    four_state: bool = False
    uncertain_as: Literal["negative", "positive"] = "negative"
    seed: int = 0
    val_fraction: float = 0.15
    tfidf_c: float = 4.0
    tfidf_ngrams: int = 2
    # mention student (variant "mention"): sentence heads' C, weight of gold/reviewed reports,
    # folds for the out-of-fold isotonic calibration, abstention band [a, 1 - a] of P(present)
    mention_c: float = 8.0
    gold_weight: float = 3.0
    calib_folds: int = 2
    abstain: float = 0.1
    # ... and its mechanisms (on by default; off reproduces the first student for comparison):
    # ConText cue features, per-class cuts tuned out of fold, pseudo-labels kept beside gold
    mention_cues: bool = True
    mention_cuts: bool = True
    mention_union: bool = True
    # candidate gold weights, one chosen by out-of-fold micro-F1 on the training split (empty:
    # gold_weight as given)
    mention_gold_weights: list[float] = Field(default_factory=lambda: [1.0, 3.0, 10.0])
    # the gold stage: per class, P(present) from the teacher's rule reading and the stage-1
    # score, fitted on the gold/reviewed reports (off: isotonic maps and cuts only)
    mention_anchor: bool = True

    model_config = {"extra": "forbid"}

    @field_validator("val_fraction")
    @classmethod
    def _fraction(cls, v: float) -> float:
        if not 0.0 <= v < 0.9:
            raise ValueError("val_fraction must be in [0, 0.9)")
        return v

    @field_validator("epochs", "max_length", "batch_size", "lora_r")
    @classmethod
    def _positive(cls, v):
        if v <= 0:
            raise ValueError("must be > 0")
        return v

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.variant]
