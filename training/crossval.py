"""Out-of-fold probabilities for label-noise analysis (`radlabel analyze` calls this).

Every report's probability comes from a model that never saw it, which is what confident
learning needs to find pseudo-labels the classifier disagrees with.
"""
from __future__ import annotations

import tempfile

import numpy as np

from radlabel.ontology import Ontology
from radlabel.training.config import TrainConfig
from radlabel.training.data import TrainingSet
from radlabel.training.mention import MentionClassifier
from radlabel.training.registry import fit_variant


def cross_val_proba(texts: list[str], Y: np.ndarray, variant: str = "tfidf", folds: int = 5,
                    seed: int = 0, **config) -> np.ndarray:
    """(n, C) out-of-fold P(present) for multi-hot Y; classes are the columns of Y."""
    from sklearn.model_selection import KFold

    Y = np.asarray(Y, dtype=np.float32)
    texts = list(texts)
    if len(texts) != len(Y):
        raise ValueError(f"{len(texts)} texts but {len(Y)} label rows")
    folds = max(2, min(folds, len(texts)))
    if variant == "mention":
        return _mention_oof(texts, Y, folds, seed, **config)
    cfg = TrainConfig(variant=variant, seed=seed, **config)
    classes = [f"c{j}" for j in range(Y.shape[1])]
    data = TrainingSet(list(map(str, range(len(texts)))), texts, classes, Y, False)
    out = np.zeros(Y.shape, dtype=np.float64)
    for k, (tr, te) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(texts)):
        with tempfile.TemporaryDirectory(prefix=f"radlabel-cv{k}-") as work:
            clf = fit_variant(data.subset(tr), cfg, work)
            out[te] = clf.predict_proba([texts[i] for i in te])
    return out


def _mention_oof(texts, Y, folds, seed, *, ontology=None, states=None, calib_folds: int = 2,
                 **config) -> np.ndarray:
    """Out-of-fold calibrated P(present) of the mention student; Y's columns are the ontology's
    classes, `states` (per report {class: state}, e.g. the records' labels) the targets."""
    from sklearn.model_selection import KFold

    ontology = ontology or Ontology.load(None)
    if Y.shape[1] != len(ontology.names):
        raise ValueError("the mention student needs Y's columns to be the ontology's classes")
    if states is None:
        states = [{c: "present" if y[j] > 0.5 else "absent" for j, c in enumerate(ontology.names)}
                  for y in Y]
    out = np.zeros(Y.shape, dtype=np.float64)
    for tr, te in KFold(folds, shuffle=True, random_state=seed).split(texts):
        clf = MentionClassifier.fit([texts[i] for i in tr], [states[i] for i in tr],
                                    ["pseudo"] * len(tr), ontology, folds=calib_folds, seed=seed,
                                    **config)
        out[te] = clf.predict_proba([texts[i] for i in te])
    return out
