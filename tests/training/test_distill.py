"""Mention-level student (issue 14): sentence targets aligned with the record, calibrated
probabilities with abstentions, a JSON/npz folder (no pickle), bad input, atomic saves."""
from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from radlabel.errors import InputError
from radlabel.ontology import Ontology
from radlabel.training import cli as training_cli
from radlabel.training.registry import load_classifier
from radlabel.training.config import TrainConfig
from radlabel.training.mention import (SENT_STATES, expected_calibration_error, fit_isotonic,
                                       sentence_targets)
from radlabel.training.train import train_model
from support.training_corpus import write_files

CLASSES = ["Cardiomegaly", "Pleural Effusion", "Pneumothorax"]


def _app():
    app = typer.Typer()
    training_cli.register(app)
    return app


def test_sentence_targets_follow_the_rules_and_the_record():
    ont = Ontology.load(None)
    text = "FINDINGS: The heart is enlarged. Possible small pleural effusion. No pneumothorax."
    agree = {"Cardiomegaly": "present", "Pleural Effusion": "uncertain", "Pneumothorax": "absent"}
    sents, T = sentence_targets(text, agree, CLASSES, ont)
    assert len(sents) == 3
    got = [[SENT_STATES[k] for k in row] for row in T]
    assert got[0][0] == "present" and got[1][1] == "uncertain" and got[2][2] == "absent"
    assert got[0][1] == "not_mentioned" and got[2][0] == "not_mentioned"
    # the LM (or a reviewer) read the hedged effusion as present: the sentence moves with it
    judged = dict(agree, **{"Pleural Effusion": "present"})
    _, T2 = sentence_targets(text, judged, CLASSES, ont)
    assert SENT_STATES[T2[1, 1]] == "present"
    # positives-only gold 0 for a stated finding: the present sentence becomes absent
    _, T3 = sentence_targets(text, {"Cardiomegaly": "absent"}, CLASSES, ont, binary=True)
    assert SENT_STATES[T3[0, 0]] == "absent" and SENT_STATES[T3[1, 1]] == "uncertain"


def test_ece_and_isotonic_maps():
    assert expected_calibration_error(np.array([[1.0, 0.0]]), np.array([[1, 0]])) == 0.0
    assert expected_calibration_error(np.array([[0.9, 0.9]]), np.array([[0, 0]])) == pytest.approx(0.9)
    rng = np.random.default_rng(0)
    p = rng.random((400, 1))
    y = (rng.random((400, 1)) < p ** 2).astype(int)  # P(y=1 | p) = p^2: miscalibrated
    maps = fit_isotonic(p, y, ["c"])
    x, v = maps["c"]
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p[:, 0], y[:, 0])
    np.testing.assert_allclose(np.interp(p[:, 0], x, v), iso.predict(p[:, 0]))
    assert expected_calibration_error(np.interp(p, x, v), y) < expected_calibration_error(p, y)


def test_mention_student_trains_saves_and_predicts(tmp_path):
    f = write_files(tmp_path, n=160)
    clf = train_model(TrainConfig(variant="mention", val_fraction=0.1), tmp_path / "m",
                      labels=[str(f["pseudo"])], reports=str(f["reports"]))
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert "mention_weights.npz" in files and "radlabel_model.json" in files
    assert not [n for n in files if n.endswith((".joblib", ".pkl", ".pickle"))]
    texts = [r["text"] for r in f["rows"][:20]]
    again = load_classifier(tmp_path / "m")
    np.testing.assert_allclose(clf.predict_proba(texts), again.predict_proba(texts))
    meta = json.loads((tmp_path / "m" / "radlabel_model.json").read_text())
    assert meta["variant"] == "mention" and meta["calibration"]
    # the student learned the corpus: its labels match the pseudo-labels on most present calls
    rows = f["rows"]
    out = again.predict([r["text"] for r in rows])
    hits = sum(o["labels"].get(c) == "present" for r, o in zip(rows, out)
               for c, s in r["labels"].items() if s == "present")
    total = sum(s == "present" for r in rows for s in r["labels"].values())
    assert hits / total > 0.8
    assert all(0.0 <= p <= 1.0 for o in out for p in o["probs"].values())


def test_cli_default_predict_writes_probs_and_abstentions(tmp_path):
    f = write_files(tmp_path, n=80)
    r = CliRunner().invoke(_app(), ["train", "--labels", str(f["pseudo"]), "--reports", str(f["reports"]),
                                    "-o", str(tmp_path / "m"), "--abstain", "0.45"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "m" / "radlabel_model.json").read_text())["variant"] == "mention"
    r = CliRunner().invoke(_app(), ["predict", str(f["reports"]), "--model", str(tmp_path / "m"),
                                    "-o", str(tmp_path / "pred.jsonl")])
    assert r.exit_code == 0, r.output
    recs = [json.loads(x) for x in (tmp_path / "pred.jsonl").read_text().splitlines()]
    assert len(recs) == 80 and all("probs" in x and "abstain" in x for x in recs)
    for x in recs:
        band = {c for c, p in x["probs"].items() if 0.45 <= p <= 0.55}
        assert set(x["abstain"]) == band and x["meta"]["needs_review"] == bool(band)


def test_labels_for_missing_ids_are_counted_or_refused(tmp_path):
    f = write_files(tmp_path, n=60)
    extra = tmp_path / "extra.jsonl"
    extra.write_text(f["pseudo"].read_text() + json.dumps(
        {"id": "not-a-report", "labels": {"Edema": "present"}, "meta": {"source": "pseudo"}}) + "\n")
    clf = train_model(TrainConfig(variant="mention"), tmp_path / "m", labels=[str(extra)],
                      reports=str(f["reports"]))
    assert clf.info["skipped"]["no_text"] == 1 and clf.info["missing_ids"] == ["not-a-report"]
    only = tmp_path / "only.jsonl"
    only.write_text(json.dumps({"id": "x1", "labels": {"Edema": "present"}}) + "\n")
    with pytest.raises(InputError, match="not in"):
        train_model(TrainConfig(variant="mention"), tmp_path / "m2", labels=[str(only)],
                    reports=str(f["reports"]))


def test_class_without_positives_is_predicted_absent(tmp_path):
    f = write_files(tmp_path, n=60)
    clf = train_model(TrainConfig(variant="mention"), tmp_path / "m", labels=[str(f["pseudo"])],
                      reports=str(f["reports"]))
    assert "Fracture" in clf.info["no_positive"]
    out = clf.predict(["FINDINGS: Acute fracture of the left sixth rib."])
    assert out[0]["labels"]["Fracture"] != "present"


def test_interrupted_save_keeps_the_previous_model(tmp_path, monkeypatch):
    f = write_files(tmp_path, n=60)
    cfg = TrainConfig(variant="mention")
    train_model(cfg, tmp_path / "m", labels=[str(f["pseudo"])], reports=str(f["reports"]))
    before = (tmp_path / "m" / "radlabel_model.json").read_text()
    from radlabel.training.mention import MentionClassifier

    def boom(self, out):
        (out / "mention_weights.npz").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(MentionClassifier, "_save_weights", boom)
    with pytest.raises(KeyboardInterrupt):
        train_model(cfg, tmp_path / "m", labels=[str(f["pseudo"])], reports=str(f["reports"]))
    assert (tmp_path / "m" / "radlabel_model.json").read_text() == before
    load_classifier(tmp_path / "m")  # still the complete previous model
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_refuses_to_replace_a_folder_that_is_not_a_model(tmp_path):
    f = write_files(tmp_path, n=20)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not a radlabel model folder"):
        train_model(TrainConfig(variant="mention"), tmp_path / "notes", labels=[str(f["pseudo"])],
                    reports=str(f["reports"]))
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_analyze_cross_validates_the_calibrated_student(tmp_path):
    from radlabel.eval.analyze import run_analysis
    from radlabel.schema import LabelRecord
    from support.training_corpus import corpus

    rows = corpus(60)
    ont = Ontology.load(None)
    records = {r["id"]: LabelRecord(id=r["id"], labels={c: r["labels"].get(c, "not_mentioned")
                                                        for c in ont.names}) for r in rows}
    texts = {r["id"]: r["text"] for r in rows}
    a = run_analysis(records, texts, ont, variant="mention", folds=3)
    assert a.proba_source == "3-fold mention" and a.P.shape == (60, len(ont.names))
    assert ((a.P >= 0) & (a.P <= 1)).all()
    # out of fold, the student still ranks its own labels' positives above the negatives
    pos, neg = a.P[a.Y == 1], a.P[a.Y == 0]
    assert pos.mean() > neg.mean() + 0.3


def test_cue_features_read_the_labellers_context_rules():
    from radlabel.rules.context import ContextRules
    from radlabel.training.mention import context_features

    pat = Ontology.load(None).synonym_patterns["Pleural Effusion"]
    rules = ContextRules.default()
    neg = context_features("There is no pleural effusion.", pat, rules)
    assert "r:absent" in neg and any(f.startswith("rc:absent:") for f in neg)
    assert "r:uncertain" in context_features("Possible small pleural effusion.", pat, rules)
    plain = context_features("Small left pleural effusion.", pat, rules)
    assert "r:present" in plain and not any(f.startswith("rc:") for f in plain)
    # without rules (a model saved before the cue features) only the words are features
    assert not any(f.startswith(("r:", "rc:")) for f in context_features(
        "There is no pleural effusion.", pat))


def test_decision_cuts_maximise_f1_inside_the_band():
    from radlabel.training.mention import decision_cuts

    P = np.array([[0.3], [0.35], [0.4], [0.1], [0.05], [0.6]] * 10)
    Y = np.array([[1], [1], [1], [0], [0], [1]] * 10)
    assert decision_cuts(P, Y) == [0.3]  # every positive caught, no negative above 0.3
    assert decision_cuts(P, np.zeros_like(Y)) == [0.5]  # no positives: the plain cut
    assert decision_cuts(P[:6], Y[:6]) == [0.5]  # 4 positives are too few to move the cut
    assert decision_cuts(P[:6], Y[:6], min_positives=4) == [0.3]
    assert decision_cuts(np.array([[0.01], [0.02]]), np.array([[1], [0]]), min_positives=1)[0] >= 0.2


def _wrong_teacher(tmp_path, n=120):
    """Synthetic reports whose pseudo-labels (a wrong teacher) call every stated Cardiomegaly
    absent; the gold (the generator's labels) says present."""
    from support.training_corpus import corpus

    rows = corpus(n, seed=3)
    reports, pseudo, gold = (tmp_path / f"{k}.jsonl" for k in ("reports", "pseudo", "gold"))
    with open(reports, "w") as fr, open(pseudo, "w") as fp, open(gold, "w") as fg:
        for r in rows:
            fr.write(json.dumps({"id": r["id"], "text": r["text"]}) + "\n")
            wrong = dict(r["labels"])
            if wrong.get("Cardiomegaly") == "present":
                wrong["Cardiomegaly"] = "absent"
            fp.write(json.dumps({"id": r["id"], "labels": wrong, "meta": {"source": "pseudo"}}) + "\n")
            fg.write(json.dumps({"id": r["id"], "labels": r["labels"]}) + "\n")
    return rows, reports, pseudo, gold


def test_gold_stage_corrects_a_wrong_teacher_and_keeps_its_labels(tmp_path):
    from radlabel.training.data import build_training_set

    rows, reports, pseudo, gold = _wrong_teacher(tmp_path)
    assert sum(r["labels"].get("Cardiomegaly") == "present" for r in rows) >= 10
    ont = Ontology.load(None)
    data = build_training_set([str(pseudo)], ont, gold_paths=[str(gold)], reports=str(reports))
    # every record is gold now, and each keeps the pseudo-labels it shadows
    assert set(data.record_sources) == {"gold"} and all(s is not None for s in data.shadowed)
    k = data.ids.index(next(r["id"] for r in rows if r["labels"].get("Cardiomegaly") == "present"))
    assert data.shadowed[k]["Cardiomegaly"] == "absent" and data.labels[k]["Cardiomegaly"] == "present"
    only = build_training_set([str(pseudo)], ont, reports=str(reports))
    assert set(only.record_sources) == {"pseudo"} and all(s is None for s in only.shadowed)

    cfg = TrainConfig(variant="mention", val_fraction=0.0)
    wrong = train_model(cfg, tmp_path / "m_pseudo", labels=[str(pseudo)], reports=str(reports))
    fixed = train_model(cfg, tmp_path / "m_gold", labels=[str(pseudo)], gold=[str(gold)],
                        reports=str(reports))
    assert fixed.info["pseudo_kept"] == len(data) and wrong.info["pseudo_kept"] == 0
    # the gold weight was chosen out of fold on the training reports among the candidates
    tried = fixed.info["gold_weight_oof_f1"]
    assert set(tried) == {1.0, 3.0, 10.0} and fixed.info["gold_weight"] == max(tried, key=tried.get)
    assert wrong.info["gold_weight_oof_f1"] == {}  # no gold: nothing to choose
    texts = [r["text"] for r in rows if r["labels"].get("Cardiomegaly") == "present"]
    hit = lambda clf: sum(o["labels"]["Cardiomegaly"] == "present" for o in clf.predict(texts))
    assert hit(wrong) <= 0.2 * len(texts)  # it learned the wrong teacher
    assert hit(fixed) >= 0.8 * len(texts)  # the gold moved exactly those sentences back


def test_pretrain_warms_the_mlm_head_before_unfreezing(tmp_path):
    from radlabel.training.pretrain import pretrain
    from radlabel.training.tokenizer import train_bpe
    from support.training_corpus import corpus

    texts = [r["text"] for r in corpus(48)]
    train_bpe(texts, tmp_path / "tok", vocab_size=400)
    info = pretrain(texts, tmp_path / "enc", mode="scratch", tokenizer_dir=str(tmp_path / "tok"),
                    max_steps=2, head_warmup_steps=4, batch_size=8, max_length=48, logging_steps=1,
                    bf16=False, lr=1e-12)  # phase 2 (all weights) barely moves anything
    curve = info["curve"]
    assert [c["phase"] for c in curve] == ["head"] * 4 + ["all"] * 2
    assert [c["step"] for c in curve] == [1, 2, 3, 4, 5, 6]
    assert curve[3]["loss"] < curve[0]["loss"]  # the head alone learns
    assert info["head_warmup_steps"] == 4 and (tmp_path / "enc" / "pretrain.json").exists()
    # phase 1 trained the head and left the encoder as it was initialised
    import torch
    from transformers import AutoModelForMaskedLM

    from radlabel.training.pretrain import build_mlm

    init, _ = build_mlm("scratch", str(tmp_path / "tok"), 48, 0)
    done = AutoModelForMaskedLM.from_pretrained(tmp_path / "enc")
    a0, a1 = init.state_dict(), done.state_dict()
    body = [k for k in a0 if ".encoder.layer." in k and k.endswith("weight")]
    assert body and all(torch.allclose(a0[k], a1[k], atol=1e-6) for k in body)
    head = [k for k in a0 if k.startswith("lm_head.dense")]
    assert head and not all(torch.allclose(a0[k], a1[k], atol=1e-6) for k in head)


def test_gated_patterns_find_exactly_what_the_synonym_patterns_find():
    from radlabel.rules.context import ContextRules
    from radlabel.sections import report_sentences
    from radlabel.synth import generate_reports
    from radlabel.training.mention import context_features, gated_patterns, phrase_gate

    ont = Ontology.load(None)
    names = [c.name for c in ont.finding_classes]
    gated = gated_patterns(ont, names)
    assert all(g.gate for g in gated)  # the chest classes all have first words to gate on
    sents = {s.text for r in generate_reports(300, seed=5) for s in report_sentences(r.text)}
    sents |= {"Opacities at both bases.", "NO PNEUMOTHORAX.", "Heart size is enlarged."}
    rules = ContextRules.default()
    for s in sents:
        for g in gated:
            assert context_features(s, g, rules) == context_features(s, g.pattern, rules)
    assert phrase_gate(["opacity", "air ... bronchogram"]) == ("air", "opacit")
    assert phrase_gate(["-"]) is None  # nothing to gate on: always scanned
