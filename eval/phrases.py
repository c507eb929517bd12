"""Recompiling the rule stage: learn new synonyms for a class from confirmed corrections.

The mention finder only sees what its class file names. When reviewers keep marking a class
present that the labeller missed, the wording they saw is usually missing from the synonyms.
For each class this looks at the trusted reports (gold and reviewed) the labeller missed,
proposes word n-grams from their text, and keeps a phrase only if it occurs in at least
``min_support`` trusted positives of the class, in no trusted report without it, and, over the
whole corpus, mostly (``min_precision``) in reports that the current labels or the out-of-fold
classifier call positive: generic words ("failure", "significant") fail that test. The result
is a new class file (auditable: the added phrases are listed), so negation and hedging cues
still apply to the new phrases.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from radlabel.ontology import ClassDef, Ontology, phrase_pattern

STOPWORDS = frozenset("""a an and are as at be been but by for from has have in is it its no not of on or
the there this to was were with without left right upper lower mild small large moderate
seen noted again stable unchanged change prior compared chest view views lateral pa ap
xxxx""".split())
WORD = re.compile(r"[a-z][a-z\-]+")


@dataclass
class LearnedPhrase:
    cls: str
    phrase: str
    positives: int      # trusted reports with the class present that contain it
    fixes: int          # of them, reports the labeller had missed


def ngrams(text: str, max_n: int = 3) -> set[str]:
    """Lower-case word n-grams of the findings/impression sentences, not starting or ending
    with a stopword (section headers and indication text never become synonyms)."""
    from radlabel.sections import report_sentences

    out = set()
    for sentence in report_sentences(text):
        words = WORD.findall(sentence.text.lower())
        for n in range(1, max_n + 1):
            for k in range(len(words) - n + 1):
                gram = words[k:k + n]
                if gram[0] in STOPWORDS or gram[-1] in STOPWORDS or len("".join(gram)) < 5:
                    continue
                out.add(" ".join(gram))
    return out


def prune_learned(ontology: Ontology, base: Ontology, trusted: dict[str, dict[str, str]],
                  texts: dict[str, str]) -> tuple[Ontology, list[tuple[str, str]]]:
    """Drop learned synonyms (those not in `base`) that a trusted report now contradicts.

    A phrase learned from a few reviewed reports is re-checked every round against all trusted
    labels: once it matches a trusted report without the class, it goes.
    """
    dropped: list[tuple[str, str]] = []
    have = [tid for tid in trusted if texts.get(tid)]
    classes = []
    for cdef in ontology.classes:
        base_def = base.by_name.get(cdef.name)
        keep = []
        for phrase in cdef.synonyms:
            if base_def is None or phrase in base_def.synonyms:
                keep.append(phrase)
                continue
            pat = re.compile(phrase_pattern(phrase), re.IGNORECASE)
            if any(trusted[tid].get(cdef.name) != "present" and pat.search(texts[tid]) for tid in have):
                dropped.append((cdef.name, phrase))
            else:
                keep.append(phrase)
        classes.append(cdef.model_copy(update={"synonyms": keep}) if len(keep) != len(cdef.synonyms) else cdef)
    return Ontology([ClassDef.model_validate(c.model_dump()) for c in classes], source=ontology.source,
                    vocabulary=ontology.vocabulary), dropped


def learn_synonyms(ontology: Ontology, trusted: dict[str, dict[str, str]], predicted: dict[str, dict[str, str]],
                   texts: dict[str, str], *, likely: dict[str, set[str]] | None = None,
                   min_support: int = 2, min_precision: float = 0.8, max_new: int = 3
                   ) -> tuple[Ontology, list[LearnedPhrase]]:
    """A class file with learned synonyms added, and what was learned (possibly nothing).

    Args:
        trusted: {id: {class: state}} gold and reviewed labels.
        predicted: {id: {class: state}} the current labeller's output (at least for trusted ids).
        texts: report texts; every text counts for the corpus precision test.
        likely: {id: classes} the current best guess of positives for untrusted reports
            (labeller positives plus confident classifier positives); None skips the test.
    """
    learned: list[LearnedPhrase] = []
    have = [tid for tid in trusted if texts.get(tid)]
    corpus = [(rid, t) for rid, t in texts.items() if rid not in trusted and t]
    new_classes = []
    for cdef in ontology.classes:
        if cdef.is_normal:
            new_classes.append(cdef)
            continue
        c = cdef.name
        positive = {tid for tid in have if trusted[tid].get(c) == "present"}
        missed = [tid for tid in positive if predicted.get(tid, {}).get(c) != "present"]
        if not missed:
            new_classes.append(cdef)
            continue
        existing = ontology.synonym_patterns[c]
        counts: dict[str, set[str]] = {}
        for tid in missed:
            for gram in ngrams(texts[tid]):
                if not existing.search(gram):
                    counts.setdefault(gram, set()).add(tid)
        candidates = sorted(((len(v), g) for g, v in counts.items() if len(v) >= 1),
                            key=lambda x: (-x[0], len(x[1].split()), x[1]))[:200]
        added: list[str] = []
        covered: set[str] = set()
        for _, gram in candidates:
            if len(added) >= max_new:
                break
            pat = re.compile(phrase_pattern(gram), re.IGNORECASE)
            hits = {tid for tid in have if pat.search(texts[tid])}
            if len(hits & positive) < min_support or hits - positive:
                continue
            if likely is not None and not _precise(pat, c, corpus, likely, len(hits), min_precision):
                continue
            fixes = (hits & set(missed)) - covered
            if not fixes:
                continue
            covered |= fixes
            added.append(gram)
            learned.append(LearnedPhrase(c, gram, len(hits & positive), len(fixes)))
        new_classes.append(cdef.model_copy(update={"synonyms": [*cdef.synonyms, *added]}) if added else cdef)
    return Ontology([ClassDef.model_validate(c.model_dump()) for c in new_classes],
                    source=f"{ontology.source}+learned", vocabulary=ontology.vocabulary), learned


def _precise(pat: re.Pattern, cls: str, corpus: list[tuple[str, str]], likely: dict[str, set[str]],
             trusted_hits: int, min_precision: float) -> bool:
    """Share of all reports containing the phrase that are (likely) positive for the class."""
    hits = [rid for rid, t in corpus if pat.search(t)]
    pos = sum(cls in likely.get(rid, ()) for rid in hits)
    return (pos + trusted_hits) / (len(hits) + trusted_hits) >= min_precision
