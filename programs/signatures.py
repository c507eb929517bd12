"""DSPy signatures: what we ask the LM, stated so a 1.5B model can answer it.

The default program never asks for all classes at once: it asks about one finding at a time,
showing only the sentences that mention it (see `modules.MentionLabeler`).
"""
from __future__ import annotations

from typing import Literal

import dspy

JudgedState = Literal["present", "absent", "uncertain"]


class JudgeFinding(dspy.Signature):
    """Decide what the radiology report sentences say about ONE finding.

    present: the finding is reported as seen now, at any size or severity (small, mild, borderline,
    chronic, healed, stable or unchanged all count as present).
    absent: the sentence negates it ("no", "without", "free of", "is not seen", "has resolved") or
    describes that structure as normal ("heart size is normal", "lungs are clear").
    uncertain: the sentence only hedges ("possible", "may represent", "cannot be excluded",
    "suspicious for", "versus", "questionable").
    Judge only the named finding; other findings in the same sentence do not matter.
    Observation versus interpretation: in "patchy opacity which may represent atelectasis or
    pneumonia" the opacity is seen (present); only atelectasis and pneumonia are uncertain.
    Several sentences: if any one reports the finding as seen (for example on one side, while
    another sentence denies it on the other side or says it improved), answer present."""

    finding: str = dspy.InputField(desc="the finding to judge, with its definition")
    sentences: str = dspy.InputField(desc="the report sentences that mention it")
    state: JudgedState = dspy.OutputField(desc="present, absent or uncertain")


class LabelFullReport(dspy.Signature):
    """Label a radiology report for every listed finding in one answer.

    For each finding answer present (seen, any severity), absent (negated or described as normal),
    uncertain (hedged) or not_mentioned (the report says nothing about it). Copy the shortest
    sentence that supports each present, absent or uncertain answer as its evidence."""

    findings: str = dspy.InputField(desc="the findings to label, one per line: name: definition")
    report: str = dspy.InputField(desc="the radiology report")
    labels: dict[str, Literal["present", "absent", "uncertain", "not_mentioned"]] = dspy.OutputField(
        desc="finding name -> state, for every listed finding")
    evidence: dict[str, str] = dspy.OutputField(desc="finding name -> sentence copied from the report")
