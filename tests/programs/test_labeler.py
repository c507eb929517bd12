"""The Labeler on a scripted LM (DummyLM): routing, validation, failures, metering, artifacts."""
import dspy
import pytest
from dspy.utils import DummyLM

from radlabel.programs import Labeler
from radlabel.programs.validate import evidence_in_report


def dummy(answers):
    return DummyLM(answers, adapter=dspy.JSONAdapter())


def test_rules_only_labels_every_class_with_evidence(reports):
    rec = Labeler(judge="none")(reports["r3"], id="r3")
    assert rec.ok and rec.meta.lm_calls == 0 and rec.meta.tokens == 0
    assert len(rec.labels) == 14
    assert rec.labels["Support Devices"] == "present"
    assert rec.labels["Pleural Effusion"] == "present"
    assert rec.labels["Fracture"] == "present"
    assert rec.labels["Pneumothorax"] == "absent"
    assert rec.labels["Edema"] == "not_mentioned"
    assert rec.labels["No Finding"] == "absent"
    for cls, span in rec.evidence.items():
        assert evidence_in_report(span, reports["r3"]), cls


def test_lm_judges_only_mentioned_classes(reports):
    lab = Labeler(judge="all", lm=dummy([{"state": "present"}] * 20))
    rec = lab(reports["r2"], id="r2")
    mentioned = [c for c, s in Labeler(judge="none")(reports["r2"]).labels.items()
                 if s != "not_mentioned" and c != "No Finding"]
    assert rec.ok
    assert sorted(rec.meta.model_extra["judged"]) == sorted(mentioned)
    assert rec.meta.lm_calls == len(mentioned)
    # the scripted LM said "present" for every judged class, and that is what we report
    assert all(rec.labels[c] == "present" for c in mentioned)
    assert rec.labels["Fracture"] == "not_mentioned"


def test_ambiguous_policy_sends_only_hedged_mentions(reports):
    lab = Labeler(judge="ambiguous", lm=dummy([{"state": "absent"}] * 20))
    rec = lab(reports["r1"], id="r1")
    assert rec.ok
    assert set(rec.meta.model_extra["judged"]) == {"Atelectasis", "Pneumonia"}
    assert rec.labels["Pneumonia"] == "absent"          # the LM's answer, not the rule's
    assert rec.labels["Cardiomegaly"] == "present"      # unambiguous: decided by rules


def test_malformed_answer_is_retried_then_recorded_as_failed(reports):
    lab = Labeler(judge="all", lm=dummy([{"state": "maybe"}] * 40))
    rec = lab(reports["r2"], id="r2")
    assert not rec.ok
    assert rec.meta.status == "failed" and rec.labels == {}
    assert "maybe" in rec.meta.error or "state" in rec.meta.error
    assert rec.meta.lm_calls >= 2   # retried


@pytest.mark.parametrize("text,why", [("", "empty"), ("   \n", "empty"), ("x. " * 10_000, "limit")])
def test_empty_and_huge_reports_fail_per_report(text, why):
    rec = Labeler(judge="none")(text, id="bad")
    assert not rec.ok and why in rec.meta.error


def test_full_report_strategy_validates_evidence(reports):
    labels = {"Cardiomegaly": "present"}
    good = Labeler(strategy="full", lm=dummy([{"labels": labels, "evidence": {"Cardiomegaly": "The heart is mildly enlarged."}}]))
    rec = good(reports["r1"], id="r1")
    assert rec.ok and rec.labels["Cardiomegaly"] == "present" and rec.labels["Edema"] == "not_mentioned"
    bad = Labeler(strategy="full", lm=dummy([{"labels": labels, "evidence": {"Cardiomegaly": "Huge heart."}}] * 3))
    rec = bad(reports["r1"], id="r1")
    assert not rec.ok and "does not occur in the report" in rec.meta.error
    unknown = Labeler(strategy="full", lm=dummy([{"labels": {"Heartburn": "present"}, "evidence": {}}] * 3))
    rec = unknown(reports["r1"], id="r1")
    assert not rec.ok and "Heartburn" in rec.meta.error


def test_program_save_load_round_trip(tmp_path, reports):
    lab = Labeler(judge="all")
    lab.program.judge.demos = lab.program.judge.demos[:2]
    lab.program.judge.signature = lab.program.judge.signature.with_instructions("Judge carefully.")
    lab.save_program(tmp_path / "prog", manifest={"optimizer": "test"})
    again = Labeler.load(tmp_path / "prog", lm=dummy([{"state": "present"}] * 20))
    assert again.program_hash == lab.program_hash
    assert len(again.program.judge.demos) == 2
    assert again.program.judge.signature.instructions == "Judge carefully."
    assert again(reports["r2"]).ok


def test_retrieved_only_candidates_are_read_like_mentions(tmp_path):
    """An embedding-only candidate that passes the rank gate gets the sentence's rule state:
    asserted -> present without the LM under "ambiguous"; hedged -> the LM; "all" -> the LM."""
    from radlabel.ontology import Ontology
    from radlabel.retrieval.candidates import CandidateRetriever
    from radlabel.retrieval.embeddings import get_embedder
    from radlabel.retrieval.store import open_store

    ont = Ontology.from_yaml(
        "classes:\n"
        "  - name: Hiatal Hernia\n    definition: Part of the stomach pushed up through the diaphragm into the chest.\n"
        "    synonyms: [hiatal hernia]\n"
        "  - name: No Finding\n    definition: nothing abnormal\n    role: normal\n")
    asserted = "FINDINGS: Retrocardiac air-fluid level, the stomach has herniated above the diaphragm."
    hedged = "FINDINGS: Retrocardiac air-fluid level, the stomach may have herniated above the diaphragm."
    normal = "FINDINGS: The stomach bubble is normal below the diaphragm."
    retriever = CandidateRetriever(open_store(str(tmp_path / "db")), get_embedder(), ont, k=1, min_score=0.0)
    rules = Labeler(ont, judge="none", retriever=retriever)
    got = rules(asserted)
    assert got.ok and got.labels["Hiatal Hernia"] == "present" and got.meta.lm_calls == 0
    assert got.evidence["Hiatal Hernia"] in asserted and got.labels["No Finding"] == "absent"
    assert rules(normal).labels["Hiatal Hernia"] == "not_mentioned"       # gate: normal wording
    amb = Labeler(ont, judge="ambiguous", retriever=retriever, lm=dummy([{"state": "absent"}] * 4))
    assert amb(asserted).meta.model_extra["judged"] == []                  # rules read it
    judged = amb(hedged)
    assert judged.ok and judged.meta.model_extra["judged"] == ["Hiatal Hernia"]
    assert judged.labels["Hiatal Hernia"] == "absent"                      # the LM's answer
    every = Labeler(ont, judge="all", retriever=retriever, lm=dummy([{"state": "uncertain"}] * 4))(asserted)
    assert every.meta.model_extra["judged"] == ["Hiatal Hernia"]
    assert every.labels["Hiatal Hernia"] == "uncertain"


def _judge_answers(monkeypatch, state, conf):
    """The judge answers `state` with calibrated confidence `conf` (None: no log-probabilities)."""
    from radlabel.programs.modules import MentionLabeler

    monkeypatch.setattr(MentionLabeler, "decide",
                        lambda self, finding, sentences, options=(), label="", demos=(): (state, conf))


@pytest.mark.parametrize("conf, override_at, expect", [
    (0.60, 0.8, "absent"),      # unsure disagreement: the clear rule reading stands
    (0.85, 0.8, "uncertain"),   # sure: the LM overrules it
    (0.60, 0.0, "uncertain"),   # 0: the LM decides every mention (the old --judge all)
    (None, 0.8, "uncertain"),   # no confidence (a server without log-probabilities): the LM's answer
])
def test_judge_all_overrules_a_clear_rule_reading_only_when_sure(monkeypatch, conf, override_at, expect):
    _judge_answers(monkeypatch, "uncertain", conf)
    rec = Labeler(judge="all", judge_cache=False, override_at=override_at,
                  lm=dummy([]))("FINDINGS: No pleural effusion.", id="q")
    assert rec.labels["Pleural Effusion"] == expect
    assert rec.meta.model_extra["judged"] == ["Pleural Effusion"]


@pytest.mark.parametrize("judge, conf, expect", [
    ("ambiguous", 0.4, "present"),   # the policy that asks the LM about hedges only: its answer
    ("all", 0.4, "uncertain"),       # every mention judged: the rules' hedge stands unless sure
    ("all", 0.9, "present"),
])
def test_a_hedged_mention_is_overruled_only_when_sure_under_judge_all(monkeypatch, judge, conf, expect):
    _judge_answers(monkeypatch, "present", conf)
    rec = Labeler(judge=judge, judge_cache=False, lm=dummy([]))("FINDINGS: Possible small pleural effusion.")
    assert rec.labels["Pleural Effusion"] == expect
    assert rec.meta.model_extra["judged"] == ["Pleural Effusion"]


def test_override_threshold_is_part_of_the_program_identity():
    a, b = Labeler(judge="all", override_at=0.8), Labeler(judge="all", override_at=0.5)
    assert a.program_hash != b.program_hash
    # the default policy's identity does not change (labels of earlier runs stay resumable)
    assert Labeler(override_at=0.5).program_hash == Labeler().program_hash
