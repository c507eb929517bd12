"""`radlabel train`: labels + reports -> a saved classifier folder with thresholds and a card."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from radlabel.errors import InputError
from radlabel.ontology import Ontology
from radlabel.schema import STATES
from radlabel.training.base import META_FILE, Classifier
from radlabel.training.card import write_card
from radlabel.training.config import TrainConfig
from radlabel.training.data import TrainingSet, build_training_set, split_indices
from radlabel.training.mention import expected_calibration_error
from radlabel.training.metrics import f1_scores
from radlabel.training.registry import fit_variant
from radlabel.training.thresholds import apply_thresholds, tune_thresholds


def calibrate(clf: Classifier, val: TrainingSet) -> dict:
    """Tune per-class thresholds on the validation split; returns validation metrics."""
    if len(val) == 0:
        return {}
    P = clf.predict_proba(val.texts)
    if clf.variant == "mention":  # calibrated P; labels at 0.5 (thresholds kept)
        Yb = (val.Y > 0.5).astype(int)
        metrics = f1_scores(Yb, apply_thresholds(P, clf.thresholds))
        metrics["ece"] = round(expected_calibration_error(P, Yb), 4)
        return metrics
    if val.four_state:
        present = STATES.index("present")
        Yb = (val.Y == present).astype(int)
        metrics = f1_scores(Yb, (P.argmax(-1) == present).astype(int))
        metrics["state_accuracy"] = round(float((P.argmax(-1) == val.Y).mean()), 4)
        return metrics
    at_half = f1_scores(val.Y, apply_thresholds(P, [0.5] * P.shape[1]))
    clf.thresholds = tune_thresholds(val.Y, P)
    metrics = f1_scores(val.Y, apply_thresholds(P, clf.thresholds))
    metrics["micro_f1_at_0.5"] = at_half["micro_f1"]
    return metrics


def train_model(cfg: TrainConfig, out_dir: str | Path, *, labels: list[str] = (), gold: list[str] = (),
                reports: str | None = None, ontology: Ontology | None = None,
                resume: bool = False) -> Classifier:
    """The whole `radlabel train`: join, split, fit, calibrate, save (main process only)."""
    ontology = ontology or Ontology.load(None)
    _check_out_dir(Path(out_dir))
    data = build_training_set(list(labels), ontology, gold_paths=list(gold), reports=reports,
                              four_state=cfg.four_state, uncertain_as=cfg.uncertain_as)
    if cfg.variant == "mention":
        # the student calibrates out-of-fold itself; the validation split only reports metrics,
        # so it is small by default and the heads see (almost) every report
        tr_idx, val_idx = split_indices(len(data), min(cfg.val_fraction, 0.1), cfg.seed)
    else:
        tr_idx, val_idx = split_indices(len(data), cfg.val_fraction, cfg.seed)
    train, val = data.subset(tr_idx), data.subset(val_idx)
    info = {"config": cfg.model_dump(), "label_sources": dict(data.sources),
            "skipped": dict(data.skipped), "missing_ids": data.missing_ids[:20],
            "label_files": [str(p) for p in (*labels, *gold)],
            "n_train": len(train), "n_val": len(val), "ontology_hash": ontology.hash,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    out = Path(out_dir)
    clf = fit_variant(train, cfg, out, resume=resume, info=info, ontology=ontology)
    if not getattr(clf, "is_main_process", True):
        return clf
    clf.info["metrics"] = calibrate(clf, val)
    epochs = max(float(clf.info.get("epochs_run") or 1), 1e-9)
    clf.info["seconds_per_epoch"] = round(float(clf.info.get("train_seconds", 0)) / epochs, 2)
    save_atomic(clf, out, write_card)
    return clf


def _check_out_dir(out: Path) -> None:
    """Replace only a model folder (or a neural run's checkpoints), never some other folder."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / META_FILE).exists()
                                              and not (out / "checkpoints").exists())):
        raise InputError("output exists and is not a radlabel model folder; give a new -o",
                         path=str(out))


def save_atomic(clf: Classifier, out: Path, write_card) -> None:
    """Write the model into a sibling temp folder and rename it into place: an interrupted run
    leaves the previous model (or nothing), never a half-written folder."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    for stale in out.parent.glob(f".{out.name}.partial-*"):  # a killed run's leftovers
        shutil.rmtree(stale, ignore_errors=True)
    try:
        clf.save(tmp)
        write_card(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        os.replace(out, old)  # checkpoints of a neural run go with the old folder
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)

