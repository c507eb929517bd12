"""Validated, all-or-nothing import of label records (and optional issues) into a review store.

Every problem in the input is collected first (file, line, field, what is wrong) and the
import is refused as a whole if there is any: a reviewer never works on a half-imported set.
Re-importing is safe: reports already in the store keep their review state untouched.
"""
from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from pathlib import Path

from radlabel import data
from radlabel.errors import InputError
from radlabel.jsonl import iter_jsonl
from radlabel.labels import Problem, parse_state, read_label_file, record_text
from radlabel.ontology import Ontology
from radlabel.review.queue import rank_reports
from radlabel.review.store import ReviewStore

MAX_LISTED = 25


class ImportRejected(InputError):
    """The input has problems; nothing was imported. ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]):
        problems = sorted(problems, key=lambda p: (p.path, p.line or 0))
        shown = "\n".join(f"  {p}" for p in problems[:MAX_LISTED])
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        super().__init__(f"{len(problems)} problem(s) in the input; nothing was imported:\n"
                         f"{shown}{more}")
        self.problems = problems


@dataclass
class ImportSummary:
    added: int = 0
    kept: int = 0            # already in the store: left as they are
    failed_skipped: int = 0  # records with meta.status == "failed" (no labels to review)
    issues: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"{self.added} report(s) added", f"{self.kept} already in the store (kept)"]
        if self.failed_skipped:
            parts.append(f"{self.failed_skipped} failed record(s) skipped")
        if self.issues:
            parts.append(f"{self.issues} suspected issue(s)")
        return ", ".join(parts)


def _state(value, problems: list[Problem], path: str, line: int, fld: str) -> str | None:
    try:
        return parse_state(value, path=path, line=line, field=fld)
    except InputError as e:
        problems.append(Problem.of(e))
        return None


def _report_texts(reports_path: Path, problems: list[Problem]) -> dict[str, str]:
    """id -> text from a reports file (any format radlabel.data reads); a problem if it is bad."""
    try:
        return data.load_texts(reports_path)
    except InputError as e:
        problems.append(Problem.of(e) if e.path is not None else Problem(str(reports_path), e.line,
                                                                          e.field, str(e)))
        return {}


def parse_issues(path: Path, ontology: Ontology, known: set[str],
                 problems: list[Problem]) -> list[dict]:
    """Suspected issues, one per line {"id","class","given","suggested","score"}, in file order."""
    p = str(path)
    out: list[dict] = []
    for no, obj in iter_jsonl(path, on_error=lambda e: problems.append(Problem.of(e))):
        rid = obj.get("id")
        if rid is None or str(rid) not in known:
            problems.append(Problem(p, no, "id", f"id {rid!r} is not among the imported labels"))
            continue
        cls = ontology.resolve(str(obj.get("class", "")))
        if cls is None:
            problems.append(Problem(p, no, "class", f"unknown class {obj.get('class')!r}"))
            continue
        given = _state(obj.get("given"), problems, p, no, "given")
        suggested = (_state(obj["suggested"], problems, p, no, "suggested")
                     if obj.get("suggested") is not None else None)
        score = obj.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            problems.append(Problem(p, no, "score", "score must be a number"))
            continue
        out.append({"id": str(rid), "class": cls, "given": given, "suggested": suggested,
                    "score": None if score is None else float(score)})
    return out


def import_labels(store: ReviewStore, labels_path: str | Path, *,
                  reports_path: str | Path | None = None, issues_path: str | Path | None = None,
                  ontology: Ontology | None = None, reviewer: str | None = None) -> ImportSummary:
    """Validate everything, then write it in one transaction, or raise ImportRejected."""
    ontology = ontology or Ontology.load(None)
    problems: list[Problem] = []
    labels_path = Path(labels_path)
    if not labels_path.exists():
        raise InputError("labels file not found", path=str(labels_path))
    read = read_label_file(labels_path, ontology, strict=False)
    problems += read.problems
    records = read.records
    texts = _report_texts(Path(reports_path), problems) if reports_path else {}
    for rid, rec in records.items():
        if reports_path:
            if rid not in texts:
                problems.append(Problem(str(labels_path), read.lines[rid], "id",
                                        f"id {rid!r} is not in the reports {reports_path}"))
        elif record_text(rec) is None:
            problems.append(Problem(str(labels_path), read.lines[rid], "text",
                                    "no report text: include 'text' or pass --reports"))
    stored_classes = store.classes()
    if stored_classes and stored_classes != ontology.names:
        problems.append(Problem(str(store.path), None, "classes",
                                "the store was created with other classes "
                                f"({', '.join(stored_classes)}); use a new --review-db"))
    known = set(records) | store.known_ids()
    issues = parse_issues(Path(issues_path), ontology, known, problems) if issues_path else []
    if problems:
        raise ImportRejected(problems)

    summary = ImportSummary(failed_skipped=len(read.failed), issues=len(issues))
    with store.write():
        if not stored_classes:
            store.set_meta("classes", json.dumps(ontology.names))
            store.set_meta("ontology_hash", ontology.hash)
            store.set_meta("ontology_source", ontology.source)
        existing = store.known_ids()
        ord_ = store.next_ord()
        for rid, rec in records.items():
            if rid in existing:
                summary.kept += 1
                continue
            labels = {c: rec.labels.get(c, "not_mentioned") for c in ontology.names}
            evidence = dict(rec.evidence)
            meta = rec.meta.model_dump(mode="json", exclude_unset=True)
            record = {"id": rid, "labels": labels, "evidence": evidence, "meta": meta}
            store.insert_report(report_id=rid, ord=ord_, text=texts.get(rid, record_text(rec) or ""),
                                record=record, source=rec.meta.source, labels=labels, evidence=evidence)
            ord_ += 1
            summary.added += 1
        if issues:
            store.replace_issues(issues)
        store.set_tiers(rank_reports(store.original_records(), store.all_issues()))
        store.log_import(reviewer=reviewer or getpass.getuser(),
                         note=f"{labels_path.name}: {summary}")
    return summary
