"""Tokens and LM calls per report as the ontology grows: 14 -> ~120 -> 1,000 classes (issue 3).

Runs the lead's `Labeler` (mentions strategy, LM judges ambiguous candidates) on a sample of the
IU dev reports with three class sets: the 14 chest classes, the MeSH-term set
(radlabel/resources/mesh_iu.yaml) and a synthetic 1,000-class ontology that contains the 14
classes. The larger sets use `CandidateRetriever` so the LM sees only candidates. F1 is scored
on the 14 chest classes (score.py) for the 14- and 1,000-class runs, on the same reports.

Records are appended per report to bench/out/class_scaling_<name>.jsonl, so a killed run resumes.
Usage: python bench/bench_class_scaling.py --n 300 --configs 14,1000,mesh [--lm embedded] [--k 1 --min-score 0.6] [--tag _x]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from radlabel.env import apply_offline_defaults

apply_offline_defaults()

from radlabel.jsonl import AppendOnlyJsonl, iter_jsonl  # noqa: E402
from radlabel.ontology import Ontology  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SCORE = "/work/shared/tools/score.py"
CHEST = [c.name for c in Ontology.load().classes]


def run_config(name, onto, gold, args, retriever_on):
    from radlabel.programs import Labeler
    from radlabel.retrieval import get_embedder, open_store
    from radlabel.retrieval.candidates import CandidateRetriever

    retriever = None
    if retriever_on:
        retriever = CandidateRetriever(open_store(args.store), get_embedder(), onto, k=args.k,
                                       min_score=args.min_score)
    labeler = Labeler(onto, lm=args.lm, judge=args.judge, retriever=retriever)
    path = OUT / f"class_scaling_{name}.jsonl"
    done = {obj["id"] for _, obj in iter_jsonl(path, skip_torn_tail=True)} if path.exists() else set()
    with AppendOnlyJsonl(path) as w:
        for g in gold:
            if g["id"] in done:
                continue
            t0 = time.perf_counter()
            rec = labeler(g["text"], id=g["id"])
            d = rec.model_dump()
            d["meta"]["wall_s"] = time.perf_counter() - t0
            w.write(d)
    recs = [obj for _, obj in iter_jsonl(path, skip_torn_tail=True) if obj["id"] in {g["id"] for g in gold}]
    ok = [r for r in recs if r["meta"]["status"] == "ok"]
    n = max(len(recs), 1)
    res = {"classes": len(onto), "retriever": retriever_on, "reports": len(recs), "failed": len(recs) - len(ok),
           "tokens_per_report": sum(r["meta"]["tokens"] for r in recs) / n,
           "lm_calls_per_report": sum(r["meta"]["lm_calls"] for r in recs) / n,
           "judged_per_report": sum(len(r["meta"].get("judged") or []) for r in recs) / n,
           "seconds_per_report": sum(r["meta"].get("wall_s", 0) for r in recs) / n}
    res["f1_14"] = score_14(ok, gold)
    return res


def score_14(recs, gold):
    """Micro/macro F1 on the 14 chest classes for the given records (other classes dropped)."""
    tmp = Path(tempfile.mkdtemp())
    ids = {r["id"] for r in recs}
    (tmp / "g.jsonl").write_text("".join(json.dumps({"id": g["id"], "labels": g["labels"]}) + "\n"
                                         for g in gold if g["id"] in ids))
    (tmp / "p.jsonl").write_text("".join(json.dumps({"id": r["id"], "labels": {c: s for c, s in r["labels"].items()
                                                                               if c in CHEST}}) + "\n" for r in recs))
    subprocess.run([sys.executable, SCORE, "--gold", str(tmp / "g.jsonl"), "--pred", str(tmp / "p.jsonl"),
                    "--json", str(tmp / "s.json")], check=True, capture_output=True)
    s = json.loads((tmp / "s.json").read_text())
    return {"micro_f1": s["micro"]["f1"], "macro_f1": s.get("macro_f1"), "tp": s["micro"]["tp"],
            "fp": s["micro"]["fp"], "fn": s["micro"]["fn"]}


def main():
    from radlabel.retrieval.synthetic_ontology import synthetic_ontology

    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default="/tmp/iu_gold/iu_dev.jsonl")
    ap.add_argument("--n", type=int, default=20, help="reports (the first n dev reports)")
    ap.add_argument("--lm", default=None, help="LM (default: radlabel's configured/embedded LM)")
    ap.add_argument("--judge", default="ambiguous")
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--min-score", type=float, default=0.6)
    ap.add_argument("--chroma", "--store", dest="store", default=str(OUT / "class_scaling_chroma"))
    ap.add_argument("--configs", default="14,14r,mesh,1000")
    ap.add_argument("--tag", default="", help="suffix for the record files (a new run of a changed program)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    gold = [obj for _, obj in iter_jsonl(args.gold)][: args.n]
    sets = {"14": (Ontology.load(), False), "14r": (Ontology.load(), True),
            "mesh": (Ontology.load(ROOT / "radlabel" / "resources" / "mesh_iu.yaml"), True),
            "1000": (synthetic_ontology(1000), True)}
    results = {}
    for name in args.configs.split(","):
        onto, ret = sets[name]
        lm_tag = (args.lm or "default").replace("/", "_").replace(":", "_")
        tag = f"{name}_{lm_tag}_{args.judge}_k{args.k}_m{args.min_score}_n{args.n}{args.tag}"
        results[name] = run_config(tag, onto, gold, args, ret)
        print(name, json.dumps(results[name]), flush=True)
    (OUT / "class_scaling.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    print("| classes | retriever | tokens/report | LM calls/report | judged/report | s/report | micro F1 (14) | macro F1 (14) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        f = r["f1_14"] if name != "mesh" else {}  # MeSH terms are other classes: no 14-class F1
        micro = f"{f['micro_f1']:.3f}" if f else "n/a"
        macro = f"{f['macro_f1']:.3f}" if f and f.get("macro_f1") is not None else "n/a"
        print(f"| {r['classes']} | {'yes' if r['retriever'] else 'no'} | {r['tokens_per_report']:.0f} | "
              f"{r['lm_calls_per_report']:.2f} | {r['judged_per_report']:.2f} | {r['seconds_per_report']:.1f} | "
              f"{micro} | {macro} |")


if __name__ == "__main__":
    main()
