"""The base of every classifier variant: `Classifier`, the model folder's metadata, the pickle check.

A folder holds the variant's own files (HF ``save_pretrained`` safetensors files, or JSON +
.npz arrays for TF-IDF; never a pickle), ``radlabel_model.json`` (variant, classes, thresholds,
label source, metrics, config) and a README.md model card. The variants subclass `Classifier`;
`radlabel.training.registry` names them and loads any folder (`load_classifier`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from radlabel.errors import InputError
from radlabel.files import atomic_write_text
from radlabel.schema import STATES

META_FILE = "radlabel_model.json"


class Classifier:
    """Shared prediction logic; subclasses implement `_proba` and `_save_weights`/`_load`."""

    variant = ""

    def __init__(self, classes: list[str], four_state: bool = False, thresholds=None,
                 info: dict | None = None):
        self.classes = list(classes)
        self.four_state = four_state
        self.thresholds = list(thresholds) if thresholds is not None else [0.5] * len(classes)
        self.info = dict(info or {})

    # -- prediction ----------------------------------------------------------------------
    def predict_proba(self, texts: list[str], **kw) -> np.ndarray:
        """(n, C) P(present), or (n, C, 4) state probabilities for a four-state model."""
        return self._proba(list(texts), **kw)

    def present_proba(self, P: np.ndarray) -> np.ndarray:
        return P[:, :, STATES.index("present")] if P.ndim == 3 else P

    def decide(self, P: np.ndarray) -> list[dict]:
        """Probabilities -> [{"labels": {class: state}, "probs": {class: p}}]."""
        out = []
        present = self.present_proba(P)
        for i in range(P.shape[0]):
            if P.ndim == 3:
                labels = {c: STATES[int(np.argmax(P[i, j]))] for j, c in enumerate(self.classes)}
            else:
                labels = {c: "present" if present[i, j] >= self.thresholds[j] else "absent"
                          for j, c in enumerate(self.classes)}
            out.append({"labels": labels,
                        "probs": {c: round(float(present[i, j]), 6) for j, c in enumerate(self.classes)}})
        return out

    def predict(self, texts: list[str], **kw) -> list[dict]:
        return self.decide(self.predict_proba(texts, **kw))

    # -- persistence ---------------------------------------------------------------------
    def meta(self) -> dict:
        return {**self.info, "variant": self.variant, "classes": self.classes,
                "four_state": self.four_state, "thresholds": [round(float(t), 6) for t in self.thresholds]}

    def save(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self._save_weights(out)
        write_meta(out, self.meta())

    def _proba(self, texts, **kw) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _save_weights(self, out: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def write_meta(out: Path, meta: dict) -> None:
    atomic_write_text(out / META_FILE, json.dumps(meta, indent=2, ensure_ascii=False))


def read_meta(model_dir: str | Path) -> dict:
    path = Path(model_dir) / META_FILE
    if not path.exists():
        raise InputError(f"not a radlabel model folder (no {META_FILE})", path=str(model_dir))
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON: {e.msg}", path=str(path), line=e.lineno) from None


# Files that are (or may be) Python pickles: loading one can run code. radlabel writes none of
# them (TF-IDF: JSON + .npz; transformer variants: safetensors + JSON), so a folder holding one
# was not written by radlabel as it is and is refused before any library opens it.
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".bin", ".pt", ".pth", ".ckpt")
# the weights file each transformer variant must hold (safetensors: tensors only, no code)
SAFE_WEIGHTS = {"lora": ("model.safetensors", "model.safetensors.index.json"),
                "full": ("model.safetensors", "model.safetensors.index.json"),
                "decoder-lora": ("adapter_model.safetensors",)}


def check_no_pickles(model_dir: str | Path, variant: str) -> None:
    """Refuse a model folder that holds pickle-format files or lacks its safetensors weights."""
    folder = Path(model_dir)
    unsafe = sorted(p.name for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)
    if variant == "tfidf" and unsafe == ["tfidf.joblib"]:
        return  # the old TF-IDF format: TfidfClassifier.load names it and says to retrain
    if unsafe:
        raise InputError(f"model folder holds pickle-format files ({', '.join(unsafe)}), which can "
                         "run code when loaded; radlabel reads only JSON, .npz (no pickles) and "
                         "safetensors model folders: retrain with `radlabel train`",
                         path=str(folder / unsafe[0]))
    wanted = SAFE_WEIGHTS.get(variant)
    if wanted and not any((folder / w).is_file() for w in wanted):
        raise InputError(f"model folder has no {wanted[0]} (radlabel loads safetensors weights only)",
                         path=str(folder))
