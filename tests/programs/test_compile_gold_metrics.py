"""Gold sets (shapes, validation, splits) and the DSPy metrics built on them."""
from __future__ import annotations

import json

import dspy
import pytest

from support.compile_gold import FOUR_STATE_ROWS, positives_only, write_rows
from radlabel.errors import InputError
from radlabel.labels import FOUR_STATE, POSITIVES_ONLY, load_gold, split_gold
from radlabel.programs.metrics import judge_agreement, judge_feedback, state_agreement, state_feedback


def test_four_state_gold_fills_unlisted_classes_with_not_mentioned(tmp_path):
    gold = load_gold(write_rows(tmp_path / "g.jsonl", FOUR_STATE_ROWS))
    assert gold.kind == FOUR_STATE and len(gold) == len(FOUR_STATE_ROWS)
    g1 = gold.labels_by_id()["g1"]
    assert g1["Cardiomegaly"] == "present" and g1["Pleural Effusion"] == "uncertain"
    assert g1["Pneumothorax"] == "not_mentioned" and len(g1) == 14


def test_positives_only_gold_is_detected_and_zero_is_not_present(tmp_path):
    gold = load_gold(write_rows(tmp_path / "g.jsonl", positives_only(FOUR_STATE_ROWS)))
    assert gold.kind == POSITIVES_ONLY and gold.positives_only
    g1 = gold.labels_by_id()["g1"]
    assert g1["Cardiomegaly"] == "present" and g1["Pleural Effusion"] != "present"
    assert g1["Pneumothorax"] != "present"


def test_gold_hash_changes_with_content(tmp_path):
    a = load_gold(write_rows(tmp_path / "a.jsonl", FOUR_STATE_ROWS))
    rows = json.loads(json.dumps(FOUR_STATE_ROWS))
    rows[0]["labels"]["Cardiomegaly"] = "absent"
    b = load_gold(write_rows(tmp_path / "b.jsonl", rows))
    assert a.hash != b.hash


@pytest.mark.parametrize("bad_line, message, field", [
    ({"id": "x", "labels": {"Cardiomegaly": "maybe"}}, "unknown state", "labels.Cardiomegaly"),
    ({"id": "x", "labels": {"Heart Attack": "present"}}, "unknown class", "labels.Heart Attack"),
    ({"id": "x", "labels": ["Cardiomegaly"]}, "must be an object", "labels"),
    ({"labels": {"Cardiomegaly": "present"}}, "missing 'id'", "id"),
    ({"id": "g1", "labels": {"Cardiomegaly": "present"}}, "duplicate id", "id"),
])
def test_bad_gold_lines_name_file_line_and_field(tmp_path, bad_line, message, field):
    path = write_rows(tmp_path / "g.jsonl", FOUR_STATE_ROWS[:2] + [bad_line])
    with pytest.raises(InputError) as e:
        load_gold(path)
    assert message in str(e.value) and e.value.line == 3 and e.value.field == field
    assert str(path) in str(e.value)


def test_mixed_gold_shapes_are_rejected_at_the_first_odd_line(tmp_path):
    rows = FOUR_STATE_ROWS[:2] + positives_only(FOUR_STATE_ROWS[2:3])
    with pytest.raises(InputError) as e:
        load_gold(write_rows(tmp_path / "g.jsonl", rows))
    assert e.value.line == 3 and "mixes gold shapes" in str(e.value)


def test_split_is_deterministic_disjoint_and_complete(tmp_path):
    gold = load_gold(write_rows(tmp_path / "g.jsonl", FOUR_STATE_ROWS))
    a1, b1 = split_gold(gold, 3, seed=1)
    a2, b2 = split_gold(gold, 3, seed=1)
    ids = lambda s: [r.id for r in s]  # noqa: E731
    assert ids(a1) == ids(a2) and ids(b1) == ids(b2)
    assert len(a1) == 3 and not set(ids(a1)) & set(ids(b1))
    assert set(ids(a1)) | set(ids(b1)) == set(ids(gold))
    assert any(ids(split_gold(gold, 3, seed=s)[0]) != ids(a1) for s in range(2, 8))
    assert a1.hash != b1.hash != gold.hash


def test_split_refuses_sizes_that_leave_nothing(tmp_path):
    gold = load_gold(write_rows(tmp_path / "g.jsonl", FOUR_STATE_ROWS))
    for n in (0, len(gold)):
        with pytest.raises(InputError):
            split_gold(gold, n)


def test_gold_without_text_cannot_be_compiled(tmp_path):
    gold = load_gold(write_rows(tmp_path / "g.jsonl", [{"id": "x", "labels": {"Edema": "present"}}]))
    with pytest.raises(InputError, match="no text"):
        gold.require_text()


# -- metrics -------------------------------------------------------------------------------------

def _report_example(labels, kind=FOUR_STATE):
    return dspy.Example(report="...", gold_states=labels, gold_kind=kind).with_inputs("report")


def test_state_agreement_counts_agreeing_classes():
    ex = _report_example({"Cardiomegaly": "present", "Pleural Effusion": "absent",
                          "Pneumothorax": "uncertain", "Edema": "not_mentioned"})
    pred = dspy.Prediction(states={"Cardiomegaly": "present", "Pleural Effusion": "uncertain",
                                   "Pneumothorax": "uncertain", "Edema": "not_mentioned"})
    assert state_agreement(ex, pred) == pytest.approx(0.75)
    assert state_agreement(ex, pred, trace=[]) is False  # bootstrapping wants perfect traces


def test_positives_only_agreement_compares_present_or_not():
    ex = _report_example({"Cardiomegaly": "present", "Pleural Effusion": "absent"}, POSITIVES_ONLY)
    pred = dspy.Prediction(states={"Cardiomegaly": "present", "Pleural Effusion": "uncertain"})
    assert state_agreement(ex, pred) == 1.0
    wrong = dspy.Prediction(states={"Cardiomegaly": "uncertain", "Pleural Effusion": "present"})
    assert state_agreement(ex, wrong) == 0.0


def test_state_feedback_names_each_miss():
    ex = _report_example({"Pleural Effusion": "present", "Cardiomegaly": "absent"})
    out = state_feedback(ex, dspy.Prediction(states={"Pleural Effusion": "absent",
                                                     "Cardiomegaly": "absent"}))
    assert out.score == 0.5
    assert out.feedback == "Pleural Effusion: you said absent, gold present"


def test_judge_metrics_and_feedback():
    ex = dspy.Example(finding="Pneumonia: infection.", sentences="May represent pneumonia.",
                      state="uncertain", gold_kind=FOUR_STATE).with_inputs("finding", "sentences")
    assert judge_agreement(ex, dspy.Prediction(state="uncertain")) == 1.0
    assert judge_agreement(ex, dspy.Prediction(state="present")) == 0.0
    fb = judge_feedback(ex, dspy.Prediction(state="present"))
    assert fb.score == 0.0 and fb.feedback.startswith("Pneumonia: you said present, gold uncertain")
    po = ex.copy(gold_kind=POSITIVES_ONLY)
    assert judge_agreement(po, dspy.Prediction(state="absent")) == 1.0
    hedged_present = po.copy(state="present")
    fb = judge_feedback(hedged_present, dspy.Prediction(state="uncertain"))
    assert fb.score == 0.0 and "coded this finding as present" in fb.feedback
    assert "hedging means uncertain" not in fb.feedback    # no rule that contradicts the coders
    fb = judge_feedback(po.copy(state="absent"), dspy.Prediction(state="present"))
    assert fb.score == 0.0 and "did not code this finding" in fb.feedback
