"""`--judge all` vs rules on a slice of the IU dev set, with the judgment cache cold and warm.

Labels the first N dev reports (gold from ../shared/tools/make_gold.py) three ways: rules only
(`--judge none`), `--judge all` with an empty judgment cache (cold), and `--judge all` again on
the now-warm cache. Scores each with ../shared/tools/score.py and reports LM judgments per report
(= LM calls without a cache), LM calls per report cold and warm, and reports/min.

    .venv/bin/python ../shared/tools/make_gold.py --outdir /tmp/iu_gold
    .venv/bin/python bench/bench_judge_dev.py --gold /tmp/iu_gold/iu_dev.jsonl -n 100 --output /tmp/judge_dev.json
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from radlabel.jsonl import read_jsonl

SCORE = Path(__file__).resolve().parents[1].parent / "shared" / "tools" / "score.py"


def score(gold: Path, pred: Path) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    subprocess.run([sys.executable, str(SCORE), "--gold", str(gold), "--pred", str(pred), "--json", str(out)],
                   check=True, capture_output=True, text=True)
    res = json.loads(out.read_text())
    return {k: res[k] for k in res if k in ("micro_f1", "macro_f1", "micro", "macro")} or res


def label(rows, labeler, pred_path: Path) -> dict:
    t0 = time.perf_counter()
    calls = judged = failed = 0
    with open(pred_path, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            rec = labeler(r["text"], id=r["id"])
            calls += rec.meta.lm_calls
            judged += len(rec.meta.judged or [])
            failed += rec.meta.status != "ok"
            f.write(rec.model_dump_json() + "\n")
            if (i + 1) % 25 == 0:
                print(f"  {i + 1}/{len(rows)} {time.perf_counter() - t0:.0f}s", flush=True)
    secs = time.perf_counter() - t0
    n = len(rows)
    return {"reports": n, "seconds": round(secs, 1), "reports_per_min": round(60 * n / secs, 1),
            "lm_calls_per_report": round(calls / n, 2), "judgments_per_report": round(judged / n, 2),
            "failed": failed}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gold", required=True)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--scorer", default="likelihood")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("-o", "--output", dest="out", default=None)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    from radlabel.programs.labeler import Labeler

    rows = read_jsonl(args.gold)
    rows = rows[: args.n]
    wd = Path(args.workdir or tempfile.mkdtemp(prefix="judge_dev_"))
    wd.mkdir(parents=True, exist_ok=True)
    gold = wd / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cache = wd / "judgments.sqlite"
    cache.unlink(missing_ok=True)
    results = {}
    runs = [("rules", dict(judge="none")),
            ("all_cold", dict(judge="all", scorer=args.scorer, calibrate=args.calibrate, judge_cache=cache)),
            ("all_warm", dict(judge="all", scorer=args.scorer, calibrate=args.calibrate, judge_cache=cache))]
    for name, kw in runs:
        print(name, flush=True)
        lab = Labeler(**kw)
        pred = wd / f"{name}.jsonl"
        res = label(rows, lab, pred)
        res["score"] = score(gold, pred)
        results[name] = res
        print(json.dumps({name: res}), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
