"""Retrieved judge demos on a gold set: judge decisions right/wrong with and without them.

Usage:
  python bench/bench_fewshot.py --gold /tmp/iu_gold/iu_dev.jsonl --n-index 800 --n-eval 200 \
      --k 3 --out bench/out/fewshot [--lm embedded]

Index part: the first ``n-index`` gold reports. Their labelled sentences go into a temporary
Chroma folder through `index_reports` (the code `radlabel index reports` runs): per class the
rule stage mentions, the sentences the judge would read, with the gold state as
`judge_examples(policy="all")` derives it (positives-only gold: 1 -> present, 0 -> the rules'
absent/uncertain reading, so a hedge coded 0 is an ``uncertain`` demo). Evaluation part: the
next ``n-eval`` reports, labelled twice by the default program (mentions, judge ambiguous,
likelihood scorer, calibrated): with its static demos only, and with ``k`` retrieved demos per
judge call after them (`Labeler(demos=SentenceDemos(...))`). The judgment cache is off.

A judge decision is a (report, class) the LM judged (``meta.judged``); it is right when
(state == present) equals (gold == present), uncertain counting as negative like the scorer.
Prints one JSON line (micro/macro-F1 from ../shared/tools/score.py, decisions, LM calls,
minutes); labels stay under --out, nothing from the gold file is written into the repository.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ["RADLABEL_JUDGE_CACHE"] = "off"  # every judgment is asked, in both runs

from radlabel.env import apply_offline_defaults  # noqa: E402

apply_offline_defaults()

from radlabel.jsonl import read_jsonl, write_jsonl_atomic  # noqa: E402
from radlabel.labeling import label_reports  # noqa: E402
from radlabel.labels import load_gold, read_labels  # noqa: E402
from radlabel.ontology import Ontology  # noqa: E402
from radlabel.programs import Labeler  # noqa: E402
from radlabel.programs.judge_examples import judge_examples  # noqa: E402
from radlabel.programs.modules import judge_inputs  # noqa: E402
from radlabel.retrieval.embeddings import get_embedder  # noqa: E402
from radlabel.retrieval.fewshot import SentenceDemos  # noqa: E402
from radlabel.retrieval.reports_index import LabelledReport, index_reports  # noqa: E402
from radlabel.retrieval.store import open_store  # noqa: E402
from radlabel.rules.mentions import find_mentions  # noqa: E402
from radlabel.schema import Report  # noqa: E402

from bench_labeling import SCORER, score  # noqa: E402  (one shared-scorer call for both benches)


def index_gold(gold, ontology, store, emb) -> dict:
    by_report: dict[str, LabelledReport] = {}
    texts = {r.id: r.text for r in gold.reports}
    for ex in judge_examples(gold, ontology, policy="all"):
        r = by_report.setdefault(ex.report_id, LabelledReport(ex.report_id, texts[ex.report_id], {}, "gold"))
        r.labels[ex.cls] = ex.state
        r.evidence[ex.cls] = ex.sentences
    info = index_reports(store, emb, list(by_report.values()))
    states = defaultdict(int)
    for r in by_report.values():
        for s in r.labels.values():
            states[s] += 1
    return {**info, "sentence_states": dict(states)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", required=True)
    ap.add_argument("--n-index", type=int, default=800)
    ap.add_argument("--n-eval", type=int, default=200)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--min-score", type=float, default=0.5)
    ap.add_argument("--lm", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scorer", default=str(SCORER))
    args = ap.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    onto = Ontology.load()
    gold = load_gold(args.gold, onto)
    index_part = gold.subset(gold.reports[: args.n_index], f"index{args.n_index}")
    eval_reports = gold.reports[args.n_index: args.n_index + args.n_eval]
    gold_by_id = {r.id: r.labels for r in eval_reports}
    raw = {str(g["id"]): g for g in read_jsonl(args.gold)}
    gold_rows = [{"id": r.id, "labels": raw[r.id]["labels"]} for r in eval_reports]

    emb = get_embedder()
    with tempfile.TemporaryDirectory() as chroma:
        store = open_store(chroma)
        t0 = time.perf_counter()
        indexed = index_gold(index_part, onto, store, emb)
        indexed["seconds"] = round(time.perf_counter() - t0, 1)
        retriever = SentenceDemos(store, emb, k=args.k, min_score=args.min_score)
        runs, decisions = {}, {}
        for mode, demos in (("static", None), ("retrieved", retriever)):
            labeler = Labeler(onto, lm=args.lm, judge="ambiguous", judge_cache=False, demos=demos)
            path = out / f"labels_{mode}.jsonl"
            t0 = time.perf_counter()
            label_reports(labeler, [Report(id=r.id, text=r.text) for r in eval_reports], path,
                          progress=False)
            wall = time.perf_counter() - t0
            recs = read_labels(path, onto, keep_failed=True)
            res = score(gold_rows, path, Path(args.scorer))
            dec = {}
            for rid, rec in recs.items():
                for c in (rec.meta.model_extra or {}).get("judged") or []:
                    dec[(rid, c)] = (rec.labels[c] == "present") == (gold_by_id[rid][c] == "present")
            decisions[mode] = dec
            runs[mode] = {"micro_f1": round(res["micro"]["f1"], 4), "macro_f1": round(res["macro_f1"], 4),
                          "failed": sum(not r.ok for r in recs.values()),
                          "lm_calls": sum(r.meta.lm_calls for r in recs.values()),
                          "tokens": sum(r.meta.tokens for r in recs.values()),
                          "judged": len(dec), "right": sum(dec.values()),
                          "wrong": len(dec) - sum(dec.values()),
                          "minutes": round(wall / 60, 2)}
        shown = []
        texts = {r.id: r.text for r in eval_reports}
        for rid, c in decisions["retrieved"]:
            ms = find_mentions(texts[rid], onto)[c]
            shown.append(retriever.retrieve(c, judge_inputs(onto.by_name[c], ms)[1]))
    a, b = decisions["static"], decisions["retrieved"]
    both = set(a) & set(b)
    result = {
        "gold": args.gold, "n_index": len(index_part), "n_eval": len(eval_reports), "k": args.k,
        "min_score": args.min_score, "model": labeler.model_name, "indexed": indexed, **{m: runs[m] for m in runs},
        "demos_per_judged": round(sum(len(s) for s in shown) / max(len(shown), 1), 2),
        "demo_sources": dict(sorted({src: sum(d.source == src for s in shown for d in s)
                                     for src in ("gold", "reviewed", "pseudo")}.items())),
        "fixed": sum(1 for key in both if not a[key] and b[key]),
        "broken": sum(1 for key in both if a[key] and not b[key]),
        "load_avg": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
