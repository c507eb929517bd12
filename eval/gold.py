"""Gold sets: small, trusted label files that programs are compiled and scored against.

A gold JSONL line is ``{"id", "text"?, "labels": {class: value}}``. Two shapes exist, and the
difference matters for scoring and for compiling:

* **four-state**: values are ``present | absent | uncertain | not_mentioned`` (or -1 for
  uncertain); an unlisted class is ``not_mentioned``.
* **positives-only**: values are 0/1 (or true/false), like the shared IU gold built from MeSH
  codes. 0 means "not coded as present": the report may negate it, hedge it or say nothing, so
  only present-vs-not can be scored. An unlisted class is 0.

The shape is detected per file; a file mixing both is rejected with the first offending line.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from radlabel.errors import InputError
from radlabel.jsonl import iter_jsonl
from radlabel.labelsets import read_gold
from radlabel.ontology import Ontology

FOUR_STATE = "four_state"
POSITIVES_ONLY = "positives_only"
GOLD_KINDS = (FOUR_STATE, POSITIVES_ONLY)
_BINARY_STRINGS = {"0", "1", "true", "false"}


@dataclass(frozen=True)
class GoldReport:
    """One gold report; `labels` holds all classes of the ontology, as states."""

    id: str
    text: str | None
    labels: dict[str, str]


@dataclass
class GoldSet:
    """A validated gold file: its reports, its shape, and a hash that identifies it in manifests."""

    reports: list[GoldReport]
    kind: str
    hash: str
    source: str = ""
    ontology_hash: str = ""
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.reports)

    def __iter__(self):
        return iter(self.reports)

    @property
    def positives_only(self) -> bool:
        return self.kind == POSITIVES_ONLY

    def labels_by_id(self) -> dict[str, dict[str, str]]:
        return {r.id: r.labels for r in self.reports}

    def subset(self, reports: list[GoldReport], tag: str) -> "GoldSet":
        """A part of this set, hashed from the parent hash plus the ids it holds."""
        h = hashlib.sha256((self.hash + tag + "".join(r.id for r in reports)).encode()).hexdigest()
        return GoldSet(list(reports), self.kind, h[:16], f"{self.source}#{tag}",
                       self.ontology_hash, list(self.classes))

    def require_text(self) -> None:
        """Compiling or running a program needs the report text on every line."""
        for r in self.reports:
            if not r.text or not str(r.text).strip():
                raise InputError(f"gold report {r.id!r} has no text; compiling and --program "
                                 "runs need the report text", path=self.source, field="text")


def _value_kind(value) -> str:
    """Which gold shape a single raw value belongs to."""
    if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
        return POSITIVES_ONLY
    if isinstance(value, str) and value.strip().lower() in _BINARY_STRINGS:
        return POSITIVES_ONLY
    return FOUR_STATE


def detect_kind(path: str | Path) -> str:
    """positives-only when every value is 0/1; four-state otherwise; mixed files are errors."""
    kind, first_line = None, None
    for no, obj in iter_jsonl(path):
        labels = obj.get("labels")
        if not isinstance(labels, dict):
            continue  # read_gold reports this with its line number
        for cls, value in labels.items():
            k = _value_kind(value)
            if kind is None:
                kind, first_line = k, no
            elif k != kind:
                raise InputError(
                    f"mixes gold shapes: line {first_line} is {kind.replace('_', '-')} but this "
                    f"value {value!r} is {k.replace('_', '-')}; use one shape per file",
                    path=str(path), line=no, field=f"labels.{cls}")
    if kind is None:
        raise InputError("gold file has no labelled reports", path=str(path))
    return kind


def load_gold(path: str | Path, ontology: Ontology | None = None) -> GoldSet:
    """Read and validate a gold JSONL; every report gets a state for every ontology class."""
    ontology = ontology if ontology is not None else Ontology.load(None)
    p = Path(path)
    kind = detect_kind(p)
    rows = read_gold(p, ontology)
    reports = []
    for gid, row in rows.items():
        labels = {c: row["labels"].get(c, "absent" if kind == POSITIVES_ONLY else "not_mentioned")
                  for c in ontology.names}
        text = row.get("text")
        if text is not None and not isinstance(text, str):
            raise InputError("'text' must be a string", path=str(p), field=f"{gid}.text")
        reports.append(GoldReport(gid, text, labels))
    digest = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
    return GoldSet(reports, kind, digest, str(p), ontology.hash, list(ontology.names))


def split_gold(gold: GoldSet, n_compile: int, seed: int = 0) -> tuple[GoldSet, GoldSet]:
    """Deterministic split into (compile part, evaluation part); same seed, same split.

    Ids are shuffled with their own RNG so the split does not depend on file order.
    """
    if not 0 < n_compile < len(gold):
        raise InputError(f"n_compile must be between 1 and {len(gold) - 1} for a gold set of "
                         f"{len(gold)} reports", field="n_compile")
    order = sorted(gold.reports, key=lambda r: r.id)
    random.Random(seed).shuffle(order)
    chosen = {r.id for r in order[:n_compile]}
    comp = [r for r in gold.reports if r.id in chosen]
    rest = [r for r in gold.reports if r.id not in chosen]
    return gold.subset(comp, f"compile{n_compile}s{seed}"), gold.subset(rest, f"eval{n_compile}s{seed}")
