"""Small labelled corpora for the training tests: radlabel.synth when it is available, else a
hand-written template generator (phrases written for these tests) with known labels."""
from __future__ import annotations

import json
import random
from pathlib import Path

FINDING_PHRASES = {
    "Cardiomegaly": ["the heart is enlarged", "cardiomegaly is noted", "moderate cardiomegaly"],
    "Pleural Effusion": ["small left pleural effusion", "bilateral pleural effusions",
                         "blunting from a right effusion"],
    "Pneumothorax": ["small right apical pneumothorax", "left pneumothorax is present"],
    "Edema": ["mild interstitial pulmonary edema", "vascular congestion with edema"],
    "Atelectasis": ["bibasilar atelectasis", "linear atelectasis at the left base"],
}
NEGATIONS = {
    "Cardiomegaly": "heart size is normal", "Pleural Effusion": "no pleural effusion",
    "Pneumothorax": "no pneumothorax", "Edema": "no pulmonary edema",
    "Atelectasis": "no atelectasis",
}


def handwritten(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        labels, parts = {}, []
        for cls, phrases in FINDING_PHRASES.items():
            r = rng.random()
            if r < 0.3:
                parts.append(rng.choice(phrases))
                labels[cls] = "present"
            elif r < 0.6:
                parts.append(NEGATIONS[cls])
                labels[cls] = "absent"
            elif r < 0.68:
                parts.append("possible " + phrases[0].split()[-1])
                labels[cls] = "uncertain"
        if not any(v == "present" for v in labels.values()):
            labels["No Finding"] = "present"
        rng.shuffle(parts)
        text = "FINDINGS: " + ". ".join(p.capitalize() for p in parts) + ". IMPRESSION: as above."
        rows.append({"id": f"t{i}", "text": text, "labels": labels})
    return rows


def corpus(n: int, seed: int = 0) -> list[dict]:
    try:
        from radlabel.synth import generate_reports
    except ImportError:
        return handwritten(n, seed)
    return [{"id": r.id, "text": r.text, "labels": dict(r.labels)} for r in generate_reports(n, seed=seed)]


def write_files(tmp: Path, n: int = 80, seed: int = 0) -> dict:
    """reports.jsonl, pseudo.jsonl (label records, meta.source=pseudo) and gold.jsonl (with text)."""
    rows = corpus(n, seed)
    paths = {k: tmp / f"{k}.jsonl" for k in ("reports", "pseudo", "gold")}
    with open(paths["reports"], "w") as f:
        for r in rows:
            f.write(json.dumps({"id": r["id"], "text": r["text"]}) + "\n")
    with open(paths["pseudo"], "w") as f:
        for r in rows:
            f.write(json.dumps({"id": r["id"], "labels": r["labels"], "evidence": {},
                                "meta": {"source": "pseudo", "status": "ok"}}) + "\n")
    with open(paths["gold"], "w") as f:
        for r in rows:
            f.write(json.dumps({"id": r["id"], "text": r["text"], "labels": r["labels"]}) + "\n")
    return {"rows": rows, **paths}
