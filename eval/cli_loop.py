"""CLI verbs of the loop area (issue 6): `radlabel analyze`, `radlabel feedback`, `radlabel loop`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def analyze(
    labels: Path = typer.Option(..., "--labels", help="labels JSONL to audit (label/predict output, or reviewed)"),
    reports: Optional[str] = typer.Option(None, "--reports", help="reports (any loader format); "
                                          "optional when the labels carry 'text'"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder"),
    gold: Optional[Path] = typer.Option(None, "--gold", help="gold JSONL: adds confusion vs gold"),
    model: Optional[Path] = typer.Option(None, "--model", help="use this trained classifier instead of "
                                         "cross-validation (its probabilities are then in-sample)"),
    classes: Optional[str] = typer.Option(None, "--classes", help="class file (default chest_xray)"),
    variant: str = typer.Option("tfidf", "--variant", help="classifier variant for cross-validation"),
    folds: int = typer.Option(5, "--folds"),
    seed: int = typer.Option(0, "--seed"),
    uncertain_as: str = typer.Option("negative", "--uncertain-as", help="negative | positive"),
    include_trusted: bool = typer.Option(False, "--include-trusted", help="also queue reports whose "
                                         "labels are gold/reviewed"),
    top: int = typer.Option(20, "--top", help="suspect reports shown in report.md"),
):
    """Error analysis: out-of-fold classifier, disagreements, cleanlab label issues, report."""
    from radlabel.errors import InputError
    from radlabel.eval.analyze import run_analysis, write_analysis
    from radlabel.eval.inputs import load_gold, load_labels, load_texts
    from radlabel.ontology import Ontology

    if uncertain_as not in ("negative", "positive"):
        raise InputError("--uncertain-as must be negative or positive", field="uncertain-as")
    ontology = Ontology.load(classes)
    records = load_labels(labels, ontology)
    texts = load_texts(reports, records)
    missing = [i for i in records if i not in texts]
    if len(missing) == len(records):
        raise InputError("no report text for any labelled id: pass --reports", path=str(labels))
    a = run_analysis(records, texts, ontology, gold=load_gold(gold, ontology), model_dir=model,
                     variant=variant, folds=folds, seed=seed, uncertain_as=uncertain_as,
                     include_trusted=include_trusted)
    summary = write_analysis(a, out, texts=texts, top_reports=top)
    typer.echo(f"{out}/issues.jsonl: {summary['issues']} suspect labels in {summary['reports']} reports "
               f"({len(missing)} labelled ids without text skipped); report: {out}/report.md")
    if summary.get("labels_vs_gold_micro_f1") is not None:
        typer.echo(f"vs gold ({summary['gold_reports']} reports): labels micro-F1 "
                   f"{summary['labels_vs_gold_micro_f1']}, classifier {summary['classifier_vs_gold_micro_f1']}")


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
