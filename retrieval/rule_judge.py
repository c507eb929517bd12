"""A no-LM judge for many-class labelling: retrieved candidates + synonym evidence + ConText cues.

For ontologies of hundreds of classes the LM is too slow to judge every candidate on a CPU, so
this judge decides from the text alone. Evidence for a class is a match of one of its listed
synonyms (the bare class name counts only when the class file lists it, because anatomy heads
such as "Aorta" are named in normal reports too); the state comes from negation and hedging
cues around the match (ConText-style, `radlabel.rules.mentions.mention_state`). A candidate
found only by embedding similarity is called present only if ``semantic_present`` is set and its
score clears it without a negation or hedge (off by default: on the IU dev set it cost precision).
"""
from __future__ import annotations

import re
from functools import cached_property

from radlabel.ontology import Ontology, phrase_pattern
from radlabel.retrieval.candidates import CandidateRetriever
from radlabel.rules.mentions import STATE_RANK, mention_state, sentence_state
from radlabel.sections import report_sentences



class RuleJudge:
    """Label every class of ``retriever.ontology`` for a report without any LM call."""

    def __init__(self, retriever: CandidateRetriever, *, semantic_present: float | None = None):
        self.retriever = retriever
        self.ontology: Ontology = retriever.ontology
        self.semantic_present = semantic_present

    @cached_property
    def evidence_patterns(self) -> dict[str, re.Pattern]:
        out = {}
        for c in self.ontology.finding_classes:
            vocab = [*c.synonyms, *c.learned_synonyms]
            if vocab:
                out[c.name] = re.compile("|".join(phrase_pattern(s) for s in vocab if s.strip()),
                                         re.IGNORECASE)
        return out

    def label(self, text: str) -> tuple[dict[str, str], dict[str, str]]:
        """({class: state}, {class: evidence sentence}) over the ontology's finding classes."""
        sents = report_sentences(text)
        cands = self.retriever.candidates(sents)
        labels = {c.name: "not_mentioned" for c in self.ontology.finding_classes}
        evidence: dict[str, str] = {}
        for cls, places in cands.items():
            pat = self.evidence_patterns.get(cls)
            normal = self.ontology.normal_patterns.get(cls)
            best = "not_mentioned"
            for idx, score in places:
                sent = sents[idx].text
                states = []
                if pat is not None:
                    states += [mention_state(sent, m.start(), m.end())[0] for m in pat.finditer(sent)]
                if normal is not None and normal.search(sent):
                    states.append("absent")
                if not states and self.semantic_present is not None and score >= self.semantic_present \
                        and score < 1.0:
                    states.append(sentence_state(sent)[0])
                for st in states:
                    if STATE_RANK[st] > STATE_RANK[best]:
                        best, evidence[cls] = st, sent
            labels[cls] = best
        return labels, evidence
