"""Judge-level benchmark: does the LM judge read one finding's sentences right?

Items (bench/data/judge_items.jsonl, our own sentences; chest x-ray, head CT, abdominal
ultrasound, knee MRI, lumbar spine MRI) give a class (name + one-line definition), its
sentence(s) and the expected state, by type:

* present   - plain statement of the finding                        -> present
* negated   - negation or normal wording                            -> absent
* hedged    - possible / may represent / cannot be excluded         -> uncertain
* resolving - improving, decreasing, residual: still seen now       -> present
* historical- seen before, resolved / no longer seen now            -> absent

Judges: ``generate`` (the DSPy Predict answer, JSON adapter: the judge before issue 11, with the
six chest demos), ``likelihood`` (state probabilities from one forward pass, demos chosen for
the ontology), ``likelihood+cal`` (the same, content-free prior divided out).

    .venv/bin/python bench/bench_judge.py --judges generate,likelihood,likelihood+cal --output /tmp/judge.json
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import dspy

from radlabel.jsonl import read_jsonl
from radlabel.ontology import ClassDef, Ontology

ITEMS = Path(__file__).parent / "data" / "judge_items.jsonl"
TYPES = ("present", "negated", "hedged", "resolving", "historical")


def load_items(path=ITEMS, limit_per_type: int | None = None) -> list[dict]:
    rows = read_jsonl(path)
    if limit_per_type:
        per = defaultdict(int)
        keep = []
        for r in rows:
            if per[r["type"]] < limit_per_type:
                per[r["type"]] += 1
                keep.append(r)
        rows = keep
    return rows


def items_ontology(rows) -> Ontology:
    seen = {}
    for r in rows:
        seen.setdefault(r["cls"], r["definition"])
    return Ontology([ClassDef(name=n, definition=d) for n, d in seen.items()], source="judge_items")


def make_judge(kind: str, ontology: Ontology):
    from radlabel.programs.demos import judge_demos
    from radlabel.programs.modules import MentionLabeler

    if kind == "generate":
        prog = MentionLabeler(ontology, judge="all", scorer="generate")
        prog.judge.demos = judge_demos()  # the fixed chest demos every judge had before
        return prog
    if kind in ("likelihood", "likelihood+cal"):
        return MentionLabeler(ontology, judge="all", scorer="likelihood", calibrate=kind.endswith("+cal"))  # explicit both ways
    if kind == "likelihood-nodemo":
        prog = MentionLabeler(ontology, judge="all", scorer="likelihood")
        prog.judge.demos = []
        return prog
    raise SystemExit(f"unknown judge {kind!r}")


def run(kind: str, rows, lm, progress: bool = True) -> dict:
    ont = items_ontology(rows)
    prog = make_judge(kind, ont)
    by_type = defaultdict(lambda: [0, 0])
    wrong = []
    t0 = time.perf_counter()
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        for i, r in enumerate(rows):
            try:
                state, conf = prog.decide(f"{r['cls']}: {r['definition']}", r["sentences"], label=r["cls"])
            except Exception as e:  # a failed answer counts as wrong
                state, conf = f"failed: {type(e).__name__}", None
            ok = state == r["expected"]
            by_type[r["type"]][0] += ok
            by_type[r["type"]][1] += 1
            if not ok:
                wrong.append({"id": r["id"], "sentences": r["sentences"], "expected": r["expected"],
                              "got": state, "confidence": conf})
            if progress and (i + 1) % 20 == 0:
                print(f"  {kind}: {i + 1}/{len(rows)} {time.perf_counter() - t0:.0f}s", flush=True)
    secs = time.perf_counter() - t0
    acc = {t: round(c / n, 3) for t, (c, n) in by_type.items()}
    plain = [by_type[t] for t in ("present", "negated")]
    total = [sum(x[0] for x in by_type.values()), sum(x[1] for x in by_type.values())]
    return {"judge": kind, "accuracy": acc, "n": {t: n for t, (_, n) in by_type.items()},
            "plain_present_absent": round(sum(c for c, _ in plain) / max(1, sum(n for _, n in plain)), 3),
            "overall": round(total[0] / max(1, total[1]), 3), "seconds": round(secs, 1),
            "s_per_item": round(secs / max(1, len(rows)), 2), "wrong": wrong}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--judges", default="generate,likelihood,likelihood+cal")
    ap.add_argument("--items", default=str(ITEMS))
    ap.add_argument("--limit-per-type", type=int, default=None)
    ap.add_argument("--lm", default=None, help="model string (default: embedded)")
    ap.add_argument("-o", "--output", dest="out", default=None)
    args = ap.parse_args(argv)
    from radlabel.lm.config import load_config
    from radlabel.lm.factory import make_lm

    lm = make_lm(load_config(model=args.lm))
    rows = load_items(args.items, args.limit_per_type)
    results = []
    for kind in args.judges.split(","):
        res = run(kind.strip(), rows, lm)
        results.append(res)
        print(json.dumps({k: v for k, v in res.items() if k != "wrong"}), flush=True)
    print("\n| judge | " + " | ".join(TYPES) + " | plain present/absent | overall | s/item |")
    print("|---|" + "---|" * (len(TYPES) + 3))
    for r in results:
        print(f"| {r['judge']} | " + " | ".join(f"{r['accuracy'].get(t, float('nan')):.2f}" for t in TYPES)
              + f" | {r['plain_present_absent']:.2f} | {r['overall']:.2f} | {r['s_per_item']} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"model": getattr(lm, "model", str(lm)), "items": len(rows),
                                              "results": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
