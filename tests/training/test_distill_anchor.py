"""The mention student's gold stage (issue 14): per class, P(present) from the teacher's rule
reading and the out-of-fold stage-1 score, fitted on the gold reports. On synthetic reports
whose gold follows another convention than the teacher (hedged findings coded present) the
pseudo + gold student must learn it; where the gold agrees with the teacher it must not do worse
than the pseudo-only student."""
from __future__ import annotations

import numpy as np
import pytest

from radlabel.ontology import Ontology
from radlabel.rules.reading import rule_reading
from radlabel.training.mention import ANCHOR_STATES, MentionClassifier, apply_anchor, fit_anchor
from radlabel.training.registry import load_classifier
from support.training_corpus import corpus


@pytest.fixture(scope="module")
def synth():
    ont = Ontology.load(None)
    train, new = corpus(240, seed=21), corpus(200, seed=22)
    r_train = [rule_reading(r["text"], ont) for r in train]
    r_new = [rule_reading(r["text"], ont) for r in new]
    pseudo_only = MentionClassifier.fit([r["text"] for r in train], r_train, ["pseudo"] * len(train),
                                        ont)
    return ont, train, new, r_train, r_new, pseudo_only


def _coded(reading: dict, hedged_present: bool) -> dict:
    ok = ("present", "uncertain") if hedged_present else ("present",)
    return {c: "present" if s in ok else "absent" for c, s in reading.items()}


def _micro(out: list[dict], gold: list[dict], classes: list[str]) -> float:
    Y = np.array([[g[c] == "present" for c in classes] for g in gold])
    P = np.array([[o["labels"][c] == "present" for c in classes] for o in out])
    tp = int((Y & P).sum())
    return 2 * tp / (2 * tp + int((P & ~Y).sum()) + int((Y & ~P).sum()))


def _fit_gold(ont, train, r_train, gold):
    return MentionClassifier.fit([r["text"] for r in train], gold, ["gold"] * len(train), ont,
                                 pseudo=r_train, gold_weights=(1.0, 3.0, 10.0))


def test_rule_reading_is_the_labellers_rule_stage():
    from radlabel.programs.labeler import Labeler

    ont = Ontology.load(None)
    lab = Labeler(judge="none", judge_cache=False)
    cache: dict = {}
    rows = corpus(30, seed=5)
    for r in rows + rows[:10]:  # the second pass reads the sentences from the cache
        want = dict(lab(r["text"]).labels)
        assert rule_reading(r["text"], ont) == want
        assert rule_reading(r["text"], ont, cache=cache) == want
    assert cache


def test_gold_stage_learns_a_convention_the_teacher_does_not_follow(synth):
    ont, train, new, r_train, r_new, pseudo_only = synth
    # planted systematic teacher error: the coders code every hedged finding present
    clf = _fit_gold(ont, train, r_train, [_coded(r, True) for r in r_train])
    assert clf.anchor and clf.info["gold_stage"]["reports"] == len(train)
    texts = [r["text"] for r in new]
    hedged = [(i, c) for i, rd in enumerate(r_new) for c, s in rd.items() if s == "uncertain"]
    assert len(hedged) >= 10
    share = lambda out: sum(out[i]["labels"][c] == "present" for i, c in hedged) / len(hedged)
    out, out0 = clf.predict(texts), pseudo_only.predict(texts)
    assert share(out0) <= 0.5  # the teacher's pupil reads hedges as not present
    assert share(out) >= 0.9  # the gold stage moved them
    gold_new = [_coded(r, True) for r in r_new]
    assert _micro(out, gold_new, ont.names) >= 0.985
    assert _micro(out, gold_new, ont.names) > _micro(out0, gold_new, ont.names) + 0.01


def test_gold_that_agrees_with_the_teacher_costs_nothing(synth):
    ont, train, new, r_train, r_new, pseudo_only = synth
    clf = _fit_gold(ont, train, r_train, [_coded(r, False) for r in r_train])
    texts = [r["text"] for r in new]
    gold_new = [_coded(r, False) for r in r_new]
    got, base = _micro(clf.predict(texts), gold_new, ont.names), \
        _micro(pseudo_only.predict(texts), gold_new, ont.names)
    assert got >= base and got >= 0.985
    # the heads lean on the teacher's present state
    w = clf.anchor["Pleural Effusion"]
    assert w[ANCHOR_STATES.index("present")] > 1.0


def test_fit_anchor_follows_the_teacher_unless_gold_contradicts_it():
    rng = np.random.default_rng(0)
    n, classes = 300, ["A"]
    states = rng.choice(["present", "uncertain", "absent", "not_mentioned"], n, p=[.3, .1, .3, .3])
    readings = [{"A": s} for s in states]
    raw = rng.random((n, 1))  # a stage-1 score that says nothing
    Y = (states == "present").astype(int)[:, None]
    heads, info = fit_anchor(readings, raw, Y, classes)
    P = apply_anchor(np.zeros((n, 1)), raw, readings, heads, classes)
    assert ((P[:, 0] >= 0.5) == (states == "present")).all()
    assert info["oof_f1"][str(info["c"])] == pytest.approx(1.0) and info["teacher_f1"] == 1.0
    Y2 = np.isin(states, ["present", "uncertain"]).astype(int)[:, None]  # hedges coded present
    heads2, _ = fit_anchor(readings, raw, Y2, classes)
    P2 = apply_anchor(np.zeros((n, 1)), raw, readings, heads2, classes)
    assert ((P2[:, 0] >= 0.5) == Y2[:, 0].astype(bool)).all()
    # too few positives: no head (the class keeps its isotonic map)
    assert fit_anchor(readings, raw, np.zeros((n, 1), int), classes)[0] == {}


def test_gold_stage_is_saved_and_only_fitted_with_gold(synth, tmp_path):
    ont, train, new, r_train, r_new, pseudo_only = synth
    assert pseudo_only.anchor == {} and pseudo_only.info["gold_stage"] == {}
    sub = list(range(120))
    clf = _fit_gold(ont, [train[i] for i in sub], [r_train[i] for i in sub],
                    [_coded(r_train[i], True) for i in sub])
    assert clf.anchor
    clf.save(tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    texts = [r["text"] for r in new[:40]]
    assert set(back.anchor) == set(clf.anchor)
    np.testing.assert_allclose(back.predict_proba(texts), clf.predict_proba(texts), atol=1e-6)
    for c in clf.anchor:
        assert back.thresholds[back.classes.index(c)] == 0.5
    assert back.info["gold_stage"]["c"] == clf.info["gold_stage"]["c"]  # the summary survives too
