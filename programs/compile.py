"""Compile the labelling program's judge against a gold set with a DSPy optimizer.

What is optimized: the judge ``dspy.Predict(JudgeFinding)`` inside `MentionLabeler` (its
instructions and demos). The rule mention finder is not trainable. Training data are
judge-level examples built from report-level gold (`judge_examples`), scored with
`judge_agreement` (or `judge_feedback` for GEPA). This is one LM call per example; compiling
the whole labeler against report-level examples would cost a labelling run per report.

Entry point for Python (and `radlabel loop`)::

    from radlabel.labels import load_gold, split_gold
    from radlabel.programs.compile import compile_program
    gold = load_gold("gold.jsonl")
    train, held = split_gold(gold, n_compile=40)
    result = compile_program(train, "bootstrap", budget="light", heldout=held)
    result.save("program/")          # DSPy program.json + radlabel_program.json manifest
    result.labeler("No pleural effusion.")

Budgets: "light" (the default) fits a shared 2-core CPU running the embedded 1.5B model;
"medium" and "heavy" are for a GPU server (e.g. ``--lm openai/... --api-base``). Any knob can be
overridden: ``"light,num_candidates=4"`` or a dict.
"""
from __future__ import annotations

import datetime as _dt
import importlib
import random
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

import dspy

from radlabel.errors import InputError
from radlabel.labels import GoldSet
from radlabel.lm.config import LMConfig, load_config
from radlabel.lm.factory import make_lm
from radlabel.ontology import Ontology
from radlabel.programs.judge_examples import EXAMPLE_POLICIES, judge_examples
from radlabel.programs.labeler import Labeler
from radlabel.programs.metrics import judge_agreement, judge_feedback
from radlabel.programs.modules import make_judge
from radlabel.programs.signatures import JudgeFinding

PROPOSER_MAX_TOKENS = 768  # instructions are a paragraph; judge answers need far fewer

# Knobs, by budget. LM calls grow with: val_size x candidates (random-search, mipro),
# max_metric_calls (gepa), bsize x num_candidates x max_steps + candidates x simba_examples
# (simba validates its finalists on its whole trainset, so that set is capped).
BUDGETS: dict[str, dict] = {
    "light": dict(max_demos=4, max_labeled=8, num_candidates=2, num_trials=2, val_size=8,
                  max_metric_calls=30, reflection_minibatch=3, bsize=6, max_steps=1,
                  simba_examples=12, heldout_max=40),
    "medium": dict(max_demos=4, max_labeled=8, num_candidates=6, num_trials=12, val_size=40,
                   max_metric_calls=300, reflection_minibatch=3, bsize=16, max_steps=6,
                   simba_examples=80, heldout_max=200),
    "heavy": dict(max_demos=8, max_labeled=16, num_candidates=12, num_trials=30, val_size=100,
                  max_metric_calls=1500, reflection_minibatch=5, bsize=32, max_steps=12,
                  simba_examples=100000, heldout_max=1000),
}


def parse_budget(spec: str | dict | None) -> dict:
    """'light' | 'medium' | 'heavy', optionally followed by ',key=value' overrides, or a dict."""
    if spec is None:
        spec = "light"
    if isinstance(spec, dict):
        base, overrides = dict(BUDGETS["light"]), spec
    else:
        parts = [p.strip() for p in str(spec).split(",") if p.strip()]
        name = parts[0] if parts and "=" not in parts[0] else "light"
        if name not in BUDGETS:
            raise InputError(f"unknown budget {name!r}; use {', '.join(BUDGETS)} or key=value "
                             "overrides", field="budget")
        base, overrides = dict(BUDGETS[name]), {}
        for p in parts:
            if "=" not in p:
                continue
            k, v = (s.strip() for s in p.split("=", 1))
            try:
                overrides[k] = int(v)
            except ValueError:
                raise InputError(f"budget value for {k!r} must be an integer, got {v!r}",
                                 field="budget") from None
    unknown = set(overrides) - set(base)
    if unknown:
        raise InputError(f"unknown budget knob(s) {sorted(unknown)}; known: {sorted(base)}",
                         field="budget")
    base.update(overrides)
    return base


class JudgeProgram(dspy.Module):
    """The trainable judge alone, as optimizers want it: (finding, sentences) -> state.

    Its predictor is named ``judge`` like `MentionLabeler`'s, so the compiled state drops in.
    """

    def __init__(self, demos: bool = True, ontology: Ontology | None = None):
        super().__init__()
        self.judge = make_judge(ontology, demos)

    def forward(self, finding: str, sentences: str) -> dspy.Prediction:
        return self.judge(finding=finding, sentences=sentences)


@dataclass
class Cost:
    lm_calls: int = 0
    tokens: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"lm_calls": self.lm_calls, "tokens": self.tokens,
                "minutes": round(self.seconds / 60, 2)}


@dataclass
class CompileResult:
    """The compiled labeler, its judge program, and the manifest saved next to it."""

    labeler: object  # radlabel.programs.Labeler
    judge: JudgeProgram
    manifest: dict = field(default_factory=dict)

    def save(self, directory: str | Path) -> Path:
        return self.labeler.save_program(directory, manifest=self.manifest)


class _Meter:
    """LM calls and tokens spent inside a block (DSPy's usage tracker) and its wall time."""

    def __init__(self):
        self.cost = Cost()

    def __enter__(self):
        from dspy.utils.usage_tracker import track_usage

        self._t0 = time.perf_counter()
        self._cm = track_usage()
        self._usage = self._cm.__enter__()
        return self.cost

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        for entries in self._usage.usage_data.values():
            self.cost.lm_calls += len(entries)
            for e in entries:
                self.cost.tokens += int(e.get("total_tokens") or
                                        (e.get("prompt_tokens", 0) + e.get("completion_tokens", 0)))
        self.cost.seconds = time.perf_counter() - self._t0
        return False


def score_judge(program: dspy.Module, examples: list[dspy.Example], *, progress: bool = False) -> float | None:
    """Mean judge agreement (0..1) on examples; an LM failure scores 0 for that example."""
    if not examples:
        return None
    ev = dspy.Evaluate(devset=examples, metric=judge_agreement, num_threads=1,
                       display_progress=progress, max_errors=len(examples) + 1)
    return round(ev(program).score / 100.0, 4)


def _split_train_val(examples: list, val_size: int, seed: int) -> tuple[list, list]:
    """Held-back validation examples for optimizers that search; all of them if too few."""
    ex = list(examples)
    random.Random(seed).shuffle(ex)
    if len(ex) < 2 * val_size:
        return ex, ex
    return ex[val_size:], ex[:val_size]


def proposer_lm(lm_arg, task_lm):
    """The LM that writes instructions (MIPROv2, SIMBA) or reflects (GEPA): the same model, with
    room for a paragraph. The embedded engine is shared, so this loads nothing new."""
    if lm_arg is not None and not isinstance(lm_arg, (str, LMConfig)):
        return task_lm  # a ready dspy.LM (or a test's scripted LM): use it as given
    cfg = lm_arg if isinstance(lm_arg, LMConfig) else load_config(model=lm_arg)
    return make_lm(cfg.model_copy(update={"max_tokens": max(cfg.max_tokens, PROPOSER_MAX_TOKENS)}))


def _labeled(student, train, val, knobs, lm, seed):
    return dspy.LabeledFewShot(k=knobs["max_labeled"]).compile(student, trainset=train)


def _bootstrap(student, train, val, knobs, lm, seed):
    tp = dspy.BootstrapFewShot(metric=judge_agreement, max_bootstrapped_demos=knobs["max_demos"],
                               max_labeled_demos=knobs["max_labeled"], max_rounds=1)
    return tp.compile(student, trainset=train)


def _random_search(student, train, val, knobs, lm, seed):
    tp = dspy.BootstrapFewShotWithRandomSearch(
        metric=judge_agreement, max_bootstrapped_demos=knobs["max_demos"],
        max_labeled_demos=knobs["max_labeled"], num_candidate_programs=knobs["num_candidates"],
        num_threads=1)
    return tp.compile(student, trainset=train, valset=val)


def _mipro(student, train, val, knobs, lm, seed):
    tp = dspy.MIPROv2(metric=judge_agreement, prompt_model=lm, task_model=dspy.settings.lm, auto=None,
                      num_candidates=knobs["num_candidates"],
                      max_bootstrapped_demos=knobs["max_demos"],
                      max_labeled_demos=knobs["max_labeled"], num_threads=1, seed=seed,
                      verbose=False)
    return tp.compile(student, trainset=train, valset=val, num_trials=knobs["num_trials"],
                      minibatch=len(val) > 35, requires_permission_to_run=False,
                      view_data_batch_size=min(10, len(train)))


def _gepa(student, train, val, knobs, lm, seed):
    tp = dspy.GEPA(metric=judge_feedback, max_metric_calls=knobs["max_metric_calls"],
                   reflection_lm=lm, reflection_minibatch_size=knobs["reflection_minibatch"],
                   num_threads=1, use_merge=False, seed=seed)
    return tp.compile(student, trainset=train, valset=val)


def _simba(student, train, val, knobs, lm, seed):
    train = train[: max(knobs["simba_examples"], 2)]
    bsize = min(knobs["bsize"], len(train))
    tp = dspy.SIMBA(metric=judge_agreement, bsize=bsize, num_candidates=knobs["num_candidates"],
                    max_steps=knobs["max_steps"], max_demos=knobs["max_demos"],
                    prompt_model=lm, num_threads=1)
    return tp.compile(student, trainset=train, seed=seed)


@dataclass(frozen=True)
class Optimizer:
    """One DSPy optimizer: how to run it on the judge, and what it needs.

    ``run(student, train, val, knobs, prompt_lm, seed)`` returns the compiled judge;
    ``all_examples``: it trains on every example (no held-back validation split);
    ``needs``: an optional package it imports late (checked before any LM call)."""

    run: Callable[..., JudgeProgram]
    all_examples: bool = False
    needs: str | None = None


# The one table of optimizers: `--optimizer` choices, the loop's and the CLI's, come from here.
OPTIMIZER_TABLE: dict[str, Optimizer] = {
    "labeled": Optimizer(_labeled, all_examples=True),
    "bootstrap": Optimizer(_bootstrap, all_examples=True),
    "random-search": Optimizer(_random_search),
    "mipro": Optimizer(_mipro, needs="optuna"),
    "gepa": Optimizer(_gepa),
    "simba": Optimizer(_simba),
}
OPTIMIZERS = tuple(OPTIMIZER_TABLE)


def optimizer_spec(name: str) -> Optimizer:
    try:
        return OPTIMIZER_TABLE[name]
    except KeyError:
        raise InputError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}",
                         field="optimizer") from None


def run_optimizer(optimizer: str, student: JudgeProgram, train: list, val: list, knobs: dict,
                  prompt_lm, seed: int = 0) -> JudgeProgram:
    """One of DSPy's optimizers on the judge, with this budget's knobs.

    The task LM is the one in `dspy.context`; `prompt_lm` proposes instructions / reflects.
    """
    return optimizer_spec(optimizer).run(student, train, val, knobs, prompt_lm, seed)


def compile_program(gold: GoldSet, optimizer: str = "bootstrap", budget: str | dict | None = "light",
                    *, lm=None, ontology: Ontology | None = None, judge: str = "ambiguous",
                    examples: str | None = None, heldout: GoldSet | None = None, seed: int = 0,
                    score: bool = True, progress: bool = True) -> CompileResult:
    """Compile the judge of a `MentionLabeler` on `gold` and return the ready labeler.

    Args:
        gold: compile part of a gold set (`radlabel.labels.load_gold` / `split_gold`).
        optimizer: one of OPTIMIZERS.
        budget: "light" (default; a busy CPU), "medium", "heavy", or overrides (see parse_budget).
        lm: an LMConfig, a model string or a `dspy.LM`; default: the embedded model.
        ontology: the class set gold is labelled with (default: chest X-ray).
        judge: the labeler's judge policy ("ambiguous" or "all").
        examples: which mentions become training examples (default: the same as `judge`).
        heldout: gold not used for compiling; its judge examples score the program before and
            after (capped at the budget's heldout_max). Without it, the validation examples are
            used and the manifest says the score was seen while compiling.
        seed: for splits and optimizers.
        score: False skips the before/after judge scores (saves 2 x examples LM calls; use
            `radlabel evaluate --program` for report-level scores instead).
    Returns:
        CompileResult with the labeler (compiled judge loaded), the judge program and a manifest
        (optimizer, knobs, gold hash, LM, class-set hash, scores before/after, cost, date, versions).
    """
    spec = optimizer_spec(optimizer)
    if judge not in EXAMPLE_POLICIES:
        raise InputError(f"--judge must be one of {', '.join(EXAMPLE_POLICIES)} to compile "
                         "(judge=none has nothing to train)", field="judge")
    ontology = ontology if ontology is not None else Ontology.load(None)
    if gold.ontology_hash and gold.ontology_hash != ontology.hash:
        raise InputError("gold was loaded with a different class set than the one compiled for",
                         path=gold.source, field="labels")
    knobs = parse_budget(budget)
    _check_optional_dependency(optimizer, spec)
    policy = examples or judge
    exs = judge_examples(gold, ontology, policy)
    if len(exs) < 2:
        raise InputError(f"only {len(exs)} judge example(s) from {len(gold)} gold reports with "
                         f"policy {policy!r}; use more gold reports or --examples all",
                         path=gold.source)
    train, val = _split_train_val(exs, knobs["val_size"], seed)
    separate_val = train is not val
    if spec.all_examples:
        train = exs
    held = judge_examples(heldout, ontology, policy)[: knobs["heldout_max"]] if heldout else []
    scored_on = "heldout" if held else "validation examples (seen while compiling)"
    score_set = (held or val) if score else []

    labeler = Labeler(ontology, lm=lm, judge=judge)
    task_lm = labeler.lm
    prompt_lm = proposer_lm(lm, task_lm)
    student = JudgeProgram(ontology=ontology)
    with dspy.context(lm=task_lm, adapter=dspy.JSONAdapter()):
        with _Meter() as before_cost:
            before = score_judge(student, score_set, progress=progress)
        with _Meter() as compile_cost:
            compiled = run_optimizer(optimizer, student, train, val, knobs, prompt_lm, seed)
        with _Meter() as after_cost:
            after = score_judge(compiled, score_set, progress=progress)
    labeler.program.judge.load_state(compiled.judge.dump_state())

    manifest = {
        "optimizer": optimizer, "settings": knobs, "budget": budget if isinstance(budget, str) else "custom",
        "seed": seed, "examples_policy": policy,
        "gold": {"source": gold.source, "hash": gold.hash, "kind": gold.kind, "reports": len(gold),
                 "train_examples": len(train), "val_examples": len(val) if separate_val else 0},
        "heldout": ({"source": heldout.source, "hash": heldout.hash, "reports": len(heldout),
                     "examples": len(held)} if heldout else None),
        "lm": labeler.model_name,
        "classes_hash": ontology.hash,
        "scores": ({"metric": "judge_agreement", "scored_on": scored_on, "examples": len(score_set),
                    "before": before, "after": after} if score else None),
        "cost": {"compile": compile_cost.as_dict(), "scoring": {
            "lm_calls": before_cost.lm_calls + after_cost.lm_calls,
            "tokens": before_cost.tokens + after_cost.tokens,
            "minutes": round((before_cost.seconds + after_cost.seconds) / 60, 2)}},
        "demos": len(compiled.judge.demos),
        "instructions_changed": compiled.judge.signature.instructions != JudgeFinding.instructions,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "radlabel_version": _version("radlabel"), "dspy_version": _version("dspy"),
    }
    return CompileResult(labeler, compiled, manifest)


def _check_optional_dependency(name: str, spec: Optimizer) -> None:
    """Fail before any LM call, not after minutes of proposing (MIPROv2 imports optuna late)."""
    if spec.needs:
        try:
            importlib.import_module(spec.needs)
        except ImportError:
            raise InputError(f"the {name} optimizer needs {spec.needs}: pip install {spec.needs} (it "
                             "is in requirements.txt)", field="optimizer") from None


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"
