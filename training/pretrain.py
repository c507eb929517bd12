"""Masked-LM pre-training on unlabelled reports: continued from the packaged MiniLM
(domain-adaptive) or from scratch on a tiny RoBERTa with the domain BPE tokenizer.

The loss applies the vocabulary-sized MLM head only at masked positions (~15%), not at every
token as `BertForMaskedLM.forward` does; that head dominates the step cost for a 6-layer
encoder. Runs through HF Trainer (accelerate-ready, checkpointed, resumable). The saved folder
loads with `radlabel train --base DIR`.

The packaged MiniLM ships without an MLM head: its transform layer starts random (the decoder is
tied to the word embeddings). ``head_warmup_steps`` first trains the head alone with the encoder
frozen (its forward runs without gradients, so a step is cheap), then unfreezes everything:
gradients from a random head would otherwise disturb the encoder before the head means anything.
The loss of every logged step, both phases, is kept in ``pretrain.json`` (``curve``).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from radlabel.env import apply_offline_defaults, num_threads


def _mlm_head(model):
    for name in ("cls", "lm_head"):
        if hasattr(model, name):
            return getattr(model, name)
    raise ValueError(f"{type(model).__name__}: no MLM head (cls / lm_head) found")


def build_mlm(mode: str, tokenizer_dir: str | None, max_length: int, seed: int):
    apply_offline_defaults()
    import torch
    from transformers import (AutoModelForMaskedLM, AutoTokenizer, RobertaConfig,
                              RobertaForMaskedLM)

    torch.manual_seed(seed)
    if mode == "continue":
        from radlabel.training.encoder import packaged_encoder_path

        base = tokenizer_dir or packaged_encoder_path()
        return AutoModelForMaskedLM.from_pretrained(base), AutoTokenizer.from_pretrained(base)
    if mode != "scratch":
        raise ValueError("mode must be 'continue' or 'scratch'")
    if not tokenizer_dir:
        raise ValueError("from-scratch pre-training needs --tokenizer (from `radlabel tokenizer train`)")
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    cfg = RobertaConfig(vocab_size=len(tok), hidden_size=256, num_hidden_layers=4,
                        num_attention_heads=4, intermediate_size=1024,
                        max_position_embeddings=max_length + 2, pad_token_id=tok.pad_token_id,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                        type_vocab_size=1)
    return RobertaForMaskedLM(cfg), tok


def pretrain(texts: list[str], out_dir: str | Path, *, mode: str = "continue",
             tokenizer_dir: str | None = None, max_steps: int = 200, batch_size: int = 32,
             lr: float | None = None, max_length: int = 128, bf16: bool = True, seed: int = 0,
             resume: bool = False, head_warmup_steps: int = 0, head_lr: float = 1e-3,
             logging_steps: int | None = None) -> dict:
    """Train an MLM for `max_steps` (after `head_warmup_steps` of the head alone) and save it
    (model + tokenizer + pretrain.json)."""
    import torch
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    torch.set_num_threads(num_threads())
    model, tok = build_mlm(mode, tokenizer_dir, max_length, seed)
    head = _mlm_head(model)
    body = model.base_model

    frozen = {"body": False}

    class MaskedOnlyTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen["body"]):
                hidden = body(**inputs).last_hidden_state
            sel = labels != -100
            logits = head(hidden[sel]).float()
            loss = torch.nn.functional.cross_entropy(logits, labels[sel])
            return (loss, {"logits": logits}) if return_outputs else loss

    enc = tok(texts, truncation=True, max_length=max_length, return_special_tokens_mask=True)
    rows = [{k: enc[k][i] for k in enc.keys() if k != "token_type_ids"} for i in range(len(texts))]
    out = Path(out_dir)
    collator = DataCollatorForLanguageModeling(tok, mlm=True, mlm_probability=0.15)

    def arguments(folder: str, steps: int, rate: float, save: bool) -> TrainingArguments:
        return TrainingArguments(
            output_dir=str(out / folder), max_steps=steps, per_device_train_batch_size=batch_size,
            learning_rate=rate, warmup_steps=0.06, weight_decay=0.01, bf16=bf16,
            use_cpu=not torch.cuda.is_available(), seed=seed,
            save_strategy="steps" if save else "no", save_steps=max(50, steps // 4),
            save_total_limit=1, logging_steps=logging_steps or max(1, min(25, steps // 4)),
            report_to="none", remove_unused_columns=False, dataloader_num_workers=0)

    last = None
    if resume and (out / "checkpoints").exists():
        found = sorted((out / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
        last = str(found[-1]) if found else None
    curve: list[dict] = []
    t0 = time.perf_counter()
    if head_warmup_steps > 0 and last is None:  # phase 1: the head alone, encoder frozen
        head_params = {id(q) for q in head.parameters()}
        tied = {id(q) for q in body.parameters()}  # the decoder weight is the word embeddings
        for q in model.parameters():
            q.requires_grad_(id(q) in head_params and id(q) not in tied)
        frozen["body"] = True
        warm = MaskedOnlyTrainer(model=model, args=arguments("head_warmup", head_warmup_steps,
                                                             head_lr, False),
                                 train_dataset=rows, data_collator=collator)
        warm.train()
        curve += [{"step": h["step"], "loss": round(h["loss"], 4), "phase": "head"}
                  for h in warm.state.log_history if "loss" in h]
        for q in model.parameters():
            q.requires_grad_(True)
        frozen["body"] = False
    t1 = time.perf_counter()
    trainer = MaskedOnlyTrainer(model=model, args=arguments(
        "checkpoints", max_steps, lr or (5e-5 if mode == "continue" else 5e-4), True),
        train_dataset=rows, data_collator=collator)
    result = trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - t1
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    offset = head_warmup_steps if head_warmup_steps > 0 else 0
    curve += [{"step": offset + h["step"], "loss": round(h["loss"], 4), "phase": "all"}
              for h in trainer.state.log_history if "loss" in h]
    info = {"mode": mode, "steps": max_steps, "head_warmup_steps": head_warmup_steps,
            "batch_size": batch_size, "max_length": max_length,
            "n_texts": len(texts), "train_seconds": round(seconds, 2),
            "head_warmup_seconds": round(t1 - t0, 2),
            "seconds_per_step": round(seconds / max(max_steps, 1), 3), "bf16": bf16,
            "losses": [round(x, 4) for x in losses], "train_loss": result.training_loss,
            "curve": curve}
    if trainer.is_world_process_zero():
        trainer.save_model(str(out))
        tok.save_pretrained(out)
        (out / "pretrain.json").write_text(json.dumps(info, indent=2))
    return info
