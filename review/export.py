"""Export reviewed labels in the formats `train` and `compile` read.

JSONL: the label output format (``id, labels, evidence, meta``) plus ``text``, with
``meta.source = "reviewed"``, the reviewer and the time; it reads both as a labels file
(`radlabel.labels.read_labels`) and as four-state gold (`radlabel.labels.load_gold`).
CSV: one row per report, one column per class holding the state.

Only reports a reviewer accepted are exported (``include_edited`` adds reports with edits
but no accept yet). Evidence is dropped where the reviewer changed the state: the span
supported the old label, not the new one.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

from radlabel.files import atomic_write
from radlabel.labels import write_labels
from radlabel.review.store import ReviewStore

FORMATS = ("jsonl", "csv")


def reviewed_records(store: ReviewStore, *, include_edited: bool = False,
                     with_text: bool = True) -> Iterator[dict]:
    """Reviewed reports in review-queue order, as label records."""
    edited = store.edited_ids() if include_edited else set()
    for item in store.queue(status="all"):
        if item.status != "accepted" and item.id not in edited:
            continue
        view = store.report(item.id)
        changed = [c for c, s in view.labels.items() if s != view.original.get(c)]
        old_meta = view.record.get("meta") or {}
        meta = {
            "model": old_meta.get("model", ""), "program": old_meta.get("program", ""),
            "latency_s": 0.0, "tokens": 0, "lm_calls": 0, "status": "ok", "error": None,
            "source": "reviewed", "reviewed_from": view.source,
            "reviewer": view.reviewer, "reviewed_at": view.reviewed_at,
            "review_status": view.status, "changed": changed,
        }
        rec = {"id": view.id}
        if with_text:
            rec["text"] = view.text
        rec["labels"] = dict(view.labels)
        rec["evidence"] = {c: e for c, e in view.evidence.items() if c not in changed}
        rec["meta"] = meta
        yield rec


def to_csv_text(records: list[dict], classes: list[str]) -> str:
    buf = io.StringIO()
    has_text = any("text" in r for r in records)
    cols = ["id"] + (["text"] if has_text else []) + classes + ["reviewer", "reviewed_at"]
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in records:
        row = {"id": r["id"], "reviewer": r["meta"]["reviewer"] or "",
               "reviewed_at": r["meta"]["reviewed_at"] or ""}
        if has_text:
            row["text"] = r.get("text", "")
        row.update({c: r["labels"].get(c, "not_mentioned") for c in classes})
        w.writerow(row)
    return buf.getvalue()


def to_jsonl_text(records: list[dict]) -> str:
    import json

    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def export_reviewed(store: ReviewStore, out: str | Path, *, fmt: str | None = None,
                    include_edited: bool = False, with_text: bool = True) -> int:
    """Write the export atomically; returns the number of reports written."""
    out = Path(out)
    fmt = (fmt or ("csv" if out.suffix.lower() == ".csv" else "jsonl")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    records = list(reviewed_records(store, include_edited=include_edited, with_text=with_text))
    if fmt == "jsonl":
        write_labels(out, records)
    else:
        with atomic_write(out, newline="") as f:
            f.write(to_csv_text(records, store.classes()))
    return len(records)
