"""`radlabel loop`: label -> train -> analyze -> feedback -> recompile, round after round.

Each round K lives in ``OUT/round-K/``; every step writes its outputs and then a marker
(``.step-<name>.json``, written atomically) with its figures, so a re-run after an interruption
skips finished steps and the labelling step itself resumes report by report. ``OUT/summary.md``
(a table) and ``OUT/f1_per_round.png`` are rewritten after every round.

Where corrections come from: a person's review store (``review_store``) and/or a simulated
reviewer that answers the top ``review_budget`` reports of the issue queue from held-back gold
(``oracle``); optionally an agreement rule. Scoring uses ``eval_gold``: reports the loop never
labels for training and never reviews.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from pydantic import BaseModel

from radlabel.data import load_reports
from radlabel.errors import InputError
from radlabel.eval import feedback as fb
from radlabel.eval.analyze import run_analysis, write_analysis
from radlabel.eval.phrases import learn_synonyms, prune_learned
from radlabel.eval.summary import write_summary
from radlabel.jsonl import read_jsonl
from radlabel.labeling import label_reports
from radlabel.labels import TRUSTED_SOURCES, label_line, load_gold, read_labels, write_labels
from radlabel.ontology import Ontology
from radlabel.programs.compile import compile_program
from radlabel.programs.labeler import Labeler
from radlabel.retrieval.embeddings import get_embedder
from radlabel.retrieval.fewshot import SentenceDemos
from radlabel.retrieval.store import open_store
from radlabel.schema import LabelRecord, Report
from radlabel.scores import f1_scores
from radlabel.training.config import TrainConfig
from radlabel.training.registry import load_classifier
from radlabel.training.train import train_model

STEPS = ("label", "train", "analyze", "feedback", "recompile", "score")


class LoopConfig(BaseModel):
    """Every knob of `radlabel loop`; saved as OUT/loop.json and checked on resume."""

    reports: str
    seed_gold: str
    rounds: int = 3
    classes: str | None = None
    judge: str = "none"
    lm: str | None = None
    variant: str = "tfidf"
    folds: int = 5
    seed: int = 0
    oracle: str | None = None
    review_budget: int = 40
    review_store: str | None = None
    agree: float | None = None
    eval_gold: str | None = None
    learn_synonyms: bool = False
    compile_optimizer: str | None = None
    compile_budget: str = "light"
    index_demos: bool = False
    store: str | None = None
    demos: int = 0  # from round 2: K retrieved judge demos per call, from what --index-demos wrote

    model_config = {"extra": "forbid"}

    def same_run(self, other: "LoopConfig") -> bool:
        """A resumed run may ask for more rounds; anything else must match."""
        return self.model_dump(exclude={"rounds"}) == other.model_dump(exclude={"rounds"})


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)


def _states(records: dict[str, LabelRecord]) -> dict[str, dict[str, str]]:
    return {rid: dict(r.labels) for rid, r in records.items()}


def micro_f1(pred: dict[str, dict[str, str]], gold: dict[str, dict[str, str]], classes: list[str]) -> dict:
    """Micro/macro F1 of "present" over the ids of `gold` ({id: {class: state}}; missing
    predictions count as negative)."""
    if not gold:
        return {}
    s = f1_scores(gold, pred, classes)
    return {"micro_f1": round(s.micro_f1, 4), "macro_f1": round(s.macro_f1, 4), "reports": len(gold)}


class Loop:
    """One loop run in an output folder; `run()` does (or resumes) all rounds."""

    def __init__(self, cfg: LoopConfig, out: str | Path, *, lm=None, progress: bool = True, log=print):
        """`lm` (a ready `dspy.LM`) overrides ``cfg.lm`` for programmatic use."""
        self.cfg, self.out, self.progress, self.log = cfg, Path(out), progress, log
        self.lm = lm if lm is not None else cfg.lm
        self.base_ontology = Ontology.load(cfg.classes)
        self._check_config()
        self.reports = load_reports(cfg.reports)
        self.texts = {r.id: r.text for r in self.reports}
        self.seed_gold = load_gold(cfg.seed_gold, self.base_ontology)
        missing = [g.id for g in self.seed_gold if g.id not in self.texts]
        if missing:
            raise InputError(f"{len(missing)} seed gold id(s) are not among the reports, e.g. "
                             f"{missing[0]!r}", path=cfg.seed_gold, field="id")
        oracle = load_gold(cfg.oracle, self.base_ontology) if cfg.oracle else None
        self.oracle = oracle.labels_by_id() if oracle is not None else {}
        self.eval_gold = load_gold(cfg.eval_gold, self.base_ontology) if cfg.eval_gold else None
        eval_ids = {g.id for g in self.eval_gold or ()}
        leak = eval_ids & (set(self.texts) | set(self.oracle))
        if leak:
            raise InputError(f"{len(leak)} evaluation id(s) are also in the reports or the oracle "
                             f"gold, e.g. {sorted(leak)[0]!r}: scoring must use unseen reports",
                             path=cfg.eval_gold, field="id")
        if cfg.demos < 0 or (cfg.demos and not cfg.index_demos):
            raise InputError("--demos K reads the judge demos the loop indexes: it needs --index-demos "
                             "and K >= 0", field="demos")
        if cfg.oracle is None and cfg.review_store is None and cfg.agree is None:
            self.log("note: no --oracle, --review-db or --agree: rounds get no new corrections")
        self.positives_only = {"seed_gold": self.seed_gold.positives_only,
                               "oracle": oracle is not None and oracle.positives_only}

    # -- bookkeeping ---------------------------------------------------------------------
    def _check_config(self) -> None:
        path = self.out / "loop.json"
        if path.exists():
            old = LoopConfig.model_validate_json(path.read_text(encoding="utf-8"))
            if not old.same_run(self.cfg):
                diff = [k for k, v in self.cfg.model_dump().items() if k != "rounds"
                        and old.model_dump().get(k) != v]
                raise InputError(f"{self.out} holds a loop run with other settings ({', '.join(diff)}); "
                                 "use a new -o folder", path=str(path))
        _write_json(path, self.cfg.model_dump())

    def round_dir(self, k: int) -> Path:
        return self.out / f"round-{k}"

    def marker(self, k: int, step: str) -> Path:
        return self.round_dir(k) / f".step-{step}.json"

    def done(self, k: int, step: str) -> dict | None:
        p = self.marker(k, step)
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    def finish(self, k: int, step: str, info: dict) -> dict:
        _write_json(self.marker(k, step), info)
        return info

    # -- the program a round labels with -------------------------------------------------
    def ontology_for(self, k: int) -> Ontology:
        learned = self.round_dir(k - 1) / "recompiled" / "classes.yaml" if k > 1 else None
        return Ontology.load(str(learned)) if learned is not None and learned.exists() else self.base_ontology

    @property
    def chroma_dir(self) -> str:
        return self.cfg.store or str(self.out / "chroma")

    def labeler_for(self, k: int):
        program = self.round_dir(k - 1) / "recompiled" / "program" if k > 1 else None
        ontology = self.ontology_for(k)
        # round k's judge sees the sentences reviewed and indexed in rounds 1..k-1
        demos = (SentenceDemos(open_store(self.chroma_dir), get_embedder(), k=self.cfg.demos)
                 if self.cfg.demos and k > 1 else None)
        if program is not None and (program / "program.json").exists():
            return Labeler(ontology, lm=self.lm, judge=self.cfg.judge, program=program, demos=demos)
        return Labeler(ontology, lm=self.lm, judge=self.cfg.judge, demos=demos)

    def trusted_before(self, k: int, labels: dict[str, LabelRecord]) -> dict[str, dict]:
        """Seed gold plus every report reviewed in rounds 1..k-1 (later reviews win)."""
        classes = self.base_ontology.names
        trusted = {}
        for g in self.seed_gold:
            rid = g.id
            old = dict(labels[rid].labels) if rid in labels else {}
            states = fb.confirm_with_gold(old, g.labels, classes,
                                          positives_only=self.positives_only.get("seed_gold", False))
            trusted[rid] = fb.reviewed_record(rid, states, old=old, text=self.texts.get(rid), source="gold",
                                              round=0, reviewer="seed gold",
                                              evidence=labels[rid].evidence if rid in labels else None)
        for j in range(1, k):
            path = self.round_dir(j) / "feedback" / "reviewed.jsonl"
            if path.exists():
                for rid, rec in read_labels(path, self.base_ontology).items():
                    trusted[rid] = label_line(rec)
        return trusted

    # -- steps ---------------------------------------------------------------------------
    def step_label(self, k: int) -> dict:
        labeler = self.labeler_for(k)
        path = self.round_dir(k) / "labels.jsonl"
        t0 = time.perf_counter()
        reused = self._reuse(k, labeler, "labels.jsonl")
        s = label_reports(labeler, self.reports, path, progress=self.progress)
        recs = self.read_labels(k)
        fresh = [r for r in recs.values() if not reused or r.id not in reused]
        return {"reports": len(recs), "written": s.written, "failed": s.failed,
                "reused_from_previous_round": len(reused), "lm_calls": sum(r.meta.lm_calls for r in fresh),
                "tokens": sum(r.meta.tokens for r in fresh),
                "program": labeler.program_hash, "classes_hash": labeler.ontology.hash,
                "seconds": round(time.perf_counter() - t0, 2)}

    def _reuse(self, k: int, labeler, name: str) -> set[str]:
        """Same program and classes as last round: start from its labels (no LM call spent twice)."""
        prev = self.done(k - 1, "label") if k > 1 else None
        src, dst = self.round_dir(k - 1) / name, self.round_dir(k) / name
        if (prev is None or dst.exists() or not src.exists() or prev.get("program") != labeler.program_hash
                or prev.get("classes_hash") != labeler.ontology.hash):
            return set()

        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dst)
        return set(read_labels(dst, keep_failed=True))

    def read_labels(self, k: int) -> dict[str, LabelRecord]:
        return read_labels(self.round_dir(k) / "labels.jsonl", self.base_ontology)

    def step_train(self, k: int) -> dict:
        t0 = time.perf_counter()
        labels = self.read_labels(k)
        trusted = self.trusted_before(k, labels)
        rows = fb.corrected_training_labels(labels, trusted, round=k)
        path = self.round_dir(k) / "train_labels.jsonl"
        write_labels(path, rows)
        clf = train_model(TrainConfig(variant=self.cfg.variant, seed=self.cfg.seed),
                          self.round_dir(k) / "model", labels=[str(path)], reports=self.cfg.reports,
                          ontology=self.base_ontology)
        sources: dict[str, int] = {}
        for r in rows:
            sources[r["meta"]["source"]] = sources.get(r["meta"]["source"], 0) + 1
        return {"trusted": len(trusted), "sources": sources, "val_metrics": clf.info.get("metrics", {}),
                "seconds": round(time.perf_counter() - t0, 2)}

    def train_records(self, k: int) -> dict[str, LabelRecord]:
        return read_labels(self.round_dir(k) / "train_labels.jsonl", self.base_ontology)

    def step_analyze(self, k: int):
        a = run_analysis(self.train_records(k), self.texts, self.base_ontology,
                         variant=self.cfg.variant, folds=self.cfg.folds, seed=self.cfg.seed)
        summary = write_analysis(a, self.round_dir(k) / "analysis", texts=self.texts)
        info = {key: summary[key] for key in ("reports", "issues", "flagged_pairs", "trusted_reports",
                                              "labels_vs_gold_micro_f1", "classifier_vs_gold_micro_f1",
                                              "seconds")}
        return info, a

    def step_feedback(self, k: int, analysis=None) -> dict:
        t0 = time.perf_counter()
        d = self.round_dir(k) / "feedback"
        labels = self.read_labels(k)
        trusted = self.trusted_before(k, labels)
        issues = read_jsonl(self.round_dir(k) / "analysis" / "issues.jsonl")
        classes = self.base_ontology.names
        reviewed: list[dict] = []
        if self.cfg.review_store:
            reviewed += fb.review_store_records(self.cfg.review_store, labels, round=k, exclude=set(trusted))
        if self.oracle:
            taken = set(trusted) | {r["id"] for r in reviewed}
            reviewed += fb.oracle_review(issues, self.oracle, labels, self.texts, classes,
                                         budget=self.cfg.review_budget, round=k, exclude=taken,
                                         positives_only=self.positives_only.get("oracle", False))
        write_labels(d / "reviewed.jsonl", reviewed)
        agreed = []
        if self.cfg.agree is not None:
            if analysis is None:
                analysis = self.step_analyze(k)[1]
            agreed = fb.agreement_records(analysis, min_prob=self.cfg.agree, round=k, texts=self.texts)
            write_labels(d / "agreement.jsonl", agreed)
        now_trusted = {**trusted, **{r["id"]: r for r in reviewed}}
        examples = fb.compile_examples(now_trusted, self.texts) + fb.compile_examples(
            {r["id"]: r for r in agreed if r["id"] not in now_trusted}, self.texts)
        write_labels(d / "examples.jsonl", examples)
        write_labels(d / "corrected_labels.jsonl",
                           fb.corrected_training_labels(labels, now_trusted, round=k))
        indexed = None
        if self.cfg.index_demos:
            indexed = fb.index_demos(reviewed + agreed, self.texts, self.chroma_dir,
                                     ontology=self.ontology_for(k))
        changed = sum(len(r["meta"]["changed"]) for r in reviewed)
        return {"reviewed": len(reviewed), "labels_changed": changed,
                "reports_with_changes": sum(1 for r in reviewed if r["meta"]["changed"]),
                "agreement_confirmed": len(agreed), "compile_examples": len(examples),
                "trusted_after": len(now_trusted), "indexed": indexed,
                "seconds": round(time.perf_counter() - t0, 2)}

    def step_recompile(self, k: int) -> dict:
        t0 = time.perf_counter()
        d = self.round_dir(k) / "recompiled"
        d.mkdir(parents=True, exist_ok=True)
        info: dict = {"learned_synonyms": [], "compiled": False}
        labels = self.read_labels(k)
        ontology = self.ontology_for(k)
        if self.cfg.learn_synonyms:
            examples = read_labels(self.round_dir(k) / "feedback" / "examples.jsonl", self.base_ontology)
            trusted = {i: dict(r.labels) for i, r in examples.items() if r.meta.source in TRUSTED_SOURCES}
            proba = {r["id"]: r["p_present"] for r in read_jsonl(self.round_dir(k) / "analysis" / "proba.jsonl")}
            th = dict(zip(self.base_ontology.names,
                          json.loads((self.round_dir(k) / "analysis" / "summary.json").read_text())["thresholds"]))
            likely = {rid: {c for c, s in rec.labels.items() if s == "present"} |
                      {c for c, p in proba.get(rid, {}).items() if p >= max(th[c], 0.5)}
                      for rid, rec in labels.items()}
            ontology, dropped = prune_learned(ontology, self.base_ontology, trusted, self.texts)
            ontology, learned = learn_synonyms(ontology, trusted, {i: r.labels for i, r in labels.items()},
                                               self.texts, likely=likely)
            info["learned_synonyms"] = [vars(x) for x in learned]
            info["dropped_synonyms"] = [{"cls": c, "phrase": p} for c, p in dropped]
        tmp = d / "classes.yaml.tmp"
        tmp.write_text(ontology.to_yaml(), encoding="utf-8")
        tmp.replace(d / "classes.yaml")
        if self.cfg.compile_optimizer:
            info.update(self._compile(k, ontology, d))
        info["seconds"] = round(time.perf_counter() - t0, 2)
        return info

    def _compile(self, k: int, ontology: Ontology, d: Path) -> dict:
        """The DSPy judge, recompiled on this round's examples (LM judge policies only)."""
        if self.cfg.judge == "none":
            raise InputError("--compile needs an LM judge (--judge ambiguous or all)", field="compile")

        examples = self.round_dir(k) / "feedback" / "examples.jsonl"
        gold = load_gold(examples, ontology)
        result = compile_program(gold, self.cfg.compile_optimizer, self.cfg.compile_budget, lm=self.lm,
                                 ontology=ontology, judge=self.cfg.judge, seed=self.cfg.seed, score=False,
                                 progress=self.progress)
        result.save(d / "program")
        cost = result.manifest.get("cost", {}).get("compile", {})
        return {"compiled": True, "compile_lm_calls": cost.get("lm_calls", 0),
                "compile_tokens": cost.get("tokens", 0), "compile_minutes": cost.get("minutes", 0)}

    def step_score(self, k: int) -> dict:
        t0 = time.perf_counter()
        classes = self.base_ontology.names
        out: dict = {}
        if self.eval_gold:
            labeler = self.labeler_for(k)
            path = self.round_dir(k) / "eval_labels.jsonl"
            reports = [Report(id=g.id, text=g.text) for g in self.eval_gold if g.text]
            if not reports:
                raise InputError("the evaluation gold has no 'text'", path=self.cfg.eval_gold, field="text")
            reused = self._reuse(k, labeler, "eval_labels.jsonl")
            label_reports(labeler, reports, path, progress=self.progress)
            recs = read_labels(path, self.base_ontology)
            eval_gold = self.eval_gold.labels_by_id()
            out["heldout_labels"] = micro_f1(_states(recs), eval_gold, classes)
            out["heldout_lm_calls"] = sum(r.meta.lm_calls for r in recs.values() if r.id not in reused)

            clf = load_classifier(self.round_dir(k) / "model")
            ids = [r.id for r in reports]
            pred = {i: p["labels"] for i, p in zip(ids, clf.predict([r.text for r in reports]))}
            out["heldout_classifier"] = micro_f1(pred, eval_gold, classes)
        if self.oracle:
            seed = {g.id for g in self.seed_gold}
            pool = {i: g for i, g in self.oracle.items() if i in self.texts and i not in seed}
            corrected = _states(read_labels(self.round_dir(k) / "feedback" / "corrected_labels.jsonl",
                                            self.base_ontology))
            raw = _states(self.read_labels(k))
            out["pool_labels_raw"] = micro_f1(raw, pool, classes)
            out["pool_labels_corrected"] = micro_f1(corrected, pool, classes)
        out["seconds"] = round(time.perf_counter() - t0, 2)
        return out

    # -- driving -------------------------------------------------------------------------
    def run_round(self, k: int) -> dict:
        results = {}
        analysis = None
        for step in STEPS:
            prior = self.done(k, step)
            if prior is not None:
                results[step] = prior
                continue
            self.log(f"round {k}: {step}")
            if step == "analyze":
                info, analysis = self.step_analyze(k)
            elif step == "feedback":
                info = self.step_feedback(k, analysis)
            else:
                info = getattr(self, f"step_{step}")(k)
            results[step] = self.finish(k, step, info)
        return results

    def run(self) -> list[dict]:
        rounds = []
        for k in range(1, self.cfg.rounds + 1):
            rounds.append(self.run_round(k))
            write_summary(self.out, rounds)
        return rounds
