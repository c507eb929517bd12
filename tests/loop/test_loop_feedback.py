"""Feedback: corrections keep their provenance and become training labels and compile examples."""
import json

import pytest

from support.loop_corpus import synthetic, write
from radlabel.eval import feedback as fb
from radlabel.labels import FOUR_STATE, load_gold
from radlabel.ontology import Ontology
from radlabel.schema import LabelMeta, LabelRecord

CLASSES = Ontology.load(None).names


def rec(rid, labels, evidence=None, source="pseudo"):
    return LabelRecord(id=rid, labels=labels, evidence=evidence or {}, meta=LabelMeta(source=source))


def test_confirm_with_positives_only_gold_keeps_negative_substates():
    given = {"Edema": "uncertain", "Cardiomegaly": "present", "Fracture": "absent"}
    gold = {"Edema": "absent", "Cardiomegaly": "absent", "Fracture": "absent", "Opacity": "present"}
    out = fb.confirm_with_gold(given, gold, CLASSES, positives_only=True)
    assert out["Edema"] == "uncertain"          # gold 0 does not contradict a hedge
    assert out["Cardiomegaly"] == "absent"      # gold does not code it: the label was wrong
    assert out["Fracture"] == "absent"
    assert out["Opacity"] == "present"          # missed by the labeller
    assert out["Pneumothorax"] == "not_mentioned"
    four = fb.confirm_with_gold(given, {"Edema": "present"}, CLASSES, positives_only=False)
    assert four["Edema"] == "present" and four["Cardiomegaly"] == "not_mentioned"


def test_reviewed_record_records_what_changed_and_drops_stale_evidence():
    r = fb.reviewed_record("a", {"Edema": "present", "Cardiomegaly": "present"},
                           old={"Edema": "absent", "Cardiomegaly": "present"}, text="t",
                           source="reviewed", round=2, reviewer="oracle",
                           evidence={"Edema": "No edema.", "Cardiomegaly": "Big heart."})
    assert r["meta"]["changed"] == ["Edema"]
    assert r["meta"]["corrected_from"] == {"Edema": "absent"}
    assert r["meta"]["source"] == "reviewed" and r["meta"]["round"] == 2
    assert r["evidence"] == {"Cardiomegaly": "Big heart."}


def test_oracle_answers_the_top_reports_only_within_budget():
    given = {i: rec(i, {"Edema": "present"}) for i in "abcd"}
    gold = {i: {"Edema": "absent" if i in "ab" else "present"} for i in "abcd"}
    issues = [{"id": "b", "class": "Edema"}, {"id": "b", "class": "Opacity"}, {"id": "a", "class": "Edema"},
              {"id": "x", "class": "Edema"}, {"id": "c", "class": "Edema"}]
    out = fb.oracle_review(issues, gold, given, {}, CLASSES, budget=2, round=1, exclude={"a"})
    assert [r["id"] for r in out] == ["b", "c"]   # a is already trusted, x has no gold
    assert out[0]["labels"]["Edema"] == "absent" and out[0]["meta"]["changed"] == ["Edema"]
    assert out[1]["meta"]["changed"] == []
    assert all(r["meta"]["reviewer"] == "oracle" for r in out)


def test_corrected_training_labels_keep_provenance():
    pseudo = {"a": rec("a", {"Edema": "present"}), "b": rec("b", {"Edema": "absent"})}
    trusted = {"a": fb.reviewed_record("a", {"Edema": "absent"}, old={"Edema": "present"}, text=None,
                                       source="reviewed", round=1, reviewer="r")}
    rows = {r["id"]: r for r in fb.corrected_training_labels(pseudo, trusted, round=2)}
    assert rows["a"]["labels"] == {"Edema": "absent"}
    assert rows["a"]["meta"]["source"] == "reviewed" and rows["a"]["meta"]["round"] == 1
    assert rows["a"]["meta"]["corrected_from"] == {"Edema": "present"}
    assert rows["b"]["meta"]["source"] == "pseudo" and rows["b"]["meta"]["round"] == 2


def test_compile_examples_load_as_four_state_gold(tmp_path):
    rows = synthetic(6, seed=4)
    trusted = {r["id"]: fb.reviewed_record(r["id"], r["labels"], old={}, text=r["text"], source="reviewed",
                                           round=1, reviewer="r") for r in rows}
    path = write(tmp_path / "examples.jsonl", fb.compile_examples(trusted, {}))
    gold = load_gold(path)
    assert gold.kind == FOUR_STATE and len(gold) == 6
    assert all(json.loads(line)["meta"]["source"] == "reviewed" for line in open(path))


def test_feedback_cli_writes_corrected_labels_and_examples(tmp_path):
    from radlabel.cli import main

    rows = synthetic(8, seed=6)
    labels = write(tmp_path / "labels.jsonl", [{"id": r["id"], "text": r["text"], "labels": r["labels"]}
                                               for r in rows])
    fixed = dict(rows[2]["labels"], Edema="present" if rows[2]["labels"]["Edema"] != "present" else "absent")
    reviewed = write(tmp_path / "reviewed.jsonl", [{"id": rows[2]["id"], "labels": fixed,
                                                    "meta": {"source": "reviewed", "reviewer": "dr x"}}])
    main(["feedback", "--labels", str(labels), "--reviewed", str(reviewed), "-o", str(tmp_path / "fb"),
          "--round", "3"])
    out = {json.loads(x)["id"]: json.loads(x) for x in open(tmp_path / "fb" / "corrected_labels.jsonl")}
    assert out[rows[2]["id"]]["labels"]["Edema"] == fixed["Edema"]
    assert out[rows[2]["id"]]["meta"]["reviewer"] == "dr x"
    assert out[rows[2]["id"]]["meta"]["changed"] == ["Edema"] and out[rows[2]["id"]]["meta"]["round"] == 3
    assert out[rows[0]["id"]]["meta"]["source"] == "pseudo"
    assert sum(1 for _ in open(tmp_path / "fb" / "examples.jsonl")) == 1


@pytest.mark.slow
def test_reviewed_reports_become_chroma_demos_with_provenance(tmp_path):
    from radlabel.ontology import Ontology
    from radlabel.retrieval.embeddings import get_embedder
    from radlabel.retrieval.fewshot import SentenceDemos
    from radlabel.retrieval.reports_index import LabelledReport, labelled_sentences
    from radlabel.retrieval.store import open_store

    rows = synthetic(5, seed=8)
    recs = [fb.reviewed_record(r["id"], r["labels"], old={}, text=r["text"], source="reviewed", round=2,
                               reviewer="r") for r in rows]
    onto = Ontology.load()
    info = fb.index_demos(recs, {}, tmp_path / "chroma", ontology=onto)
    assert info["reports"] == 5 and info["sentences"] > 0
    assert info["written"] == 5 + info["sentences"]
    e = labelled_sentences(LabelledReport(rows[0]["id"], rows[0]["text"], rows[0]["labels"]), onto)[0]
    demos = SentenceDemos(open_store(str(tmp_path / "chroma")), get_embedder(), k=2)
    hits = demos.retrieve(e.cls, e.sentence + " Stable.")
    assert hits and all(d.source == "reviewed" and d.round == 2 and d.cls == e.cls for d in hits)
    assert hits[0].sentence == e.sentence and hits[0].state == e.state
