"""Find where a report mentions each class, and what the sentence says about it (ConText-style).

This is the cheap, deterministic first stage: it decides which classes the LM needs to judge at
all (a class with no mention is ``not_mentioned`` at zero tokens) and gives every mention a rule
state from negation and hedging cues, in the spirit of NegEx/ConText (Chapman et al.).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from radlabel.ontology import Ontology
from radlabel.sections import Sentence, report_sentences

# Cues before a mention (scope runs forward to the end of the clause).
_PRE_NEG = [
    r"no", r"not", r"without", r"negative for", r"free of", r"clear of", r"absence of", r"resolution of",
    r"resolved", r"removal of", r"rule out", r"ruled out", r"r/o", r"no evidence of", r"no signs? of",
    r"no suspicious", r"no definite", r"nor", r"neither", r"interval removal of", r"denies", r"never",
    r"there is no", r"there are no", r"none", r"clearing of", r"cleared",
]
_PRE_UNC = [
    r"possible", r"possibly", r"may", r"might", r"could", r"questionable", r"question(?: of)?", r"suspicion (?:of|for)", r"suspicious for",
    r"suspected", r"concern for", r"concerning for", r"cannot exclude", r"can ?not be excluded", r"equivocal",
    r"differential (?:diagnosis )?(?:includes|of)", r"suggestive of", r"suggests?", r"suggesting", r"versus",
    r"vs\.?", r"or", r"raises? the possibility of", r"uncertain", r"indeterminate", r"may represent",
    r"might represent", r"could represent", r"not excluded", r"\?",
]
# Cues after a mention (scope runs backward to the start of the clause).
_POST_NEG = [
    r"(?:is|are|was|were|has|have)?\s*(?:not|no longer)\s+(?:seen|identified|present|visualized|demonstrated|"
    r"evident|appreciated|detected|noted|visible|shown|definitely seen)",
    r"(?:has|have)\s+resolved", r"resolved", r"(?:is|are)\s+absent", r"(?:has|have) been removed",
    r"(?:is|are) gone", r"(?:has|have) cleared", r"ruled out", r"(?:is|are) unlikely", r"unlikely",
]
_POST_UNC = [
    r"(?:cannot|can not|could not|can't) be (?:excluded|ruled out|entirely excluded)", r"not (?:entirely )?excluded",
    r"(?:is|are) (?:possible|suspected|questioned|not excluded)", r"\?", r"versus", r"vs\.?",
    r"(?:is|are) (?:a )?(?:consideration|concern)", r"(?:may|might|could) be present",
]
# Words that end a cue's scope inside a sentence.
_TERMINATORS = r"\b(?:but|however|although|though|except|which|apart from|aside from|otherwise|yet|" \
               r"with the exception of|whereas|while)\b|;|:"


def _alt(cues: list[str]) -> str:
    return r"(?:" + "|".join(cues) + r")"


_PRE_NEG_RE = re.compile(r"(?<![\w-])" + _alt(_PRE_NEG) + r"(?![\w-])", re.I)
_PRE_UNC_RE = re.compile(r"(?<![\w-])" + _alt(_PRE_UNC) + r"(?![\w-])|\?", re.I)
_POST_NEG_RE = re.compile(r"^\W*(?:\w+\W+){0,3}?" + _alt(_POST_NEG) + r"(?![\w-])", re.I)
_POST_UNC_RE = re.compile(r"^\W*(?:\w+\W+){0,3}?" + _alt(_POST_UNC) + r"(?![\w-])", re.I)
_TERM_RE = re.compile(_TERMINATORS, re.I)
_UNC_SENTENCE_RE = re.compile(r"(?<![\w-])(?:may|might|could) (?:represent|reflect|be due to|indicate)|"
                              r"(?:differential|versus|vs\.?|or)(?![\w-])", re.I)


@dataclass(frozen=True)
class Mention:
    """One place where a class is named, with the rule-based reading of it."""

    cls: str
    sentence: Sentence
    start: int  # offsets into the report text
    end: int
    state: str  # present | absent | uncertain
    cue: str | None = None
    via: str = "synonym"  # synonym | normal_phrase

    @property
    def text(self) -> str:
        return self.sentence.text


def _clause_window(sent: str, a: int, b: int) -> tuple[str, str]:
    """Text before and after the mention, cut at the nearest scope terminators."""
    before = sent[:a]
    after = sent[b:]
    terms = list(_TERM_RE.finditer(before))
    if terms:
        before = before[terms[-1].end():]
    m = _TERM_RE.search(after)
    if m:
        after = after[: m.start()]
    return before, after


def mention_state(sent: str, a: int, b: int) -> tuple[str, str | None]:
    """Rule state of the mention at sent[a:b]: negated, hedged or asserted."""
    before, after = _clause_window(sent, a, b)
    neg = list(_PRE_NEG_RE.finditer(before))
    unc = list(_PRE_UNC_RE.finditer(before))
    last_neg = neg[-1] if neg else None
    last_unc = unc[-1] if unc else None
    # 'or' only hedges when no negation governs the list ("no effusion or pneumothorax").
    if last_unc is not None and last_unc.group(0).lower() == "or" and last_neg is not None:
        last_unc = next((u for u in reversed(unc) if u.group(0).lower() != "or"), None)
    if last_neg is not None and (last_unc is None or last_neg.start() > last_unc.start()):
        # "no ... but possible X" is handled by the terminator; "cannot exclude" is uncertainty.
        return "absent", last_neg.group(0)
    if last_unc is not None:
        return "uncertain", last_unc.group(0)
    m = _POST_NEG_RE.search(after)
    if m:
        return "absent", m.group(0).strip()
    m = _POST_UNC_RE.search(after)
    if m:
        return "uncertain", m.group(0).strip()
    return "present", None


def sentence_state(sent: str) -> tuple[str, str | None]:
    """Rule state of a whole sentence, as for a mention at its end: what an embedding-only
    candidate, which has no matched words of its own, is read as."""
    return mention_state(sent, len(sent), len(sent))


def find_mentions(text: str, ontology: Ontology, *, sentences: list[Sentence] | None = None
                  ) -> dict[str, list[Mention]]:
    """All mentions per class, in report order; indication/comparison sections are skipped."""
    sents = sentences if sentences is not None else report_sentences(text)
    out: dict[str, list[Mention]] = {}
    for sent in sents:
        claimed: list[tuple[int, int]] = []
        for cls, pat in ontology.synonym_patterns.items():
            for m in pat.finditer(sent.text):
                state, cue = mention_state(sent.text, m.start(), m.end())
                out.setdefault(cls, []).append(Mention(cls, sent, sent.start + m.start(),
                                                       sent.start + m.end(), state, cue))
                claimed.append((m.start(), m.end()))
        for cls, pat in ontology.normal_patterns.items():
            for m in pat.finditer(sent.text):
                out.setdefault(cls, []).append(Mention(cls, sent, sent.start + m.start(),
                                                       sent.start + m.end(), "absent", "normal",
                                                       via="normal_phrase"))
    # A class mentioned only inside a larger synonym of another class ("pneumothorax" inside
    # "hydropneumothorax") keeps both: the ontology says both apply.
    return out


STATE_RANK = {"present": 3, "uncertain": 2, "absent": 1, "not_mentioned": 0}


def combine_states(states: list[str]) -> str:
    """Report-level state from several mentions: present > uncertain > absent > not_mentioned."""
    return max(states, key=STATE_RANK.__getitem__) if states else "not_mentioned"
