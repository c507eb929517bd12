"""Split report text into sections (INDICATION, FINDINGS, IMPRESSION, ...) and sentences.

Offsets are kept everywhere so evidence spans can be shown in the original text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Canonical section names and the header spellings that map to them.
SECTION_ALIASES = {
    "INDICATION": ["indication", "indications", "clinical indication", "reason for exam", "reason for study",
                   "clinical information", "clinical history", "history", "clinical data", "reason"],
    "TECHNIQUE": ["technique", "exam", "examination", "procedure", "views", "study"],
    "COMPARISON": ["comparison", "comparisons", "prior", "priors", "comparison study"],
    "FINDINGS": ["findings", "finding", "report", "description", "body"],
    "IMPRESSION": ["impression", "impressions", "conclusion", "conclusions", "summary", "diagnosis",
                   "final impression", "opinion"],
}
_ALIAS_TO_CANON = {a: canon for canon, aliases in SECTION_ALIASES.items() for a in aliases}
_HEADER = re.compile(
    r"(?im)^[ \t]*(?P<name>" + "|".join(sorted((re.escape(a) for a in _ALIAS_TO_CANON), key=len, reverse=True))
    + r")[ \t]*:[ \t]*")
# Sections whose mentions are clinical questions or history, not observations.
NON_FINDING_SECTIONS = frozenset({"INDICATION", "TECHNIQUE", "COMPARISON"})


@dataclass(frozen=True)
class Section:
    name: str  # canonical name, or "BODY" for text before/without any header
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Sentence:
    section: str
    start: int
    end: int
    text: str


def normalise_sentences(text: str) -> str:
    """Case and whitespace do not change what a sentence says (the judgment cache's key, the
    demo retriever's de-duplication)."""
    return re.sub(r"\s+", " ", text).strip().lower()


def split_sections(text: str) -> list[Section]:
    """Sections in order of appearance; text without headers is one BODY section."""
    heads = list(_HEADER.finditer(text))
    out: list[Section] = []
    if not heads:
        return [Section("BODY", 0, len(text), text)] if text.strip() else []
    if text[: heads[0].start()].strip():
        out.append(Section("BODY", 0, heads[0].start(), text[: heads[0].start()]))
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        canon = _ALIAS_TO_CANON[m.group("name").lower()]
        out.append(Section(canon, m.end(), end, text[m.end():end]))
    return out


_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[(])|\n\s*\n|\n(?=\s*(?:\d+[.)]|[-*•])\s)|(?<=[.!?])\s*\n")


def split_sentences(text: str, section: str = "BODY", offset: int = 0) -> list[Sentence]:
    """Sentence split tuned for report prose: '. ' + capital, blank lines, numbered items.

    Abbreviations like 'Dr.' are rare in findings/impressions and cost only a split.
    """
    out, pos = [], 0
    for m in _SENT_END.finditer(text):
        _add(out, text, pos, m.start(), section, offset)
        pos = m.end()
    _add(out, text, pos, len(text), section, offset)
    return out


def _add(out, text, a, b, section, offset):
    chunk = text[a:b]
    stripped = chunk.strip()
    if not stripped:
        return
    lead = len(chunk) - len(chunk.lstrip())
    start = offset + a + lead
    out.append(Sentence(section, start, start + len(stripped), stripped))


def report_sentences(text: str, *, finding_sections_only: bool = True) -> list[Sentence]:
    """All sentences of a report, skipping indication/technique/comparison when asked."""
    sents: list[Sentence] = []
    for sec in split_sections(text):
        if finding_sections_only and sec.name in NON_FINDING_SECTIONS:
            continue
        sents.extend(split_sentences(sec.text, sec.name, sec.start))
    return sents
