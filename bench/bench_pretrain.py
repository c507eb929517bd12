"""Pre-training bench (issue 14, item 3): does domain MLM with a warmed head help the encoder
student at 10% labels?

Same seeded 80/20 split of the IU dev set as `bench_distill.py` (run that first: it writes the
split and the rules teacher's labels under --out). Unlabelled text: the training split's reports
(never the held-out ones) + `radlabel.synth` reports. `radlabel pretrain --head-warmup-steps H
--max-steps S` continues the packaged MiniLM (head alone first, then everything); then the LoRA
student is trained on the teacher's pseudo-labels of 10% of the training split with and without
`--base` (the pre-trained folder) and scored on the held-out split with ../shared/tools/score.py.
Writes the loss curve (both phases) as a plot.

    .venv/bin/python bench/bench_pretrain.py --out /tmp/distill --head-steps 60 --steps 60
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_distill import CLI, ROOT, read_jsonl, score, sh, write_jsonl  # noqa: E402


def plot(curve: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for phase, label in (("head", "head alone (encoder frozen)"), ("all", "all weights")):
        pts = [(c["step"], c["loss"]) for c in curve if c["phase"] == phase]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=label)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("MLM loss (masked positions)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/distill")
    ap.add_argument("--synth", type=int, default=1000, help="synthetic reports added as text")
    ap.add_argument("--head-steps", type=int, default=60)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=96)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--epochs", type=float, default=12)
    ap.add_argument("--plot", default=str(ROOT / "docs/img/pretrain_curve.png"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    reports_tr = out / "reports_train.jsonl"
    teacher = out / "teacher.jsonl"
    if not reports_tr.exists() or not teacher.exists():
        sys.exit(f"run bench/bench_distill.py --out {out} first (split + teacher labels)")
    from radlabel.synth import generate_reports

    text_rows = read_jsonl(reports_tr) + [{"id": r.id, "text": r.text}
                                          for r in generate_reports(args.synth, seed=7)]
    corpus = write_jsonl(out / "pretrain_text.jsonl", text_rows)
    enc = out / f"mlm_h{args.head_steps}_s{args.steps}"
    if not (enc / "pretrain.json").exists():
        t = sh([*CLI, "pretrain", str(corpus), "-o", str(enc), "--head-warmup-steps",
                str(args.head_steps), "--max-steps", str(args.steps), "--batch-size",
                str(args.batch_size), "--max-length", str(args.max_length)])
        print(f"pretrained in {t:.0f}s (whole process)")
    info = json.loads((enc / "pretrain.json").read_text())
    plot(info["curve"], Path(args.plot),
         f"MiniLM MLM on {len(text_rows)} reports, batch {args.batch_size}, 2 shared CPU cores")

    train_ids = [r["id"] for r in read_jsonl(reports_tr)]
    keep = set(train_ids[: max(1, int(round(len(train_ids) * args.fraction)))])
    pseudo = write_jsonl(out / f"pseudo_{int(args.fraction * 100)}.jsonl",
                         [r for r in read_jsonl(teacher) if r["id"] in keep])
    gold_te, reports_te = out / "gold_test.jsonl", out / "reports_test.jsonl"
    rows = []
    for name, base in (("lora, packaged MiniLM", None), ("lora, MLM-pre-trained MiniLM", enc)):
        model = out / f"model_lora_{int(args.fraction * 100)}_{'pt' if base else 'base'}"
        cmd = [*CLI, "train", "--labels", str(pseudo), "--reports", str(reports_tr), "-o", str(model),
               "--variant", "lora", "--epochs", str(args.epochs), "--max-length", str(args.max_length)]
        if base:
            cmd += ["--base", str(base)]
        t_train = sh(cmd)
        pred = out / f"pred_{model.name}.jsonl"
        sh([*CLI, "predict", str(reports_te), "--model", str(model), "-o", str(pred)])
        rows.append({"model": name, **score(gold_te, pred), "train_s": round(t_train, 1)})
        print(json.dumps(rows[-1]), flush=True)
    result = {"pretrain": {k: v for k, v in info.items() if k != "curve"}, "curve": info["curve"],
              "n_text": len(text_rows), "labels": len(keep), "rows": rows}
    (out / "pretrain_results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result["pretrain"]))
    for r in rows:
        print(f"| {r['model']} | {r['micro_f1']} | {r['macro_f1']} | {r['train_s']} |")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
