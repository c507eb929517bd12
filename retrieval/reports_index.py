"""The labelled-report collection: reports with their labels and where the labels came from.

Used for few-shot demos (the most similar already-labelled reports) and for looking up how
similar reports were labelled. Provenance matters: gold and reviewed labels make better demos
than pseudo-labels, so every entry records source (gold | reviewed | pseudo), round and program.
The id hashes the report, its labels and provenance, so re-indexing a file is a no-op and a
report relabelled in a later round becomes a second entry (readers pick the best per report).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from radlabel.errors import InputError
from radlabel.jsonl import iter_jsonl
from radlabel.labelsets import resolve_labels
from radlabel.ontology import Ontology
from radlabel.retrieval.store import REPORTS, VectorStore, content_id
from radlabel.sections import NON_FINDING_SECTIONS, split_sections

SOURCES = ("gold", "reviewed", "pseudo", "classifier")
SOURCE_RANK = {"gold": 3, "reviewed": 2, "pseudo": 1, "classifier": 0}


@dataclass
class LabelledReport:
    id: str
    text: str
    labels: dict[str, str]
    source: str = "pseudo"
    round: int = 0
    program: str = ""


def embedding_text(text: str) -> str:
    """Findings + impression only: indication and technique say little about what was seen."""
    kept = [s.text.strip() for s in split_sections(text) if s.name not in NON_FINDING_SECTIONS]
    body = " ".join(k for k in kept if k)
    return body or text


def report_entry(r: LabelledReport) -> tuple[str, str, dict]:
    labels = {k: v for k, v in sorted(r.labels.items())}
    meta = {"report_id": r.id, "labels": json.dumps(labels), "source": r.source,
            "round": int(r.round), "program": r.program or "",
            "positives": json.dumps(sorted(k for k, v in labels.items() if v == "present"))}
    return content_id("report", r.id, r.text, labels, r.source, int(r.round), r.program or ""), r.text, meta


def index_reports(store: VectorStore, embedder, reports: Iterable[LabelledReport], *,
                  batch: int = 256, progress=None) -> dict:
    """Embed (findings/impression of) each report and upsert it with labels and provenance."""
    col = store.collection(REPORTS, embedder)
    total = written = 0
    buf: list[LabelledReport] = []

    def flush():
        nonlocal written
        entries = [report_entry(r) for r in buf]
        ids = [e[0] for e in entries]
        have = col.existing_ids(ids)
        new = [(e, r) for e, r in zip(entries, buf) if e[0] not in have]
        if new:
            vecs = embedder.embed([embedding_text(r.text) for _, r in new])
            written += col.upsert([e[0] for e, _ in new], [e[1] for e, _ in new],
                                  [e[2] for e, _ in new], vecs, skip_existing=False)
        if progress is not None:
            progress(len(buf))
        buf.clear()

    for r in reports:
        if r.source not in SOURCES:
            raise InputError(f"unknown label source {r.source!r} (expected {', '.join(SOURCES)})",
                             field="source")
        buf.append(r)
        total += 1
        if len(buf) >= batch:
            flush()
    if buf:
        flush()
    return {"collection": col.name, "reports": total, "written": written, "count": col.count()}


def read_labelled_reports(labels_path: str | Path, *, texts: dict[str, str] | None = None,
                          ontology: Ontology | None = None, source: str | None = None,
                          round: int | None = None, program: str | None = None) -> list[LabelledReport]:
    """Label lines (radlabel label output or gold JSONL) joined with report texts.

    Text comes from the line's ``text`` field or from ``texts`` (id -> text, from --reports).
    Provenance comes from ``meta.source/round/program`` unless overridden; gold files (no meta)
    default to source "gold". Failed records are skipped; a later line for an id wins.
    """
    path = str(labels_path)
    out: dict[str, LabelledReport] = {}
    for no, obj in iter_jsonl(path, skip_torn_tail=True):
        if "id" not in obj:
            raise InputError("missing 'id'", path=path, line=no, field="id")
        rid = str(obj["id"])
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise InputError("'meta' must be an object", path=path, line=no, field="meta")
        if meta.get("status", "ok") != "ok":
            out.pop(rid, None)
            continue
        labels = resolve_labels(obj.get("labels"), ontology, path=path, line=no)
        text = obj.get("text") or (texts or {}).get(rid)
        if not text:
            raise InputError(f"no text for report {rid!r}: the line has no 'text' and --reports does "
                             "not contain this id", path=path, line=no, field="text")
        src = source or meta.get("source") or ("pseudo" if meta else "gold")
        if src not in SOURCES:
            raise InputError(f"unknown source {src!r} (expected {', '.join(SOURCES)})", path=path,
                             line=no, field="meta.source")
        try:
            rnd = int(round if round is not None else meta.get("round", 0) or 0)
        except (TypeError, ValueError):
            raise InputError("'meta.round' must be an integer", path=path, line=no, field="meta.round") from None
        prog = program if program is not None else str(meta.get("program") or "")
        out[rid] = LabelledReport(rid, text, labels, src, rnd, prog)
    return list(out.values())
