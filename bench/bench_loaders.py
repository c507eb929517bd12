"""Loader throughput and memory: the real IU CSV, its gold JSONL, and a synthetic NOTEEVENTS.

    .venv/bin/python bench/bench_loaders.py [--rows 100000] [--iu-csv ...] [--gold /tmp/iu_gold/iu_dev.jsonl]

The NOTEEVENTS file is generated here (MIMIC-III columns, all fields quoted, multi-line notes
with [** **] placeholders, ~25% Radiology like the real file) because MIMIC needs credentials;
the real file has 2,083,180 rows in about 3.9 GB, so the per-MB rate is what to extrapolate.
Results print as Markdown rows for docs/benchmarks.md and go to bench/out/loaders.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import time
from pathlib import Path

from radlabel.jsonl import read_jsonl
from radlabel.data import detect_format, iter_reports, load_reports

ROOT = Path(__file__).resolve().parents[1]
MIMIC_COLUMNS = ["ROW_ID", "SUBJECT_ID", "HADM_ID", "CHARTDATE", "CHARTTIME", "STORETIME",
                 "CATEGORY", "DESCRIPTION", "CGID", "ISERROR", "TEXT"]
FINDINGS = ["The lungs are clear.", "No pleural effusion or pneumothorax.",
            "Heart size is top normal.", "There is a new left lower lobe opacity.",
            "Small bilateral pleural effusions are unchanged.", "Mild pulmonary vascular congestion.",
            "Endotracheal tube terminates 4 cm above the carina.", "Atelectasis at the right base.",
            "Degenerative changes of the thoracic spine.", "No acute osseous abnormality."]
EXAMS = ["CHEST (PORTABLE AP)", "CHEST (PA & LAT)", "CT CHEST W/CONTRAST", "CT ABDOMEN W/CONTRAST"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def radiology_note(rng: random.Random, row: int) -> str:
    body = "\n ".join(rng.sample(FINDINGS, rng.randint(3, 7)))
    return (f"[**2150-{rng.randint(1, 12)}-{rng.randint(1, 28)}**] 8:14 AM\n {rng.choice(EXAMS)}"
            f"      Clip # [**Clip Number (Radiology) {row}**]\n Reason: eval\n"
            f" {'_' * 78}\n                                 FINAL REPORT\n"
            f" INDICATION:  {rng.randint(20, 90)}-year-old with dyspnea.\n\n FINDINGS:  {body}\n\n"
            f" IMPRESSION:  {rng.choice(FINDINGS)}\n" + " Dictated by: [**Last Name (NamePattern1) 12**]\n" * 10)


def other_note(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.1:
        return "Discharge summary", "Admission Date:  [**2150-1-1**]\n" + "Course was uneventful. " * 400
    return "Nursing/other", "Pt resting comfortably, \"no distress\".\n" * rng.randint(10, 40)


def write_noteevents(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(MIMIC_COLUMNS)
        for i in range(1, rows + 1):
            if rng.random() < 0.25:
                cat, desc, text = "Radiology", rng.choice(EXAMS), radiology_note(rng, i)
            else:
                (cat, text), desc = other_note(rng), "Report"
            err = "1" if rng.random() < 0.002 else ""
            w.writerow([i, 9000 + i % 5000, 170000 + i, "2150-01-01", "2150-01-01 08:00:00", "",
                        cat, desc, "", err, text])


def timed_stream(path: Path, **kw) -> dict:
    t0 = time.perf_counter()
    n = chars = 0
    for r in iter_reports(path, **kw):
        n += 1
        chars += len(r.text)
    dt = time.perf_counter() - t0
    mb = path.stat().st_size / 2**20 if path.is_file() else 0.0
    return {"file": str(path), "format": detect_format(path), "reports": n, "seconds": round(dt, 2),
            "reports_per_s": round(n / dt), "file_mb": round(mb, 1), "mb_per_s": round(mb / dt, 1),
            "peak_rss_mb": round(peak_rss_mb())}


def iu_agreement(iu_csv: Path, gold: Path) -> dict:
    """Does the openi-csv reading of the raw CSV match the gold builder's FINDINGS/IMPRESSION?"""
    ours = {r.id: r for r in load_reports(iu_csv)}
    gold_rows = read_jsonl(gold)
    found = same = 0
    for g in gold_rows:
        r = ours.get(g["id"].removeprefix("iu-"))
        if r is None:
            continue
        found += 1
        kept = "\n".join(line for line in r.text.split("\n")
                         if line.startswith(("FINDINGS:", "IMPRESSION:")))
        same += " ".join(kept.split()) == " ".join(g["text"].split())
    return {"gold_reports": len(gold_rows), "found_by_uid": found, "same_findings_impression": same}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="synthetic NOTEEVENTS rows")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/radlabel_bench_loaders"))
    ap.add_argument("--iu-csv", type=Path, default=Path("/work/shared/data/iu_xray/reports_dev.csv"))
    ap.add_argument("--gold", type=Path, default=Path("/tmp/iu_gold/iu_dev.jsonl"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {"runs": []}
    if args.iu_csv.exists():
        results["runs"].append(timed_stream(args.iu_csv))
        if args.gold.exists():
            results["runs"].append(timed_stream(args.gold))
            results["iu_agreement"] = iu_agreement(args.iu_csv, args.gold)
    notes = args.workdir / "NOTEEVENTS.csv"
    t0 = time.perf_counter()
    write_noteevents(notes, args.rows)
    results["generate_s"] = round(time.perf_counter() - t0, 1)
    results["runs"].append(timed_stream(notes))
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "loaders.json").write_text(json.dumps(results, indent=2))
    print("| file | format | reports | file MB | s | reports/s | MB/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results["runs"]:
        print(f"| {Path(r['file']).name} | {r['format']} | {r['reports']:,} | {r['file_mb']} | "
              f"{r['seconds']} | {r['reports_per_s']:,} | {r['mb_per_s']} | {r['peak_rss_mb']} |")
    if "iu_agreement" in results:
        print(results["iu_agreement"])


if __name__ == "__main__":
    main()
