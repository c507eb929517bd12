"""Benchmark `radlabel label` on a gold JSONL (e.g. the shared IU dev set): F1, speed, tokens.

Usage:
  python bench/bench_labeling.py --gold iu_gold/iu_dev.jsonl --n 200 --judge ambiguous \
      --output bench/out/labels_ambiguous.jsonl [--strategy mentions|full] [--lm embedded]

Picks an evenly spaced, deterministic sample of n reports, labels them (resumable: re-running
continues), scores with ../shared/tools/score.py, and prints one JSON line of results that
docs/benchmarks.md quotes. Nothing from the gold file is written into the repository.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from radlabel.env import apply_offline_defaults

apply_offline_defaults()

from radlabel.jsonl import read_jsonl, write_jsonl_atomic  # noqa: E402
from radlabel.labeling import label_reports  # noqa: E402
from radlabel.labels import read_labels  # noqa: E402
from radlabel.programs import Labeler  # noqa: E402
from radlabel.schema import Report  # noqa: E402

SCORER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "score.py"


def sample(items: list, n: int) -> list:
    if n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def score(gold_rows: list[dict], pred_path: Path, scorer: Path) -> dict:
    with tempfile.TemporaryDirectory() as td:
        g = Path(td) / "gold.jsonl"
        write_jsonl_atomic(g, gold_rows)
        res = Path(td) / "res.json"
        subprocess.run([sys.executable, str(scorer), "--gold", str(g), "--pred", str(pred_path),
                        "--json", str(res)], check=True, capture_output=True)
        return json.loads(res.read_text())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--judge", default="ambiguous")
    ap.add_argument("--strategy", default="mentions")
    ap.add_argument("--lm", default=None)
    ap.add_argument("--program", default=None)
    ap.add_argument("-o", "--output", dest="out", required=True)
    ap.add_argument("--scorer", default=str(SCORER))
    args = ap.parse_args(argv)

    gold = sample(read_jsonl(args.gold), args.n)
    reports = [Report(id=str(g["id"]), text=g["text"]) for g in gold]
    labeler = Labeler(lm=args.lm, strategy=args.strategy, judge=args.judge, program=args.program)
    t0 = time.perf_counter()
    summary = label_reports(labeler, reports, args.out, progress=True)
    wall = time.perf_counter() - t0
    recs = read_labels(args.out, keep_failed=True)
    recs = [recs[r.id] for r in reports if r.id in recs]
    lat = sum(r.meta.latency_s for r in recs)
    res = score([{"id": g["id"], "labels": g["labels"]} for g in gold], Path(args.out), Path(args.scorer))
    out = {
        "n": len(reports), "strategy": args.strategy, "judge": args.judge,
        "model": labeler.model_name, "micro_f1": round(res["micro"]["f1"], 4),
        "macro_f1": round(res["macro_f1"], 4),
        "failed": sum(not r.ok for r in recs),
        "reports_per_min": round(60 * len(recs) / lat, 2) if lat else None,
        "tokens_per_report": round(sum(r.meta.tokens for r in recs) / len(recs), 1),
        "lm_calls_per_report": round(sum(r.meta.lm_calls for r in recs) / len(recs), 3),
        "this_run_wall_s": round(wall, 1), "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpu", "per_class_f1": {k: round(v["f1"], 3) for k, v in res["per_class"].items()},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
