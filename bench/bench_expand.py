"""Names-only class files before/after `radlabel classes expand` (issue 11, "Done means").

Sets:
  chest  the 14 chest classes of radlabel/resources/chest_xray.yaml with synonyms stripped (names,
         definitions and normal phrases kept; No Finding keeps role: normal); IU dev gold, labels
         format of ../shared/tools/score.py. Curated file scored as the reference.
  mesh   the 116 MeSH terms of mesh_iu.yaml with synonyms AND normal phrases removed; IU dev
         gold, terms format. Curated file scored as the reference.
  headct radlabel/resources/head_ct.yaml (names + one-line definitions, written as a user would)
         on synthetic head CT reports of radlabel.synth (style "head_ct"), gold from the generator.

The expansion reads only report text (the dev reports for chest/mesh: unlabelled text use); the
labelling before and after is the rule stage (`--judge none`), so the difference is the learned
vocabulary alone. Nothing of the IU text is written inside the repository (work dir: --output).

Usage: python bench/bench_expand.py --sets chest,mesh,headct [--lm embedded] [--top-k 6]
       [--no-variants] [--no-normal] [--no-abnormal] [--no-stems] [--judge choice|yesno] [--n-synth 300]
       [--output /tmp/bench_expand]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCORE = Path(__import__("os").environ.get("RADLABEL_SCORE", ROOT.parent / "shared" / "tools" / "score.py"))


def names_only(onto, keep_normal: bool):
    from radlabel.ontology import ClassDef, Ontology

    out = []
    for c in onto.classes:
        d = {"name": c.name, "definition": c.definition}
        if c.role:
            d["role"] = c.role
        if c.parent:
            d["parent"] = c.parent
        if keep_normal and c.normal_phrases:
            d["normal_phrases"] = list(c.normal_phrases)
        out.append(ClassDef(**d))
    return Ontology(out, source=f"names-only:{onto.source}")


def rules_labels(onto, reports):
    from radlabel.programs.labeler import Labeler

    lab = Labeler(classes=onto, judge="none")
    return {r["id"]: lab(r["text"], id=r["id"]).labels for r in reports}


def score(gold_path: Path, preds: dict, fmt: str, tmp: Path, tag: str) -> dict:
    pred = tmp / f"{tag}.pred.jsonl"
    with pred.open("w") as f:
        for rid, labels in preds.items():
            if fmt == "terms":
                f.write(json.dumps({"id": rid, "terms": [c for c, s in labels.items() if s == "present"]}) + "\n")
            else:
                f.write(json.dumps({"id": rid, "labels": labels}) + "\n")
    js = tmp / f"{tag}.score.json"
    subprocess.run([sys.executable, str(SCORE), "--gold", str(gold_path), "--pred", str(pred),
                    "--json", str(js)], check=True, capture_output=True)
    s = json.loads(js.read_text())
    return {"micro_f1": round(s["micro"]["f1"], 4), "macro_f1": round(s.get("macro_f1") or 0, 4)}


def iu_set(name, args, tmp):
    from radlabel.ontology import Ontology

    gold = read_jsonl(args.gold)
    reports = [{"id": g["id"], "text": g["text"]} for g in gold]
    if name == "chest":
        curated, fmt = Ontology.load("chest_xray"), "labels"
        names = names_only(curated, keep_normal=True)
        gp = tmp / "gold_labels.jsonl"
        gp.write_text("".join(json.dumps({"id": g["id"], "labels": g["labels"]}) + "\n" for g in gold))
    else:
        curated, fmt = Ontology.load("mesh_iu"), "terms"
        names = names_only(curated, keep_normal=False)
        gp = tmp / "gold_terms.jsonl"
        gp.write_text("".join(json.dumps({"id": g["id"], "terms": g.get("terms", [])}) + "\n" for g in gold))
    return curated, names, reports, reports, gp, fmt


def headct_set(args, tmp):
    from radlabel.ontology import Ontology
    from radlabel.synth import iter_reports

    onto = Ontology.load("head_ct")
    synth = list(iter_reports(args.n_synth, seed=args.seed, ontology=onto, style="head_ct"))
    corpus = [{"id": r.id, "text": r.text} for r in synth]
    test = list(iter_reports(args.n_synth, seed=args.seed + 1, ontology=onto, style="head_ct"))
    gp = tmp / "gold_headct.jsonl"
    gp.write_text("".join(json.dumps({"id": r.id, "labels": {c: (1 if s == "present" else 0)
                                                             for c, s in r.labels.items()}}) + "\n"
                          for r in test))
    reports = [{"id": r.id, "text": r.text} for r in test]
    return None, onto, corpus, reports, gp, "labels"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="chest,mesh,headct")
    ap.add_argument("--gold", default="/tmp/iu_gold/iu_dev.jsonl")
    ap.add_argument("--lm", default=None)
    ap.add_argument("--top-k", type=int, default=6)
    ap.add_argument("--max-variants", type=int, default=4)
    ap.add_argument("--max-normal", type=int, default=3)
    ap.add_argument("--no-variants", action="store_true")
    ap.add_argument("--no-normal", action="store_true")
    ap.add_argument("--no-abnormal", action="store_true", help="skip step (e), abnormality words")
    ap.add_argument("--max-abnormal", type=int, default=80)
    ap.add_argument("--no-stems", action="store_true", help="step (e) keeps words as written, not families")
    ap.add_argument("--veto", action="store_true",
                    help="also ask the class-free abnormality check of single words (off by default)")
    ap.add_argument("--no-examples", action="store_true", help="skip the definition's own examples")
    ap.add_argument("--judge", choices=["choice", "yesno"], default="yesno")
    ap.add_argument("--n-synth", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", dest="out", default="/tmp/bench_expand")
    args = ap.parse_args()

    from radlabel.programs.expand import ExpandSettings, expand_ontology

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    settings = ExpandSettings(top_k=args.top_k, max_variants=args.max_variants,
                              max_normal=args.max_normal, variants=not args.no_variants,
                              normal=not args.no_normal, abnormal=not args.no_abnormal,
                              stems=not args.no_stems,
                              max_abnormal=args.max_abnormal, judge=args.judge,
                              veto=args.veto, examples=not args.no_examples)
    rows = []
    for name in args.sets.split(","):
        curated, names, corpus, reports, gp, fmt = (headct_set(args, tmp) if name == "headct"
                                                    else iu_set(name, args, tmp))
        row = {"set": name, "classes": len(names.finding_classes), "reports": len(reports)}
        if curated is not None:
            row["curated"] = score(gp, rules_labels(curated, reports), fmt, tmp, f"{name}_curated")
        row["before"] = score(gp, rules_labels(names, reports), fmt, tmp, f"{name}_before")
        t0 = time.perf_counter()
        expanded, summary = expand_ontology(names, corpus, lm=args.lm, output=out / f"{name}_expanded.yaml",
                                            settings=settings,
                                            embedding_cache=out / f"{'iu' if name != 'headct' else 'headct'}_emb.npz")
        row["after"] = score(gp, rules_labels(expanded, reports), fmt, tmp, f"{name}_after")
        row["expansion"] = {**summary.as_dict(), "wall_minutes": round((time.perf_counter() - t0) / 60, 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    (out / "bench_expand.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    print("| set | classes | reports | curated micro/macro | names-only micro/macro | expanded micro/macro "
          "| phrases added | LM calls (cached) | tokens | minutes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cur = f"{r['curated']['micro_f1']:.3f} / {r['curated']['macro_f1']:.3f}" if "curated" in r else "n/a"
        e = r["expansion"]
        print(f"| {r['set']} | {r['classes']} | {r['reports']} | {cur} | {r['before']['micro_f1']:.3f} / "
              f"{r['before']['macro_f1']:.3f} | {r['after']['micro_f1']:.3f} / {r['after']['macro_f1']:.3f} | "
              f"{e['phrases_added']} | {e['lm_calls']} ({e['cached_calls']}) | {e['tokens']} | {e['minutes']} |")


if __name__ == "__main__":
    main()
