"""Throughput and shape of `radlabel.synth` at benchmark scale (default 100k reports).

    .venv/bin/python bench/bench_synth.py [--n 100000] [--seed 0] [--real reports_dev.csv]

With --real, also prints the same shape figures (length, sentences, placeholder share) for a real
report file, aggregated only: no real text is printed or stored.

Prints a markdown block for docs/benchmarks.md and writes bench/out/synth.json. Times are both
wall clock and this process's CPU time, since the 2-core box is usually shared.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from radlabel.sections import split_sections, split_sentences
from radlabel.synth import iter_reports, write_reports

OUT = Path(__file__).parent / "out"


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def shape(texts: list[str]) -> dict:
    """Aggregate figures only (safe to print for real reports)."""
    sections = [split_sections(t) for t in texts]
    chars = sorted(len(t) for t in texts)
    sentences = [sum(len(split_sentences(s.text)) for s in secs) for secs in sections]
    return {"n": len(texts), "chars_median": statistics.median(chars), "chars_p95": chars[int(0.95 * len(chars))],
            "sentences_median": statistics.median(sentences),
            "xxxx": sum("XXXX" in t for t in texts) / len(texts),
            "mimic": sum("[**" in t for t in texts) / len(texts),
            "headerless": sum([s.name for s in secs] == ["BODY"] for secs in sections) / len(texts)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real", help="real reports (any radlabel.data format) to compare shapes with")
    args = ap.parse_args()
    n = args.n

    count, wall_gen, cpu_gen = timed(lambda: sum(1 for _ in iter_reports(n, seed=args.seed)))
    with tempfile.TemporaryDirectory() as tmp:
        reports, gold = Path(tmp) / "reports.jsonl", Path(tmp) / "gold.jsonl"
        _, wall_write, cpu_write = timed(lambda: write_reports(iter_reports(n, seed=args.seed), reports, gold))
        sizes = {"reports_mb": reports.stat().st_size / 1e6, "gold_mb": gold.stat().st_size / 1e6}

    states: dict[str, Counter] = {}
    meta = Counter()
    sample = min(n, 20_000)
    synthetic = list(iter_reports(sample, seed=args.seed))
    shapes = {"synthetic": shape([r.text for r in synthetic])}
    if args.real:
        from radlabel.data import load_reports
        shapes["real"] = shape([r.text for r in load_reports(args.real)])
    for rep in synthetic:
        for cls, state in rep.labels.items():
            states.setdefault(cls, Counter())[state] += 1
        meta.update(k if v is True else f"{k}={v}" for k, v in rep.meta.items()
                    if isinstance(v, (bool, str)) and v is not False)
        meta["indication asks"] += bool(rep.meta["indication_asks"])

    result = {
        "n": count, "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "iter_wall_s": wall_gen, "iter_cpu_s": cpu_gen,
        "iter_per_s_wall": count / wall_gen, "iter_per_s_cpu": count / cpu_gen,
        "write_wall_s": wall_write, "write_cpu_s": cpu_write, **sizes,
        "sample": sample, "shapes": shapes,
        "states": {c: dict(v) for c, v in states.items()}, "meta": dict(meta),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "synth.json").write_text(json.dumps(result, indent=2))

    print(f"| step | {n:,} reports | reports/s (wall) | reports/s (own CPU) |")
    print("|---|---|---|---|")
    print(f"| iter_reports | {wall_gen:.1f} s wall, {cpu_gen:.1f} s CPU | {count / wall_gen:,.0f} | {count / cpu_gen:,.0f} |")
    print(f"| write_reports (+gold) | {wall_write:.1f} s wall, {cpu_write:.1f} s CPU | {n / wall_write:,.0f} | "
          f"{n / cpu_write:,.0f} |")
    print(f"\nFiles: reports {sizes['reports_mb']:.1f} MB, gold {sizes['gold_mb']:.1f} MB.")
    print("\n| corpus | reports | median chars | p95 chars | median sentences | with XXXX | with [** **] "
          "| headerless |")
    print("|---|---|---|---|---|---|---|---|")
    for name, sh in shapes.items():
        print(f"| {name} | {sh['n']:,} | {sh['chars_median']:.0f} | {sh['chars_p95']} | {sh['sentences_median']:.1f} "
              f"| {sh['xxxx']:.1%} | {sh['mimic']:.1%} | {sh['headerless']:.1%} |")
    print()
    print("| class | present | uncertain | absent | not_mentioned |")
    print("|---|---|---|---|---|")
    for cls, c in states.items():
        print(f"| {cls} | " + " | ".join(f"{100 * c.get(s, 0) / sample:.1f}%"
                                          for s in ("present", "uncertain", "absent", "not_mentioned")) + " |")
    print("\nReport styles: " + ", ".join(f"{k} {100 * v / sample:.1f}%" for k, v in sorted(meta.items())))


if __name__ == "__main__":
    main()
