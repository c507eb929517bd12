"""CLI verbs of the loop area (issue 6): `radlabel analyze`, `radlabel feedback`, `radlabel loop` (top layer: the loop drives every other area)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from radlabel.cli_options import aliases, chroma_option, review_db_option


def analyze(
    labels: Path = typer.Option(..., "--labels", help="labels JSONL to audit (label/predict output, or reviewed)"),
    reports: Optional[str] = typer.Option(None, "--reports", help="reports (any loader format); "
                                          "optional when the labels carry 'text'"),
    out: Path = typer.Option(..., "-o", "--output", help="output folder"),
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
    from radlabel.data import load_texts
    from radlabel.errors import InputError
    from radlabel.eval.analyze import run_analysis, write_analysis
    from radlabel.labels import load_gold, read_labels, record_texts
    from radlabel.ontology import Ontology

    if uncertain_as not in ("negative", "positive"):
        raise InputError("--uncertain-as must be negative or positive", field="uncertain-as")
    ontology = Ontology.load(classes)
    records = read_labels(labels, ontology, require=True)
    texts = {**record_texts(records), **(load_texts(reports) if reports is not None else {})}
    missing = [i for i in records if i not in texts]
    if len(missing) == len(records):
        raise InputError("no report text for any labelled id: pass --reports", path=str(labels))
    gold_labels = load_gold(gold, ontology).labels_by_id() if gold is not None else None
    a = run_analysis(records, texts, ontology, gold=gold_labels, model_dir=model,
                     variant=variant, folds=folds, seed=seed, uncertain_as=uncertain_as,
                     include_trusted=include_trusted)
    summary = write_analysis(a, out, texts=texts, top_reports=top)
    typer.echo(f"{out}/issues.jsonl: {summary['issues']} suspect labels in {summary['reports']} reports "
               f"({len(missing)} labelled ids without text skipped); report: {out}/report.md")
    if summary.get("labels_vs_gold_micro_f1") is not None:
        typer.echo(f"vs gold ({summary['gold_reports']} reports): labels micro-F1 "
                   f"{summary['labels_vs_gold_micro_f1']}, classifier {summary['classifier_vs_gold_micro_f1']}")


def loop(
    reports: str = typer.Option(..., "--reports", help="reports the loop labels (any loader format)"),
    gold: Path = typer.Option(..., "--gold", help="seed gold JSONL (a small trusted set among the reports)"),
    rounds: int = typer.Option(3, "--rounds"),
    out: Path = typer.Option(..., "-o", "--output", help="runs folder (round-K/ inside); re-run to resume"),
    classes: Optional[str] = typer.Option(None, "--classes", help="class file (default chest_xray)"),
    judge: str = typer.Option("none", "--judge", help="none (rules, 0 LM calls) | ambiguous | all"),
    lm: Optional[str] = typer.Option(None, "--lm", help="LM for --judge ambiguous/all (default embedded)"),
    variant: str = typer.Option("tfidf", "--variant", help="classifier variant"),
    folds: int = typer.Option(5, "--folds"),
    seed: int = typer.Option(0, "--seed"),
    oracle: Optional[Path] = typer.Option(None, "--oracle", help="held-back gold a SIMULATED reviewer "
                                          "answers the top review items from (benchmarks)"),
    review_budget: int = typer.Option(40, "--review-budget", help="reports the simulated reviewer answers per round"),
    review_store: Optional[Path] = review_db_option("review database: reports a person accepted "
                                                    "between rounds become corrections"),
    agree: Optional[float] = typer.Option(None, "--agree", help="opt-in: confirm reports where labels and "
                                          "classifier agree with P >= this (e.g. 0.95)"),
    eval_gold: Optional[Path] = typer.Option(None, "--eval-gold", help="held-out gold with text, never "
                                             "seen or reviewed: scored every round"),
    learn_synonyms: bool = typer.Option(False, "--learn-synonyms", help="recompile the rule stage: add "
                                        "synonyms learned from corrections to the class file"),
    compile_optimizer: Optional[str] = typer.Option(None, "--compile", help="recompile the LM judge "
                                                    "with this DSPy optimizer each round (LM judges only)"),
    compile_budget: str = typer.Option("light", "--compile-budget"),
    index_demos: bool = typer.Option(False, "--index-demos", help="add reviewed reports to the Chroma "
                                     "reports collection as judge demos (label --demos)"),
    store: Optional[Path] = chroma_option("Chroma folder for --index-demos (default OUTPUT/chroma)"),
    demos: int = typer.Option(0, "--demos", min=0, metavar="K",
                              help="from round 2 the judge sees the K most similar sentences reviewed in "
                                   "earlier rounds (needs --index-demos; 0 = off)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bars while labelling"),
):
    """Rounds of label -> train -> analyze -> feedback -> recompile, with F1 per round."""
    from pydantic import ValidationError

    from radlabel.errors import InputError
    from radlabel.loop import Loop, LoopConfig

    if judge not in ("none", "ambiguous", "all"):
        raise InputError("--judge must be none, ambiguous or all", field="judge")
    if rounds < 1 or review_budget < 0:
        raise InputError("--rounds must be >= 1 and --review-budget >= 0", field="rounds")
    try:
        cfg = LoopConfig(reports=str(reports), seed_gold=str(gold), rounds=rounds, classes=classes,
                         judge=judge, lm=lm, variant=variant, folds=folds, seed=seed,
                         oracle=str(oracle) if oracle else None, review_budget=review_budget,
                         review_store=str(review_store) if review_store else None, agree=agree,
                         eval_gold=str(eval_gold) if eval_gold else None, learn_synonyms=learn_synonyms,
                         compile_optimizer=compile_optimizer, compile_budget=compile_budget,
                         index_demos=index_demos, store=str(store) if store else None, demos=demos)
    except ValidationError as e:
        err = e.errors()[0]
        raise InputError(err["msg"], field=".".join(map(str, err["loc"]))) from None
    Loop(cfg, out, progress=progress, log=lambda m: typer.echo(m, err=True)).run()
    typer.echo((out / "summary.md").read_text(encoding="utf-8"))


def feedback(
    labels: Path = typer.Option(..., "--labels", help="the labels the corrections apply to"),
    reviewed: Path = typer.Option(..., "--reviewed", help="reviewed labels (`radlabel review-export` JSONL)"),
    out: Path = typer.Option(..., "-o", "--output", help="folder for corrected_labels.jsonl and examples.jsonl"),
    reports: Optional[str] = typer.Option(None, "--reports", help="reports (for texts)"),
    classes: Optional[str] = typer.Option(None, "--classes"),
    round: int = typer.Option(0, "--round", help="round number recorded in the provenance"),
    index_demos: bool = typer.Option(False, "--index-demos", help="add the reviewed reports to the "
                                     "Chroma reports collection"),
    chroma: Optional[str] = chroma_option(),
):
    """Turn reviewed labels into corrected training labels, compile examples and demos."""
    from radlabel.data import load_texts
    from radlabel.eval import feedback as fb
    from radlabel.labels import read_labels, record_texts, write_labels
    from radlabel.ontology import Ontology

    ontology = Ontology.load(classes)
    given = read_labels(labels, ontology, require=True)
    confirmed = read_labels(reviewed, ontology, require=True)
    texts = {**record_texts(confirmed), **record_texts(given),
             **(load_texts(reports) if reports is not None else {})}
    trusted = {}
    for rid, rec in confirmed.items():
        old = dict(given[rid].labels) if rid in given else {}
        trusted[rid] = fb.reviewed_record(rid, dict(rec.labels), old=old, text=texts.get(rid),
                                          source=rec.meta.source if rec.meta.source in ("gold", "reviewed")
                                          else "reviewed", round=round,
                                          reviewer=str((rec.meta.model_extra or {}).get("reviewer") or ""),
                                          evidence=rec.evidence)
    write_labels(out / "corrected_labels.jsonl", fb.corrected_training_labels(given, trusted, round=round))
    write_labels(out / "examples.jsonl", fb.compile_examples(trusted, texts))
    changed = sum(len(r["meta"]["changed"]) for r in trusted.values())
    typer.echo(f"{len(trusted)} reviewed reports ({changed} labels changed) -> {out}/corrected_labels.jsonl, "
               f"{out}/examples.jsonl")
    if index_demos:
        from radlabel.retrieval.store import default_store_path

        chroma = chroma or default_store_path()
        info = fb.index_demos(list(trusted.values()), texts, chroma, ontology=ontology)
        typer.echo(f"indexed {info['written']} new demo entries ({info['sentences']} labelled "
                   f"sentences) into {chroma}")


def register(app: typer.Typer) -> None:
    app.command("analyze", cls=aliases({"--out": "--output"}))(analyze)
    app.command("feedback", cls=aliases({"--out": "--output"}, took_value={"--index-demos": "--chroma"}))(feedback)
    app.command("loop", cls=aliases({"--out": "--output", "--store": "--chroma",
                                     "--review-store": "--review-db"}))(loop)
