"""A byte-level BPE tokenizer trained on reports, and its fertility (tokens per word).

General-domain WordPiece splits radiology words ("pneumomediastinum", "costophrenic") into
many pieces; a tokenizer trained on the corpus keeps them whole, so the same max_length sees
more of each report. Fertility on held-out reports is the measure.
"""
from __future__ import annotations

import json
from pathlib import Path

from radlabel.training.encoder import packaged_encoder_path

SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def train_bpe(texts: list[str], out_dir: str | Path, *, vocab_size: int = 8000,
              min_frequency: int = 2, max_length: int = 128):
    """Train, wrap as a transformers fast tokenizer (RoBERTa-style specials), save_pretrained."""
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer(lowercase=False)
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=min_frequency,
                            special_tokens=SPECIAL, show_progress=False)
    bpe.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")),
                                           ("<s>", bpe.token_to_id("<s>")))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>",
                                  unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                  cls_token="<s>", sep_token="</s>", model_max_length=max_length)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(out)
    return tok


def fertility(tokenizer, texts: list[str]) -> float:
    """Mean subword tokens per whitespace word (special tokens excluded); 1.0 is ideal."""
    words = sum(len(t.split()) for t in texts)
    tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])
    return tokens / max(words, 1)


def compare_fertility(tokenizer, texts: list[str], base_tokenizer=None) -> dict:
    """Fertility of the domain tokenizer vs the packaged MiniLM WordPiece on the same texts."""
    if base_tokenizer is None:
        from transformers import AutoTokenizer

        base_tokenizer = AutoTokenizer.from_pretrained(packaged_encoder_path())
    return {"n_reports": len(texts), "words": sum(len(t.split()) for t in texts),
            "domain_fertility": round(fertility(tokenizer, texts), 4),
            "base_fertility": round(fertility(base_tokenizer, texts), 4),
            "domain_vocab": len(tokenizer), "base_vocab": len(base_tokenizer)}


def train_and_report(texts: list[str], out_dir: str | Path, *, vocab_size: int = 8000,
                     heldout_fraction: float = 0.1, seed: int = 0) -> dict:
    """Train on all but a held-out slice; write and return the fertility comparison."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(texts))
    n_held = max(1, int(len(texts) * heldout_fraction)) if len(texts) > 1 else 0
    held = [texts[i] for i in order[:n_held]]
    train = [texts[i] for i in order[n_held:]] or texts
    tok = train_bpe(train, out_dir, vocab_size=vocab_size)
    report = compare_fertility(tok, held or texts)
    report["n_train_reports"] = len(train)
    (Path(out_dir) / "fertility.json").write_text(json.dumps(report, indent=2))
    return report
