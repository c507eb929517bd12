"""Turn report-level gold into judge-level training examples.

The trainable part of `MentionLabeler` is its judge (one finding, its sentences -> state). The
mention finder runs on each gold report exactly as it does when labelling, and every mentioned
class the judge would see becomes ``dspy.Example(finding, sentences -> state)``. Compiling at
this level costs one LM call per example instead of one labelling run per report.

Gold state per example:
* four-state gold: the gold state; a class the rules find but gold calls not_mentioned is
  skipped (the judge cannot answer not_mentioned, and such a mention is a finder problem).
* positives-only gold (0/1): 1 -> present; 0 -> the rules' reading when it is absent or
  uncertain (0 cannot tell those apart), else absent.
"""
from __future__ import annotations

import dspy

from radlabel.labels import GoldSet
from radlabel.ontology import Ontology
from radlabel.rules.mentions import combine_states, find_mentions
from radlabel.programs.modules import is_ambiguous, judge_inputs
from radlabel.sections import report_sentences

EXAMPLE_POLICIES = ("ambiguous", "all")


def _example_state(gold_state: str, rule_state: str, positives_only: bool) -> str | None:
    if not positives_only:
        return None if gold_state == "not_mentioned" else gold_state
    if gold_state == "present":
        return "present"
    return rule_state if rule_state in ("absent", "uncertain") else "absent"


def judge_examples(gold: GoldSet, ontology: Ontology, policy: str = "ambiguous") -> list[dspy.Example]:
    """Judge-level examples for the mentions a program with judge=`policy` would send to the LM."""
    if policy not in EXAMPLE_POLICIES:
        raise ValueError(f"policy must be one of {EXAMPLE_POLICIES}")
    gold.require_text()
    out = []
    for rep in gold.reports:
        sentences = report_sentences(rep.text)
        mentions = find_mentions(rep.text, ontology, sentences=sentences)
        for cls in ontology.finding_classes:
            ms = mentions.get(cls.name)
            if not ms or (policy == "ambiguous" and not is_ambiguous(ms)):
                continue
            state = _example_state(rep.labels.get(cls.name, "not_mentioned"),
                                   combine_states([m.state for m in ms]), gold.positives_only)
            if state is None:
                continue
            finding, sents = judge_inputs(cls, ms)
            out.append(dspy.Example(finding=finding, sentences=sents, state=state,
                                    gold_kind=gold.kind, report_id=rep.id, cls=cls.name)
                       .with_inputs("finding", "sentences"))
    return out
