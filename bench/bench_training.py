"""Issue 5 benchmarks: classifier variants on the IU dev gold (fixed 80/20 split), the pseudo-label
gap, MLM pre-training with/without at 10% and 100% of the labels, and tokenizer fertility.

Usage:
  python /work/shared/tools/make_gold.py --outdir /tmp/iu_gold
  RADLABEL_THREADS=1 .venv/bin/python bench/bench_training.py --gold /tmp/iu_gold/iu_dev.jsonl \
      [--pseudo bench/out/iu_dev_labels.jsonl] [--parts variants,tokenizer,pseudo,pretrain,dapt100,full,speed,decoder]

Each part writes bench/out/training/<part>.json and is skipped when that file exists (delete it
to rerun), so an interrupted run resumes. Scores use /work/shared/tools/score.py. Nothing derived
from the IU text is written outside bench/out/ (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from radlabel.env import apply_offline_defaults

apply_offline_defaults()

from radlabel.jsonl import read_jsonl, write_jsonl_atomic  # noqa: E402
from radlabel.training.registry import load_classifier  # noqa: E402
from radlabel.training.config import TrainConfig  # noqa: E402
from radlabel.training.predict import predict_records  # noqa: E402
from radlabel.training.train import train_model  # noqa: E402

SCORE = "/work/shared/tools/score.py"
OUT = Path("bench/out/training")


def split_gold(gold_path: str, seed: int = 0):
    rows = read_jsonl(gold_path)
    order = np.random.default_rng(seed).permutation(len(rows))
    n_test = len(rows) // 5
    test = [rows[i] for i in sorted(order[:n_test])]
    train = [rows[i] for i in sorted(order[n_test:])]
    return train, test


def score(gold_rows, pred_path: Path) -> dict:
    gold_path = OUT / "test_gold.jsonl"
    write_jsonl_atomic(gold_path, gold_rows)
    js = pred_path.with_suffix(".score.json")
    subprocess.run([sys.executable, SCORE, "--gold", str(gold_path), "--pred", str(pred_path),
                    "--json", str(js)], check=True, capture_output=True)
    res = json.loads(js.read_text())
    return {"micro_f1": round(res["micro"]["f1"], 4), "macro_f1": round(res["macro_f1"], 4)}


def speed(clf, texts) -> dict:
    """Wall reports/s, and reports per second of this process's own CPU (the box is shared)."""
    clf.predict_proba(texts[:32])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    clf.predict_proba(texts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"reports_per_s": round(len(texts) / wall, 1), "reports_per_cpu_s": round(len(texts) / cpu, 1)}


def evaluate(model_dir: Path, test, all_texts, **load_kw) -> dict:
    clf = load_classifier(model_dir, **load_kw)
    recs, _ = predict_records(clf, [r["id"] for r in test], [r["text"] for r in test],
                              model_name=model_dir.name, progress=False)
    pred = model_dir.parent / f"{model_dir.name}{load_kw.get('max_length', '')}.pred.jsonl"
    write_jsonl_atomic(pred, recs)
    res = score(test, pred)
    res.update(speed(clf, all_texts))
    res["s_per_epoch"] = clf.info.get("seconds_per_epoch")
    res["epochs"] = clf.info.get("epochs_run")
    res["n_train"] = clf.info.get("n_train")
    return res


def run_variant(name, cfg, train_file, test, all_texts, labels=False, resume=True):
    model_dir = OUT / name
    kw = {"labels": [str(train_file)]} if labels else {"gold": [str(train_file)]}
    if not (model_dir / "radlabel_model.json").exists():
        train_model(cfg, model_dir, resume=resume, **kw)
    res = evaluate(model_dir, test, all_texts)
    print(name, res, flush=True)
    return res


def part(name, fn):
    path = OUT / f"{name}.json"
    if path.exists():
        print(f"{name}: cached", json.loads(path.read_text()))
        return
    res = fn()
    path.write_text(json.dumps(res, indent=2))


def synthetic_texts(n: int) -> list[str]:
    try:
        from radlabel.synth import generate_reports
    except ImportError:
        return []
    return [r.text for r in generate_reports(n, seed=1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", required=True)
    ap.add_argument("--pseudo", default="bench/out/iu_dev_labels.jsonl")
    ap.add_argument("--parts", default="variants,tokenizer,pseudo,pretrain,dapt100,full,speed,decoder")
    ap.add_argument("--epochs", type=float, default=4)
    ap.add_argument("--pretrain-steps", type=int, default=120)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    train, test = split_gold(args.gold)
    train_file = OUT / "train_gold.jsonl"
    write_jsonl_atomic(train_file, train)
    all_texts = [r["text"] for r in train + test]
    parts = args.parts.split(",")
    ep = args.epochs

    if "variants" in parts:
        part("variants", lambda: {
            "tfidf": run_variant("tfidf", TrainConfig(variant="tfidf"), train_file, test, all_texts),
            "lora_len128": run_variant("lora_len128", TrainConfig(variant="lora", epochs=ep), train_file, test, all_texts),
            # the same LoRA model, predicting with inputs cut to 64 tokens (speed vs F1)
            "lora_len128_infer64": evaluate(OUT / "lora_len128", test, all_texts, max_length=64),
        })
    if "full" in parts:
        part("full", lambda: {"full_len128": run_variant("full_len128", TrainConfig(variant="full", epochs=ep),
                                                         train_file, test, all_texts)})
    if "tokenizer" in parts:
        def tok():
            from radlabel.training.tokenizer import compare_fertility, train_bpe
            synth = synthetic_texts(2000)
            res = {}
            for vs in (8000, 16000):
                t = train_bpe([r["text"] for r in train] + synth, OUT / f"tok{vs}", vocab_size=vs)
                res[f"vocab{vs}"] = compare_fertility(t, [r["text"] for r in test])
            res["n_synthetic"] = len(synth)
            return res
        part("tokenizer", tok)
    if "pseudo" in parts:
        if Path(args.pseudo).exists():
            def pseudo():
                train_ids = {r["id"] for r in train}
                rows = [r for r in read_jsonl(args.pseudo) if str(r.get("id")) in train_ids]
                texts = {r["id"]: r["text"] for r in train}
                for r in rows:
                    r["text"] = texts[str(r["id"])]
                pf = OUT / "train_pseudo.jsonl"
                write_jsonl_atomic(pf, rows)
                return {"n_pseudo": len(rows),
                        "tfidf": run_variant("pseudo_tfidf", TrainConfig(variant="tfidf"), pf, test, all_texts, labels=True),
                        "lora_len128": run_variant("pseudo_lora", TrainConfig(variant="lora", epochs=ep), pf, test, all_texts, labels=True)}
            part("pseudo", pseudo)
        else:
            print(f"pseudo: {args.pseudo} not found, skipped")
    if "pretrain" in parts:
        def pre():
            from radlabel.training.pretrain import pretrain
            unl = all_texts + synthetic_texts(2000)
            res = {"n_unlabelled": len(unl)}
            enc = OUT / "dapt_minilm"
            if not (enc / "pretrain.json").exists():
                pretrain(unl, enc, mode="continue", max_steps=args.pretrain_steps, resume=True)
            res["dapt"] = json.loads((enc / "pretrain.json").read_text())
            rng = np.random.default_rng(0)
            small = [train[i] for i in sorted(rng.permutation(len(train))[: len(train) // 10])]
            small_file = OUT / "train_gold_10pct.jsonl"
            write_jsonl_atomic(small_file, small)
            e = ep * 3  # 10% of the reports: three times the epochs, still far fewer steps
            res["base_10pct"] = run_variant("lora_10pct", TrainConfig(variant="lora", epochs=e), small_file, test, all_texts)
            res["dapt_10pct"] = run_variant("dapt_lora_10pct", TrainConfig(variant="lora", epochs=e, base=str(enc)), small_file, test, all_texts)
            return res
        part("pretrain", pre)
    if "dapt100" in parts:  # needs the DAPT encoder from the "pretrain" part
        part("dapt100", lambda: {
            "base_100pct": evaluate(OUT / "lora_len128", test, all_texts),
            "dapt_100pct": run_variant("dapt_lora_100pct", TrainConfig(variant="lora", epochs=ep, base=str(OUT / "dapt_minilm")),
                                       train_file, test, all_texts)})
    if "speed" in parts:  # re-measure inference of every trained folder in one quiet-ish pass
        def all_speeds():
            res = {}
            for d in sorted(p for p in OUT.iterdir() if (p / "radlabel_model.json").exists()):
                res[d.name] = speed(load_classifier(d), all_texts)
                if (d / "config.json").exists():
                    res[d.name + "_infer64"] = speed(load_classifier(d, max_length=64), all_texts)
                print(d.name, res[d.name], flush=True)
            return res
        part("speed", all_speeds)
    if "decoder" in parts:
        part("decoder", lambda: {"decoder_lora": run_variant(
            "decoder_lora", TrainConfig(variant="decoder-lora", max_steps=40, batch_size=8, max_length=96),
            train_file, test, all_texts[:128])})


if __name__ == "__main__":
    main()
