"""CLI verbs of the training area: train, predict, pretrain, and `tokenizer train`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from radlabel.cli_options import aliases
from radlabel.errors import InputError


def _texts(path: str) -> list[str]:
    from radlabel.data import load_texts

    return list(load_texts(path).values())


def train(
    out: Path = typer.Option(..., "-o", "--output", help="model folder to write"),
    labels: List[Path] = typer.Option([], "--labels", help="label JSONL (repeatable): pseudo-labels, "
                                      "or records whose meta.source is gold/reviewed"),
    gold: List[Path] = typer.Option([], "--gold", help="gold JSONL (repeatable); beats pseudo-labels"),
    reports: Optional[str] = typer.Option(None, "--reports", help="reports (any loader format); "
                                          "optional when the labels carry 'text'"),
    variant: str = typer.Option("mention", "--variant", help="mention (default: sentence-level "
                                "student, calibrated) | tfidf | lora | full | decoder-lora"),
    base: Optional[str] = typer.Option(None, "--base", help="encoder folder (e.g. from `radlabel "
                                       "pretrain`) or decoder GGUF/folder; default: packaged"),
    classes: Optional[str] = typer.Option(None, "--classes", help="class file (default chest_xray)"),
    epochs: float = typer.Option(3.0, "--epochs"),
    max_steps: int = typer.Option(-1, "--max-steps"),
    lr: Optional[float] = typer.Option(None, "--lr"),
    max_length: int = typer.Option(128, "--max-length"),
    batch_size: int = typer.Option(16, "--batch-size"),
    bf16: bool = typer.Option(True, "--bf16/--no-bf16"),
    lora_r: int = typer.Option(8, "--lora-r"),
    lora_alpha: int = typer.Option(16, "--lora-alpha"),
    four_state: bool = typer.Option(False, "--four-state", help="present/absent/uncertain/"
                                    "not_mentioned head per class"),
    uncertain_as: str = typer.Option("negative", "--uncertain-as", help="negative | positive"),
    val_fraction: float = typer.Option(0.15, "--val-fraction"),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="continue from the last epoch checkpoint"),
    gold_weight: Optional[float] = typer.Option(None, "--gold-weight", help="mention: weight of "
                                                "gold/reviewed reports' sentences (default: 1, 3 "
                                                "or 10, chosen out of fold on the training split)"),
    abstain: float = typer.Option(0.1, "--abstain", help="mention: P(present) in [a, 1-a] is "
                                  "marked for review (0: never)"),
):
    """Fine-tune a classifier on pseudo-labels (gold/reviewed labels take precedence)."""
    from pydantic import ValidationError

    from radlabel.ontology import Ontology
    from radlabel.training.config import TrainConfig
    from radlabel.training.train import train_model

    if not labels and not gold:
        raise InputError("give --labels and/or --gold")
    try:
        cfg = TrainConfig(variant=variant, base=base, epochs=epochs, max_steps=max_steps, lr=lr,
                          max_length=max_length, batch_size=batch_size, bf16=bf16, lora_r=lora_r,
                          lora_alpha=lora_alpha, four_state=four_state, uncertain_as=uncertain_as,
                          val_fraction=val_fraction, seed=seed, abstain=abstain,
                          **({} if gold_weight is None else
                             {"gold_weight": gold_weight, "mention_gold_weights": []}))
    except ValidationError as e:
        err = e.errors()[0]
        raise InputError(err["msg"], field=".".join(map(str, err["loc"]))) from None
    clf = train_model(cfg, out, labels=[str(p) for p in labels], gold=[str(p) for p in gold],
                      reports=reports, ontology=Ontology.load(classes), resume=resume)
    if getattr(clf, "is_main_process", True):
        skipped = clf.info.get("skipped") or {}
        if skipped:
            missing = clf.info.get("missing_ids") or []
            typer.echo("warning: skipped " + ", ".join(f"{v} {k}" for k, v in sorted(skipped.items()))
                       + (f" (ids not in --reports, e.g. {', '.join(missing[:3])})" if missing else ""),
                       err=True)
        if clf.info.get("no_positive"):
            typer.echo(f"warning: no positive label for {', '.join(clf.info['no_positive'])}: "
                       "the model predicts them absent", err=True)
        m = clf.info.get("metrics", {})
        typer.echo(f"saved {cfg.variant} model to {out}  (train {clf.info['n_train']}, val "
                   f"{clf.info['n_val']}, micro-F1 {m.get('micro_f1', 'n/a')}, macro-F1 "
                   f"{m.get('macro_f1', 'n/a')})")


def predict(
    input: str = typer.Argument(..., help="reports (any loader format)"),
    model: Path = typer.Option(..., "--model", help="folder written by `radlabel train`"),
    out: Path = typer.Option(..., "-o", "--output", help="labels JSONL to write"),
    batch_size: int = typer.Option(256, "--batch-size"),
):
    """Label reports with a trained classifier (same format as `radlabel label`, plus probs)."""
    from radlabel.training.predict import predict_file

    rate = predict_file(model, input, out, batch_size=batch_size)
    typer.echo(f"wrote {out} ({rate:.1f} reports/s)")


def pretrain(
    reports: str = typer.Argument(..., help="unlabelled reports (any loader format)"),
    out: Path = typer.Option(..., "-o", "--output"),
    mode: str = typer.Option("continue", "--mode", help="continue (from packaged MiniLM) | scratch"),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="tokenizer folder (scratch mode)"),
    max_steps: int = typer.Option(200, "--max-steps"),
    head_warmup_steps: int = typer.Option(0, "--head-warmup-steps", help="first train the MLM "
                                          "head alone (encoder frozen) for this many steps"),
    batch_size: int = typer.Option(32, "--batch-size"),
    lr: Optional[float] = typer.Option(None, "--lr"),
    max_length: int = typer.Option(128, "--max-length"),
    bf16: bool = typer.Option(True, "--bf16/--no-bf16"),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(False, "--resume"),
):
    """Masked-LM pre-training on unlabelled reports; use the result with `train --base`."""
    from radlabel.training.pretrain import pretrain as run

    if mode not in ("continue", "scratch"):
        raise InputError(f"--mode must be continue or scratch, not {mode!r}", field="mode")
    if mode == "scratch" and not tokenizer:
        raise InputError("--mode scratch needs --tokenizer (from `radlabel tokenizer train`)",
                         field="tokenizer")
    info = run(_texts(reports), out, mode=mode, tokenizer_dir=tokenizer, max_steps=max_steps,
               batch_size=batch_size, lr=lr, max_length=max_length, bf16=bf16, seed=seed,
               resume=resume, head_warmup_steps=head_warmup_steps)
    typer.echo(f"saved {mode} MLM to {out} ({info['seconds_per_step']} s/step, last loss "
               f"{info['losses'][-1] if info['losses'] else 'n/a'})")


tokenizer_app = typer.Typer(help="Domain tokenizers.", no_args_is_help=True)


@tokenizer_app.command("train", cls=aliases({"--out": "--output"}))
def tokenizer_train(
    reports: str = typer.Argument(..., help="reports (any loader format)"),
    out: Path = typer.Option(..., "-o", "--output"),
    vocab_size: int = typer.Option(8000, "--vocab-size"),
    heldout_fraction: float = typer.Option(0.1, "--heldout-fraction"),
    seed: int = typer.Option(0, "--seed"),
):
    """Train a byte-level BPE on reports; print fertility vs the base encoder's tokenizer."""
    from radlabel.training.tokenizer import train_and_report

    texts = _texts(reports)
    if len(texts) < 2:
        raise InputError("need at least 2 reports to train a tokenizer", path=reports)
    report = train_and_report(texts, out, vocab_size=vocab_size, heldout_fraction=heldout_fraction,
                              seed=seed)
    typer.echo(json.dumps(report, indent=2))


def register(app: typer.Typer) -> None:
    old = aliases({"--out": "--output"})
    app.command("train", cls=old)(train)
    app.command("predict", cls=old)(predict)
    app.command("pretrain", cls=old)(pretrain)
    app.add_typer(tokenizer_app, name="tokenizer")
