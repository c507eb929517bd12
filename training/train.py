"""`radlabel train`: labels + reports -> a saved classifier folder with thresholds and a card."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from radlabel.ontology import Ontology
from radlabel.training.artifact import Classifier
from radlabel.training.config import TrainConfig
from radlabel.training.data import TrainingSet, build_training_set, split_indices
from radlabel.training.metrics import f1_scores
from radlabel.training.thresholds import apply_thresholds, tune_thresholds


def fit_variant(train: TrainingSet, cfg: TrainConfig, work_dir: str | Path, *, resume: bool = False,
                info: dict | None = None) -> Classifier:
    """Train the configured variant on a TrainingSet (no thresholds yet)."""
    if cfg.variant == "tfidf":
        from radlabel.training.tfidf import TfidfClassifier

        t0 = time.perf_counter()
        clf = TfidfClassifier.fit(train.texts, train.Y, train.classes, four_state=cfg.four_state,
                                  C=cfg.tfidf_c, ngrams=cfg.tfidf_ngrams, seed=cfg.seed, info=info)
        clf.info.update(train_seconds=round(time.perf_counter() - t0, 3), epochs_run=1)
        return clf
    if cfg.variant in ("lora", "full"):
        from radlabel.training.encoder import fit_encoder

        return fit_encoder(train.texts, train.Y, train.classes, cfg, work_dir, resume=resume, info=info)
    from radlabel.training.decoder import fit_decoder

    return fit_decoder(train.texts, train.Y, train.classes, cfg, work_dir, resume=resume, info=info)


def calibrate(clf: Classifier, val: TrainingSet) -> dict:
    """Tune per-class thresholds on the validation split; returns validation metrics."""
    if len(val) == 0:
        return {}
    P = clf.predict_proba(val.texts)
    if val.four_state:
        from radlabel.schema import STATES

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
    from radlabel.training.card import write_card

    ontology = ontology or Ontology.load(None)
    data = build_training_set(list(labels), ontology, gold_paths=list(gold), reports=reports,
                              four_state=cfg.four_state, uncertain_as=cfg.uncertain_as)
    tr_idx, val_idx = split_indices(len(data), cfg.val_fraction, cfg.seed)
    train, val = data.subset(tr_idx), data.subset(val_idx)
    info = {"config": cfg.model_dump(), "label_sources": dict(data.sources),
            "skipped": dict(data.skipped), "label_files": [str(p) for p in (*labels, *gold)],
            "n_train": len(train), "n_val": len(val), "ontology_hash": ontology.hash,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    out = Path(out_dir)
    clf = fit_variant(train, cfg, out, resume=resume, info=info)
    if not getattr(clf, "is_main_process", True):
        return clf
    clf.info["metrics"] = calibrate(clf, val)
    epochs = max(float(clf.info.get("epochs_run") or 1), 1e-9)
    clf.info["seconds_per_epoch"] = round(float(clf.info.get("train_seconds", 0)) / epochs, 2)
    clf.save(out)
    write_card(out)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # only needed to resume a crashed run
    return clf

