"""Hand-written demonstrations for the judge (our own sentences, not from any dataset).

They seed the default program; `radlabel compile` replaces them with optimized ones.
"""
import dspy

JUDGE_DEMOS = [
    dict(finding="Cardiomegaly: the heart is larger than normal.",
         sentences="The heart is mildly enlarged, unchanged from the prior study.", state="present"),
    dict(finding="Pleural Effusion: fluid in the pleural space.",
         sentences="No focal consolidation, pleural effusion or pneumothorax.", state="absent"),
    dict(finding="Pneumonia: infection of the lung.",
         sentences="Patchy right basilar opacity may represent atelectasis or early pneumonia.",
         state="uncertain"),
    dict(finding="Opacity: an area of lung whiter than it should be.",
         sentences="Streaky left basilar opacity, likely atelectasis.", state="present"),
    dict(finding="Pleural Effusion: fluid in the pleural space.",
         sentences="Small left pleural effusion. No right effusion.", state="present"),
    dict(finding="Opacity: an area of lung whiter than it should be.",
         sentences="Hazy right basilar opacity which could reflect pneumonia versus aspiration.",
         state="present"),
]


def judge_demos() -> list[dspy.Example]:
    return [dspy.Example(**d).with_inputs("finding", "sentences") for d in JUDGE_DEMOS]
