"""`radlabel analyze`: out-of-fold classifier, disagreements, label-issue ranking, confusion.

Writes into DIR: ``issues.jsonl`` (one suspect label per line, most suspect first: the review
app's queue), ``disagreements.jsonl`` (labels vs classifier vs gold per report), ``proba.jsonl``
(out-of-fold P(present) per report), ``summary.json`` and ``report.md`` with plots.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from radlabel.errors import InputError
from radlabel.eval.issues import (TRUSTED_SOURCES, IssueRanking, issue_lines, multi_hot,
                                  rank_label_issues, state_matrix)
from radlabel.eval.report import write_report
from radlabel.jsonl import write_jsonl_atomic
from radlabel.ontology import Ontology
from radlabel.schema import LabelRecord
from radlabel.scores import ClassScore, f1_from_matrix
from radlabel.training.crossval import cross_val_proba
from radlabel.training.registry import load_classifier
from radlabel.training.thresholds import tune_thresholds


@dataclass
class Analysis:
    ids: list[str]
    classes: list[str]
    states: list[list[str]]
    Y: np.ndarray
    P: np.ndarray
    thresholds: list[float]
    ranking: IssueRanking
    issues: list[dict]
    trusted: set[str]
    evidence: dict[str, dict[str, str]]
    gold: dict[str, np.ndarray] = field(default_factory=dict)
    proba_source: str = "out-of-fold"
    seconds: float = 0.0

    @property
    def classifier_Y(self) -> np.ndarray:
        return (self.P >= np.asarray(self.thresholds)[None, :]).astype(np.int8)


def classifier_proba(texts: list[str], Y: np.ndarray, *, model_dir: str | Path | None = None,
                     variant: str = "tfidf", folds: int = 5, seed: int = 0, ontology=None,
                     states=None) -> tuple[np.ndarray, str]:
    """Out-of-fold P(present) from cross-validation, or a given model's (in-sample) P."""
    if model_dir is not None:
        clf = load_classifier(model_dir)
        P = clf.present_proba(clf.predict_proba(texts))
        return np.asarray(P, dtype=float), f"model {model_dir} (not out-of-fold)"
    if Y.sum() == 0:
        raise InputError("no positive label anywhere: nothing for a classifier to learn")
    extra = {}
    if variant == "mention":  # the calibrated sentence-level student, on the records' states
        extra = {"ontology": ontology,
                 "states": [dict(zip(ontology.names, row)) for row in states] if states else None}
    return (cross_val_proba(texts, Y, variant=variant, folds=folds, seed=seed, **extra),
            f"{folds}-fold {variant}")


def gold_matrix(gold: dict[str, dict[str, str]], ids: list[str], classes: list[str],
                uncertain_as: str = "negative") -> dict[str, np.ndarray]:
    """{id: 0/1 row} for the analysed reports that have gold ({id: {class: state}})."""
    pos = {"present"} | ({"uncertain"} if uncertain_as == "positive" else set())
    return {i: np.array([1 if gold[i].get(c) in pos else 0 for c in classes], dtype=np.int8)
            for i in ids if i in gold}


def confusion(Yhat: np.ndarray, Ygold: np.ndarray) -> dict:
    """TP/FP/FN/TN, precision, recall and F1 of one class's 0/1 predictions."""
    s = f1_from_matrix(np.asarray(Ygold)[:, None], np.asarray(Yhat)[:, None]).micro
    return {"tp": s.tp, "fp": s.fp, "fn": s.fn, "tn": len(Ygold) - s.tp - s.fp - s.fn,
            "precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4)}


def per_class_table(a: Analysis) -> list[dict]:
    """Per class: positives given, classifier positives, agreement, issues, and vs-gold confusion."""
    C = a.classifier_Y
    issue_count = {c: 0 for c in a.classes}
    for row in a.issues:
        issue_count[row["class"]] += 1
    gold_idx = [k for k, i in enumerate(a.ids) if i in a.gold]
    G = np.array([a.gold[a.ids[k]] for k in gold_idx]) if gold_idx else None
    rows = []
    for j, cls in enumerate(a.classes):
        row = {"class": cls, "given_positive": int(a.Y[:, j].sum()),
               "classifier_positive": int(C[:, j].sum()),
               "agreement": round(float((a.Y[:, j] == C[:, j]).mean()), 4) if len(a.ids) else 0.0,
               "flagged": int(a.ranking.flagged[:, j].sum()), "issues": issue_count[cls]}
        if G is not None:
            row["labels_vs_gold"] = confusion(a.Y[gold_idx, j], G[:, j])
            row["classifier_vs_gold"] = confusion(C[gold_idx, j], G[:, j])
        rows.append(row)
    return rows


def micro_f1(rows: list[dict], key: str) -> float | None:
    """Micro F1 pooled over the per-class confusions `rows[*][key]` (None: no such column)."""
    if not rows or key not in rows[0]:
        return None
    pooled = ClassScore.pooled(ClassScore(tp=r[key]["tp"], fp=r[key]["fp"], fn=r[key]["fn"]) for r in rows)
    return round(pooled.f1, 4)


def disagreement_rows(a: Analysis) -> list[dict]:
    """Reports where the labels, the classifier and (if known) gold do not all agree."""
    C = a.classifier_Y
    out = []
    for k, rid in enumerate(a.ids):
        g = a.gold.get(rid)
        classes = []
        for j, cls in enumerate(a.classes):
            votes = {"labels": int(a.Y[k, j]), "classifier": int(C[k, j])}
            if g is not None:
                votes["gold"] = int(g[j])
            if len(set(votes.values())) > 1:
                classes.append({"class": cls, "given": a.states[k][j], **votes,
                                "p_present": round(float(a.P[k, j]), 4)})
        if classes:
            out.append({"id": rid, "classes": classes})
    return out


def run_analysis(records: dict[str, LabelRecord], texts: dict[str, str], ontology: Ontology, *,
                 gold: dict[str, dict[str, str]] | None = None, model_dir: str | Path | None = None,
                 variant: str = "tfidf", folds: int = 5, seed: int = 0,
                 uncertain_as: str = "negative", include_trusted: bool = False,
                 limit: int | None = None) -> Analysis:
    """Everything `radlabel analyze` computes, in memory (write_analysis saves it)."""
    t0 = time.perf_counter()
    ids = sorted(i for i in records if texts.get(i, "").strip())
    if len(ids) < max(4, folds):
        raise InputError(f"only {len(ids)} labelled reports with text; analysis needs at least "
                         f"{max(4, folds)}")
    classes = ontology.names
    states = state_matrix(records, ids, classes)
    Y = multi_hot(states, uncertain_as)
    P, proba_source = classifier_proba([texts[i] for i in ids], Y, model_dir=model_dir,
                                       variant=variant, folds=folds, seed=seed, ontology=ontology,
                                       states=states)
    thresholds = tune_thresholds(Y, P)
    ranking = rank_label_issues(Y, P)
    trusted = {i for i in ids if records[i].meta.source in TRUSTED_SOURCES}
    evidence = {i: dict(records[i].evidence) for i in ids}
    issues = issue_lines(ids, classes, states, P, ranking, thresholds, evidence=evidence,
                         exclude=set() if include_trusted else trusted, uncertain_as=uncertain_as,
                         limit=limit)
    G = gold_matrix(gold, ids, classes, uncertain_as) if gold else {}
    return Analysis(ids, classes, states, Y, P, thresholds, ranking, issues, trusted, evidence, G,
                    proba_source, round(time.perf_counter() - t0, 2))


def summary_dict(a: Analysis, table: list[dict]) -> dict:
    return {"reports": len(a.ids), "classes": a.classes, "trusted_reports": len(a.trusted),
            "issues": len(a.issues), "flagged_pairs": int(a.ranking.flagged.sum()),
            "proba": a.proba_source, "thresholds": [round(float(t), 4) for t in a.thresholds],
            "gold_reports": len(a.gold), "labels_vs_gold_micro_f1": micro_f1(table, "labels_vs_gold"),
            "classifier_vs_gold_micro_f1": micro_f1(table, "classifier_vs_gold"),
            "seconds": a.seconds, "per_class": table}


def write_analysis(a: Analysis, out_dir: str | Path, *, texts: dict[str, str] | None = None,
                   top_reports: int = 20, plots: bool = True) -> dict:
    """Write issues.jsonl, disagreements.jsonl, proba.jsonl, summary.json and report.md."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = per_class_table(a)
    summary = summary_dict(a, table)
    write_jsonl_atomic(out / "issues.jsonl", a.issues)
    write_jsonl_atomic(out / "disagreements.jsonl", disagreement_rows(a))
    write_jsonl_atomic(out / "proba.jsonl", ({"id": i, "p_present": {c: round(float(a.P[k, j]), 6)
                                                                     for j, c in enumerate(a.classes)}}
                                             for k, i in enumerate(a.ids)))
    write_report(a, table, summary, out, texts=texts or {}, top_reports=top_reports, plots=plots)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    tmp.replace(out / "summary.json")
    return summary
