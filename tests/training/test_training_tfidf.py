"""TF-IDF variant end to end (fast): train -> save -> load -> identical probabilities, the
`radlabel predict` output format, four-state head, out-of-fold probabilities, tokenizer fertility."""
from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from radlabel.training import cli as training_cli
from radlabel.training.registry import load_classifier
from radlabel.training.config import TrainConfig
from radlabel.training.crossval import cross_val_proba
from radlabel.training.train import train_model
from support.training_corpus import write_files


def _app():
    app = typer.Typer()
    training_cli.register(app)
    return app


def test_tfidf_round_trip_and_thresholds(tmp_path):
    f = write_files(tmp_path, n=200)
    clf = train_model(TrainConfig(variant="tfidf", val_fraction=0.25), tmp_path / "m",
                      labels=[str(f["pseudo"])], reports=str(f["reports"]))
    texts = [r["text"] for r in f["rows"][:10]]
    again = load_classifier(tmp_path / "m")
    np.testing.assert_array_equal(clf.predict_proba(texts), again.predict_proba(texts))
    meta = json.loads((tmp_path / "m" / "radlabel_model.json").read_text())
    assert meta["variant"] == "tfidf" and len(meta["thresholds"]) == len(meta["classes"])
    assert meta["label_sources"] == {"pseudo": 200} and meta["n_val"] == 50
    # learned something: better than calling every class present on the validation split
    sup = np.array(meta["metrics"]["support"])
    all_present_f1 = 2 * sup.sum() / (sup.sum() + 50 * len(sup) + sup.sum())
    assert meta["metrics"]["micro_f1"] > max(0.5, all_present_f1)
    card = (tmp_path / "m" / "README.md").read_text()
    assert "micro-F1" in card and "pseudo: 200" in card


def test_four_state_head_predicts_states(tmp_path):
    f = write_files(tmp_path, n=80)
    clf = train_model(TrainConfig(variant="tfidf", four_state=True), tmp_path / "m4",
                      gold=[str(f["gold"])])
    P = clf.predict_proba(["FINDINGS: No pneumothorax. IMPRESSION: as above."])
    assert P.shape == (1, len(clf.classes), 4)
    np.testing.assert_allclose(P.sum(-1), 1.0, rtol=1e-6)
    out = load_classifier(tmp_path / "m4").predict(["FINDINGS: No pneumothorax. IMPRESSION: as above."])[0]
    assert set(out["labels"].values()) <= {"present", "absent", "uncertain", "not_mentioned"}
    assert out["labels"]["Fracture"] == "not_mentioned"


def test_cli_train_then_predict_writes_label_records(tmp_path):
    f = write_files(tmp_path, n=60)
    runner = CliRunner()
    r = runner.invoke(_app(), ["train", "--labels", str(f["pseudo"]), "--reports", str(f["reports"]),
                               "-o", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(_app(), ["predict", str(f["reports"]), "--model", str(tmp_path / "m"),
                               "-o", str(tmp_path / "pred.jsonl")])
    assert r.exit_code == 0, r.output
    recs = [json.loads(x) for x in (tmp_path / "pred.jsonl").read_text().splitlines()]
    assert len(recs) == 60 and recs[0]["meta"]["source"] == "classifier"
    assert set(recs[0]["probs"]) == set(recs[0]["labels"])
    assert all(v in ("present", "absent", "uncertain", "not_mentioned") for v in recs[0]["labels"].values())


def test_cross_val_proba_is_out_of_fold():
    from support.training_corpus import corpus

    rows = corpus(60)
    texts = [r["text"] for r in rows]
    Y = np.array([[1.0 if r["labels"].get(c) == "present" else 0.0 for c in ("Cardiomegaly", "Edema")]
                  for r in rows])
    P = cross_val_proba(texts, Y, folds=3)
    assert P.shape == Y.shape and ((P >= 0) & (P <= 1)).all()
    # an in-sample fit is more confident on its own training rows than out-of-fold estimates
    from radlabel.training.tfidf import TfidfClassifier
    insample = TfidfClassifier.fit(texts, Y, ["a", "b"]).predict_proba(texts)
    assert np.abs(insample - Y).mean() < np.abs(P - Y).mean()


def test_tokenizer_fertility_beats_base_on_domain_words(tmp_path):
    from support.training_corpus import corpus

    from radlabel.training.tokenizer import compare_fertility, train_bpe

    texts = [r["text"] for r in corpus(400)]
    tok = train_bpe(texts[:360], tmp_path / "tok", vocab_size=3000)
    rep = compare_fertility(tok, texts[360:])  # held-out reports
    assert rep["domain_fertility"] < rep["base_fertility"]
    assert (tmp_path / "tok" / "tokenizer.json").exists()


def test_tokenizer_cli_prints_fertility(tmp_path):
    f = write_files(tmp_path, n=40)
    r = CliRunner().invoke(_app(), ["tokenizer", "train", str(f["reports"]), "-o", str(tmp_path / "tok"),
                                    "--vocab-size", "400"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "tok" / "fertility.json").read_text())["base_fertility"] > 0


def test_train_rejects_bad_config(tmp_path):
    f = write_files(tmp_path, n=10)
    r = CliRunner().invoke(_app(), ["train", "--labels", str(f["pseudo"]), "--reports", str(f["reports"]),
                                    "-o", str(tmp_path / "m"), "--variant", "svm"])
    assert r.exit_code != 0
    assert "variant" in str(r.exception)
