"""Joining labels with reports: source precedence, failed records, targets, input errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from radlabel.errors import InputError
from radlabel.ontology import Ontology
from radlabel.schema import STATES
from radlabel.training.data import build_training_set, split_indices
from radlabel.training.metrics import f1_scores
from radlabel.training.thresholds import apply_thresholds, best_threshold, tune_thresholds

ONT = Ontology.load(None)


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_gold_and_reviewed_beat_pseudo_whatever_the_order(tmp_path):
    reports = _write(tmp_path / "r.jsonl", [{"id": "a", "text": "Cardiomegaly."},
                                             {"id": "b", "text": "Small effusion."},
                                             {"id": "c", "text": "Clear lungs."}])
    reviewed = _write(tmp_path / "rv.jsonl", [
        {"id": "b", "labels": {"Pleural Effusion": "present"}, "meta": {"source": "reviewed"}}])
    pseudo = _write(tmp_path / "p.jsonl", [
        {"id": "a", "labels": {"Cardiomegaly": "absent"}, "meta": {"source": "pseudo"}},
        {"id": "b", "labels": {"Pleural Effusion": "absent"}, "meta": {"source": "pseudo"}},
        {"id": "c", "labels": {}, "meta": {"source": "pseudo", "status": "failed", "error": "x"}},
    ])
    gold = _write(tmp_path / "g.jsonl", [{"id": "a", "labels": {"cardiomegaly": 1}}])
    ts = build_training_set([reviewed, pseudo], ONT, gold_paths=[gold], reports=reports)
    assert ts.ids == ["a", "b"]
    card, eff = ts.classes.index("Cardiomegaly"), ts.classes.index("Pleural Effusion")
    assert ts.Y[0, card] == 1.0  # gold (present) beat the pseudo "absent"
    assert ts.Y[1, eff] == 1.0   # reviewed beat the later file's pseudo line
    assert ts.skipped["failed"] == 1
    assert ts.sources == {"gold": 1, "reviewed": 1}


def test_uncertain_mapping_and_four_state_targets(tmp_path):
    labels = _write(tmp_path / "l.jsonl", [
        {"id": "x", "text": "Possible edema.", "labels": {"Edema": "uncertain", "Fracture": "absent"}}])
    neg = build_training_set([labels], ONT)
    pos = build_training_set([labels], ONT, uncertain_as="positive")
    four = build_training_set([labels], ONT, four_state=True)
    e, f, c = (ONT.names.index(n) for n in ("Edema", "Fracture", "Cardiomegaly"))
    assert neg.Y[0, e] == 0 and pos.Y[0, e] == 1
    assert four.Y[0, e] == STATES.index("uncertain")
    assert four.Y[0, f] == STATES.index("absent")
    assert four.Y[0, c] == STATES.index("not_mentioned")


def test_bad_input_names_file_line_and_field(tmp_path):
    bad = _write(tmp_path / "bad.jsonl", [{"id": "a", "text": "t", "labels": {"Cardiomegaly": 1}},
                                           {"id": "b", "text": "t", "labels": {"Heart Attack": 1}}])
    with pytest.raises(InputError) as e:
        build_training_set([bad], ONT)
    assert e.value.line == 2 and e.value.field == "labels.Heart Attack"
    no_text = _write(tmp_path / "nt.jsonl", [{"id": "a", "labels": {"Cardiomegaly": 1}}])
    with pytest.raises(InputError, match="no labelled report with text"):
        build_training_set([no_text], ONT)


def test_split_is_seeded_and_disjoint():
    tr, va = split_indices(100, 0.2, seed=3)
    assert len(va) == 20 and not set(tr) & set(va) and len(tr) + len(va) == 100
    assert (split_indices(100, 0.2, seed=3)[1] == va).all()
    assert len(split_indices(5, 0.15, seed=0)[1]) == 0  # too few for a validation set


def test_best_threshold_maximises_f1():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.25, 0.3, 0.05, 0.4])
    t = best_threshold(y, p)
    assert 0.2 < t <= 0.25  # every positive above, every negative below
    assert best_threshold(np.zeros(4), np.array([0.1, 0.9, 0.3, 0.2])) == 0.5
    Y = np.stack([y, 1 - y], 1)
    P = np.stack([p, 1 - p], 1)
    assert f1_scores(Y, apply_thresholds(P, tune_thresholds(Y, P)))["micro_f1"] == 1.0


def test_f1_matches_hand_count():
    Y = np.array([[1, 0], [1, 0], [0, 0]])
    H = np.array([[1, 1], [0, 0], [1, 0]])
    m = f1_scores(Y, H)
    # tp=1 fp=2 fn=1 -> micro 2/(2+3); class 2 has no support -> macro over class 1 only (F1 0.5)
    assert m["micro_f1"] == pytest.approx(0.4) and m["macro_f1"] == pytest.approx(0.5)
