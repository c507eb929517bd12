"""Review store speed: import, single edits (each fsynced, synchronous=FULL), queue, export.

Synthetic reports only. Usage: .venv/bin/python bench/bench_review_store.py [N_REPORTS] [N_EDITS]
"""
from __future__ import annotations

import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from radlabel.review.export import export_reviewed
from radlabel.review.importer import import_labels
from radlabel.review.store import ReviewStore
from radlabel.schema import STATES
from radlabel.synth import generate_reports


def main(n_reports: int = 2000, n_edits: int = 500) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        labels = tmp / "labels.jsonl"
        with open(labels, "w") as f:
            for r in generate_reports(n_reports, seed=0):
                f.write(json.dumps({"id": r.id, "text": r.text, "labels": r.labels,
                                    "meta": {"source": "pseudo"}}) + "\n")
        store = ReviewStore(tmp / "r.db")
        t = time.perf_counter()
        import_labels(store, labels, reviewer="bench")
        t_import = time.perf_counter() - t
        ids, classes = [q.id for q in store.queue()], store.classes()
        rng = random.Random(0)
        t = time.perf_counter()
        for _ in range(n_edits):
            store.set_state(rng.choice(ids), rng.choice(classes), rng.choice(STATES),
                            reviewer="bench")
        t_edit = (time.perf_counter() - t) / n_edits
        for rid in ids[: n_reports // 4]:
            store.accept(rid, reviewer="bench")
        t = time.perf_counter()
        for _ in range(20):
            store.queue(classes=["Edema"], states=["uncertain", "present"])
        t_queue = (time.perf_counter() - t) / 20
        t = time.perf_counter()
        for _ in range(20):
            store.report(rng.choice(ids))
            store.progress()
            store.agreement()
        t_page = (time.perf_counter() - t) / 20
        t = time.perf_counter()
        n = export_reviewed(store, tmp / "out.jsonl")
        t_export = time.perf_counter() - t
    print(f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    print(f"| reports | import | one edit (fsync) | filtered queue | page reads | export ({n}) |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| {n_reports} | {t_import:.2f} s | {t_edit * 1000:.1f} ms | {t_queue * 1000:.1f} ms "
          f"| {t_page * 1000:.1f} ms | {t_export:.2f} s |")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
