"""Candidate classes for a report: which few of many classes the LM should judge at all.

An Infer -> Retrieve -> Rank step in the spirit of D'Oosterlinck et al. (2024): each finding
sentence is embedded and matched against the class collection (definitions, names, synonyms),
the hits are ranked per sentence and cut to the top k above a similarity floor, and the
ontology's synonym and normal-wording regexes add exact matches as a cheap lexical signal.
Classes without a candidate are ``not_mentioned`` and cost no LM tokens, so the work per
report stays flat however large the ontology grows.

Embedding hits are cheap to get and easy to get wrong ("The lungs are clear." is close to every
lung class), so a rank step (``gate``, on by default) keeps an embedding-only hit only where a
finding can come from: the sentence names an abnormality and is not negated or normal wording
(the same test the normal class uses, so an embedding hit never flips No Finding), has 3+ words,
no class already names its finding by synonym, and it shares two content words with the class's
name, definition or synonyms (one word such as "prominence" is too weak a link).
"""
from __future__ import annotations

import re
from functools import cached_property
from typing import Sequence

from radlabel.ontology import Ontology
from radlabel.rules.context import ContextRules
from radlabel.rules.mentions import sentence_state
from radlabel.rules.normality import states_abnormality, uninformative_words
from radlabel.retrieval.classes_index import ensure_classes_indexed
from radlabel.retrieval.store import CLASSES, VectorStore
from radlabel.sections import Sentence

LEXICAL_SCORE = 1.0
MIN_SHARED_STEMS = 2  # content words a sentence must share with a class's name, definition, synonyms


def content_stems(text: str, uninformative: frozenset[str] | None = None) -> set[str]:
    """Four-letter stems of the informative words (enough to match 'herniated' with 'hernia').

    ``uninformative``: words that say where or how much, not what (generic stop words from the cue
    file plus the ontology's own, `radlabel.rules.normality.uninformative_words`).

    >>> sorted(content_stems("Herniated stomach in the left upper abdomen"))
    ['abdo', 'hern', 'stom', 'uppe']
    """
    skip = uninformative if uninformative is not None else ContextRules.default().stop_words
    return {w[:4] for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in skip}


def states_a_finding(text: str, ontology: Ontology) -> bool:
    """Could this sentence report an abnormality of this ontology? It names one in the ontology's
    abnormality vocabulary (the words the normal-class rule uses, `radlabel.rules.normality`),
    carries no negation or normal wording, and has 3+ words.

    >>> ct = Ontology.from_yaml("classes: [{name: Hemorrhage, definition: Blood in the brain.}]")
    >>> states_a_finding("Acute hemorrhage along the falx.", ct), states_a_finding("No hemorrhage seen.", ct)
    (True, False)
    """
    if len(re.findall(r"[A-Za-z]+", text)) < 3 or not states_abnormality(text, ontology):
        return False
    return sentence_state(text)[0] != "absent"


class CandidateRetriever:
    """``candidates(sentences) -> {class: [(sentence_index, score), ...]}`` for one ontology.

    k: classes kept per sentence from the embedding search; min_score: cosine floor for them
        (defaults: the setting measured in docs/benchmarks.md, 14 -> 1,000 classes).
    lexical: also add every class whose synonym or normal wording occurs in a sentence.
    gate: keep an embedding-only hit only from a sentence that `states_a_finding`, that no
        lexical hit explains, and that shares MIN_SHARED_STEMS content stems with the class
        (see module doc).
    """

    def __init__(self, store: VectorStore, embedder, ontology: Ontology, k: int = 1,
                 min_score: float = 0.6, *, lexical: bool = True, gate: bool = True,
                 auto_index: bool = True, entries_per_class: int = 4):
        self.store, self.embedder, self.ontology = store, embedder, ontology
        self.k, self.min_score, self.lexical, self.gate = k, min_score, lexical, gate
        self.entries_per_class = entries_per_class
        if auto_index:
            ensure_classes_indexed(store, embedder, ontology)
        self.collection = store.collection(CLASSES, embedder)
        self._finding_names = {c.name for c in ontology.finding_classes}

    # -- the two signals ---------------------------------------------------------------------
    def lexical_hits(self, texts: Sequence[str]) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        patterns = [*self.ontology.synonym_patterns.items(), *self.ontology.normal_patterns.items()]
        for i, t in enumerate(texts):
            for cls, pat in patterns:
                if pat.search(t):
                    out.setdefault(cls, {})[i] = LEXICAL_SCORE
        return out

    def semantic_hits(self, texts: Sequence[str], k: int | None = None,
                      min_score: float | None = None) -> dict[str, dict[int, float]]:
        k = self.k if k is None else k
        floor = self.min_score if min_score is None else min_score
        out: dict[str, dict[int, float]] = {}
        if k <= 0 or not texts:
            return out
        ranked = self.rank(texts, k)
        for i, classes in enumerate(ranked):
            for cls, score in classes:
                if score >= floor:
                    out.setdefault(cls, {})[i] = score
        return out

    def rank(self, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        """Per text, the k best classes by their best-matching entry (name, score), best first."""
        hits = self.collection.search(list(texts), k=k * self.entries_per_class,
                                      where={"ontology": self.ontology.hash})
        out = []
        for row in hits:
            best: dict[str, float] = {}
            for h in row:
                cls = h.metadata.get("class")
                if cls in self._finding_names and h.score > best.get(cls, -1.0):
                    best[cls] = h.score
            out.append(sorted(best.items(), key=lambda kv: -kv[1])[:k])
        return out

    # -- the interface the labeller calls ----------------------------------------------------
    def candidates(self, sentences: Sequence[str | Sentence]) -> dict[str, list[tuple[int, float]]]:
        """Union of semantic and lexical hits, per class, as (sentence index, score) pairs."""
        texts = [s.text if isinstance(s, Sentence) else str(s) for s in sentences]
        lexical = self.lexical_hits(texts) if self.lexical or self.gate else {}
        if self.gate:
            explained = {i for per in lexical.values() for i in per}
            open_idx = [i for i, t in enumerate(texts) if i not in explained and states_a_finding(t, self.ontology)]
            found = self.semantic_hits([texts[i] for i in open_idx])
            merged = {}
            for cls, per in found.items():
                stems = self.class_stems.get(cls, set())
                need = min(MIN_SHARED_STEMS, len(stems))
                kept = {open_idx[j]: sc for j, sc in per.items()
                        if len(stems & content_stems(texts[open_idx[j]], self.uninformative)) >= need}
                if kept:
                    merged[cls] = kept
        else:
            merged = self.semantic_hits(texts)
        if self.lexical:
            for cls, per in lexical.items():
                slot = merged.setdefault(cls, {})
                for i, score in per.items():
                    slot[i] = max(score, slot.get(i, 0.0))
        order = {c.name: n for n, c in enumerate(self.ontology.classes)}
        return {cls: sorted(per.items()) for cls, per in sorted(merged.items(), key=lambda kv: order[kv[0]])}

    @cached_property
    def uninformative(self) -> frozenset[str]:
        return uninformative_words(self.ontology)

    @cached_property
    def class_stems(self) -> dict[str, set[str]]:
        """Content stems of each finding class's name, definition and synonyms (for the gate)."""
        return {c.name: content_stems(" ".join([c.name, c.definition, *c.synonyms, *c.learned_synonyms]),
                                       self.uninformative)
                for c in self.ontology.finding_classes}
