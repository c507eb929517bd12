"""Peak memory and time of a no-op resume: re-running `radlabel label` on a finished job.

    .venv/bin/python bench/bench_resume.py [--n 200000] [--old-tree DIR] [--workdir /tmp/bench_resume]

Generates N synthetic reports (our own template sentences) and a finished labels file for them
(one ok record per report, the 14 bundled classes, evidence and metering like a real run), then
runs the real CLI (`radlabel label REPORTS -o LABELS --judge none`) in a subprocess: every id is
already done, so nothing is labelled. The peak RSS of that subprocess comes from os.wait4.

`--old-tree DIR` runs the same command with DIR as the working directory, so `python -m
radlabel.cli` imports the radlabel core from DIR: point it at an export of an older commit
(`git archive 1d75e43 | tar -x -C DIR`) to measure before/after in one run.
Results print as Markdown rows for docs/benchmarks.md and go to bench/out/resume.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["Cardiomegaly", "Pleural Effusion", "Atelectasis", "Pneumothorax", "Edema",
           "Consolidation", "Pneumonia", "Nodule/Mass", "Fracture", "Emphysema", "Granuloma",
           "Opacity", "Support Devices", "No Finding"]
SENTENCES = ["The heart is mildly enlarged.", "No pleural effusion or pneumothorax.",
             "Lungs are clear.", "Patchy left basilar opacity, likely atelectasis.",
             "Healed right rib fractures.", "Left subclavian pacemaker in place.",
             "Mild interstitial edema.", "No focal consolidation."]
STATES = ["present", "absent", "uncertain", "not_mentioned"]


def generate(workdir: Path, n: int) -> tuple[Path, Path]:
    reports, labels = workdir / f"reports_{n}.jsonl", workdir / f"labels_{n}.jsonl"
    if reports.exists() and labels.exists():
        return reports, labels
    rng = random.Random(12)
    workdir.mkdir(parents=True, exist_ok=True)
    with open(reports, "w") as fr, open(labels, "w") as fl:
        for i in range(n):
            rid = f"acc-{i:07d}"
            text = "FINDINGS: " + " ".join(rng.sample(SENTENCES, 4)) + " IMPRESSION: see above."
            fr.write(json.dumps({"id": rid, "text": text}) + "\n")
            states = {c: rng.choice(STATES) for c in CLASSES}
            fl.write(json.dumps({
                "id": rid, "labels": states,
                "evidence": {c: SENTENCES[0] for c, s in states.items() if s != "not_mentioned"},
                "meta": {"model": "rules", "program": "0123456789ab", "latency_s": 0.004,
                         "tokens": 0, "lm_calls": 0, "status": "ok", "error": None,
                         "source": "pseudo", "judged": []}}) + "\n")
    return reports, labels


def run_cli(cwd: Path, reports: Path, labels: Path) -> dict:
    cmd = [sys.executable, "-m", "radlabel.cli", "label", str(reports), "-o", str(labels),
           "--judge", "none"]
    env = dict(os.environ, RADLABEL_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    err = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    return {"cwd": str(cwd), "rc": rc, "seconds": round(seconds, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "skipped_line": next((ln.strip() for ln in err.splitlines() if "already done" in ln), ""),
            "stderr_tail": err[-300:] if rc else ""}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--old-tree", type=Path, help="an export of an older commit to compare with")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench_resume"))
    args = ap.parse_args()
    reports, labels = generate(args.workdir, args.n)
    size_before = labels.stat().st_size
    rows = [("this tree", run_cli(ROOT, reports, labels))]
    if args.old_tree:
        rows.append((f"old tree {args.old_tree}", run_cli(args.old_tree.resolve(), reports, labels)))
    assert labels.stat().st_size == size_before, "a no-op resume must not write anything"
    print(f"no-op resume of {args.n:,} reports ({reports.stat().st_size / 1e6:.0f} MB reports, "
          f"{size_before / 1e6:.0f} MB labels); {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("| code | peak RSS (MB) | wall (s) | exit |\n|---|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['peak_rss_mb']:.0f} | {r['seconds']:.1f} | {r['rc']} |")
        if r["rc"]:
            print("   ", r["stderr_tail"])
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "resume.json").write_text(json.dumps({"n": args.n, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
