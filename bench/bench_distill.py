"""Distillation bench (issue 14): teacher vs students on a held-out split of the IU dev set.

Teacher: the default program's rule stage (`Labeler(judge="none")`, zero tokens; on IU the LM
judge decides ~0.1 class per report, so rules-only labels are a close, affordable proxy).
Students are trained with `radlabel train` on the teacher's pseudo-labels of the training split
(optionally plus its gold) and run with `radlabel predict` on the held-out split, each as its own
process; scored with ../shared/tools/score.py (micro/macro F1), ECE of `probs` against the gold,
reports/s of the whole predict process (startup included) on the held-out split and on the
whole dev set (1,197 reports, each once).

    .venv/bin/python bench/bench_distill.py --output /tmp/distill [--curve] [--variants mention,tfidf]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RADLABEL_SHARED", ROOT.parent / "shared"))
PY = str(ROOT / ".venv/bin/python")
CLI = os.environ.get("RADLABEL_CLI", str(ROOT / ".venv/bin/radlabel")).split()


def sh(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return time.perf_counter() - t0


def write_jsonl(path: Path, rows) -> Path:
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path) if line.strip()]


def score(gold: Path, pred: Path) -> dict:
    js = Path(str(pred) + ".score.json")
    r = subprocess.run([sys.executable, str(SHARED / "tools/score.py"), "--gold", str(gold), "--pred",
                        str(pred), "--json", str(js)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"score.py failed: {r.stderr[-2000:]}")
    obj = json.loads(js.read_text())
    return {"micro_f1": round(obj["micro"]["f1"], 4), "macro_f1": round(obj["macro_f1"], 4)}


def ece_vs_gold(pred: Path, gold_rows: dict[str, dict], classes: list[str]) -> float | None:
    from radlabel.training.mention import expected_calibration_error

    P, Y = [], []
    for r in read_jsonl(pred):
        if "probs" not in r or r["id"] not in gold_rows:
            return None if "probs" not in r else None
        P.append([r["probs"].get(c, 0.0) for c in classes])
        Y.append([1 if gold_rows[r["id"]]["labels"].get(c) == 1 else 0 for c in classes])
    return round(expected_calibration_error(np.array(P), np.array(Y)), 4) if P else None


def errors(pred: Path, gold_rows: dict[str, dict], classes: list[str]) -> dict:
    """False positives / negatives of 'present' against the gold, over (report, class) pairs."""
    fp = fn = 0
    for r in read_jsonl(pred):
        g = gold_rows[r["id"]]["labels"]
        for c in classes:
            p, y = r["labels"].get(c) == "present", g.get(c) == 1
            fp += p and not y
            fn += y and not p
    return {"fp": fp, "fn": fn}


def abstain_stats(pred: Path, gold_rows: dict[str, dict], classes: list[str]) -> dict:
    """Share of (report, class) pairs routed to review and accuracy on the rest vs on them."""
    n = n_abs = ok_kept = ok_abs = 0
    for r in read_jsonl(pred):
        unsure = set(r.get("abstain") or [])
        g = gold_rows[r["id"]]["labels"]
        for c in classes:
            right = (r["labels"].get(c) == "present") == (g.get(c) == 1)
            n += 1
            if c in unsure:
                n_abs += 1
                ok_abs += right
            else:
                ok_kept += right
    return {"abstain_share": round(n_abs / n, 4) if n else 0.0,
            "acc_kept": round(ok_kept / max(n - n_abs, 1), 4),
            "acc_abstained": round(ok_abs / n_abs, 4) if n_abs else None}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", dest="out", default="/tmp/distill")
    ap.add_argument("--gold", default="/tmp/iu_gold/iu_dev.jsonl")
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default="mention,tfidf")
    ap.add_argument("--curve", action="store_true", help="learning curve 10/30/100%% (mention)")
    ap.add_argument("--reuse", default="", help="variants whose models in --out are kept (unchanged code)")
    ap.add_argument("--ablate", default="", help="comma list of -first,-no-cues,-no-cuts,-no-union,-no-select,-no-anchor")
    ap.add_argument("--plot", default=str(ROOT / "docs/img/distill_learning_curve.png"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(args.gold).exists():
        sh([sys.executable, str(SHARED / "tools/make_gold.py"), "--outdir", str(Path(args.gold).parent)])
    gold = read_jsonl(Path(args.gold))
    from radlabel.ontology import Ontology

    classes = Ontology.load(None).names
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(gold))
    n_test = int(round(len(gold) * args.test_fraction))
    test = [gold[i] for i in sorted(order[:n_test])]
    train = [gold[i] for i in sorted(order[n_test:])]
    gold_by_id = {g["id"]: g for g in gold}
    reports_all = write_jsonl(out / "reports_all.jsonl", [{"id": g["id"], "text": g["text"]} for g in gold])
    reports_tr = write_jsonl(out / "reports_train.jsonl", [{"id": g["id"], "text": g["text"]} for g in train])
    reports_te = write_jsonl(out / "reports_test.jsonl", [{"id": g["id"], "text": g["text"]} for g in test])
    gold_tr = write_jsonl(out / "gold_train.jsonl", [{"id": g["id"], "labels": g["labels"]} for g in train])
    gold_te = write_jsonl(out / "gold_test.jsonl", [{"id": g["id"], "text": g["text"], "labels": g["labels"]}
                                                    for g in test])
    # speed set: every dev report once (the student keeps sentence scores across batches, so a
    # set repeating whole reports would flatter it)
    big = reports_all

    # teacher: rules-only default program, every dev report
    teacher = out / "teacher.jsonl"
    if not teacher.exists():
        t = sh([*CLI, "label", str(reports_all), "--judge", "none", "-o", str(teacher)])
        print(f"teacher labelled {len(gold)} reports in {t:.1f}s (whole process)")
    trows = read_jsonl(teacher)
    test_ids = {g["id"] for g in test}
    train_ids = [g["id"] for g in train]
    teacher_te = write_jsonl(out / "teacher_test.jsonl", [r for r in trows if r["id"] in test_ids])
    rows = [{"model": "teacher (rules, --judge none)", **score(gold_te, teacher_te),
             **errors(teacher_te, gold_by_id, classes), "ece": None,
             "reports_s": round(len(gold) / max(t_label(teacher), 1e-9), 1)}]

    def keep(frac: float) -> set[str]:
        return set(train_ids[: max(1, int(round(len(train_ids) * frac)))]) if frac < 1 else set(train_ids)

    def pseudo(frac: float) -> Path:
        return write_jsonl(out / f"pseudo_{int(frac * 100)}.jsonl", [tr for tr in trows if tr["id"] in keep(frac)])

    def gold_of(frac: float) -> Path:  # the gold of the same labelled fraction
        return gold_tr if frac >= 1 else write_jsonl(
            out / f"gold_{int(frac * 100)}.jsonl", [{"id": g["id"], "labels": g["labels"]}
                                                    for g in train if g["id"] in keep(frac)])

    def run(variant: str, frac: float = 1.0, with_gold: bool = False, extra: list[str] = (),
            cfg: dict | None = None, tag: str = "") -> dict:
        name = f"{variant}{tag}-{int(frac * 100)}{'-gold' if with_gold else ''}"
        model = out / f"model_{name}"
        if variant in args.reuse.split(",") and (model / "radlabel_model.json").exists():
            t_train = None  # an unchanged variant's model from an earlier run of this --out
        elif cfg:  # a mechanism switched off: TrainConfig knobs without CLI flags, trained in-process
            from radlabel.training.config import TrainConfig
            from radlabel.training.train import train_model

            t0 = time.perf_counter()
            train_model(TrainConfig(variant=variant, **cfg), model, labels=[str(pseudo(frac))],
                        gold=[str(gold_of(frac))] if with_gold else [], reports=str(reports_tr))
            t_train = time.perf_counter() - t0
        else:
            cmd = [*CLI, "train", "--labels", str(pseudo(frac)), "--reports", str(reports_tr), "-o",
                   str(model), "--variant", variant, *extra]
            if with_gold:
                cmd += ["--gold", str(gold_of(frac))]
            t_train = sh(cmd)
        pred = out / f"pred_{name}.jsonl"
        t_pred = sh([*CLI, "predict", str(reports_te), "--model", str(model), "-o", str(pred)])
        t_big = sh([*CLI, "predict", str(big), "--model", str(model), "-o", str(out / "pred_big.jsonl")])
        row = {"model": f"{variant}{tag} ({int(frac * 100)}% pseudo{' + gold' if with_gold else ''})",
               **score(gold_te, pred), **errors(pred, gold_by_id, classes),
               "ece": ece_vs_gold(pred, gold_by_id, classes),
               "reports_s": round(len(test) / t_pred, 1),
               "reports_s_big": round(sum(1 for _ in open(big)) / t_big, 1),
               "train_s": round(t_train, 1) if t_train is not None else None}
        if variant == "mention":
            row.update(abstain_stats(pred, gold_by_id, classes))
        print(json.dumps(row), flush=True)
        return row

    for v in args.variants.split(","):
        rows.append(run(v))
        rows.append(run(v, with_gold=True))
    if args.ablate:  # each mechanism of the mention student off, then all off (the first student)
        offs = {"-first": dict(mention_cues=False, mention_cuts=False, mention_union=False,
                               mention_gold_weights=[], mention_anchor=False),
                "-no-anchor": dict(mention_anchor=False),
                "-no-select": dict(mention_gold_weights=[]),
                "-no-cues": dict(mention_cues=False), "-no-cuts": dict(mention_cuts=False),
                "-no-union": dict(mention_union=False)}
        for tag in args.ablate.split(","):
            rows.append(run("mention", cfg=offs[tag], tag=tag))
            rows.append(run("mention", with_gold=True, cfg=offs[tag], tag=tag))
    curve = []
    if args.curve:
        for frac in (0.1, 0.3, 1.0):
            for wg in (False, True):
                r = run("mention", frac, wg) if not (frac == 1.0) else \
                    next(x for x in rows if x["model"] == f"mention (100% pseudo{' + gold' if wg else ''})")
                curve.append({"fraction": frac, "gold": wg, **r})
            if "tfidf" in args.variants.split(","):
                r = run("tfidf", frac) if frac < 1.0 else \
                    next(x for x in rows if x["model"] == "tfidf (100% pseudo)")
                curve.append({"fraction": frac, "gold": False, "tfidf": True, **r})
        plot_curve(curve, rows[0]["micro_f1"], Path(args.plot))
    (out / "results.json").write_text(json.dumps({"rows": rows, "curve": curve, "n_train": len(train),
                                                   "n_test": len(test)}, indent=2))
    print(table(rows))


def t_label(teacher: Path) -> float:
    return sum(float(r["meta"].get("latency_s", 0)) for r in read_jsonl(teacher))


def table(rows: list[dict]) -> str:
    lines = ["| model | micro-F1 | macro-F1 | FP / FN | ECE | reports/s (held-out, whole process) "
             "| reports/s (1,197) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r.get('micro_f1')} | {r.get('macro_f1')} | "
                     f"{r.get('fp')} / {r.get('fn')} | {r.get('ece')} | "
                     f"{r.get('reports_s')} | {r.get('reports_s_big', '')} |")
    return "\n".join(lines)


def plot_curve(curve: list[dict], teacher_micro: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, sel in (("mention student, pseudo", lambda c: not c["gold"] and not c.get("tfidf")),
                       ("mention student, pseudo + gold of the same reports",
                        lambda c: c["gold"] and not c.get("tfidf")),
                       ("report-level TF-IDF, pseudo", lambda c: c.get("tfidf"))):
        pts = sorted((c["fraction"] * 100, c["micro_f1"]) for c in curve if sel(c))
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.axhline(teacher_micro, color="grey", ls="--", label="teacher (rules)")
    ax.set_xlabel("% of the training split labelled (pseudo; + gold)")
    ax.set_ylabel("micro-F1, held-out IU dev")
    ax.set_xscale("log")
    ax.set_xticks([10, 30, 100], ["10", "30", "100"])
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
