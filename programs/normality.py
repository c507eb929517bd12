"""Decide the ontology's 'normal' class (e.g. No Finding) from everything else in the report.

No Finding is present only when no finding class is present or uncertain and no sentence of the
findings/impression states some other abnormality (degenerative change, a tortuous aorta, ...).
"""
from __future__ import annotations

import re

from radlabel.sections import Sentence

# Words that make an un-negated sentence describe an abnormality outside the class list.
_ABNORMAL = re.compile(
    r"(?<![\w-])(?:degenerat\w*|tortuous\w*|tortuosity|calcifi\w*|\w*scolio\w*|\w*kypho\w*|hernia\w*|elevat\w*|"
    r"low lung volumes?|hypoinflat\w*|hypoexpan\w*|crowding|"
    r"prominen\w*|deformit\w*|surgical|clips?|sternotomy|postoperative|post-operative|s/p|status post|"
    r"ectatic|ectasia|thicken\w*|hyperinflat\w*|hyperexpan\w*|flatten\w*|osteophyt\w*|spondyl\w*|"
    r"scar\w*|fibros\w*|chronic|abnormal\w*|dilat\w*|aneurysm\w*|lesion\w*|cyst\w*|"
    r"blunt\w*|nodul\w*|wires?|hardware|prosthe\w*|arthroplast\w*|atheroscl\w*|cardiomegal\w*|"
    r"enlarge\w*|increased|widen\w*|granulom\w*|emphysem\w*|opaci\w*|infiltrat\w*|effusion\w*|"
    r"atelecta\w*|collapse|consolidat\w*|edema|congest\w*|pneumo\w*|fractur\w*|mass\w*|"
    r"catheter|tube|line|pacemaker|device|stent|port)(?![\w-])", re.I)
_NORMALISING = re.compile(
    r"(?<![\w-])(?:no|not|without|negative|normal|clear|unremarkable|within normal limits|intact|"
    r"resolved|removed|free)(?![\w-])", re.I)


def states_abnormality(text: str) -> bool:
    """An abnormality word and no negation or normal wording."""
    return bool(_ABNORMAL.search(text)) and not _NORMALISING.search(text)


def abnormal_sentences(sentences: list[Sentence]) -> list[Sentence]:
    """Finding/impression sentences that state an abnormality and carry no negation."""
    return [s for s in sentences if states_abnormality(s.text)]


def normal_state(finding_states: dict[str, str], sentences: list[Sentence]) -> tuple[str, str | None]:
    """(state, evidence) for the normal class."""
    if any(s in ("present", "uncertain") for s in finding_states.values()):
        return "absent", None
    other = abnormal_sentences(sentences)
    if other:
        return "absent", other[0].text
    if not sentences:
        return "not_mentioned", None
    return "present", sentences[-1].text
