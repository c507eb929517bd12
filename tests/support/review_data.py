"""Hand-written reports and label records for the review tests (no real patient text)."""
from __future__ import annotations

import json
from pathlib import Path

REPORTS = [
    {"id": "rv-1",
     "text": "INDICATION: Cough.\nFINDINGS: The heart is enlarged. Small left pleural effusion.\n"
             "IMPRESSION: Cardiomegaly with a small effusion.",
     "labels": {"Cardiomegaly": "present", "Pleural Effusion": "present", "Pneumothorax": "absent"},
     "evidence": {"Cardiomegaly": "heart is enlarged",
                  "Pleural Effusion": "Small left pleural effusion"},
     "meta": {"source": "pseudo", "model": "test-model"}},
    {"id": "rv-2",
     "text": "FINDINGS: Possible right lower lobe opacity. No pneumothorax.",
     "labels": {"Opacity": "uncertain", "Pneumothorax": "absent"},
     "evidence": {"Opacity": "Possible right lower lobe opacity", "Pneumothorax": "No pneumothorax"},
     "meta": {"source": "pseudo"}},
    {"id": "rv-3",
     "text": "FINDINGS: Lungs are clear. Heart size is normal.\nIMPRESSION: No acute disease.",
     "labels": {"No Finding": "present"},
     "evidence": {"No Finding": "No acute disease"},
     "meta": {"source": "pseudo", "classifier": {"No Finding": "absent"}}},
    {"id": "rv-4",
     "text": "IMPRESSION: Healing left rib fracture. Lungs clear.",
     "labels": {"Fracture": "present"},
     "evidence": {"Fracture": "rib fracture"},
     "meta": {"source": "classifier"}},
    {"id": "rv-5",
     "text": "FINDINGS: Endotracheal tube in good position. Mild pulmonary edema.",
     "labels": {"Support Devices": "present", "Edema": "present"},
     "evidence": {"Support Devices": "Endotracheal tube", "Edema": "Mild pulmonary edema"},
     "meta": {"source": "pseudo"}},
]

ISSUES = [{"id": "rv-4", "class": "Fracture", "given": "present", "suggested": "absent",
           "score": 0.91}]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_labels(directory: Path, *, with_text: bool = True) -> Path:
    rows = [r if with_text else {k: v for k, v in r.items() if k != "text"} for r in REPORTS]
    return write_jsonl(directory / "labels.jsonl", rows)


def write_issues(directory: Path) -> Path:
    return write_jsonl(directory / "issues.jsonl", ISSUES)


def make_store(directory: Path, *, issues: bool = True):
    """A store with the five reports imported (and the issue file, unless told not to)."""
    from radlabel.review.importer import import_labels
    from radlabel.review.store import ReviewStore

    store = ReviewStore(directory / "review.db")
    import_labels(store, write_labels(directory),
                  issues_path=write_issues(directory) if issues else None, reviewer="importer")
    return store
