"""Validation metrics in the shape a model folder stores (radlabel_model.json "metrics").

The counting is `radlabel.scores` (the one scorer); this only lays the result out per column."""
from __future__ import annotations

import numpy as np

from radlabel.scores import f1_from_matrix


def f1_scores(Y: np.ndarray, Yhat: np.ndarray) -> dict:
    """Y, Yhat: (n, C) 0/1. Micro pools TP/FP/FN; macro averages classes with support > 0."""
    s = f1_from_matrix(Y, Yhat)
    per = list(s.per_class.values())
    return {"micro_f1": round(s.micro_f1, 4), "macro_f1": round(s.macro_f1, 4),
            "per_class_f1": [round(c.f1, 4) for c in per], "support": [c.support for c in per]}
