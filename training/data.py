"""Join label files with report texts into training targets.

Several label files may be given. Each record's source comes from ``meta.source`` (records
without one count as pseudo-labels unless the file is passed as gold); a gold or reviewed
record for an id beats a pseudo-label for it wherever the two appear. Failed records
(``meta.status == "failed"``) carry no labels and are skipped.
Targets are multi-hot over the ontology's classes ("present" = 1; "uncertain" configurable,
default negative), or four-state indices into ``schema.STATES``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from radlabel.errors import InputError
from radlabel.jsonl import iter_jsonl
from radlabel.labelsets import resolve_labels
from radlabel.ontology import Ontology
from radlabel.schema import STATES

SOURCE_RANK = {"reviewed": 2, "gold": 2, "pseudo": 1, "classifier": 0}


@dataclass
class LabelledText:
    id: str
    labels: dict[str, str]
    source: str
    text: str | None = None


@dataclass
class TrainingSet:
    """Texts and targets ready for any variant; `Y` is multi-hot (n, C) or state ids (n, C)."""

    ids: list[str]
    texts: list[str]
    classes: list[str]
    Y: np.ndarray
    four_state: bool
    sources: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    record_sources: list[str] = field(default_factory=list)  # per record: pseudo | gold | ...
    labels: list[dict[str, str]] = field(default_factory=list)  # per record: {class: state}
    missing_ids: list[str] = field(default_factory=list)  # labelled ids absent from --reports

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx) -> "TrainingSet":
        idx = np.asarray(idx, dtype=int)
        pick = (lambda xs: [xs[i] for i in idx] if xs else [])
        return TrainingSet([self.ids[i] for i in idx], [self.texts[i] for i in idx],
                           self.classes, self.Y[idx], self.four_state,
                           record_sources=pick(self.record_sources), labels=pick(self.labels))


def read_labels(path: str | Path, ontology: Ontology, *, as_gold: bool = False,
                skipped: Counter | None = None) -> dict[str, LabelledText]:
    """One label file -> {id: LabelledText}; within a file the higher source wins, then the later line."""
    out: dict[str, LabelledText] = {}
    skipped = skipped if skipped is not None else Counter()
    for no, obj in iter_jsonl(path, skip_torn_tail=True):
        if "id" not in obj:
            raise InputError("missing 'id'", path=str(path), line=no, field="id")
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise InputError("'meta' must be an object", path=str(path), line=no, field="meta")
        if meta.get("status", "ok") == "failed":
            skipped["failed"] += 1
            continue
        norm = resolve_labels(obj.get("labels"), ontology, path=str(path), line=no)
        source = "gold" if as_gold else str(meta.get("source") or "pseudo")
        text = obj.get("text")
        if text is not None and not isinstance(text, str):
            raise InputError("'text' must be a string", path=str(path), line=no, field="text")
        rec = LabelledText(str(obj["id"]), norm, source, text)
        prev = out.get(rec.id)
        if prev is None or SOURCE_RANK.get(rec.source, 1) >= SOURCE_RANK.get(prev.source, 1):
            out[rec.id] = rec
    return out


def merge_labels(files: list[dict[str, LabelledText]]) -> dict[str, LabelledText]:
    """Merge per-file records: higher-ranked sources win; among equals the later file wins."""
    merged: dict[str, LabelledText] = {}
    for recs in files:
        for rid, rec in recs.items():
            prev = merged.get(rid)
            if prev is None or SOURCE_RANK.get(rec.source, 1) >= SOURCE_RANK.get(prev.source, 1):
                if rec.text is None and prev is not None:
                    rec.text = prev.text
                merged[rid] = rec
    return merged


def load_report_texts(path: str | Path) -> dict[str, str]:
    """Reports through radlabel.data.load_reports (any supported format); JSONL if it is absent."""
    try:
        from radlabel.data import load_reports
    except ImportError:
        load_reports = None
    if load_reports is not None:
        return {r.id: r.text for r in load_reports(str(path))}
    texts = {}
    for no, obj in iter_jsonl(path):
        if "id" not in obj or not isinstance(obj.get("text"), str):
            raise InputError("each report needs 'id' and a string 'text'", path=str(path), line=no,
                             field="text" if "id" in obj else "id")
        texts[str(obj["id"])] = obj["text"]
    return texts


def targets(labels: dict[str, str], classes: list[str], *, four_state: bool,
            uncertain_as: str = "negative") -> list:
    """One record's target row: multi-hot floats, or state indices (missing = not_mentioned)."""
    if four_state:
        return [STATES.index(labels.get(c, "not_mentioned")) for c in classes]
    positive = {"present"} | ({"uncertain"} if uncertain_as == "positive" else set())
    return [1.0 if labels.get(c) in positive else 0.0 for c in classes]


def build_training_set(label_paths: list[str | Path], ontology: Ontology, *,
                       gold_paths: list[str | Path] = (), reports: str | Path | None = None,
                       four_state: bool = False, uncertain_as: str = "negative") -> TrainingSet:
    """Everything `radlabel train` needs from its inputs, with counts of what was skipped."""
    skipped: Counter = Counter()
    files = [read_labels(p, ontology, skipped=skipped) for p in label_paths]
    files += [read_labels(p, ontology, as_gold=True, skipped=skipped) for p in gold_paths]
    merged = merge_labels(files)
    texts = load_report_texts(reports) if reports is not None else {}
    classes = ontology.names
    ids, xs, ys, sources, rec_sources, rec_labels, missing = [], [], [], Counter(), [], [], []
    for rid in sorted(merged):
        rec = merged[rid]
        text = texts.get(rid, rec.text)
        if not text or not text.strip():
            skipped["no_text"] += 1
            if reports is not None and rid not in texts:
                missing.append(rid)
            continue
        ids.append(rid)
        xs.append(text)
        ys.append(targets(rec.labels, classes, four_state=four_state, uncertain_as=uncertain_as))
        sources[rec.source] += 1
        rec_sources.append(rec.source)
        rec_labels.append(rec.labels)
    if not ids:
        where = str(label_paths[0] if label_paths else gold_paths[0]) if (label_paths or gold_paths) else None
        extra = (f" ({len(missing)} labelled ids are not in {reports}, e.g. {', '.join(missing[:3])})"
                 if missing else "")
        raise InputError("no labelled report with text: give --reports, or labels that carry 'text'"
                         + extra, path=where)
    dtype = np.int64 if four_state else np.float32
    return TrainingSet(ids, xs, classes, np.asarray(ys, dtype=dtype), four_state, sources, skipped,
                       rec_sources, rec_labels, missing)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded shuffle split; no validation set when the fraction or n is too small."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(n * val_fraction))
    if val_fraction <= 0 or n_val < 2 or n - n_val < 2:
        return np.sort(order), np.array([], dtype=int)
    return np.sort(order[n_val:]), np.sort(order[:n_val])
