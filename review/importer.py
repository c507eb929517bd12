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

from radlabel.errors import InputError
from radlabel.labelsets import parse_state
from radlabel.ontology import Ontology
from radlabel.review.queue import rank_reports
from radlabel.review.store import ReviewStore

MAX_LISTED = 25


@dataclass
class Problem:
    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        return where + (f" [{self.field}]" if self.field else "") + f": {self.message}"


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
class ParsedRecord:
    id: str
    line: int
    labels: dict[str, str]
    evidence: dict[str, str]
    meta: dict
    text: str | None


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


def json_lines(path: Path, problems: list[Problem]) -> list[tuple[int, dict]]:
    """All parseable object lines; each bad line is recorded, not raised, so all are listed."""
    out: list[tuple[int, dict]] = []
    try:
        data = path.read_bytes()
    except OSError as e:
        problems.append(Problem(str(path), None, None, f"cannot read: {e.strerror}"))
        return out
    for no, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            problems.append(Problem(str(path), no, None, f"invalid UTF-8 at byte {e.start}"))
            continue
        except json.JSONDecodeError as e:
            problems.append(Problem(str(path), no, None,
                                    f"malformed JSON: {e.msg} (column {e.colno})"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(str(path), no, None, "each line must be a JSON object"))
            continue
        out.append((no, obj))
    return out


def _state(value, problems: list[Problem], path: str, line: int, fld: str) -> str | None:
    try:
        return parse_state(value, path=path, line=line, field=fld)
    except InputError as e:
        problems.append(Problem(path, line, fld, str(e).split(": ", 1)[-1]))
        return None


def parse_label_records(path: Path, ontology: Ontology, problems: list[Problem]
                        ) -> tuple[list[ParsedRecord], int]:
    """Validate a labels JSONL; returns (good records, number of failed records skipped)."""
    p = str(path)
    records: list[ParsedRecord] = []
    first_line: dict[str, int] = {}
    failed = 0
    for no, obj in json_lines(path, problems):
        rid = obj.get("id")
        if isinstance(rid, bool) or not isinstance(rid, (str, int)) or str(rid).strip() == "":
            problems.append(Problem(p, no, "id", "missing or empty 'id' (a string is expected)"))
            continue
        rid = str(rid)
        meta = obj.get("meta", {}) or {}
        if not isinstance(meta, dict):
            problems.append(Problem(p, no, "meta", "'meta' must be an object"))
            continue
        if meta.get("status") == "failed":
            failed += 1
            continue
        if rid in first_line:
            problems.append(Problem(p, no, "id", f"duplicate id {rid!r} (first at line "
                                                  f"{first_line[rid]})"))
            continue
        first_line[rid] = no
        labels_raw = obj.get("labels")
        if not isinstance(labels_raw, dict):
            problems.append(Problem(p, no, "labels", "'labels' must be an object of class: state"))
            continue
        labels: dict[str, str] = {}
        for cls, value in labels_raw.items():
            name = ontology.resolve(cls)
            if name is None:
                problems.append(Problem(p, no, f"labels.{cls}",
                                        f"unknown class {cls!r} (not in {ontology.source})"))
                continue
            state = _state(value, problems, p, no, f"labels.{cls}")
            if state is not None:
                labels[name] = state
        evidence: dict[str, str] = {}
        ev_raw = obj.get("evidence", {}) or {}
        if not isinstance(ev_raw, dict):
            problems.append(Problem(p, no, "evidence", "'evidence' must be an object of class: span"))
        else:
            for cls, span in ev_raw.items():
                name = ontology.resolve(cls)
                if name is None:
                    problems.append(Problem(p, no, f"evidence.{cls}", f"unknown class {cls!r}"))
                elif span is not None and not isinstance(span, str):
                    problems.append(Problem(p, no, f"evidence.{cls}", "evidence must be a string"))
                elif span:
                    evidence[name] = span
        text = obj.get("text")
        if text is not None and not isinstance(text, str):
            problems.append(Problem(p, no, "text", "'text' must be a string"))
            text = None
        full = {c: labels.get(c, "not_mentioned") for c in ontology.names}
        records.append(ParsedRecord(rid, no, full, evidence, meta, text))
    return records, failed


def load_texts(reports_path: Path, problems: list[Problem]) -> dict[str, str]:
    """id -> text from a reports file (any format radlabel.data reads; JSONL without it)."""
    try:
        from radlabel.data import load_reports  # the shared loader, when present
    except ImportError:
        load_reports = None
    try:
        if load_reports is not None:
            return {r.id: r.text for r in load_reports(reports_path)}
        texts: dict[str, str] = {}
        for no, obj in json_lines(reports_path, problems):
            if "id" not in obj or not isinstance(obj.get("text"), str):
                problems.append(Problem(str(reports_path), no, "id" if "id" not in obj else "text",
                                        "each report needs 'id' and a string 'text'"))
                continue
            texts[str(obj["id"])] = obj["text"]
        return texts
    except InputError as e:
        problems.append(Problem(str(reports_path), e.line, e.field, str(e)))
        return {}


def parse_issues(path: Path, ontology: Ontology, known: set[str],
                 problems: list[Problem]) -> list[dict]:
    """Suspected issues, one per line {"id","class","given","suggested","score"}, in file order."""
    p = str(path)
    out: list[dict] = []
    for no, obj in json_lines(path, problems):
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
    records, failed = parse_label_records(labels_path, ontology, problems)
    texts = load_texts(Path(reports_path), problems) if reports_path else {}
    for r in records:
        if reports_path:
            if r.id not in texts:
                problems.append(Problem(str(labels_path), r.line, "id",
                                        f"id {r.id!r} is not in the reports {reports_path}"))
        elif r.text is None:
            problems.append(Problem(str(labels_path), r.line, "text",
                                    "no report text: include 'text' or pass --reports"))
    stored_classes = store.classes()
    if stored_classes and stored_classes != ontology.names:
        problems.append(Problem(str(store.path), None, "classes",
                                "the store was created with other classes "
                                f"({', '.join(stored_classes)}); use a new --store"))
    known = {r.id for r in records} | store.known_ids()
    issues = parse_issues(Path(issues_path), ontology, known, problems) if issues_path else []
    if problems:
        raise ImportRejected(problems)

    summary = ImportSummary(failed_skipped=failed, issues=len(issues))
    with store.write():
        if not stored_classes:
            store.set_meta("classes", json.dumps(ontology.names))
            store.set_meta("ontology_hash", ontology.hash)
            store.set_meta("ontology_source", ontology.source)
        existing = store.known_ids()
        ord_ = store.next_ord()
        for r in records:
            if r.id in existing:
                summary.kept += 1
                continue
            record = {"id": r.id, "labels": r.labels, "evidence": r.evidence, "meta": r.meta}
            store.insert_report(report_id=r.id, ord=ord_, text=texts.get(r.id, r.text or ""),
                                record=record, source=str(r.meta.get("source", "pseudo")),
                                labels=r.labels, evidence=r.evidence)
            ord_ += 1
            summary.added += 1
        if issues:
            store.replace_issues(issues)
        store.set_tiers(rank_reports(store.original_records(), store.all_issues()))
        store.log_import(reviewer=reviewer or getpass.getuser(),
                         note=f"{labels_path.name}: {summary}")
    return summary
