"""`radlabel predict`: a trained classifier labels reports in the `radlabel label` format.

Each line: {"id", "labels": {class: present|absent} (or the four-state argmax), "evidence": {},
"probs": {class: P(present)}, "meta": {"source": "classifier", "model", ...}}; a calibrated
student (variant "mention") adds "abstain": [classes whose P(present) is too close to call] and
``meta.needs_review``. Reports go in
batches (dynamic padding, bf16 autocast for transformer variants) and the output is written
atomically; `latency_s` is the batch wall time divided evenly over its reports.
"""
from __future__ import annotations

import time
from pathlib import Path

from radlabel.data import load_texts
from radlabel.labels import write_labels
from radlabel.training.base import Classifier
from radlabel.training.registry import load_classifier


def predict_records(clf: Classifier, ids: list[str], texts: list[str], *, model_name: str,
                    batch_size: int = 256, progress: bool = True) -> tuple[list[dict], float]:
    """Label records plus the measured reports/s."""
    from tqdm.auto import tqdm

    records = []
    t_all = time.perf_counter()
    bar = tqdm(total=len(texts), unit="report", disable=not progress, desc="predict")
    for s in range(0, len(texts), batch_size):
        chunk = texts[s:s + batch_size]
        t0 = time.perf_counter()
        decided = clf.predict(chunk)
        per = (time.perf_counter() - t0) / max(len(chunk), 1)
        for rid, d in zip(ids[s:s + batch_size], decided):
            records.append({"id": rid, "labels": d["labels"], "evidence": {}, "probs": d["probs"],
                            "meta": {"model": model_name, "program": f"classifier:{clf.variant}",
                                     "latency_s": round(per, 6), "tokens": 0, "lm_calls": 0,
                                     "status": "ok", "error": None, "source": "classifier"}})
            if "abstain" in d:  # calibrated students: (report, class) pairs left to review
                records[-1]["abstain"] = d["abstain"]
                records[-1]["meta"]["needs_review"] = bool(d["abstain"])
        bar.update(len(chunk))
    bar.close()
    elapsed = time.perf_counter() - t_all
    return records, (len(texts) / elapsed if elapsed > 0 else float("inf"))


def predict_file(model_dir: str | Path, reports: str | Path, out: str | Path, *,
                 batch_size: int = 256, progress: bool = True) -> float:
    """Label every report in a loader-readable file; returns reports/s."""
    clf = load_classifier(model_dir)
    texts = load_texts(reports)
    ids = list(texts)
    records, rate = predict_records(clf, ids, [texts[i] for i in ids],
                                    model_name=f"{clf.variant}:{Path(model_dir).name}",
                                    batch_size=batch_size, progress=progress)
    write_labels(out, records)
    return rate
