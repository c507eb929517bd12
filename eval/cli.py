"""`radlabel evaluate`: score labels (or a compiled program) against gold, write a report."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from radlabel.cli_options import aliases, allow_remote_option, api_base_option, lm_option


def register(app: typer.Typer) -> None:
    app.command("evaluate", cls=aliases({"--pred": "--labels"}))(evaluate)


def evaluate(
    gold: Path = typer.Option(..., "--gold", help="gold JSONL: id, text?, labels (four states or 0/1)"),
    pred: Optional[Path] = typer.Option(None, "--labels", help="labels JSONL from `radlabel label` / `predict`"),
    program: Optional[Path] = typer.Option(None, "--program", help="compiled program directory to run on the gold texts"),
    output: Path = typer.Option(..., "-o", "--output", help="report directory (report.md, scores.json, PNG plots)"),
    classes: Optional[str] = typer.Option(None, "--classes", help="class file (YAML); default: 14 chest X-ray classes"),
    lm: Optional[str] = lm_option("LM for --program (default: embedded)"),
    api_base: Optional[str] = api_base_option(),
    allow_remote: bool = allow_remote_option(),
) -> None:
    """Per-class F1, micro/macro F1, state confusion and calibration; markdown report with plots."""
    from rich.console import Console
    from rich.table import Table

    from radlabel.errors import InputError
    from radlabel.eval.evaluate import evaluate_file, evaluate_records, label_with_program, write_report
    from radlabel.labels import load_gold
    from radlabel.ontology import Ontology

    if (pred is None) == (program is None):
        raise InputError("give exactly one of --labels labels.jsonl or --program DIR", field="labels")
    if program is not None and classes is None and (program / "classes.yaml").exists():
        classes = str(program / "classes.yaml")
    ontology = Ontology.load(classes)
    gold_set = load_gold(gold, ontology)
    if pred is not None:
        result = evaluate_file(gold_set, pred, ontology)
        title = f"Evaluation of {pred.name}"
    else:
        from radlabel.lm.config import load_config

        cfg = load_config(model=lm, api_base=api_base, allow_remote=allow_remote or None)
        labels_path = output / "labels.jsonl"
        records = label_with_program(gold_set, program, labels_path, lm=cfg)
        result = evaluate_records(gold_set, records, source=str(labels_path))
        title = f"Evaluation of program {program}"
    md = write_report(result, output, title=title)
    t = Table(title=f"{result.n_gold} gold reports ({result.gold_kind.replace('_', '-')})")
    for col in ("class", "support", "P", "R", "F1"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for cls, s in result.f1.per_class.items():
        t.add_row(cls, str(s.support), f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}")
    console = Console()
    console.print(t)
    console.print(f"micro F1 [bold]{result.f1.micro_f1:.4f}[/bold], macro F1 "
                  f"[bold]{result.f1.macro_f1:.4f}[/bold]; {len(result.failed)} failed; report: {md}")
