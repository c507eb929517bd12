"""Scores of predicted labels against gold: F1 per class, state confusion, calibration.

The one scorer: `evaluate`, `analyze`, the loop, training (validation metrics) and the benches
all count TP/FP/FN here, from state dicts (`f1_scores`) or 0/1 matrices (`f1_from_matrix`).
F1 uses the same definitions as the shared scorer (shared/tools/score.py): positive = present,
uncertain and not_mentioned are negative; micro F1 pools TP/FP/FN over all classes; macro F1
averages per-class F1 over classes with gold support > 0; a gold id with no prediction (or a
failed one) counts as all-negative.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from radlabel.schema import STATES


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1. F1 = 2TP / (2TP + FP + FN): equal to 2PR / (P + R), but one
    division, so an exact half (13/32) rounds the same way everywhere."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return p, r, f


@dataclass
class ClassScore:
    support: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return prf(self.tp, self.fp, self.fn)[0]

    @property
    def recall(self) -> float:
        return prf(self.tp, self.fp, self.fn)[1]

    @property
    def f1(self) -> float:
        return prf(self.tp, self.fp, self.fn)[2]

    def add(self, other: "ClassScore") -> None:
        self.support += other.support
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @classmethod
    def pooled(cls, scores) -> "ClassScore":
        """TP/FP/FN (and support) summed over `scores`: the micro-average counts."""
        tot = cls()
        for s in scores:
            tot.add(s)
        return tot


@dataclass
class F1Scores:
    per_class: dict[str, ClassScore]
    missing: list[str] = field(default_factory=list)  # gold ids without a usable prediction

    @property
    def micro(self) -> ClassScore:
        return ClassScore.pooled(self.per_class.values())

    @property
    def micro_f1(self) -> float:
        return self.micro.f1

    @property
    def macro_f1(self) -> float:
        f1s = [c.f1 for c in self.per_class.values() if c.support > 0]
        return sum(f1s) / len(f1s) if f1s else 0.0

    def as_dict(self) -> dict:
        return {"micro_f1": round(self.micro_f1, 4), "macro_f1": round(self.macro_f1, 4),
                "missing": len(self.missing),
                "per_class": {k: {"support": v.support, "tp": v.tp, "fp": v.fp, "fn": v.fn,
                                  "precision": round(v.precision, 4), "recall": round(v.recall, 4),
                                  "f1": round(v.f1, 4)} for k, v in self.per_class.items()}}


def f1_scores(gold: dict[str, dict[str, str]], pred: dict[str, dict[str, str]],
              classes: list[str]) -> F1Scores:
    """Per-class TP/FP/FN of `present` over the gold ids."""
    per = {c: ClassScore() for c in classes}
    missing = [gid for gid in gold if gid not in pred]
    for gid, g in gold.items():
        p = pred.get(gid, {})
        for c in classes:
            gp, pp = g.get(c) == "present", p.get(c) == "present"
            s = per[c]
            s.support += gp
            if gp and pp:
                s.tp += 1
            elif pp:
                s.fp += 1
            elif gp:
                s.fn += 1
    return F1Scores(per, missing)


def f1_from_matrix(Y, Yhat, classes: list[str] | None = None) -> F1Scores:
    """The same scores from (n, C) 0/1 matrices: Y gold, Yhat predicted (a value > 0.5 is positive).

    Columns are named by `classes` (default "0", "1", ...)."""
    Y, Yhat = np.asarray(Y, dtype=float) > 0.5, np.asarray(Yhat, dtype=float) > 0.5
    if Y.ndim != 2 or Y.shape != Yhat.shape:
        raise ValueError(f"gold {Y.shape} and predictions {Yhat.shape}: want two (n, C) matrices")
    names = list(classes) if classes is not None else [str(j) for j in range(Y.shape[1])]
    tp, fp, fn = (Y & Yhat).sum(0), (~Y & Yhat).sum(0), (Y & ~Yhat).sum(0)
    per = {c: ClassScore(support=int(Y[:, j].sum()), tp=int(tp[j]), fp=int(fp[j]), fn=int(fn[j]))
           for j, c in enumerate(names)}
    return F1Scores(per)


def state_confusion(gold: dict[str, dict[str, str]], pred: dict[str, dict[str, str]],
                    classes: list[str]) -> dict[str, dict[str, int]]:
    """Counts gold state -> predicted state, pooled over classes (four-state gold only)."""
    conf = {g: {p: 0 for p in STATES} for g in STATES}
    for gid, g in gold.items():
        p = pred.get(gid, {})
        for c in classes:
            conf[g.get(c, "not_mentioned")][p.get(c, "not_mentioned")] += 1
    return conf


@dataclass
class Calibration:
    bins: list[dict]  # {"lo", "hi", "n", "mean_prob", "frac_present"}
    ece: float
    brier: float
    n: int


def calibration(gold: dict[str, dict[str, str]], probs: dict[str, dict[str, float]],
                classes: list[str], n_bins: int = 10) -> Calibration | None:
    """Reliability of P(present) against gold presence, pooled over classes (None: no probs)."""
    pairs = [(float(probs[gid][c]), g.get(c) == "present")
             for gid, g in gold.items() if gid in probs for c in classes if c in probs[gid]]
    if not pairs:
        return None
    bins = []
    ece = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        inside = [(p, y) for p, y in pairs if lo <= p < hi or (b == n_bins - 1 and p == 1.0)]
        if not inside:
            bins.append({"lo": lo, "hi": hi, "n": 0, "mean_prob": None, "frac_present": None})
            continue
        mp = sum(p for p, _ in inside) / len(inside)
        fy = sum(y for _, y in inside) / len(inside)
        ece += len(inside) / len(pairs) * abs(mp - fy)
        bins.append({"lo": lo, "hi": hi, "n": len(inside), "mean_prob": mp, "frac_present": fy})
    brier = sum((p - y) ** 2 for p, y in pairs) / len(pairs)
    return Calibration(bins, ece, brier, len(pairs))
