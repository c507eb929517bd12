"""TF-IDF + one logistic regression per class (class_weight="balanced"): the fast baseline.

Trains in seconds and predicts thousands of reports per second on one core; every neural
variant has to beat it to be worth its cost.

Saved as data only, never as a pickle, so loading a model folder cannot run code:
``tfidf_model.json`` (format version, vectorizer settings, vocabulary, per-class head kinds) and
``tfidf_weights.npz`` (idf and the linear heads' coefficients/intercepts), read with
``allow_pickle=False``. A folder in the old ``tfidf.joblib`` (pickle) format is refused with a
message to retrain; an unknown format version is refused too.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from radlabel.errors import InputError
from radlabel.files import atomic_write, atomic_write_text
from radlabel.schema import STATES
from radlabel.training.base import Classifier

FORMAT = "radlabel-tfidf"
FORMAT_VERSION = 1
MODEL_JSON = "tfidf_model.json"
WEIGHTS = "tfidf_weights.npz"
LEGACY_PICKLE = "tfidf.joblib"  # before issue 12: a joblib pickle; loading it could run code

# TfidfVectorizer settings that change `transform` (fit-only ones such as min_df are not kept),
# each with the values we accept back from a file: nothing callable, nothing importable.
_VEC_CHOICES = {
    "analyzer": ("word", "char", "char_wb"),
    "binary": (True, False),
    "decode_error": ("strict", "ignore", "replace"),
    "encoding": None,  # any str
    "input": ("content",),
    "lowercase": (True, False),
    "norm": ("l2", "l1", None),
    "smooth_idf": (True, False),
    "strip_accents": ("unicode", "ascii", None),
    "sublinear_tf": (True, False),
    "token_pattern": None,  # any str (a regex, compiled by scikit-learn, never executed as code)
    "use_idf": (True,),
    "dtype": ("float64", "float32"),
}


class LinearHead:
    """A fitted binary/multinomial logistic regression reduced to its arrays.

    ``predict_proba`` does what scikit-learn's LogisticRegression does (sigmoid for two
    classes, softmax for more), so a model predicts the same before and after saving.
    """

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray):
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.classes_ = np.asarray(classes, dtype=np.int64)

    @classmethod
    def from_sklearn(cls, lr) -> "LinearHead":
        return cls(lr.coef_, lr.intercept_, lr.classes_)

    def predict_proba(self, X) -> np.ndarray:
        scores = np.asarray(X @ self.coef.T) + self.intercept
        if len(self.classes_) <= 2:
            from scipy.special import expit

            p = expit(scores.reshape(-1))
            return np.stack([1 - p, p], axis=1)
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)


class TfidfClassifier(Classifier):
    variant = "tfidf"

    def __init__(self, classes, four_state=False, thresholds=None, info=None, vectorizer=None,
                 heads=None):
        super().__init__(classes, four_state, thresholds, info)
        self.vectorizer = vectorizer
        self.heads = heads or []  # per class: a LinearHead, or a constant probability row

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
                row[int(values[0])] = 1.0
                heads.append(row)
                continue
            lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
            lr.fit(X, y)
            heads.append(LinearHead.from_sklearn(lr))
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

    # -- persistence: JSON + .npz, no pickle -----------------------------------------------
    def _save_weights(self, out: Path) -> None:
        params = self.vectorizer.get_params()
        settings = {k: params[k] for k in _VEC_CHOICES if k != "dtype"}
        settings["dtype"] = np.dtype(params["dtype"]).name
        settings["ngram_range"] = [int(n) for n in params["ngram_range"]]
        for k in ("tokenizer", "preprocessor", "stop_words"):
            if params.get(k) is not None:
                raise ValueError(f"cannot save a TF-IDF vectorizer with {k}={params[k]!r}")
        vocab = self.vectorizer.vocabulary_
        terms = [""] * len(vocab)
        for term, idx in vocab.items():
            terms[int(idx)] = term
        arrays = {"idf": np.asarray(self.vectorizer.idf_, dtype=np.float64)}
        kinds = []
        for j, head in enumerate(self.heads):
            if isinstance(head, np.ndarray):
                kinds.append("constant")
                arrays[f"const_{j}"] = np.asarray(head, dtype=np.float64)
            else:
                kinds.append("linear")
                arrays[f"coef_{j}"] = head.coef
                arrays[f"intercept_{j}"] = head.intercept
                arrays[f"classes_{j}"] = head.classes_
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "vectorizer": settings,
               "vocabulary": terms, "heads": kinds}
        with atomic_write(out / WEIGHTS, "wb") as fh:  # a file object: np.savez would append ".npz"
            np.savez(fh, **arrays)
        atomic_write_text(out / MODEL_JSON, json.dumps(doc, ensure_ascii=False))
        legacy = out / LEGACY_PICKLE
        if legacy.exists():  # retrained into an old folder: drop the pickle nobody will read
            legacy.unlink()

    @classmethod
    def load(cls, model_dir, meta: dict, **kw) -> "TfidfClassifier":
        """`kw` (the transformer variants' max_length, bf16) do not apply to TF-IDF."""
        folder = Path(model_dir)
        doc_path, w_path = folder / MODEL_JSON, folder / WEIGHTS
        if not isinstance(meta.get("classes"), list) or not all(isinstance(c, str) for c in meta["classes"]):
            raise InputError("expected a list of class names", path=str(folder / "radlabel_model.json"),
                             field="classes")
        if not doc_path.exists():
            if (folder / LEGACY_PICKLE).exists():
                raise InputError(
                    f"this model folder uses the old pickle format ({LEGACY_PICKLE}), which can run "
                    "code when loaded and is no longer read; retrain it with `radlabel train` "
                    f"(it now writes {MODEL_JSON} + {WEIGHTS})", path=str(folder / LEGACY_PICKLE))
            raise InputError(f"TF-IDF model folder has no {MODEL_JSON}", path=str(folder))
        try:
            doc = json.loads(doc_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(f"malformed JSON: {e.msg}", path=str(doc_path), line=e.lineno) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise InputError(f"not a {FORMAT} file", path=str(doc_path), field="format")
        if doc.get("format_version") != FORMAT_VERSION:
            raise InputError(f"unknown format_version {doc.get('format_version')!r} (this radlabel "
                             f"reads {FORMAT_VERSION}); retrain or upgrade radlabel",
                             path=str(doc_path), field="format_version")
        vec = _vectorizer_from(doc, doc_path)
        try:
            # allow_pickle=False: an object array (a pickle inside the .npz) raises, it is never run
            with np.load(w_path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except FileNotFoundError:
            raise InputError(f"TF-IDF model folder has no {WEIGHTS}", path=str(folder)) from None
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
            raise InputError(f"not a plain-array .npz file ({e})", path=str(w_path)) from None
        idf = _array(arrays, "idf", w_path, ndim=1)
        if len(idf) != len(doc["vocabulary"]):
            raise InputError(f"idf has {len(idf)} entries for {len(doc['vocabulary'])} terms",
                             path=str(w_path), field="idf")
        vec.idf_ = idf
        four_state = meta.get("four_state", False)
        n_out = len(STATES) if four_state else 2
        kinds = doc.get("heads")
        if not isinstance(kinds, list) or len(kinds) != len(meta["classes"]):
            raise InputError(f"expected one head per class ({len(meta['classes'])})",
                             path=str(doc_path), field="heads")
        heads = []
        for j, kind in enumerate(kinds):
            if kind == "constant":
                row = _array(arrays, f"const_{j}", w_path, ndim=1)
                if row.shape != (n_out,):
                    raise InputError(f"expected {n_out} values", path=str(w_path), field=f"const_{j}")
                heads.append(row)
            elif kind == "linear":
                coef = _array(arrays, f"coef_{j}", w_path, ndim=2)
                intercept = _array(arrays, f"intercept_{j}", w_path, ndim=1)
                labels = _array(arrays, f"classes_{j}", w_path, ndim=1, integer=True)
                k = 1 if len(labels) == 2 else len(labels)
                if (coef.shape != (k, len(idf)) or intercept.shape != (k,) or len(labels) < 2
                        or labels.min() < 0 or labels.max() >= n_out):
                    raise InputError("head arrays do not fit the vocabulary and classes",
                                     path=str(w_path), field=f"coef_{j}")
                heads.append(LinearHead(coef, intercept, labels))
            else:
                raise InputError(f"unknown head kind {kind!r}", path=str(doc_path), field=f"heads[{j}]")
        return cls(meta["classes"], four_state, meta.get("thresholds"), meta, vec, heads)


def _array(arrays: dict, key: str, path: Path, *, ndim: int, integer: bool = False) -> np.ndarray:
    if key not in arrays:
        raise InputError("missing array", path=str(path), field=key)
    a = arrays[key]
    kind_ok = a.dtype.kind in ("i", "u") if integer else a.dtype.kind == "f"
    if a.ndim != ndim or not kind_ok:
        raise InputError(f"expected a {ndim}-d {'integer' if integer else 'float'} array, got "
                         f"{a.ndim}-d {a.dtype}", path=str(path), field=key)
    return a


def _vectorizer_from(doc: dict, path: Path):
    from sklearn.feature_extraction.text import TfidfVectorizer

    settings = doc.get("vectorizer")
    terms = doc.get("vocabulary")
    if not isinstance(settings, dict):
        raise InputError("expected an object", path=str(path), field="vectorizer")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise InputError("expected a list of strings", path=str(path), field="vocabulary")
    vocab = {t: i for i, t in enumerate(terms)}
    if len(vocab) != len(terms):
        raise InputError("duplicate terms", path=str(path), field="vocabulary")
    kw = {}
    for key, value in settings.items():
        if key == "ngram_range":
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(n, int) and n >= 1 for n in value) or value[0] > value[1]):
                raise InputError(f"bad value {value!r}", path=str(path), field="vectorizer.ngram_range")
            kw[key] = tuple(value)
            continue
        if key not in _VEC_CHOICES:
            raise InputError("unknown vectorizer setting", path=str(path), field=f"vectorizer.{key}")
        allowed = _VEC_CHOICES[key]
        if (not isinstance(value, str)) if allowed is None else value not in allowed:
            raise InputError(f"bad value {value!r}", path=str(path), field=f"vectorizer.{key}")
        kw[key] = getattr(np, value) if key == "dtype" else value
    return TfidfVectorizer(vocabulary=vocab, **kw)
