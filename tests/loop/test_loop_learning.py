"""Recompiling the rule stage from corrections, the agreement rule, and corrections from a person's
review store. Reports here were written for these tests."""
import numpy as np
import pytest

from support.loop_corpus import write
from radlabel.eval import feedback as fb
from radlabel.eval.phrases import learn_synonyms, ngrams, prune_learned
from radlabel.ontology import Ontology
from radlabel.programs.labeler import Labeler
from radlabel.schema import LabelMeta, LabelRecord

BASE = Ontology.load(None)
CLASSES = BASE.names

# "reservoir line" is no synonym of Support Devices in the default class file.
TEXTS = {
    "p1": "FINDINGS: Right chest reservoir line in good position. Lungs are clear.",
    "p2": "FINDINGS: Left-sided reservoir line, tip at the cavoatrial junction. No effusion.",
    "p3": "FINDINGS: A reservoir line projects over the right atrium. Heart size is normal.",
    "n1": "FINDINGS: Heart size is normal. Lungs are clear. No pneumothorax.",
    "n2": "FINDINGS: Mild cardiomegaly. No focal consolidation.",
    "u1": "FINDINGS: Dual reservoir line unchanged. Lungs are clear.",
}


def rules(texts, ontology):
    lab = Labeler(ontology, judge="none")
    return {i: lab(t, id=i).labels for i, t in texts.items()}


def trusted_from(truth):
    return {i: {c: ("present" if c in pos else "absent") for c in CLASSES} for i, pos in truth.items()}


def test_a_missed_wording_is_learned_and_then_found():
    trusted = trusted_from({"p1": {"Support Devices"}, "p2": {"Support Devices"}, "n1": set(),
                            "n2": {"Cardiomegaly"}})
    before = rules(TEXTS, BASE)
    assert before["p1"]["Support Devices"] != "present"
    learned_ont, learned = learn_synonyms(BASE, trusted, before, TEXTS)
    assert [x.cls for x in learned] == ["Support Devices"] and "reservoir" in learned[0].phrase
    after = rules(TEXTS, learned_ont)
    # the untrusted reports with the same wording are now labelled too
    assert after["p3"]["Support Devices"] == "present" and after["u1"]["Support Devices"] == "present"
    assert after["n1"] == before["n1"]


def test_a_phrase_in_a_trusted_negative_is_not_learned():
    trusted = trusted_from({"p1": {"Support Devices"}, "p2": {"Support Devices"}, "p3": set()})
    _, learned = learn_synonyms(BASE, trusted, rules(TEXTS, BASE), TEXTS)
    assert not [x for x in learned if "reservoir" in x.phrase]


def test_a_phrase_rare_among_likely_positives_fails_the_corpus_test():
    trusted = trusted_from({"p1": {"Support Devices"}, "p2": {"Support Devices"}})
    likely = {"p3": set(), "u1": set(), "n1": set(), "n2": {"Cardiomegaly"}}
    _, learned = learn_synonyms(BASE, trusted, rules(TEXTS, BASE), TEXTS, likely=likely)
    assert not learned


def test_learned_phrases_are_dropped_when_a_trusted_report_contradicts_them():
    trusted = trusted_from({"p1": {"Support Devices"}, "p2": {"Support Devices"}})
    ont, learned = learn_synonyms(BASE, trusted, rules(TEXTS, BASE), TEXTS)
    assert learned
    kept, dropped = prune_learned(ont, BASE, trusted, TEXTS)
    assert dropped == [] and kept.hash == ont.hash
    trusted["u1"] = trusted_from({"u1": set()})["u1"]
    pruned, dropped = prune_learned(ont, BASE, trusted, TEXTS)
    assert [c for c, _ in dropped] == ["Support Devices"] and "reservoir" in dropped[0][1]
    assert pruned.hash == BASE.hash                 # the shipped synonyms are never pruned


def test_ngrams_skip_stopword_edges():
    grams = ngrams("FINDINGS: The reservoir line is in good position.")
    assert "reservoir line" in grams and "the reservoir" not in grams and "is in" not in grams
    assert "findings" not in grams


def test_agreement_rule_confirms_only_confident_reports():
    class A:  # the fields of an Analysis the rule reads
        ids = ["a", "b", "c"]
        classes = ["Edema", "Fracture"]
        states = [["present", "absent"], ["present", "absent"], ["absent", "absent"]]
        Y = np.array([[1, 0], [1, 0], [0, 0]])
        P = np.array([[0.99, 0.01], [0.7, 0.01], [0.02, 0.03]])
        trusted = {"c"}
        evidence = {}
    out = fb.agreement_records(A, min_prob=0.95, round=2, texts={})
    assert [r["id"] for r in out] == ["a"]
    assert out[0]["meta"]["source"] == "pseudo" and out[0]["meta"]["confirmed_by"] == "agreement"
    with pytest.raises(Exception):
        fb.agreement_records(A, min_prob=0.4, round=2, texts={})


def test_accepted_reports_in_the_review_store_become_corrections(tmp_path):
    from radlabel.review.importer import import_labels
    from radlabel.review.store import ReviewStore

    labels = rules(TEXTS, BASE)
    path = write(tmp_path / "labels.jsonl", [{"id": i, "text": TEXTS[i], "labels": labels[i]} for i in TEXTS])
    with ReviewStore(tmp_path / "r.db") as store:
        import_labels(store, path, ontology=BASE, reviewer="tester")
        store.set_state("p1", "Support Devices", "present", reviewer="dr a")
        store.accept("p1", reviewer="dr a")
        store.set_state("p2", "Support Devices", "present", reviewer="dr a")   # edited, not accepted
    given = {i: LabelRecord(id=i, labels=labels[i], meta=LabelMeta()) for i in TEXTS}
    out = fb.review_store_records(tmp_path / "r.db", given, round=3)
    assert [r["id"] for r in out] == ["p1"]
    r = out[0]
    assert r["labels"]["Support Devices"] == "present" and r["meta"]["changed"] == ["Support Devices"]
    assert r["meta"]["source"] == "reviewed" and r["meta"]["reviewer"] == "dr a" and r["meta"]["round"] == 3
    assert fb.review_store_records(tmp_path / "r.db", given, round=4, exclude={"p1"}) == []
