"""DSPy metrics for labelling programs, at two levels.

* Report level (`state_agreement`, `state_feedback`): the example holds ``gold_states``
  {class: state} (not ``labels``: that is a method of dspy.Example) and the prediction ``states``
  (what `MentionLabeler` returns). Score = share of classes that
  agree.
* Judge level (`judge_agreement`, `judge_feedback`): one finding in one report; the example holds
  ``state`` and the judge prediction ``state``. This is what the optimizers compile against,
  because it costs one LM call per example.

Both honour ``gold_kind`` on the example: with positives-only gold (0/1, like MeSH-coded IU),
0 does not say absent vs uncertain vs unmentioned, so only present-vs-not is compared.
The ``*_feedback`` metrics return ``dspy.Prediction(score=, feedback=)`` in the shape GEPA's
reflective optimizer reads; the text names each miss, e.g.
"Pleural Effusion: you said absent, gold present".
"""
from __future__ import annotations

import dspy

from radlabel.labels import POSITIVES_ONLY


def _positives_only(example) -> bool:
    return example.get("gold_kind") == POSITIVES_ONLY


def _pred_value(pred, key: str):
    if pred is None:
        return None
    return pred.get(key) if hasattr(pred, "get") else getattr(pred, key, None)


def states_agree(gold: str, pred: str | None, positives_only: bool) -> bool:
    """Equal states; in positives-only mode, equal present-or-not."""
    if positives_only:
        return (gold == "present") == (pred == "present")
    return gold == pred


def _report_misses(example, pred) -> tuple[float, list[str]]:
    gold = example["gold_states"]
    states = _pred_value(pred, "states") or {}
    po = _positives_only(example)
    misses = []
    for cls, g in gold.items():
        p = states.get(cls, "not_mentioned")
        if not states_agree(g, p, po):
            misses.append(f"{cls}: you said {p}, gold {_gold_words(g, po)}")
    return (1.0 - len(misses) / len(gold)) if gold else 0.0, misses


def _gold_words(gold: str, positives_only: bool) -> str:
    if positives_only and gold != "present":
        return "not present (absent, uncertain or not mentioned)"
    return gold


def state_agreement(example, pred, trace=None) -> float | bool:
    """Report level: share of classes whose state agrees; during bootstrapping, all must agree."""
    score, _ = _report_misses(example, pred)
    return score >= 1.0 if trace is not None else score


def state_feedback(gold, pred, trace=None, pred_name=None, pred_trace=None) -> dspy.Prediction:
    """Report-level score plus the misses in words, for GEPA."""
    score, misses = _report_misses(gold, pred)
    feedback = "; ".join(misses) if misses else "All classes agree with the gold labels."
    return dspy.Prediction(score=score, feedback=feedback)


def judge_agreement(example, pred, trace=None) -> float | bool:
    """Judge level: 1 when the judged state agrees with gold (present-or-not for 0/1 gold)."""
    ok = states_agree(example.state, _pred_value(pred, "state"), _positives_only(example))
    return ok if trace is not None else float(ok)


def judge_feedback(gold, pred, trace=None, pred_name=None, pred_trace=None) -> dspy.Prediction:
    """Judge-level score plus a sentence saying what was wrong and why it matters."""
    said = _pred_value(pred, "state")
    ok = states_agree(gold.state, said, _positives_only(gold))
    name = gold.finding.split(":", 1)[0]
    if ok:
        feedback = f"{name}: correct ({said})."
    elif _positives_only(gold):
        # 0/1 gold records a coder's decision, not our cue rules: say what the coders decided
        # for this wording instead of restating the rules the prediction already followed.
        verdict = ("coded this finding as present from this wording, hedged or not" if gold.state == "present"
                   else "did not code this finding from this wording")
        feedback = (f"{name}: you said {said}, gold {_gold_words(gold.state, True)}. "
                    f"Sentences: \"{gold.sentences}\". The gold set's coders {verdict}; "
                    "infer which wordings they count as present.")
    else:
        feedback = (f"{name}: you said {said}, gold {gold.state}. "
                    f"Sentences: \"{gold.sentences}\". Re-read the cues for this finding only: "
                    "negation means absent, hedging means uncertain, any stated finding is present.")
    return dspy.Prediction(score=float(ok), feedback=feedback)
