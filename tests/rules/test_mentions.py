import pytest

from radlabel.ontology import Ontology
from radlabel.rules.mentions import combine_states, find_mentions


@pytest.fixture(scope="module")
def ont():
    return Ontology.load()


def states(text, ont):
    return {c: combine_states([m.state for m in ms]) for c, ms in find_mentions(text, ont).items()}


@pytest.mark.parametrize("text,cls,state", [
    ("No pleural effusion or pneumothorax.", "Pneumothorax", "absent"),
    ("No pleural effusion or pneumothorax.", "Pleural Effusion", "absent"),
    ("Pneumothorax is not seen.", "Pneumothorax", "absent"),
    ("Possible left lower lobe pneumonia.", "Pneumonia", "uncertain"),
    ("Pneumonia cannot be excluded.", "Pneumonia", "uncertain"),
    ("Opacity may represent atelectasis.", "Atelectasis", "uncertain"),
    ("Opacity may represent atelectasis.", "Opacity", "present"),
    ("Heart size is normal.", "Cardiomegaly", "absent"),
    ("The heart is mildly enlarged without edema.", "Cardiomegaly", "present"),
    ("The heart is mildly enlarged without edema.", "Edema", "absent"),
    ("No effusion but there is a small pneumothorax.", "Pneumothorax", "present"),
    ("Right IJ central line tip in the SVC.", "Support Devices", "present"),
    ("Interval resolution of the right effusion.", "Pleural Effusion", "absent"),
])
def test_rule_states(ont, text, cls, state):
    assert states("FINDINGS: " + text, ont)[cls] == state


def test_indication_is_not_a_finding(ont):
    s = states("INDICATION: Evaluate for pneumonia.\nFINDINGS: Lungs are clear.", ont)
    assert "Pneumonia" not in s
    assert s["Opacity"] == "absent"


def test_mentions_carry_exact_offsets(ont):
    text = "FINDINGS: Small left effusion. Heart is enlarged."
    for cls, ms in find_mentions(text, ont).items():
        for m in ms:
            assert text[m.sentence.start:m.sentence.end] == m.sentence.text
            assert m.sentence.start <= m.start < m.end <= m.sentence.end
