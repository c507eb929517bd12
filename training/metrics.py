"""Micro/macro F1 with the same definitions as shared/tools/score.py (macro over supported classes)."""
from __future__ import annotations

import numpy as np


def f1_scores(Y: np.ndarray, Yhat: np.ndarray) -> dict:
    """Y, Yhat: (n, C) 0/1. Micro pools TP/FP/FN; macro averages classes with support > 0."""
    Y = np.asarray(Y) > 0.5
    Yhat = np.asarray(Yhat) > 0.5
    tp = (Y & Yhat).sum(0)
    fp = (~Y & Yhat).sum(0)
    fn = (Y & ~Yhat).sum(0)
    denom = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = float(2 * tp.sum() / denom) if denom else 0.0
    per = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    support = Y.sum(0)
    macro = float(per[support > 0].mean()) if (support > 0).any() else 0.0
    return {"micro_f1": round(micro, 4), "macro_f1": round(macro, 4),
            "per_class_f1": [round(float(x), 4) for x in per], "support": support.astype(int).tolist()}
