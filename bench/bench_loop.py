"""Issue 6 benchmarks on the shared IU dev gold (nothing from it is written into the repo).

1. Planted errors: flip N random labels of the dev gold, run `radlabel analyze` on the flipped
   labels, count how many flips rank in the top N of issues.jsonl (several seeds).
2. The loop: split the dev gold into a seed (visible gold), a pool (its gold is only the
   SIMULATED reviewer's answer key) and a held-out test set; run `radlabel loop` for R rounds.

Usage: python bench/bench_loop.py --gold /tmp/iu_gold/iu_dev.jsonl [--output bench/out/loop]
       [--planted-seeds 0 1 2] [--rounds 4] [--budget 40] [--judge none] [--skip-planted]
       [--extra '--learn-synonyms'] [--name run]
"""
from __future__ import annotations

import argparse
import json
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path

from radlabel.jsonl import read_jsonl

CLI = [sys.executable, "-m", "radlabel.cli"]


def read(path):
    return read_jsonl(path)


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def planted(gold_rows, out: Path, n_flips: int, seed: int) -> dict:
    rng = random.Random(seed)
    classes = list(gold_rows[0]["labels"])
    flips = set()
    while len(flips) < n_flips:
        flips.add((rng.randrange(len(gold_rows)), rng.choice(classes)))
    rows = []
    for k, g in enumerate(gold_rows):
        labels = {c: "present" if v in (1, "present") else "not_mentioned" for c, v in g["labels"].items()}
        for (i, c) in flips:
            if i == k:
                labels[c] = "not_mentioned" if labels[c] == "present" else "present"
        rows.append({"id": g["id"], "text": g["text"], "labels": labels, "meta": {"source": "pseudo"}})
    d = out / f"planted-{seed}"
    write(d / "flipped.jsonl", rows)
    t0 = time.perf_counter()
    subprocess.run(CLI + ["analyze", "--labels", str(d / "flipped.jsonl"), "-o", str(d / "analysis")],
                   check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    issues = read(d / "analysis" / "issues.jsonl")
    want = {(gold_rows[i]["id"], c) for i, c in flips}
    top = [(r["id"], r["class"]) for r in issues[:n_flips]]
    hits = sum(t in want for t in top)
    pos_flips = sum(1 for i, c in flips if gold_rows[i]["labels"][c] in (1, "present"))
    return {"seed": seed, "flips": n_flips, "hits_in_top": hits, "hit_rate": hits / n_flips,
            "flips_of_positives": pos_flips, "seconds": round(seconds, 1)}


def split(gold_rows, out: Path, n_seed: int, n_test: int, seed: int) -> dict:
    rng = random.Random(seed)
    rows = sorted(gold_rows, key=lambda r: r["id"])
    rng.shuffle(rows)
    seed_rows, test_rows, pool_rows = rows[:n_seed], rows[n_seed:n_seed + n_test], rows[n_seed + n_test:]
    d = out
    write(d / "seed.jsonl", [{"id": r["id"], "text": r["text"], "labels": r["labels"]} for r in seed_rows])
    write(d / "oracle.jsonl", [{"id": r["id"], "labels": r["labels"]} for r in pool_rows])
    write(d / "test.jsonl", [{"id": r["id"], "text": r["text"], "labels": r["labels"]} for r in test_rows])
    write(d / "reports.jsonl", [{"id": r["id"], "text": r["text"]} for r in seed_rows + pool_rows])
    return {"seed": len(seed_rows), "pool": len(pool_rows), "test": len(test_rows), "dir": str(d)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", required=True)
    ap.add_argument("-o", "--output", dest="out", default="bench/out/loop")
    ap.add_argument("--planted-seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--flips", type=int, default=40)
    ap.add_argument("--skip-planted", action="store_true")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--n-seed", type=int, default=50)
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--judge", default="none")
    ap.add_argument("--extra", default="", help="extra `radlabel loop` options, one string")
    ap.add_argument("--name", default="run")
    ap.add_argument("--split-seed", type=int, default=0, help="which seed/pool/test split")
    args = ap.parse_args()
    out = Path(args.out)
    gold_rows = read(args.gold)
    results = {}
    if not args.skip_planted:
        results["planted"] = [planted(gold_rows, out, args.flips, s) for s in args.planted_seeds]
        for r in results["planted"]:
            print(f"planted seed {r['seed']}: {r['hits_in_top']}/{r['flips']} flips in the top {r['flips']} "
                  f"({r['flips_of_positives']} flipped positives), {r['seconds']} s")
    if args.rounds:
        s = split(gold_rows, out / f"split-{args.split_seed}", args.n_seed, args.n_test, seed=args.split_seed)
        d = Path(s["dir"])
        t0 = time.perf_counter()
        subprocess.run(CLI + ["loop", "--reports", str(d / "reports.jsonl"), "--gold", str(d / "seed.jsonl"),
                              "--rounds", str(args.rounds), "-o", str(out / args.name), "--judge", args.judge,
                              "--oracle", str(d / "oracle.jsonl"), "--review-budget", str(args.budget),
                              "--eval-gold", str(d / "test.jsonl"), "--no-progress", *shlex.split(args.extra)], check=True)
        results["loop"] = {"split": s, "minutes": round((time.perf_counter() - t0) / 60, 2)}
    (out / f"results-{args.name}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
