"""Join label files with report texts into training targets.

Several label files may be given; they are read and merged by the label-record contract
(`radlabel.labels`: a record without ``meta.source`` is a pseudo-label unless its file is
passed as gold; gold > reviewed > pseudo wherever an id appears twice; failed records carry no
labels and are skipped).
Targets are multi-hot over the ontology's classes ("present" = 1; "uncertain" configurable,
default negative), or four-state indices into ``schema.STATES``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from radlabel.data import load_texts
from radlabel.errors import InputError
from radlabel.labels import (TRUSTED_SOURCES, merge_labels, read_label_file, record_text,
                             record_texts)
from radlabel.ontology import Ontology
from radlabel.schema import STATES


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
    # per record: the pseudo-labels a gold/reviewed record shadows for the same id (else None),
    # so a student can keep the teacher's reading beside the gold (the mention variant does)
    shadowed: list[dict[str, str] | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx) -> "TrainingSet":
        idx = np.asarray(idx, dtype=int)
        pick = (lambda xs: [xs[i] for i in idx] if xs else [])
        return TrainingSet([self.ids[i] for i in idx], [self.texts[i] for i in idx],
                           self.classes, self.Y[idx], self.four_state,
                           record_sources=pick(self.record_sources), labels=pick(self.labels),
                           shadowed=pick(self.shadowed))


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
    files = [read_label_file(p, ontology) for p in label_paths]
    files += [read_label_file(p, ontology, source="gold") for p in gold_paths]
    skipped["failed"] += sum(len(f.failed) for f in files)
    merged = merge_labels(f.records for f in files)
    carried: dict[str, str] = {}  # a winning record without text takes another file's text
    for f in files:
        carried.update(record_texts(f.records))
    untrusted = merge_labels({k: r for k, r in f.records.items() if r.meta.source not in TRUSTED_SOURCES}
                             for f in files)
    texts = load_texts(reports) if reports is not None else {}
    classes = ontology.names
    ids, xs, ys, sources, rec_sources, rec_labels, missing = [], [], [], Counter(), [], [], []
    shadowed: list[dict[str, str] | None] = []
    for rid in sorted(merged):
        rec = merged[rid]
        source = rec.meta.source
        text = texts.get(rid, record_text(rec) or carried.get(rid))
        if not text or not text.strip():
            skipped["no_text"] += 1
            if reports is not None and rid not in texts:
                missing.append(rid)
            continue
        ids.append(rid)
        xs.append(text)
        ys.append(targets(rec.labels, classes, four_state=four_state, uncertain_as=uncertain_as))
        sources[source] += 1
        rec_sources.append(source)
        rec_labels.append(dict(rec.labels))
        under = untrusted.get(rid) if source in TRUSTED_SOURCES else None
        shadowed.append(dict(under.labels) if under is not None else None)
    if not ids:
        where = str(label_paths[0] if label_paths else gold_paths[0]) if (label_paths or gold_paths) else None
        extra = (f" ({len(missing)} labelled ids are not in {reports}, e.g. {', '.join(missing[:3])})"
                 if missing else "")
        raise InputError("no labelled report with text: give --reports, or labels that carry 'text'"
                         + extra, path=where)
    dtype = np.int64 if four_state else np.float32
    return TrainingSet(ids, xs, classes, np.asarray(ys, dtype=dtype), four_state, sources, skipped,
                       rec_sources, rec_labels, missing, shadowed)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded shuffle split; no validation set when the fraction or n is too small."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(n * val_fraction))
    if val_fraction <= 0 or n_val < 2 or n - n_val < 2:
        return np.sort(order), np.array([], dtype=int)
    return np.sort(order[n_val:]), np.sort(order[:n_val])
