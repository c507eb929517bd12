"""Retrieval benchmarks for issue 3 (figures go to docs/benchmarks.md).

  recall      candidate recall@k on the IU dev gold (14 classes and the MeSH terms), plus
              candidates per report: share of gold-positive classes that survive retrieval
  manyclass   label the dev set over radlabel/resources/mesh_iu.yaml without an LM (RuleJudge
              variants and the Labeler with gated embedding hits), write {"id","terms"}
              predictions and score them with score.py's terms mode
  scaling     candidates per report (lexical / semantic-only) at 14, ~120 and 1,000 classes
  throughput  embedding throughput (reports/s) on synthetic reports
  index       index build for N synthetic reports (default 100k) and query latency p50/p95

Usage: python bench/bench_retrieval.py recall manyclass throughput index --gold /tmp/iu_gold/iu_dev.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from radlabel.jsonl import read_jsonl
from radlabel.env import apply_offline_defaults

apply_offline_defaults()

from radlabel.ontology import Ontology  # noqa: E402
from radlabel.retrieval import get_embedder, open_store  # noqa: E402
from radlabel.retrieval.candidates import CandidateRetriever  # noqa: E402
from radlabel.sections import report_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCORE = "/work/shared/tools/score.py"
MESH = ROOT / "radlabel" / "resources" / "mesh_iu.yaml"


def load_gold(path):
    return read_jsonl(path)


def recall_table(gold, onto, gold_sets, store, emb, ks=(1, 3, 5, 10), min_scores=(0.0, 0.4, 0.5)):
    """gold_sets: per report the set of gold-positive class names (in onto)."""
    r = CandidateRetriever(store, emb, onto, k=max(ks), min_score=0.0)
    sents = [[s.text for s in report_sentences(g["text"])] for g in gold]
    flat = [t for ss in sents for t in ss]
    t0 = time.perf_counter()
    ranked = r.rank(flat, max(ks)) if flat else []
    t_rank = time.perf_counter() - t0
    lex = r.lexical_hits(flat)
    lex_by_sent = [set() for _ in flat]
    for cls, per in lex.items():
        for i in per:
            lex_by_sent[i].add(cls)
    rows = []
    total = sum(len(g) for g in gold_sets)
    for mode in ("lexical", "semantic", "both"):
        for k in (ks if mode != "lexical" else (0,)):
            for ms in (min_scores if mode != "lexical" else (None,)):
                found = ncand = 0
                pos = 0
                for ss, gs in zip(sents, gold_sets):
                    cand = set()
                    for j in range(len(ss)):
                        if mode in ("semantic", "both"):
                            cand |= {c for c, s in ranked[pos + j][:k] if s >= ms}
                        if mode in ("lexical", "both"):
                            cand |= lex_by_sent[pos + j]
                    pos += len(ss)
                    found += len(gs & cand)
                    ncand += len(cand)
                rows.append({"mode": mode, "k": k, "min_score": ms, "recall": found / max(total, 1),
                             "candidates_per_report": ncand / len(gold)})
    # What the labeller gets by default: k=1, >=0.6, embedding-only hits through the rank gate.
    gated = CandidateRetriever(store, emb, onto)
    found = ncand = 0
    for ss, gs in zip(sents, gold_sets):
        cand = set(gated.candidates(ss))
        found += len(gs & cand)
        ncand += len(cand)
    rows.append({"mode": "both, rank gate (default)", "k": gated.k, "min_score": gated.min_score,
                 "recall": found / max(total, 1), "candidates_per_report": ncand / len(gold)})
    return rows, {"sentences": len(flat), "embed_and_rank_s": t_rank, "gold_positives": total}


def cmd_recall(args, store, emb):
    gold = load_gold(args.gold)
    out = {}
    chest = Ontology.load()
    sets14 = [{chest.resolve(c) for c, v in g["labels"].items() if v in (1, "present")} - {"No Finding"}
              for g in gold]
    out["14"] = recall_table(gold, chest, sets14, store, emb)
    mesh = Ontology.load(MESH)
    sets_terms = [{mesh.resolve(t) for t in g.get("terms", [])} - {None} for g in gold]
    out["mesh"] = recall_table(gold, mesh, sets_terms, store, emb)
    for name, (rows, info) in out.items():
        print(f"\n## candidate recall, {name} classes ({info})")
        print("| signal | k | min score | recall | candidates/report |\n|---|---|---|---|---|")
        for row in rows:
            print(f"| {row['mode']} | {row['k'] or '-'} | {row['min_score'] if row['min_score'] is not None else '-'} "
                  f"| {row['recall']:.3f} | {row['candidates_per_report']:.1f} |")
    return out


def cmd_manyclass(args, store, emb):
    from radlabel.retrieval.rule_judge import RuleJudge

    gold = load_gold(args.gold)
    mesh = Ontology.load(MESH)
    tmp = Path(tempfile.mkdtemp())
    gold_terms = tmp / "gold_terms.jsonl"
    gold_terms.write_text("".join(json.dumps({"id": g["id"], "terms": g.get("terms", [])}) + "\n" for g in gold))
    results = {}
    for name, k, sp in [("lexical candidates, no LM", 0, None),
                        ("lexical + semantic (k=3, >=0.55), semantic-only hits judged present at >=0.75", 3, 0.75),
                        ("lexical + semantic (k=3, >=0.55), semantic-only hits judged present at >=0.85", 3, 0.85)]:
        judge = RuleJudge(CandidateRetriever(store, emb, mesh, k=k, min_score=0.55, gate=False),
                          semantic_present=sp)
        results[name] = score_terms(gold, gold_terms, tmp, name, lambda text: judge.label(text)[0])
    # The labeller itself without an LM: synonym mentions plus embedding hits that pass the rank gate
    # (an abnormal, un-negated sentence no synonym explains, sharing a content word with the class).
    from radlabel.programs import Labeler

    name = "Labeler(judge=none) + gated embedding hits (k=1, >=0.6)"
    lab = Labeler(mesh, judge="none", retriever=CandidateRetriever(store, emb, mesh, k=1, min_score=0.6))
    results[name] = score_terms(gold, gold_terms, tmp, name, lambda text: lab(text).labels)
    return results


def score_terms(gold, gold_terms, tmp, name, label_fn):
    """Label every gold report with label_fn(text) -> {class: state}; score.py terms mode."""
    pred = tmp / f"pred_{abs(hash(name))}.jsonl"
    t0 = time.perf_counter()
    with open(pred, "w") as f:
        for g in gold:
            labels = label_fn(g["text"])
            f.write(json.dumps({"id": g["id"], "terms": [c for c, s in labels.items() if s == "present"]}) + "\n")
    dt = time.perf_counter() - t0
    js = pred.with_suffix(".score.json")
    subprocess.run([sys.executable, SCORE, "--gold", str(gold_terms), "--pred", str(pred), "--json", str(js)],
                   check=True, capture_output=True)
    res = json.loads(js.read_text())
    summary = {key: res.get(key) for key in ("micro", "macro_f1", "example_f1") if key in res}
    out = {"seconds": dt, "reports_per_s": len(gold) / dt, "score": summary or res}
    print(f"\n## many-class: {name}\n{json.dumps(out, indent=1)[:1500]}")
    return out


def cmd_scaling(args, store, emb):
    """Candidates per report (lexical, semantic-only) at 14 / MeSH / 1,000 classes: the LM's workload."""
    from radlabel.retrieval.synthetic_ontology import synthetic_ontology

    gold = load_gold(args.gold)[: args.n_scaling]
    sents = [[s.text for s in report_sentences(g["text"])] for g in gold]
    flat = [t for ss in sents for t in ss]
    vecs = emb.embed(flat)
    out = {}
    for name, onto in [("14", Ontology.load()), ("mesh", Ontology.load(MESH)), ("1000", synthetic_ontology(1000))]:
        r = CandidateRetriever(store, emb, onto, k=10, min_score=0.0)
        hits = r.collection.query(vecs, k=10 * r.entries_per_class, where={"ontology": onto.hash})
        lex = r.lexical_hits(flat)
        lex_sent = [set() for _ in flat]
        for cls, per in lex.items():
            for i in per:
                lex_sent[i].add(cls)
        for k, ms in [(1, 0.5), (1, 0.6), (1, 0.7), (3, 0.55), (3, 0.6), (3, 0.7)]:
            n_lex = n_sem = 0
            pos = 0
            for ss in sents:
                lx, sem = set(), set()
                for j in range(len(ss)):
                    best = {}
                    for h in hits[pos + j]:
                        c = h.metadata.get("class")
                        if h.score > best.get(c, -1):
                            best[c] = h.score
                    top = sorted(best.items(), key=lambda kv: -kv[1])[:k]
                    sem |= {c for c, sc in top if sc >= ms}
                    lx |= lex_sent[pos + j]
                pos += len(ss)
                n_lex += len(lx)
                n_sem += len(sem - lx)
            out[f"{name} k={k} min={ms}"] = {"classes": len(onto), "lexical_per_report": n_lex / len(gold),
                                              "semantic_only_per_report": n_sem / len(gold)}
    print("\n## candidates per report by ontology size (first", len(gold), "dev reports)")
    print("| ontology | k | min score | lexical candidates | semantic-only candidates |\n|---|---|---|---|---|")
    for key, v in out.items():
        name, k, ms = key.split(" ")
        print(f"| {v['classes']} | {k[2:]} | {ms[4:]} | {v['lexical_per_report']:.2f} | {v['semantic_only_per_report']:.2f} |")
    return out


def synthetic_texts(n, seed=0):
    from radlabel.synth import iter_reports

    return [r.text for r in iter_reports(n, seed=seed)]


def cmd_throughput(args, store, emb):
    from radlabel.retrieval.reports_index import embedding_text

    texts = [embedding_text(t) for t in synthetic_texts(args.n_embed, seed=1)]
    emb.embed(texts[:32])
    t0 = time.perf_counter()
    emb.embed(texts)
    dt = time.perf_counter() - t0
    res = {"reports": len(texts), "seconds": dt, "reports_per_s": len(texts) / dt,
           "mean_words": float(np.mean([len(t.split()) for t in texts]))}
    print("\n## embedding throughput\n", res)
    return res


def cmd_index(args, store, emb):
    """Index build for N reports: real vectors for a measured sample, the HNSW build at full size."""
    from tqdm import tqdm

    from radlabel.retrieval.reports_index import LabelledReport, report_entry

    n = args.n_index
    texts = synthetic_texts(n, seed=2)
    path = tempfile.mkdtemp(prefix="chroma100k_")
    st = open_store(path)
    col = st.collection("reports", emb)
    entries = [report_entry(LabelledReport(f"s{i}", t, {}, "pseudo")) for i, t in enumerate(texts)]
    # Vectors: the embedder's own output for the first `sample`, then the same vectors with small
    # noise (a full 100k embed on this shared 2-core box would take ~20-30 min; its cost is
    # reported from the measured throughput instead).
    sample = min(args.n_real, n)
    real = emb.embed(texts[:sample])
    rng = np.random.default_rng(0)
    vecs = real[np.arange(n) % sample] + rng.normal(0, 0.02, (n, emb.dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    t0 = time.perf_counter()
    with tqdm(total=n, unit="report", desc="upsert") as bar:
        col.upsert([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries], vecs,
                   skip_existing=False, progress=bar.update)
    build = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    q = emb.embed(synthetic_texts(args.n_queries, seed=3))
    lat, lat_e2e = [], []
    for v in q:
        t = time.perf_counter()
        col.query(v[None, :], k=5)
        lat.append(time.perf_counter() - t)
    qt = synthetic_texts(50, seed=4)
    for t_ in qt:
        t = time.perf_counter()
        col.search([t_], k=5)
        lat_e2e.append(time.perf_counter() - t)
    res = {"reports": n, "upsert_s": build, "upsert_per_s": n / build, "disk_mb": size / 2**20,
           "query_ms_p50": 1000 * float(np.percentile(lat, 50)), "query_ms_p95": 1000 * float(np.percentile(lat, 95)),
           "embed+query_ms_p50": 1000 * float(np.percentile(lat_e2e, 50)),
           "embed+query_ms_p95": 1000 * float(np.percentile(lat_e2e, 95)), "store": path}
    print("\n## index build + query latency\n", res)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stages", nargs="+", choices=["recall", "manyclass", "scaling", "throughput", "index"])
    ap.add_argument("--gold", default="/tmp/iu_gold/iu_dev.jsonl")
    ap.add_argument("--chroma", "--store", dest="store", default=None, help="Chroma folder for the class index (default: temp)")
    ap.add_argument("--n-scaling", type=int, default=300)
    ap.add_argument("--n-embed", type=int, default=1000)
    ap.add_argument("--n-index", type=int, default=100_000)
    ap.add_argument("--n-real", type=int, default=2000)
    ap.add_argument("--n-queries", type=int, default=200)
    ap.add_argument("-o", "--output", dest="out", default=str(ROOT / "bench" / "out" / "retrieval.json"))
    args = ap.parse_args()
    emb = get_embedder()
    store = open_store(args.store or tempfile.mkdtemp(prefix="bench_store_"))
    out = {"machine": f"{os.cpu_count()} vCPU, RADLABEL_THREADS={os.environ.get('RADLABEL_THREADS', '1')}"}
    dest = Path(args.out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stage in args.stages:
        result = globals()[f"cmd_{stage}"](args, store, emb)
        merged = json.loads(dest.read_text()) if dest.exists() else {}  # other stages may run meanwhile
        merged.update(out)
        merged[stage] = result
        tmp = dest.with_suffix(".tmp")
        tmp.write_text(json.dumps(merged, indent=1, default=str))
        tmp.replace(dest)


if __name__ == "__main__":
    main()
