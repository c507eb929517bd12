"""Synthetic corpora for the loop tests: labels true by construction (radlabel.synth)."""
from __future__ import annotations

import json
import random
from pathlib import Path

from radlabel.synth import generate_reports

NEGATIVE = ("absent", "not_mentioned")


def write(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def synthetic(n: int, seed: int = 0) -> list[dict]:
    return [{"id": r.id, "text": r.text, "labels": dict(r.labels)} for r in generate_reports(n, seed=seed)]


def flip(rows: list[dict], n_flips: int, seed: int) -> tuple[list[dict], set[tuple[str, str]]]:
    """Copies of rows with n (report, class) labels flipped between present and not."""
    rng = random.Random(seed)
    classes = list(rows[0]["labels"])
    flips: set[tuple[int, str]] = set()
    while len(flips) < n_flips:
        flips.add((rng.randrange(len(rows)), rng.choice(classes)))
    out = [{**r, "labels": dict(r["labels"])} for r in rows]
    for i, c in flips:
        out[i]["labels"][c] = "not_mentioned" if out[i]["labels"][c] == "present" else "present"
    return out, {(rows[i]["id"], c) for i, c in flips}


def positives_only(rows: list[dict]) -> list[dict]:
    """Gold in the 0/1 shape (1 = present), like gold built from coded terms."""
    return [{"id": r["id"], "text": r["text"],
             "labels": {c: int(s == "present") for c, s in r["labels"].items()}} for r in rows]
