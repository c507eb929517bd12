"""Small hand-written gold sets for the compile/evaluate tests (our own sentences)."""
from __future__ import annotations

import json
from pathlib import Path

FOUR_STATE_ROWS = [
    {"id": "g1", "text": "FINDINGS: The heart is enlarged. Possible small left pleural effusion.",
     "labels": {"Cardiomegaly": "present", "Pleural Effusion": "uncertain"}},
    {"id": "g2", "text": "FINDINGS: No pleural effusion or pneumothorax. Heart size is normal.",
     "labels": {"Cardiomegaly": "absent", "Pleural Effusion": "absent", "Pneumothorax": "absent"}},
    {"id": "g3", "text": "IMPRESSION: Right lower lobe opacity may represent pneumonia.",
     "labels": {"Opacity": "present", "Pneumonia": "uncertain"}},
    {"id": "g4", "text": "IMPRESSION: Pneumothorax versus skin fold at the right apex.",
     "labels": {"Pneumothorax": "uncertain"}},
    {"id": "g5", "text": "FINDINGS: Small right pleural effusion. No pneumothorax. Pleural effusion "
                         "is unchanged.",
     "labels": {"Pleural Effusion": "present", "Pneumothorax": "absent"}},
    {"id": "g6", "text": "IMPRESSION: Mild cardiomegaly. Pulmonary edema cannot be excluded.",
     "labels": {"Cardiomegaly": "present", "Edema": "uncertain"}},
    {"id": "g7", "text": "FINDINGS: Calcified granuloma in the left upper lobe. Lungs are otherwise clear.",
     "labels": {"Granuloma": "present"}},
    {"id": "g8", "text": "IMPRESSION: Healed left rib fracture. No acute cardiopulmonary process.",
     "labels": {"Fracture": "present"}},
]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def positives_only(rows: list[dict]) -> list[dict]:
    """The same reports as 0/1 gold, like MeSH-coded sets: only 'present' becomes 1."""
    return [{"id": r["id"], "text": r["text"],
             "labels": {c: int(s == "present") for c, s in r["labels"].items()}} for r in rows]
