"""Benchmark compiled programs: zero-shot vs each DSPy optimizer on a gold JSONL (e.g. IU dev).

Baselines: "zero-shot" is the judge with its instructions and no demonstrations (the seed's first
step); "default" is the shipped program (instructions + hand-written demos). Optimizers start from
the default program.

Usage:
  python bench/bench_compile.py --gold /tmp/iu_gold/iu_dev.jsonl --output bench/out/compile \
      [--n-compile 200] [--n-score 0] [--judge ambiguous] [--budget light] \
      [--variants zero-shot,default,labeled,bootstrap,random-search,mipro,gepa,simba]
      (a variant may carry budget overrides: 'labeled@max_labeled=16;val_size=8')

The gold is split once (`split_gold`, seed 0): the compile part feeds the optimizers (judge-level
examples of the mentions the program would judge); an evenly spaced sample of the rest is
labelled by each program and scored (micro/macro F1, positive = present). Each variant writes
its program, labels and a result JSON under --output and is skipped when its result exists, so an
interrupted run resumes. Prints one JSON line per variant; docs/benchmarks.md quotes them.
Nothing from the gold file is written into the repository (--output is git-ignored).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
import traceback
from pathlib import Path

from radlabel.env import apply_offline_defaults

apply_offline_defaults()

from radlabel.scores import f1_scores  # noqa: E402
from radlabel.labeling import label_reports  # noqa: E402
from radlabel.labels import load_gold, read_labels, split_gold  # noqa: E402
from radlabel.ontology import Ontology  # noqa: E402
from radlabel.schema import Report  # noqa: E402

BASELINES = ("zero-shot", "default")


def sample(items: list, n: int) -> list:
    if n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def build_labeler(variant: str, compile_part, ontology, args, outdir: Path):
    """The program for a variant, and what compiling it cost (None for baselines)."""
    from radlabel.programs import Labeler

    if variant == "default":
        return Labeler(ontology, judge=args.judge), None
    if variant == "zero-shot":
        lab = Labeler(ontology, judge=args.judge)
        lab.program.judge.demos = []
        return lab, None
    from radlabel.programs.compile import compile_program

    prog_dir = outdir / variant
    if (prog_dir / "radlabel_program.json").exists():  # compiled in an interrupted run
        manifest = json.loads((prog_dir / "radlabel_program.json").read_text())
        return Labeler.load(prog_dir), manifest
    optimizer, budget = split_variant(variant, args.budget)
    res = compile_program(compile_part, optimizer, budget, ontology=ontology, judge=args.judge,
                          score=False, seed=0)
    res.save(prog_dir)
    return res.labeler, res.manifest


def judged_breakdown(recs, gold_labels) -> dict:
    """For the classes the LM judged: what it said against gold present-or-not (the F1 view)."""
    out: dict[str, int] = {}
    for r in recs:
        for cls in (r.meta.model_extra or {}).get("judged", []):
            key = f"{r.labels.get(cls)}|gold_{'present' if gold_labels[r.id].get(cls) == 'present' else 'not'}"
            out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def split_variant(variant: str, budget: str) -> tuple[str, str]:
    """'labeled@max_labeled=16' -> ('labeled', 'light,max_labeled=16')."""
    name, _, extra = variant.partition("@")
    return name, f"{budget},{extra.replace(';', ',')}" if extra else budget


def run_variant(variant: str, compile_part, score_reports, gold_labels, ontology, args, outdir: Path):
    t0 = time.perf_counter()
    labeler, manifest = build_labeler(variant, compile_part, ontology, args, outdir)
    compile_s = time.perf_counter() - t0
    labels_path = outdir / f"{variant}.labels.jsonl"
    same_as = None
    if manifest is not None and (outdir / "default.labels.jsonl").exists():
        from radlabel.programs import Labeler

        if labeler.program_hash == Labeler(ontology, judge=args.judge).program_hash:
            # The optimizer kept the default program: same prompts at temperature 0, same labels.
            same_as = "default"
            if not labels_path.exists():
                shutil.copyfile(outdir / "default.labels.jsonl", labels_path)
    t1 = time.perf_counter()
    label_reports(labeler, score_reports, labels_path, progress=True)
    label_s = time.perf_counter() - t1
    recs = read_labels(labels_path, keep_failed=True)
    recs = [recs[r.id] for r in score_reports if r.id in recs]
    preds = {r.id: r.labels for r in recs if r.ok}
    f1 = f1_scores({r.id: gold_labels[r.id] for r in score_reports}, preds, ontology.names)
    ccost = (manifest or {}).get("cost", {}).get("compile", {"lm_calls": 0, "tokens": 0, "minutes": 0})
    return {
        "variant": variant, "judge": args.judge,
        "budget": split_variant(variant, args.budget)[1] if manifest else None,
        "n_compile_reports": len(compile_part), "train_examples": (manifest or {}).get("gold", {}).get("train_examples"),
        "val_examples": (manifest or {}).get("gold", {}).get("val_examples"),
        "n_scored": len(score_reports), "failed": sum(not r.ok for r in recs),
        "micro_f1": round(f1.micro_f1, 4), "macro_f1": round(f1.macro_f1, 4),
        "compile_lm_calls": ccost["lm_calls"], "compile_tokens": ccost["tokens"],
        "compile_minutes": ccost["minutes"] if manifest and "cost" in manifest else round(compile_s / 60, 2),
        "score_lm_calls": sum(r.meta.lm_calls for r in recs), "score_tokens": sum(r.meta.tokens for r in recs),
        "score_minutes_this_run": round(label_s / 60, 2),
        "score_minutes_total": round(sum(r.meta.latency_s for r in recs) / 60, 2),
        "judged": judged_breakdown(recs, gold_labels), "same_program_as": same_as,
        "demos": len(labeler.program.judge.demos),
        "instructions_changed": (manifest or {}).get("instructions_changed", False),
        "per_class_f1": {k: round(v.f1, 3) for k, v in f1.per_class.items()},
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu", "lm": labeler.model_name,
    }


def markdown_table(outdir: Path, variants: list[str]) -> str:
    """The docs/benchmarks.md table from the result files written so far."""
    rows = ["| program | micro F1 | macro F1 | compile: LM calls / tokens / min | "
            "scoring: LM calls / tokens / min | demos | new instructions |",
            "|---|---:|---:|---|---|---:|---|"]
    for v in variants:
        p = outdir / f"{v}.result.json"
        if not p.exists():
            continue
        r = json.loads(p.read_text())
        if "error" in r:
            rows.append(f"| {v} | failed: {r['error'][:120]} | | {r.get('minutes_spent')} min spent | | | |")
            continue
        rows.append(f"| {v} | {r['micro_f1']:.4f} | {r['macro_f1']:.4f} | {r['compile_lm_calls']} / "
                    f"{r['compile_tokens']} / {r['compile_minutes']} | {r['score_lm_calls']} / "
                    f"{r['score_tokens']} / {r['score_minutes_total']} | {r['demos']} | "
                    f"{'yes' if r['instructions_changed'] else 'no'} |")
    return "\n".join(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", required=True)
    ap.add_argument("-o", "--output", dest="out", required=True)
    ap.add_argument("--n-compile", type=int, default=200)
    ap.add_argument("--n-score", type=int, default=0, help="evenly spaced reports of the rest (0: all)")
    ap.add_argument("--judge", default="ambiguous")
    ap.add_argument("--budget", default="light")
    ap.add_argument("--variants", default="zero-shot,default,labeled,bootstrap,random-search,mipro,gepa,simba")
    ap.add_argument("--table", action="store_true", help="only print the markdown table of results so far")
    args = ap.parse_args(argv)
    if args.table:
        print(markdown_table(Path(args.out), args.variants.split(",")))
        return

    ontology = Ontology.load(None)
    gold = load_gold(args.gold, ontology)
    compile_part, rest = split_gold(gold, args.n_compile, seed=0)
    score_gold = sample(rest.reports, args.n_score or len(rest.reports))
    score_reports = [Report(id=r.id, text=r.text) for r in score_gold]
    gold_labels = {r.id: r.labels for r in score_gold}
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    for variant in args.variants.split(","):
        res_path = outdir / f"{variant}.result.json"
        if res_path.exists():
            print(res_path.read_text().strip(), flush=True)
            continue
        t0 = time.perf_counter()
        try:
            res = run_variant(variant, compile_part, score_reports, gold_labels, ontology, args, outdir)
        except Exception as e:  # record the failure and the time it cost, go on with the others
            res = {"variant": variant, "error": f"{type(e).__name__}: {str(e)[:500]}",
                   "minutes_spent": round((time.perf_counter() - t0) / 60, 2)}
            traceback.print_exc()
        res["wall_minutes"] = round((time.perf_counter() - t0) / 60, 2)
        res_path.write_text(json.dumps(res) + "\n")
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
