"""TF-IDF + one logistic regression per class (class_weight="balanced"): the fast baseline.

Trains in seconds and predicts thousands of reports per second on one core; every neural
variant has to beat it to be worth its cost. Saved with joblib inside the model folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from radlabel.schema import STATES
from radlabel.training.artifact import Classifier

WEIGHTS = "tfidf.joblib"


class TfidfClassifier(Classifier):
    variant = "tfidf"

    def __init__(self, classes, four_state=False, thresholds=None, info=None, vectorizer=None,
                 heads=None):
        super().__init__(classes, four_state, thresholds, info)
        self.vectorizer = vectorizer
        self.heads = heads or []  # per class: a fitted LogisticRegression, or a constant row

    @classmethod
    def fit(cls, texts: list[str], Y: np.ndarray, classes: list[str], *, four_state: bool = False,
            C: float = 4.0, ngrams: int = 2, seed: int = 0, info: dict | None = None):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        vec = TfidfVectorizer(ngram_range=(1, ngrams), sublinear_tf=True, min_df=1,
                              lowercase=True, strip_accents="unicode")
        X = vec.fit_transform(texts)
        n_out = len(STATES) if four_state else 2
        heads = []
        for j in range(Y.shape[1]):
            y = Y[:, j].astype(int)
            values = np.unique(y)
            if len(values) < 2:  # one value in training: predict it with certainty
                row = np.zeros(n_out)
                row[int(values[0]) if four_state else int(values[0])] = 1.0
                heads.append(row)
                continue
            lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
            lr.fit(X, y)
            heads.append(lr)
        return cls(classes, four_state, None, info, vec, heads)

    def _proba(self, texts, **kw) -> np.ndarray:
        X = self.vectorizer.transform(texts)
        n_out = len(STATES) if self.four_state else 2
        out = np.zeros((len(texts), len(self.classes), n_out), dtype=np.float64)
        for j, head in enumerate(self.heads):
            if isinstance(head, np.ndarray):
                out[:, j, :] = head
            else:
                out[:, j, head.classes_.astype(int)] = head.predict_proba(X)
        return out if self.four_state else out[:, :, 1]

    def _save_weights(self, out: Path) -> None:
        import joblib

        tmp = out / (WEIGHTS + ".tmp")
        joblib.dump({"vectorizer": self.vectorizer, "heads": self.heads}, tmp)
        tmp.replace(out / WEIGHTS)

    @classmethod
    def load(cls, model_dir, meta: dict) -> "TfidfClassifier":
        import joblib

        blob = joblib.load(Path(model_dir) / WEIGHTS)
        return cls(meta["classes"], meta.get("four_state", False), meta.get("thresholds"), meta,
                   blob["vectorizer"], blob["heads"])
