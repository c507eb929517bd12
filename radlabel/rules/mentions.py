"""Find where a report mentions each class, and what the sentence says about it.

This is the cheap, deterministic first stage: it decides which classes the LM needs to judge at
all (a class with no mention is ``not_mentioned`` at zero tokens) and gives every mention a rule
state from the ConText cues of `radlabel.rules.context` (data in ``context_rules.yaml``).
"""
from __future__ import annotations

from dataclasses import dataclass

from radlabel.ontology import Ontology
from radlabel.rules.context import ContextRules
from radlabel.sections import Sentence, report_sentences

STATE_RANK = {"present": 3, "uncertain": 2, "absent": 1, "not_mentioned": 0}


@dataclass(frozen=True)
class Mention:
    """One place where a class is named, with the rule-based reading of it."""

    cls: str
    sentence: Sentence
    start: int  # offsets into the report text
    end: int
    state: str  # present | absent | uncertain
    cue: str | None = None
    via: str = "synonym"  # synonym | normal_phrase | retrieved

    @property
    def text(self) -> str:
        return self.sentence.text


def mention_state(sent: str, a: int, b: int, rules: ContextRules | None = None
                  ) -> tuple[str, str | None]:
    """Rule state of the mention at sent[a:b]: negated, hedged, hypothetical or asserted.

    >>> mention_state("Heart: not enlarged.", 0, 19)
    ('absent', 'not')
    """
    return (rules or ContextRules.default()).state(sent, a, b)


def sentence_state(sent: str, rules: ContextRules | None = None) -> tuple[str, str | None]:
    """Rule state of a whole sentence, as for a mention at its end: what an embedding-only
    candidate, which has no matched words of its own, is read as."""
    return (rules or ContextRules.default()).sentence_state(sent)


def find_mentions(text: str, ontology: Ontology, *, sentences: list[Sentence] | None = None,
                  rules: ContextRules | None = None) -> dict[str, list[Mention]]:
    """All mentions per class, in report order; indication/comparison sections are skipped.

    A phrase matched across a clause boundary ("heart ... enlarged" over "heart normal; aorta
    enlarged") is no mention, and neither is a hypothetical one ("return if fever develops"):
    nothing is asserted there.

    >>> o = Ontology.from_yaml("classes: [{name: Hydrocephalus, definition: Enlarged ventricles.}]")
    >>> [m.state for m in find_mentions("No hydrocephalus. Return if hydrocephalus.", o)["Hydrocephalus"]]
    ['absent']
    """
    rules = rules or ContextRules.default()
    sents = sentences if sentences is not None else report_sentences(text)
    out: dict[str, list[Mention]] = {}
    for sent in sents:
        for cls, pat in ontology.synonym_patterns.items():
            for m in pat.finditer(sent.text):
                if rules.crosses_clause(m.group(0)):
                    continue
                state, cue = rules.state(sent.text, m.start(), m.end())
                if state == "not_mentioned":
                    continue
                out.setdefault(cls, []).append(Mention(cls, sent, sent.start + m.start(),
                                                       sent.start + m.end(), state, cue))
        for cls, pat in ontology.normal_patterns.items():
            for m in pat.finditer(sent.text):
                if rules.crosses_clause(m.group(0), words=False):
                    continue
                out.setdefault(cls, []).append(Mention(cls, sent, sent.start + m.start(),
                                                       sent.start + m.end(), "absent", "normal",
                                                       via="normal_phrase"))
    # A class mentioned only inside a larger synonym of another class ("pneumothorax" inside
    # "hydropneumothorax") keeps both: the ontology says both apply.
    return out


def combine_states(states: list[str]) -> str:
    """Report-level state from several mentions: present > uncertain > absent > not_mentioned."""
    return max(states, key=STATE_RANK.__getitem__) if states else "not_mentioned"


def mention_sentences(mentions: list[Mention]) -> str:
    """The distinct sentences of a class's mentions, in report order, joined: what the judge
    reads for the class, and what the labelled-sentence index stores when a label has no evidence.

    >>> o = Ontology.from_yaml("classes: [{name: Ascites, definition: Free fluid.}]")
    >>> mention_sentences(find_mentions("Ascites, likely ascites. No ascites now.", o)["Ascites"])
    'Ascites, likely ascites. No ascites now.'
    """
    seen, sents = set(), []
    for m in mentions:
        if m.sentence.start not in seen:
            seen.add(m.sentence.start)
            sents.append(m.sentence.text)
    return " ".join(sents)
