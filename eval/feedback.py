"""Confirmed corrections back into the system, each label keeping its provenance.

Corrections come from a reviewer (the review store / `radlabel review-export`), from a
simulated reviewer that answers only the top review items from held-back gold (benchmarks:
standard active-learning practice), or, opt-in, from an agreement rule (labels and the
out-of-fold classifier agree confidently). They become (a) examples for the next
`radlabel compile` (a four-state gold JSONL with text), (b) demos in the Chroma reports
collection (source reviewed, round K) and (c) corrected training labels, where every record says
where its labels came from (``meta.source``, ``meta.round``, ``meta.corrected_from``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from radlabel.errors import InputError
from radlabel.schema import LabelRecord

NEGATIVE = ("absent", "not_mentioned", "uncertain")


def confirm_with_gold(given: dict[str, str], gold: dict[str, str], classes: list[str], *,
                      positives_only: bool) -> dict[str, str]:
    """The reviewer's answer for one report: gold's states over the given ones.

    Positives-only gold (0/1) only says present or not: a given negative state (absent,
    not_mentioned, uncertain) is confirmed as it is; a given "present" that gold does not code
    becomes "absent".
    """
    out = {}
    for c in classes:
        g = gold.get(c, "not_mentioned")
        if not positives_only:
            out[c] = g
        elif g == "present":
            out[c] = "present"
        else:
            have = given.get(c, "not_mentioned")
            out[c] = have if have in NEGATIVE else "absent"
    return out


def reviewed_record(rid: str, labels: dict[str, str], *, old: dict[str, str], text: str | None,
                    source: str, round: int, reviewer: str, evidence: dict[str, str] | None = None) -> dict:
    """A label line with provenance; evidence is kept only where the state did not change."""
    changed = sorted(c for c in labels if labels[c] != old.get(c, "not_mentioned"))
    rec = {"id": rid, "labels": dict(labels),
           "evidence": {c: e for c, e in (evidence or {}).items() if c not in changed and c in labels},
           "meta": {"model": "", "program": "", "status": "ok", "source": source, "round": round,
                    "reviewer": reviewer, "changed": changed,
                    "corrected_from": {c: old.get(c, "not_mentioned") for c in changed}}}
    if text:
        rec["text"] = text
    return rec


def oracle_review(issues: Iterable[dict], gold: dict[str, dict[str, str]],
                  given: dict[str, LabelRecord],
                  texts: dict[str, str], classes: list[str], *, budget: int, round: int,
                  exclude: set[str] = frozenset(), positives_only: bool = True) -> list[dict]:
    """Simulated reviewer: answers the first `budget` distinct reports of the issue queue.

    Like a person in the review app, it fixes every class of a report it opens. Reports
    without gold are skipped (a real reviewer would answer them; the oracle cannot).
    """
    out: list[dict] = []
    seen: set[str] = set()
    for issue in issues:
        rid = issue["id"]
        if rid in seen or rid in exclude or rid not in gold or rid not in given:
            continue
        seen.add(rid)
        old = dict(given[rid].labels)
        labels = confirm_with_gold(old, gold[rid], classes, positives_only=positives_only)
        out.append(reviewed_record(rid, labels, old=old, text=texts.get(rid), source="reviewed",
                                   round=round, reviewer="oracle", evidence=given[rid].evidence))
        if len(out) >= budget:
            break
    return out


def review_store_records(store_path: str | Path, given: dict[str, LabelRecord], *, round: int,
                         exclude: set[str] = frozenset()) -> list[dict]:
    """Reports a person accepted in the review app, as reviewed records for this round."""
    from radlabel.review.export import reviewed_records
    from radlabel.review.store import ReviewStore

    if not Path(store_path).exists():
        raise InputError("review store not found", path=str(store_path))
    out = []
    with ReviewStore(store_path) as store:
        for rec in reviewed_records(store):
            if rec["id"] in exclude:
                continue
            old = dict(given[rec["id"]].labels) if rec["id"] in given else {}
            out.append(reviewed_record(rec["id"], rec["labels"], old=old, text=rec.get("text"),
                                       source="reviewed", round=round,
                                       reviewer=rec["meta"].get("reviewer") or "",
                                       evidence=rec.get("evidence")))
    return out


def agreement_records(analysis, *, min_prob: float, round: int, texts: dict[str, str]) -> list[dict]:
    """Opt-in rule: a report whose every label the classifier confirms with P >= min_prob.

    These confirm labels rather than correct them; they are marked source "pseudo" with
    ``confirmed_by = "agreement"`` so they never pass for a person's review.
    """
    import numpy as np

    if not 0.5 < min_prob <= 1.0:
        raise InputError("the agreement probability must be in (0.5, 1]", field="agree")
    conf = np.where(analysis.Y == 1, analysis.P, 1 - analysis.P)
    out = []
    for k, rid in enumerate(analysis.ids):
        if rid in analysis.trusted or not (conf[k] >= min_prob).all():
            continue
        labels = dict(zip(analysis.classes, analysis.states[k]))
        rec = reviewed_record(rid, labels, old=labels, text=texts.get(rid), source="pseudo",
                              round=round, reviewer="", evidence=analysis.evidence.get(rid))
        rec["meta"]["confirmed_by"] = "agreement"
        rec["meta"]["min_prob"] = min_prob
        out.append(rec)
    return out


def corrected_training_labels(pseudo: dict[str, LabelRecord], trusted: dict[str, dict],
                              *, round: int) -> list[dict]:
    """Training labels: the labeller's, replaced by trusted labels where a report has them."""
    out = []
    for rid in sorted(set(pseudo) | set(trusted)):
        if rid in trusted:
            t = trusted[rid]
            out.append({"id": rid, "labels": t["labels"], "evidence": t.get("evidence", {}),
                        "meta": dict(t["meta"])})
            continue
        rec = pseudo[rid].model_dump(mode="json")
        rec["meta"]["source"] = rec["meta"].get("source") or "pseudo"
        rec["meta"]["round"] = round
        out.append(rec)
    return out


def compile_examples(trusted: dict[str, dict], texts: dict[str, str]) -> list[dict]:
    """Four-state gold lines with text for `radlabel compile` (provenance kept in meta)."""
    out = []
    for rid in sorted(trusted):
        t = trusted[rid]
        text = t.get("text") or texts.get(rid)
        if not text:
            continue
        out.append({"id": rid, "text": text, "labels": t["labels"],
                    "meta": {"source": t["meta"].get("source"), "round": t["meta"].get("round", 0)}})
    return out


def index_demos(records: list[dict], texts: dict[str, str], store_dir: str | Path, *,
                program: str = "", ontology=None) -> dict:
    """Add confirmed reports to the Chroma reports collection: each report and each labelled
    sentence (its evidence, else with ``ontology`` the rule stage's sentences for the class),
    which `radlabel label --demos K` shows the judge."""
    from radlabel.env import apply_offline_defaults

    apply_offline_defaults()
    from radlabel.retrieval.embeddings import get_embedder
    from radlabel.retrieval.reports_index import LabelledReport, index_reports
    from radlabel.retrieval.store import open_store

    items = []
    for r in records:
        text = r.get("text") or texts.get(r["id"])
        if text:
            items.append(LabelledReport(r["id"], text, r["labels"], r["meta"].get("source", "reviewed"),
                                        int(r["meta"].get("round", 0)), program,
                                        evidence=dict(r.get("evidence") or {})))
    if not items:
        return {"reports": 0, "sentences": 0, "written": 0}
    return index_reports(open_store(str(store_dir)), get_embedder(), items, ontology=ontology)
