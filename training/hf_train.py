"""One HF Trainer loop for every transformer variant (encoder LoRA/full, decoder LoRA).

Trainer runs unchanged under `accelerate launch` (it builds its own Accelerator), saves an
epoch checkpoint so an interrupted run resumes, and handles bf16 autocast on CPU. The loss is
replaced to handle class imbalance: BCE with per-class pos_weight for multi-label heads, or
state-weighted cross-entropy over (class, state) logits for four-state heads.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from radlabel.schema import STATES
from radlabel.training.config import TrainConfig


def imbalance_weights(Y: np.ndarray, four_state: bool) -> np.ndarray:
    """pos_weight = negatives/positives per class (clipped to [1, 50]); or inverse state frequency."""
    if four_state:
        counts = np.bincount(Y.reshape(-1), minlength=len(STATES)).astype(float)
        w = counts.sum() / np.maximum(counts, 1) / len(STATES)
        return np.clip(w, 0.2, 20.0)
    pos = Y.sum(0)
    return np.clip((len(Y) - pos) / np.maximum(pos, 1), 1.0, 50.0)


class _Rows:
    """A list-backed torch-style dataset of pre-tokenised rows (padding happens per batch)."""

    def __init__(self, encodings: dict, labels: np.ndarray):
        self.enc, self.labels = encodings, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        row = {k: v[i] for k, v in self.enc.items()}
        row["labels"] = self.labels[i].tolist()
        return row


def train_sequence_classifier(model, tokenizer, texts: list[str], Y: np.ndarray, cfg: TrainConfig,
                              work_dir: str | Path, *, resume: bool = False):
    """Fit `model` on (texts, Y) in place; returns (model, train_seconds, epochs_run)."""
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    weights = torch.tensor(imbalance_weights(Y, cfg.four_state), dtype=torch.float32)
    n_classes = Y.shape[1]

    class ImbalanceTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.logits.float()
            if cfg.four_state:
                logits = logits.view(-1, n_classes, len(STATES))
                loss = torch.nn.functional.cross_entropy(
                    logits.reshape(-1, len(STATES)), labels.long().reshape(-1),
                    weight=weights.to(logits.device))
            else:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, labels.float(), pos_weight=weights.to(logits.device))
            return (loss, outputs) if return_outputs else loss

    enc = tokenizer(texts, truncation=True, max_length=cfg.max_length)
    enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    rows = _Rows(enc, Y)
    ckpt = Path(work_dir) / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        lr_scheduler_type="linear", warmup_steps=0.06, weight_decay=0.01,
        bf16=cfg.bf16, use_cpu=not torch.cuda.is_available(), seed=cfg.seed,
        save_strategy="epoch", save_total_limit=1, logging_steps=10, report_to="none",
        dataloader_num_workers=0, remove_unused_columns=False, disable_tqdm=False,
    )
    trainer = ImbalanceTrainer(model=model, args=args, train_dataset=rows,
                               data_collator=DataCollatorWithPadding(tokenizer))
    last = None
    if resume and ckpt.exists():
        found = sorted(ckpt.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
        last = str(found[-1]) if found else None
    result = trainer.train(resume_from_checkpoint=last)
    epochs = float(result.metrics.get("epoch", cfg.epochs))
    return trainer.model, float(result.metrics.get("train_runtime", 0.0)), epochs, trainer
