"""Every classifier variant by name: how to fit it and how to load a folder it wrote.

One table (`VARIANTS`), the way PEFT maps a tuner's name to its classes: `radlabel train`
(`fit_variant`), cross-validation and `load_classifier` all look a variant up here, and a new
variant is one module plus one row. The variants import only `radlabel.training.base`, so the
table imports them all without a circle; their heavy libraries (torch, transformers, peft) load
when a neural variant is fitted or loaded.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from radlabel.errors import InputError
from radlabel.ontology import Ontology
from radlabel.training.base import META_FILE, Classifier, check_no_pickles, read_meta
from radlabel.training.config import TrainConfig
from radlabel.training.data import TrainingSet
from radlabel.training.decoder import DecoderClassifier, fit_decoder
from radlabel.training.encoder import EncoderClassifier, fit_encoder
from radlabel.training.mention import MentionClassifier
from radlabel.training.tfidf import TfidfClassifier


def _fit_mention(train: TrainingSet, cfg: TrainConfig, work_dir, *, resume=False, info=None,
                 ontology=None) -> Classifier:
    t0 = time.perf_counter()
    clf = MentionClassifier.fit(train.texts, train.labels, train.record_sources,
                                ontology or Ontology.load(None), C=cfg.mention_c,
                                gold_weight=cfg.gold_weight, folds=cfg.calib_folds,
                                seed=cfg.seed, abstain=cfg.abstain, info=info,
                                pseudo=(train.shadowed or None) if cfg.mention_union else None,
                                cue_features=cfg.mention_cues, tune_cuts=cfg.mention_cuts,
                                gold_weights=tuple(cfg.mention_gold_weights),
                                anchor=cfg.mention_anchor)
    clf.info.update(train_seconds=round(time.perf_counter() - t0, 3), epochs_run=1)
    return clf


def _fit_tfidf(train: TrainingSet, cfg: TrainConfig, work_dir, *, resume=False, info=None,
               ontology=None) -> Classifier:
    t0 = time.perf_counter()
    clf = TfidfClassifier.fit(train.texts, train.Y, train.classes, four_state=cfg.four_state,
                              C=cfg.tfidf_c, ngrams=cfg.tfidf_ngrams, seed=cfg.seed, info=info)
    clf.info.update(train_seconds=round(time.perf_counter() - t0, 3), epochs_run=1)
    return clf


def _fit_encoder(train: TrainingSet, cfg: TrainConfig, work_dir, *, resume=False, info=None,
                 ontology=None) -> Classifier:
    return fit_encoder(train.texts, train.Y, train.classes, cfg, work_dir, resume=resume, info=info)


def _fit_decoder(train: TrainingSet, cfg: TrainConfig, work_dir, *, resume=False, info=None,
                 ontology=None) -> Classifier:
    return fit_decoder(train.texts, train.Y, train.classes, cfg, work_dir, resume=resume, info=info)


@dataclass(frozen=True)
class Variant:
    """``fit(train, cfg, work_dir, *, resume, info, ontology)`` -> an uncalibrated Classifier;
    ``classifier.load(model_dir, meta, **kw)`` -> the Classifier a folder of this variant holds."""

    classifier: type[Classifier]
    fit: Callable[..., Classifier]


VARIANTS: dict[str, Variant] = {
    "mention": Variant(MentionClassifier, _fit_mention),
    "tfidf": Variant(TfidfClassifier, _fit_tfidf),
    "lora": Variant(EncoderClassifier, _fit_encoder),
    "full": Variant(EncoderClassifier, _fit_encoder),
    "decoder-lora": Variant(DecoderClassifier, _fit_decoder),
}


def fit_variant(train: TrainingSet, cfg: TrainConfig, work_dir: str | Path, *, resume: bool = False,
                info: dict | None = None, ontology: Ontology | None = None) -> Classifier:
    """Train the configured variant on a TrainingSet (no thresholds yet)."""
    return VARIANTS[cfg.variant].fit(train, cfg, work_dir, resume=resume, info=info, ontology=ontology)


def load_classifier(model_dir: str | Path, **kw) -> Classifier:
    """Any trained folder -> a Classifier (TF-IDF, mention student, encoder LoRA/full, decoder LoRA).

    Nothing in the folder is unpickled: see `check_no_pickles` and the TF-IDF format. `kw`
    (max_length, bf16) reach the transformer variants."""
    meta = read_meta(model_dir)
    variant = meta.get("variant")
    if not isinstance(variant, str) or variant not in VARIANTS:
        raise InputError(f"unknown variant {variant!r}", path=str(Path(model_dir) / META_FILE),
                         field="variant")
    check_no_pickles(model_dir, variant)
    return VARIANTS[variant].classifier.load(model_dir, meta, **kw)
