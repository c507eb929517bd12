"""`Labeler`: the Python entry point. ``Labeler()(text)`` returns a `LabelRecord`.

It binds a program (a DSPy module, default or compiled), an ontology and an LM, and turns each
prediction into a validated, metered record; failures become failed records, never guesses.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import dspy

from radlabel.errors import InputError
from radlabel.lm.config import LMConfig, load_config
from radlabel.ontology import Ontology
from radlabel.programs.modules import FullReportLabeler, LabelingFailed, MentionLabeler
from radlabel.programs.validate import InvalidAnswer, validate_answer
from radlabel.schema import LabelMeta, LabelRecord

MAX_REPORT_CHARS = 20_000  # longer texts are not reports; they would overflow the context
MANIFEST = "radlabel_program.json"
STRATEGIES = ("mentions", "full")


class Labeler:
    """Label reports with a DSPy program on the configured LM.

    `max_report_chars` (default MAX_REPORT_CHARS; CLI `--max-report-chars`): longer texts fail.

    Args:
        classes: class file path, bundled set name, or an Ontology (default: chest X-ray, 14).
        lm: an LMConfig, a model string ("embedded", "openai/..."), or a ready `dspy.LM`.
        strategy: "mentions" (default; LM judges only mentioned classes) or "full" (one prompt).
        judge: for "mentions": "ambiguous" (default), "all" or "none" (rules only, no LM).
        retriever: optional CandidateRetriever for large ontologies.
        program: directory of a compiled program (`radlabel compile -o DIR`).
        scorer: for "mentions": "likelihood" (default; the judge reads the LM's own state
            probabilities, falling back to generation where the LM gives none) or "generate".
        calibrate: divide out the judge's content-free prior per class (Zhao et al. 2021).
        judge_cache: a path, True (default: ``RADLABEL_JUDGE_CACHE`` or
            ``<cache_dir>/judgments.sqlite``) or False: judge answers are reused per (class,
            normalised sentences, program, model, retrieved demos); only hashes and answers
            are stored.
        demos: for "mentions": optional `radlabel.retrieval.SentenceDemos`; each judge call
            also shows the k most similar already-labelled sentences of its class (gold and
            reviewed first), from the Chroma reports collection.
        override_at: with judge="all", the calibrated confidence the LM needs to overrule a
            clear (unhedged) rule reading (default 0.8; `MentionLabeler`).
    """

    max_report_chars = MAX_REPORT_CHARS

    def __init__(self, classes=None, lm=None, *, strategy: str = "mentions", judge: str = "ambiguous",
                 retriever=None, program: str | Path | None = None, api_base: str | None = None,
                 scorer: str = "likelihood", calibrate: bool = True, judge_cache=True, demos=None,
                 override_at: float = 0.8):
        self.ontology = classes if isinstance(classes, Ontology) else Ontology.load(classes)
        if strategy not in STRATEGIES:
            raise InputError(f"strategy must be one of {', '.join(STRATEGIES)}", field="strategy")
        self.strategy, self.judge = strategy, judge
        if demos is not None and strategy != "mentions":
            raise InputError("retrieved demos feed the mentions strategy's judge; the full-report "
                             "prompt takes none", field="demos")
        if strategy == "full":
            self.program = FullReportLabeler(self.ontology)
        else:
            self.program = MentionLabeler(self.ontology, judge=judge, retriever=retriever,
                                          scorer=scorer, calibrate=calibrate, demo_retriever=demos,
                                          override_at=override_at,
                                          cache=_open_cache(judge_cache) if judge != "none" else None)
        self.program_dir = None
        if program is not None:
            self.load_program(program)
        self.uses_lm = not (strategy == "mentions" and judge == "none")
        self._lm_arg, self._api_base = lm, api_base
        self._lm = None

    # -- LM ------------------------------------------------------------------------------
    @property
    def lm(self):
        if self._lm is None and self.uses_lm:
            arg = self._lm_arg
            if arg is None or isinstance(arg, str):
                cfg = load_config(model=arg, api_base=self._api_base)
                from radlabel.lm.factory import make_lm

                self._lm = make_lm(cfg)
            elif isinstance(arg, LMConfig):
                from radlabel.lm.factory import make_lm

                self._lm = make_lm(arg)
            else:
                self._lm = arg
        return self._lm

    @property
    def model_name(self) -> str:
        if not self.uses_lm:
            return "rules"
        return getattr(self.lm, "model", str(self.lm))

    @property
    def adapter(self):
        return dspy.JSONAdapter()

    # -- identity ------------------------------------------------------------------------
    @property
    def program_hash(self) -> str:
        state = self.program.dump_state() if hasattr(self.program, "dump_state") else {}
        info = {"state": state, "strategy": self.strategy, "judge": self.judge,
                "classes": self.ontology.hash}
        if isinstance(self.program, MentionLabeler) and self.program.scorer != "generate":
            info.update(scorer=self.program.scorer, calibrate=self.program.calibrate)
        if isinstance(self.program, MentionLabeler) and self.program.demo_retriever is not None:
            info.update(retrieved_demos=self.program.demo_retriever.identity())
        if isinstance(self.program, MentionLabeler) and self.judge == "all":
            # "hedged too": since the bar also holds for hedged mentions (an earlier run's
            # labels, which let the LM decide those, are another program)
            info.update(override_at=self.program.override_at, override_scope="hedged too")
        blob = json.dumps(info, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    # -- labelling -----------------------------------------------------------------------
    def __call__(self, text: str, id: str = "report") -> LabelRecord:
        t0 = time.perf_counter()
        meta = dict(model=self.model_name, program=self.program_hash)
        if not isinstance(text, str) or not text.strip():
            return _failed(id, meta, "empty report text", t0)
        if len(text) > self.max_report_chars:
            return _failed(id, meta, f"report is {len(text)} characters; the limit is "
                                     f"{self.max_report_chars} (split it or raise the limit with "
                                     "--max-report-chars N)", t0)
        from dspy.utils.usage_tracker import track_usage

        with dspy.context(lm=self.lm, adapter=self.adapter), track_usage() as usage:
            try:
                pred = self.program(report=text)
                validate_answer(pred.states, pred.evidence, text, self.ontology)
            except (LabelingFailed, InvalidAnswer) as e:
                return _failed(id, meta, str(e), t0, usage)
        tokens, calls = _usage_totals(usage)
        extra = getattr(pred, "extra_usage", None) or {}
        tokens, calls = tokens + extra.get("tokens", 0), calls + extra.get("calls", 0)
        confidence = getattr(pred, "confidence", None) or {}
        if confidence:  # the likelihood judge's probability per judged class
            meta["confidence"] = dict(confidence)
        return LabelRecord(id=id, labels=pred.states, evidence=pred.evidence,
                           meta=LabelMeta(**meta, latency_s=round(time.perf_counter() - t0, 3),
                                          tokens=tokens, lm_calls=calls, status="ok",
                                          judged=list(pred.judged)))

    # -- artifacts -----------------------------------------------------------------------
    def save_program(self, directory: str | Path, manifest: dict | None = None) -> Path:
        """Save the program state (DSPy JSON) plus a manifest; loadable with `Labeler.load`."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.program.save(str(d / "program.json"))
        (d / "classes.yaml").write_text(self.ontology.to_yaml(), encoding="utf-8")
        info = {"strategy": self.strategy, "judge": self.judge, "classes_hash": self.ontology.hash,
                "program_hash": self.program_hash, **(manifest or {})}
        (d / MANIFEST).write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
        return d

    def load_program(self, directory: str | Path) -> None:
        d = Path(directory)
        if not (d / "program.json").exists():
            raise InputError("not a radlabel program directory (no program.json)", path=str(d))
        self.program.load(str(d / "program.json"))
        self.program_dir = d

    @classmethod
    def load(cls, directory: str | Path, **kwargs) -> "Labeler":
        """Recreate the Labeler a program was compiled with (its classes, strategy and judge)."""
        d = Path(directory)
        mf = d / MANIFEST
        if not mf.exists():
            raise InputError(f"no {MANIFEST} here; compile with `radlabel compile -o DIR`", path=str(d))
        info = json.loads(mf.read_text(encoding="utf-8"))
        kwargs.setdefault("classes", str(d / "classes.yaml"))
        kwargs.setdefault("strategy", info.get("strategy", "mentions"))
        kwargs.setdefault("judge", info.get("judge", "ambiguous"))
        return cls(program=d, **kwargs)


def _open_cache(spec):
    """A JudgmentCache for ``spec`` (path, True = default location, False/None = none)."""
    from radlabel.programs.judge_cache import JudgmentCache, default_path

    if spec is None or spec is False:
        return None
    if spec is True:
        path = default_path()
        return JudgmentCache(path) if path is not None else None
    if isinstance(spec, (str, Path)):
        return JudgmentCache(spec)
    return spec


def _usage_totals(usage) -> tuple[int, int]:
    tokens = calls = 0
    for entries in usage.usage_data.values():
        calls += len(entries)
        for e in entries:
            tokens += int(e.get("total_tokens") or (e.get("prompt_tokens", 0) + e.get("completion_tokens", 0)))
    return tokens, calls


def _failed(id, meta, reason, t0, usage=None) -> LabelRecord:
    tokens, calls = _usage_totals(usage) if usage is not None else (0, 0)
    return LabelRecord(id=id, meta=LabelMeta(**meta, latency_s=round(time.perf_counter() - t0, 3),
                                             tokens=tokens, lm_calls=calls, status="failed",
                                             error=reason))
