"""Every ConText category on our own sentences, for every class of every bundled class set.

Each template puts a class's own vocabulary (its first plain synonym, or its name) into a sentence
of one category; the rule stage must read it as the category says (cues: resources/context_rules.yaml).
"""
from __future__ import annotations

from importlib import resources

import pytest

from radlabel.errors import InputError
from radlabel.ontology import Ontology
from radlabel.rules.context import ContextRules
from radlabel.rules.mentions import combine_states, find_mentions

# (category, template, expected report-level state; None = not a mention at all)
TEMPLATES = [
    ("present", "{x} is seen.", "present"),
    ("present", "Mild {x}.", "present"),
    ("pre-negation", "No {x}.", "absent"),
    ("pre-negation", "There is no evidence of {x}.", "absent"),
    ("pre-negation", "Negative for {x}.", "absent"),
    ("pre-negation", "The patient denied {x}.", "absent"),
    ("pre-negation", "Without {x}.", "absent"),
    ("post-negation", "{x} is not seen.", "absent"),
    ("post-negation", "{x}: none.", "absent"),
    ("post-negation", "{x} has resolved.", "absent"),
    ("post-negation", "{x} negative.", "absent"),
    ("pseudo-negation", "No change in the {x}.", "present"),
    ("pseudo-negation", "No significant interval change in {x}.", "present"),
    ("hedge", "Possible {x}.", "uncertain"),
    ("hedge", "{x} cannot be excluded.", "uncertain"),
    ("hedge", "Rule out {x}.", "uncertain"),
    ("hedge", "r/o {x}.", "uncertain"),
    ("hypothetical", "Return if {x} develops.", None),
    ("hypothetical", "If {x} is suspected clinically, repeat the study.", None),
    ("historical", "History of {x}.", "present"),
    ("terminator", "No fever, but {x} is present.", "present"),
    ("terminator", "No history of trauma who presents with {x}.", "present"),
    ("terminator", "No acute change; {x} as before.", "present"),
    # the mention is the subject of a statement of normality (what is normal is not abnormal)
    ("normality", "{x} is normal.", "absent"),
    ("normality", "Normal {x}.", "absent"),
    ("normality", "{x} and surroundings are within normal limits.", "absent"),
    ("normality", "{x} is not enlarged.", "absent"),
    ("normality", "{x} size normal.", "absent"),
    # ... but normality stated of something else leaves the mention as it was
    ("normal-elsewhere", "{x} is seen, the rest is normal.", "present"),
    ("normal-elsewhere", "{x} with normal surroundings.", "present"),
    ("normal-elsewhere", "{x} is seen and the rest is unremarkable.", "present"),
    ("normal-elsewhere", "{x} is not excluded.", "uncertain"),
]

BUNDLED = sorted(p.name[:-5] for p in resources.files("radlabel.resources").iterdir()
                 if p.name.endswith(".yaml") and p.name != "context_rules.yaml"
                 and "classes:" in p.read_text())


def _phrase(cls) -> str:
    plain = [s for s in cls.synonyms if "..." not in s]
    return (plain or [cls.name.split("/")[0]])[0]


def _cases():
    for name in BUNDLED:
        onto = Ontology.load(name)
        for cls in onto.finding_classes:
            for cat, tpl, want in TEMPLATES:
                yield pytest.param(name, cls.name, tpl, want, id=f"{name}:{cls.name}:{cat}:{tpl[:18]}")


@pytest.fixture(scope="module")
def ontologies():
    return {name: Ontology.load(name) for name in BUNDLED}


@pytest.mark.parametrize("onto_name,cls_name,template,want", list(_cases()))
def test_each_context_category_for_each_bundled_class(ontologies, onto_name, cls_name, template, want):
    onto = ontologies[onto_name]
    phrase = _phrase(onto.by_name[cls_name])
    text = template.format(x=phrase)
    text = text[0].upper() + text[1:]
    mentions = find_mentions("FINDINGS: " + text, onto).get(cls_name, [])
    mine = [m.state for m in mentions if m.via == "synonym"]
    if want is None:
        assert mine == [], f"{text!r}: a hypothetical sentence asserts nothing"
    else:
        assert combine_states(mine) == want, f"{text!r} -> {[(m.state, m.cue) for m in mentions]}"


@pytest.mark.parametrize("text,a,b,want", [
    ("Heart is not enlarged.", 0, 21, "absent"),                       # cue inside a gap phrase
    ("The heart is not significantly enlarged.", 4, 39, "absent"),
    ("Heart: not enlarged.", 0, 19, "absent"),
    ("No pneumonia; small effusion.", 19, 27, "present"),              # ';' ends the scope
    ("Effusion on the left, none on the right.", 0, 8, "present"),     # 'none' too far to govern
])
def test_spans_and_clause_scope(text, a, b, want):
    assert ContextRules.default().state(text, a, b)[0] == want


@pytest.mark.parametrize("text,word,want", [
    ("The heart is normal in size.", "heart", ("absent", "is normal")),
    ("Heart size and pulmonary vascularity are normal.", "heart", "absent"),
    ("Both lungs are free of focal disease.", "lungs", "absent"),
    ("Lungs demonstrate no acute findings.", "lungs", "absent"),
    ("Clear lungs.", "lungs", ("absent", "Clear")),
    ("Heart and mediastinum normal.", "heart", "absent"),            # normality closes the statement
    ("Lungs are grossly clear.", "lungs", "absent"),
    ("Cardiomegaly and normal lungs.", "cardiomegaly", "present"),
    ("Heart is enlarged and lungs are clear.", "heart", "present"),   # a verb before the cue
    ("The heart is enlarged, lungs are clear.", "heart", "present"),  # a comma before the cue
    ("Cardiomegaly with normal pulmonary vascularity.", "cardiomegaly", "present"),
    ("Cardiomegaly, normal pulmonary vascularity.", "cardiomegaly", "present"),
    ("The nodule is not calcified.", "nodule", "present"),          # a property, not normality
    ("Normal heart size with small right pleural effusion.", "pleural effusion", "present"),
])
def test_normality_stated_of_the_mention(text, word, want):
    a = text.lower().index(word)
    got = ContextRules.default().state(text, a, a + len(word))
    assert (got if isinstance(want, tuple) else got[0]) == want


def test_near_and_comma_options_in_a_cue_file(tmp_path):
    base = ("states: {negated: absent, uncertain: uncertain, hypothetical: not_mentioned,"
            " historical: present}\nforward: {negated: ['no']}\npseudo: []\nterminators: [but]\n"
            "normal_wording: [normal]\n")
    f = tmp_path / "cues.yaml"
    f.write_text(base + "near: [{category: negated, within: 1, commas: false, cues: [calm]}]\n"
                 "backward: [{category: negated, within: 2, commas: false, cues: [quiet]}]\n")
    rules = ContextRules.load(f)
    assert rules.state("Calm old sea.", 9, 12)[0] == "absent"        # one word between: in scope
    assert rules.state("Calm, old sea.", 10, 13)[0] == "present"     # a comma: out of scope
    assert rules.state("Sea is now quiet.", 0, 3)[0] == "absent"
    assert rules.state("Sea is rough, now quiet.", 0, 3)[0] == "present"
    f.write_text(base + "near: [{category: calm, cues: [calm]}]\n")
    with pytest.raises(InputError, match=r"cues.yaml.*near.*unknown category"):
        ContextRules.load(f)


def test_gap_phrase_never_spans_a_clause():
    onto = Ontology.from_yaml("classes: [{name: Ventriculomegaly, definition: Enlarged ventricles.,"
                              " synonyms: ['ventricles ... enlarged']}]")
    assert find_mentions("FINDINGS: Ventricles normal but sulci enlarged.", onto) == {}
    assert find_mentions("FINDINGS: The ventricles are not enlarged.", onto)["Ventriculomegaly"][0].state == "absent"


def test_demo_sentences_from_the_issue_are_not_present():
    chest = Ontology.load()
    for text in ["Heart is not enlarged.", "The cardiac silhouette is not enlarged.",
                 "The heart is not significantly enlarged.", "Heart: not enlarged."]:
        ms = find_mentions("FINDINGS: " + text, chest).get("Cardiomegaly", [])
        assert combine_states([m.state for m in ms]) == "absent", text


def test_cue_file_errors_name_the_file_and_field(tmp_path):
    bad = tmp_path / "cues.yaml"
    bad.write_text("states: {negated: absent, uncertain: uncertain, hypothetical: not_mentioned,"
                   " historical: present}\nforward: {negated: [no]}\npseudo: []\nterminators: [but]\n"
                   "normal_wording: [normal]\n")
    with pytest.raises(InputError, match=r"cues.yaml.*forward.negated\[0\].*quote it"):
        ContextRules.load(bad)
    bad.write_text("states: {negated: gone}\n")
    with pytest.raises(InputError, match="cues.yaml"):
        ContextRules.load(bad)
