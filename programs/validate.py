"""Check a program's answer before it becomes a label record.

Unknown classes or states are rejected, and every evidence span must occur in the report
(whitespace-normalised), so evidence is always auditable against the source text.
"""
from __future__ import annotations

import re

from radlabel.ontology import Ontology
from radlabel.schema import STATES

_WS = re.compile(r"\s+")


def normalise_ws(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def evidence_in_report(span: str, report: str) -> bool:
    return bool(span.strip()) and normalise_ws(span) in normalise_ws(report)


class InvalidAnswer(ValueError):
    pass


def validate_answer(labels: dict, evidence: dict, report: str, ontology: Ontology) -> None:
    """Raise InvalidAnswer naming the first problem; return None when the answer is usable."""
    for cls, state in labels.items():
        if cls not in ontology.by_name:
            raise InvalidAnswer(f"unknown class {cls!r}")
        if state not in STATES:
            raise InvalidAnswer(f"{cls}: unknown state {state!r}")
    missing = [c for c in ontology.names if c not in labels]
    if missing:
        raise InvalidAnswer(f"no state for {', '.join(missing[:5])}")
    for cls, span in evidence.items():
        if cls not in ontology.by_name:
            raise InvalidAnswer(f"evidence for unknown class {cls!r}")
        if not evidence_in_report(span, report):
            raise InvalidAnswer(f"{cls}: evidence {span[:60]!r} does not occur in the report")
