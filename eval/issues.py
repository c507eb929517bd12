"""Rank suspect labels: which (report, class) labels does an out-of-fold classifier doubt most?

Confident learning (cleanlab) on multi-label data: every report's probabilities come from a
model that never saw it, so a label the model confidently contradicts is likely a labelling
error. Each (report, class) pair gets cleanlab's self-confidence quality (P(given label));
the issue score is 1 - quality, and cleanlab's per-class filter marks which pairs it flags.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radlabel.schema import LabelRecord

TRUSTED_SOURCES = frozenset({"gold", "reviewed"})


def positive_states(uncertain_as: str = "negative") -> set[str]:
    return {"present"} | ({"uncertain"} if uncertain_as == "positive" else set())


def state_matrix(records: dict[str, LabelRecord], ids: list[str], classes: list[str]) -> list[list[str]]:
    """Per report, the given state of each class (missing = not_mentioned)."""
    return [[records[i].labels.get(c, "not_mentioned") for c in classes] for i in ids]


def multi_hot(states: list[list[str]], uncertain_as: str = "negative") -> np.ndarray:
    pos = positive_states(uncertain_as)
    return np.array([[1 if s in pos else 0 for s in row] for row in states], dtype=np.int8).reshape(
        len(states), len(states[0]) if states else 0)


@dataclass
class IssueRanking:
    quality: np.ndarray   # (n, C) cleanlab self-confidence: P(given label) out of fold
    flagged: np.ndarray   # (n, C) bool: cleanlab's per-class filter calls it a label issue

    @property
    def score(self) -> np.ndarray:
        return 1.0 - self.quality


def rank_label_issues(Y: np.ndarray, P: np.ndarray) -> IssueRanking:
    """cleanlab's multi-label per-class quality scores and label-issue mask for multi-hot Y."""
    from cleanlab.multilabel_classification.filter import find_multilabel_issues_per_class
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class

    Y = np.asarray(Y, dtype=int)
    P = np.clip(np.asarray(P, dtype=float), 1e-6, 1 - 1e-6)
    labels = [list(np.flatnonzero(row)) for row in Y]
    quality = np.asarray(get_label_quality_scores_per_class(labels=labels, pred_probs=P,
                                                            method="self_confidence"))
    try:
        flagged = np.asarray(find_multilabel_issues_per_class(labels=labels, pred_probs=P), dtype=bool)
    except ValueError:  # a class too rare for confident learning: fall back to P(given) < 0.5
        flagged = quality < 0.5
    return IssueRanking(quality=quality, flagged=flagged)


def suggest_state(given: str, positive: set[str], evidence: str | None) -> str:
    """The state on the other side of the given one: an issue says the label looks flipped."""
    if given not in positive:
        return "present"
    return "absent" if evidence else "not_mentioned"


def issue_lines(ids: list[str], classes: list[str], states: list[list[str]], P: np.ndarray,
                ranking: IssueRanking, thresholds, *, evidence: dict[str, dict[str, str]] | None = None,
                exclude: set[str] = frozenset(), uncertain_as: str = "negative",
                limit: int | None = None) -> list[dict]:
    """issues.jsonl rows {"id","class","given","suggested","score"}, most suspect first.

    A pair is listed when cleanlab flags it or the classifier is on the other side of its
    threshold. Flagged pairs come first (confident learning's per-class thresholds handle class
    imbalance better than a raw probability), each group by score; reports in ``exclude`` (gold
    or already reviewed) are never listed again.
    """
    pos = positive_states(uncertain_as)
    score = ranking.score
    rows = []
    for i, rid in enumerate(ids):
        if rid in exclude:
            continue
        for j, cls in enumerate(classes):
            given = states[i][j]
            disagrees = (P[i, j] >= thresholds[j]) != (given in pos)
            if not (ranking.flagged[i, j] or disagrees):
                continue
            ev = (evidence or {}).get(rid, {}).get(cls)
            rows.append({"id": rid, "class": cls, "given": given,
                         "suggested": suggest_state(given, pos, ev),
                         "score": round(float(score[i, j]), 6), "p_present": round(float(P[i, j]), 6),
                         "flagged": bool(ranking.flagged[i, j])})
    rows.sort(key=lambda r: (not r["flagged"], -r["score"], r["id"], r["class"]))
    return rows[:limit] if limit else rows
