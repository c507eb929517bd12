"""radlabel.synth: deterministic, realistic reports whose labels agree with their text."""
from __future__ import annotations

import json
import re
import types
from collections import Counter
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from radlabel.commands_synth import register
from radlabel.errors import InputError
from radlabel.jsonl import read_jsonl
from radlabel.labels import load_gold
from radlabel.ontology import Ontology
from radlabel.schema import STATES
from radlabel.sections import NON_FINDING_SECTIONS, split_sections, split_sentences
from radlabel.synth import (DEFAULT_PREVALENCE, SyntheticReport, generate_reports, iter_reports,
                            parse_prevalence, write_reports)
from support.paths import FIXTURES

FIXTURE = FIXTURES / "handwritten_reports.jsonl"
NEGATION = re.compile(r"\b(no|not|without|free\s+of|resolved|resolution|negative|normal|clear|sharp|removal|removed)\b",
                      re.I)
HEDGE = re.compile(r"\b(possible|possibly|may|cannot\s+be\s+excluded|cannot\s+exclude|questionable|suspicious|"
                   r"versus|could|equivocal)\b", re.I)
# Device wordings the brief counts as support devices that the class file has no synonym for.
EXTRA_DEVICE_TERMS = re.compile(r"sternotomy|prosthetic", re.I)


@pytest.fixture(scope="module")
def onto() -> Ontology:
    return Ontology.load()


@pytest.fixture(scope="module")
def corpus() -> list[SyntheticReport]:
    return generate_reports(2000, seed=11)


def finding_sentences(text: str):
    """Sentences outside INDICATION/TECHNIQUE/COMPARISON, where mentions must carry labels."""
    for sec in split_sections(text):
        if sec.name not in NON_FINDING_SECTIONS:
            yield from split_sentences(sec.text, sec.name, sec.start)


def test_same_seed_same_reports_and_prefix_stable():
    a = generate_reports(60, seed=4)
    b = generate_reports(60, seed=4)
    assert [r.model_dump() for r in a] == [r.model_dump() for r in b]
    longer = generate_reports(90, seed=4)
    assert [r.text for r in longer[:60]] == [r.text for r in a]
    other = generate_reports(60, seed=5)
    assert sum(x.text != y.text for x, y in zip(a, other)) > 50


def test_ids_and_label_shape(corpus, onto):
    assert corpus[0].id == "syn-000001" and corpus[-1].id == "syn-002000"
    assert len({r.id for r in corpus}) == len(corpus)
    for r in corpus:
        assert list(r.labels) == onto.names
        assert set(r.labels.values()) <= set(STATES)
        assert r.text.strip() and r.text.isascii() and "{" not in r.text


def test_evidence_is_verbatim_and_names_its_class(corpus, onto):
    syn, normal = onto.synonym_patterns, onto.normal_patterns
    checked = 0
    for r in corpus:
        for cls, state in r.labels.items():
            if state == "not_mentioned":
                assert cls not in r.evidence
                continue
            ev = r.evidence[cls]
            assert ev in r.text, (r.id, cls, ev)
            if cls == onto.normal_class.name:
                continue
            names_class = syn[cls].search(ev) or (cls in normal and normal[cls].search(ev))
            if cls == "Support Devices":
                names_class = names_class or EXTRA_DEVICE_TERMS.search(ev)
            assert names_class, (r.id, cls, state, ev)
            checked += 1
    assert checked > 5000


def test_absent_is_negated_and_uncertain_is_hedged(corpus, onto):
    seen = Counter()
    for r in corpus:
        for cls, state in r.labels.items():
            if cls == onto.normal_class.name:
                continue
            if state == "absent":
                assert NEGATION.search(r.evidence[cls]), (r.id, cls, r.evidence[cls])
            elif state == "uncertain":
                assert HEDGE.search(r.evidence[cls]), (r.id, cls, r.evidence[cls])
            seen[state] += 1
    assert seen["absent"] > 1000 and seen["uncertain"] > 100 and seen["present"] > 1000


def test_no_mention_goes_unlabelled(corpus, onto):
    """Any class synonym or normal phrase outside the indication means the class is labelled."""
    patterns = [(cls, p) for cls, p in onto.synonym_patterns.items()]
    patterns += [(cls, p) for cls, p in onto.normal_patterns.items()]
    for r in corpus:
        for sent in finding_sentences(r.text):
            for cls, pat in patterns:
                if pat.search(sent.text):
                    assert r.labels[cls] != "not_mentioned", (r.id, cls, sent.text)


def test_present_wins_over_a_negated_mention(corpus):
    """'No right-sided pneumothorax. Small left pneumothorax.' is present, not absent."""
    contralateral = re.compile(r"^No (left|right)(-sided pneumothorax| pleural effusion)\.$", re.I)
    both = 0
    for r in corpus:
        for sent in finding_sentences(r.text):
            m = contralateral.match(sent.text)
            if m:
                cls = "Pneumothorax" if "pneumothorax" in m.group(2).lower() else "Pleural Effusion"
                assert r.labels[cls] == "present", (r.id, sent.text)
                both += 1
    assert both >= 5


def test_no_finding_rule(corpus, onto):
    nf = onto.normal_class.name
    incidental = 0
    for r in corpus:
        positive = any(s in ("present", "uncertain") for c, s in r.labels.items() if c != nf)
        expected = "absent" if positive or r.meta["incidental"] else "present"
        assert r.labels[nf] == expected, r.id
        assert r.evidence[nf] in r.text
        incidental += r.meta["incidental"] and not positive
    assert incidental > 10  # reports abnormal only through an incidental finding exist


def test_indication_questions_never_set_labels(corpus, onto):
    asked = traps = 0
    for r in corpus:
        for cls in r.meta["indication_asks"]:
            asked += 1
            indication = [s for s in split_sections(r.text) if s.name == "INDICATION"]
            assert indication and onto.synonym_patterns[cls].search(indication[0].text), (r.id, cls)
            if r.labels[cls] == "not_mentioned":
                traps += 1
            else:
                spans = [m.start() for m in re.finditer(re.escape(r.evidence[cls]), r.text)]
                assert any(not (indication[0].start <= s < indication[0].end) for s in spans), (r.id, cls)
    assert asked > 100 and traps > 30


def test_realism_features_appear(corpus):
    texts = [r.text for r in corpus]
    features = {
        "headers": r"^(FINDINGS|Findings|REPORT|Report):",
        "indication header": r"^(INDICATION|HISTORY|CLINICAL HISTORY|REASON FOR EXAM|Indication|History)S?:",
        "technique": r"^(TECHNIQUE|EXAMINATION|EXAM|Technique|Examination|Exam):",
        "comparison": r"^(COMPARISON|Comparison)S?:",
        "numbered impression": r"^2\. ",
        "list negation": r"\bNo (pleural )?effusion or pneumothorax\.",
        "without": r"\bwithout\b",
        "post-negation": r"\bis not (seen|identified)\.",
        "no evidence of": r"\b[Nn]o evidence of\b",
        "free of": r"\bfree of\b",
        "resolved": r"\bhas resolved\.|resolution of",
        "versus": r"\bversus\b",
        "may represent": r"\bmay represent\b",
        "cannot be excluded": r"\bcannot be excluded\b",
        "suspicious for": r"\bsuspicious for\b",
        "questionable": r"\bQuestionable\b",
        "laterality and size": r"\b(Small|Moderate|Large) (left|right) pleural effusion",
        "borderline": r"\b[Bb]orderline\b",
        "normal phrasing": r"\b(Heart size is normal|[Ll]ungs are clear)",
        "ET tube": r"\b(Endotracheal|ET) tube\b",
        "NG tube": r"\b(Nasogastric|NG|Enteric) tube\b",
        "central line": r"central (venous catheter|line)",
        "PICC": r"\bPICC\b",
        "pacemaker with leads": r"(pacemaker|pacer|AICD) with leads",
        "sternotomy wires": r"sternotomy wires",
        "compared with prior": r"Compared with (the )?(prior study of|radiograph of) \[\*\*\d{4}-\d+-\d+\*\*\]",
        "unchanged from XXXX": r"unchanged from (prior study of )?XXXX",
        "interval improvement": r"[Ii]nterval improvement",
        "open-i placeholder": r"XXXX",
        "mimic placeholder": r"\[\*\*[^\]]+\*\*\]",
        "incidental spine": r"[Dd]egenerative changes",
        "incidental aorta": r"[Tt]ortuous",
        "surgical clips": r"[Ss]urgical clips",
        "indication question": r"(Evaluate for|Rule out|rule out|r/o) ",
        "synonym: enlarged cardiac silhouette": r"[Ee]nlarged cardiac silhouette",
        "synonym: airspace disease": r"airspace disease",
        "synonym: CHF": r"\bCHF\b",
        "all caps report": r"^[^a-z]{80,}$",
    }
    missing = [name for name, pat in features.items()
               if not any(re.search(pat, t, re.M) for t in texts)]
    assert not missing, missing
    headerless = sum(1 for t in texts if [s.name for s in split_sections(t)] == ["BODY"])
    assert 150 < headerless < 800


def test_prevalence_roughly_matches_defaults(corpus, onto):
    counts = Counter()
    for r in corpus:
        for cls, state in r.labels.items():
            if state in ("present", "uncertain"):
                counts[cls] += 1
    for cls, expected in DEFAULT_PREVALENCE.items():
        observed = counts[cls] / len(corpus)
        assert abs(observed - expected) <= max(0.03, 0.25 * expected), (cls, observed, expected)
    assert counts["No Finding"] > counts["Pneumothorax"] * 5
    assert counts["Opacity"] > counts["Fracture"] * 3


def test_prevalence_is_configurable():
    reps = generate_reports(600, seed=2, prevalence={"pneumothorax": 0.5, "No Finding": 0.1, "Fracture": 0.0})
    share = lambda cls: sum(r.labels[cls] in ("present", "uncertain") for r in reps) / len(reps)  # noqa: E731
    assert 0.42 < share("Pneumothorax") < 0.58
    assert 0.06 < share("No Finding") < 0.15
    assert share("Fracture") == 0.0


@pytest.mark.parametrize("kwargs, field", [
    ({"prevalence": {"Pneumothorax": 1.5}}, "prevalence.Pneumothorax"),
    ({"prevalence": {"Hernia": 0.1}}, "prevalence.Hernia"),
    ({"prevalence": {"Edema": "often"}}, "prevalence.Edema"),
    ({"style": "abdomen"}, "style"),
])
def test_bad_arguments_raise_input_error(kwargs, field):
    with pytest.raises(InputError) as err:
        generate_reports(3, **kwargs)
    assert err.value.field == field


def test_parse_prevalence():
    assert parse_prevalence("Pneumothorax=0.1, No Finding=0.2") == {"Pneumothorax": 0.1, "No Finding": 0.2}
    with pytest.raises(InputError):
        parse_prevalence("Pneumothorax:0.1")
    with pytest.raises(InputError):
        parse_prevalence("Pneumothorax=lots")


def test_iter_reports_streams_10k():
    stream = iter_reports(10_000, seed=3)
    assert isinstance(stream, types.GeneratorType)
    last, count = None, 0
    for last in stream:
        count += 1
    assert count == 10_000 and last.id == "syn-010000"


def test_subset_ontology(tmp_path):
    path = tmp_path / "classes.yaml"
    path.write_text("classes:\n"
                    "  - name: pneumothorax\n    definition: Air in the pleural space.\n"
                    "  - name: Cardiomegaly\n    definition: Enlarged heart.\n"
                    "  - name: Normal\n    definition: Nothing abnormal.\n    role: normal\n")
    onto = Ontology.load(path)
    reps = generate_reports(300, seed=1, ontology=onto, prevalence={"pneumothorax": 0.3})
    assert all(list(r.labels) == ["pneumothorax", "Cardiomegaly", "Normal"] for r in reps)
    assert any(r.labels["pneumothorax"] == "present" for r in reps)
    assert not any(re.search(r"effusion|atelectasis|consolidation", r.text, re.I) for r in reps)


def test_write_reports_and_gold_roundtrip(tmp_path, onto):
    reps = generate_reports(40, seed=8)
    n = write_reports(iter(reps), tmp_path / "out" / "reports.jsonl", tmp_path / "out" / "gold.jsonl")
    assert n == 40
    rows = read_jsonl(tmp_path / "out" / "reports.jsonl")
    assert rows == [{"id": r.id, "text": r.text} for r in reps]
    gold = load_gold(tmp_path / "out" / "gold.jsonl", onto)
    assert gold.labels_by_id() == {r.id: r.labels for r in reps}
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_write_reports_leaves_no_partial_file(tmp_path):
    def broken():
        yield from generate_reports(3, seed=1)
        raise RuntimeError("interrupted")
    with pytest.raises(RuntimeError):
        write_reports(broken(), tmp_path / "r.jsonl", tmp_path / "g.jsonl")
    assert list(tmp_path.iterdir()) == []


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_cli_writes_reports_and_gold(tmp_path):
    out, gold = tmp_path / "r.jsonl", tmp_path / "g.jsonl"
    result = CliRunner().invoke(cli_app(), ["synth", "25", "-o", str(out), "--gold-output", str(gold), "--seed", "6"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == \
        [f"syn-{i:06d}" for i in range(1, 26)]
    assert [json.loads(line)["labels"] for line in gold.read_text().splitlines()] == \
        [r.labels for r in generate_reports(25, seed=6)]
    assert "No Finding" in result.output


def test_cli_rejects_bad_prevalence(tmp_path):
    result = CliRunner().invoke(cli_app(), ["synth", "5", "-o", str(tmp_path / "r.jsonl"),
                                            "--prevalence", "Pneumothorax=7"])
    assert isinstance(result.exception, InputError)
    assert not (tmp_path / "r.jsonl").exists()


# -- the hand-written gold ---------------------------------------------------------------------
def test_handwritten_fixture_is_valid_gold(onto):
    gold = load_gold(FIXTURE, onto)
    assert len(gold) >= 12
    states = Counter()
    raw = {r["id"]: r["labels"] for r in read_jsonl(FIXTURE)}
    for rec in gold:
        rid = rec.id
        assert list(onto.resolve(c) for c in raw[rid]) == onto.names, rid  # every class written out
        states.update(rec.labels.values())
        positive = any(s in ("present", "uncertain") for c, s in rec.labels.items() if c != "No Finding")
        if positive:
            assert rec.labels["No Finding"] == "absent", rid
    assert all(states[s] >= 5 for s in STATES), states


def test_handwritten_fixture_labels_every_mention(onto):
    """A class named outside the indication is labelled; one named only there need not be."""
    gold = load_gold(FIXTURE, onto)
    indication_only = 0
    for rec in gold:
        found = {cls for sent in finding_sentences(rec.text)
                 for cls, pat in onto.synonym_patterns.items() if pat.search(sent.text)}
        for cls in found:
            assert rec.labels[cls] != "not_mentioned", (rec.id, cls)
        for sec in split_sections(rec.text):
            if sec.name == "INDICATION":
                indication_only += sum(1 for cls, pat in onto.synonym_patterns.items()
                                       if pat.search(sec.text) and cls not in found
                                       and rec.labels[cls] == "not_mentioned")
    assert indication_only >= 2


# -- second modality: head CT -------------------------------------------------------------------
def test_head_ct_reports_labels_true_by_construction():
    onto = Ontology.load("head_ct")
    reps = generate_reports(200, seed=3, style="head_ct")
    assert [r.text for r in reps[:20]] == [r.text for r in generate_reports(20, seed=3, style="head_ct")]
    seen = Counter()
    for r in reps:
        assert set(r.labels) == set(onto.names)
        sections = {s.name: s.text for s in split_sections(r.text)}
        assert {"INDICATION", "TECHNIQUE", "FINDINGS", "IMPRESSION"} <= set(sections)
        for cls, state in r.labels.items():
            if cls == "No Finding" or state == "not_mentioned":
                continue
            seen[state] += 1
            sent = r.evidence[cls]
            assert sent in sections["FINDINGS"]
            if state == "absent":
                assert NEGATION.search(sent) or re.search(r"preserved|well aerated|intact", sent), sent
            elif state == "uncertain":
                assert HEDGE.search(sent), sent
            else:
                assert not NEGATION.search(sent) and not HEDGE.search(sent), sent
        positive = any(s in ("present", "uncertain") for c, s in r.labels.items() if c != "No Finding")
        assert r.labels["No Finding"] == ("absent" if positive else "present")
    assert seen["present"] > 100 and seen["absent"] > 100 and seen["uncertain"] > 0


def test_head_ct_uses_wordings_the_class_names_miss():
    """The point of the second modality: a names-only class file misses most present findings."""
    onto = Ontology.load("head_ct")
    reps = generate_reports(200, seed=0, style="head_ct")
    present = [(c, r.evidence[c]) for r in reps for c, s in r.labels.items()
               if s == "present" and c != "No Finding"]
    named = sum(1 for c, sent in present if onto.synonym_patterns[c].search(sent))
    assert 0 < named < 0.5 * len(present)


def test_unknown_style_is_refused():
    with pytest.raises(InputError, match="unknown style"):
        generate_reports(1, style="knee_mri")
