"""`radlabel evaluate`: F1 as the shared scorer defines it, confusion, calibration, report files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.compile_gold import FOUR_STATE_ROWS, positives_only, write_rows
from radlabel.cli import main
from radlabel.eval.evaluate import evaluate_file, write_report
from radlabel.labels import load_gold
from radlabel.scores import f1_scores
from radlabel.ontology import Ontology
from support.paths import ROOT

SHARED_SCORER = ROOT.parent / "shared" / "tools" / "score.py"


def _pred_rows():
    """Predictions with a known set of hits and misses against FOUR_STATE_ROWS."""
    rows = []
    for r in FOUR_STATE_ROWS:
        labels = dict(r["labels"])
        rows.append({"id": r["id"], "labels": labels, "evidence": {},
                     "meta": {"status": "ok", "source": "pseudo"}})
    rows[0]["labels"]["Pleural Effusion"] = "present"   # FP (gold uncertain)
    rows[4]["labels"]["Pleural Effusion"] = "absent"    # FN
    rows[5]["labels"]["Cardiomegaly"] = "not_mentioned"  # FN
    rows[6]["labels"]["Nodule/Mass"] = "present"         # FP, class without support
    rows[7] = {"id": "g8", "labels": {}, "evidence": {},
               "meta": {"status": "failed", "error": "LM gave no answer"}}  # FN Fracture
    return rows


@pytest.fixture
def files(tmp_path):
    gold = write_rows(tmp_path / "gold.jsonl", FOUR_STATE_ROWS)
    pred = write_rows(tmp_path / "pred.jsonl", _pred_rows())
    return gold, pred


def test_f1_counts_by_hand():
    gold = {"a": {"X": "present", "Y": "uncertain"}, "b": {"X": "absent", "Y": "present"}}
    pred = {"a": {"X": "present", "Y": "present"}, "b": {"X": "present"}}
    s = f1_scores(gold, pred, ["X", "Y"])
    assert (s.per_class["X"].tp, s.per_class["X"].fp, s.per_class["X"].fn) == (1, 1, 0)
    assert (s.per_class["Y"].tp, s.per_class["Y"].fp, s.per_class["Y"].fn) == (0, 1, 1)
    assert s.micro.tp == 1 and s.micro.fp == 2 and s.micro.fn == 1
    assert s.micro_f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert s.macro_f1 == pytest.approx((2 / 3 + 0.0) / 2)


@pytest.mark.skipif(not SHARED_SCORER.exists(), reason="shared scorer not on this machine")
@pytest.mark.parametrize("shape", ["four_state", "positives_only"])
def test_scores_match_the_shared_scorer(files, tmp_path, shape):
    gold_path, pred_path = files
    if shape == "positives_only":
        gold_path = write_rows(tmp_path / "gold01.jsonl", positives_only(FOUR_STATE_ROWS))
    ontology = Ontology.load(None)
    ours = evaluate_file(load_gold(gold_path, ontology), pred_path, ontology)
    res = tmp_path / "res.json"
    # the shared scorer reads gold class lists from the file; give it every class explicitly
    full = [{"id": g.id, "labels": g.labels} for g in load_gold(gold_path, ontology).reports]
    full_path = write_rows(tmp_path / "gold_full.jsonl", full)
    subprocess.run([sys.executable, str(SHARED_SCORER), "--gold", str(full_path), "--pred",
                    str(pred_path), "--json", str(res)], check=True, capture_output=True)
    theirs = json.loads(res.read_text())
    assert ours.f1.micro_f1 == pytest.approx(theirs["micro"]["f1"])
    assert ours.f1.macro_f1 == pytest.approx(theirs["macro_f1"])
    for cls, v in theirs["per_class"].items():
        assert ours.f1.per_class[cls].f1 == pytest.approx(v["f1"]), cls


def test_four_state_report_has_confusion_and_plots(files, tmp_path):
    gold_path, pred_path = files
    ontology = Ontology.load(None)
    result = evaluate_file(load_gold(gold_path, ontology), pred_path, ontology)
    assert result.failed == ["g8"]
    assert result.confusion["uncertain"]["present"] == 1
    assert result.confusion["present"]["absent"] == 1
    assert result.confusion["present"]["not_mentioned"] == 2  # g6 cardiomegaly, failed g8 fracture
    assert result.calibration is None
    md = write_report(result, tmp_path / "report")
    text = md.read_text()
    assert "micro F1" in text and "| Pleural Effusion |" in text and "State confusion" in text
    for png in ("f1_per_class.png", "confusion.png"):
        assert (tmp_path / "report" / png).read_bytes()[:4] == b"\x89PNG"
    scores = json.loads((tmp_path / "report" / "scores.json").read_text())
    assert scores["failed"] == 1 and scores["micro_f1"] == round(result.f1.micro_f1, 4)


def test_positives_only_report_has_no_confusion(files, tmp_path):
    _, pred_path = files
    gold_path = write_rows(tmp_path / "g01.jsonl", positives_only(FOUR_STATE_ROWS))
    ontology = Ontology.load(None)
    result = evaluate_file(load_gold(gold_path, ontology), pred_path, ontology)
    assert result.confusion is None
    assert "cannot be told apart" in write_report(result, tmp_path / "r").read_text()


def test_calibration_when_records_carry_probabilities(tmp_path):
    gold_path = write_rows(tmp_path / "gold.jsonl", FOUR_STATE_ROWS)
    rows = []
    for r in FOUR_STATE_ROWS:
        probs = {c: (0.9 if s == "present" else 0.2) for c, s in r["labels"].items()}
        rows.append({"id": r["id"], "labels": {c: "present" if p > 0.5 else "absent"
                                               for c, p in probs.items()},
                     "probs": probs, "meta": {"source": "classifier"}})
    pred = write_rows(tmp_path / "pred.jsonl", rows)
    ontology = Ontology.load(None)
    result = evaluate_file(load_gold(gold_path, ontology), pred, ontology)
    c = result.calibration
    assert c is not None and c.n == sum(len(r["labels"]) for r in FOUR_STATE_ROWS)
    assert c.brier == pytest.approx((sum(0.1 ** 2 for r in FOUR_STATE_ROWS for s in r["labels"].values() if s == "present")
                                     + sum(0.2 ** 2 for r in FOUR_STATE_ROWS for s in r["labels"].values() if s != "present")) / c.n)
    write_report(result, tmp_path / "r")
    assert (tmp_path / "r" / "calibration.png").exists()


def test_cli_evaluate_writes_report(files, tmp_path, capsys):
    gold_path, pred_path = files
    main(["evaluate", "--gold", str(gold_path), "--labels", str(pred_path), "-o", str(tmp_path / "rep")])
    assert (tmp_path / "rep" / "report.md").exists()
    assert "micro F1" in capsys.readouterr().out


def test_cli_evaluate_needs_exactly_one_source(files, tmp_path, capsys):
    gold_path, pred_path = files
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--gold", str(gold_path), "-o", str(tmp_path / "rep")])
    assert e.value.code == 2 and "exactly one" in capsys.readouterr().err
