"""Candidate classes for a report: which few of many classes the LM should judge at all.

An Infer -> Retrieve -> Rank step in the spirit of D'Oosterlinck et al. (2024): each finding
sentence is embedded and matched against the class collection (definitions, names, synonyms),
the hits are ranked per sentence and cut to the top k above a similarity floor, and the
ontology's synonym and normal-wording regexes add exact matches as a cheap lexical signal.
Classes without a candidate are ``not_mentioned`` and cost no LM tokens, so the work per
report stays flat however large the ontology grows.
"""
from __future__ import annotations

from typing import Sequence

from radlabel.ontology import Ontology
from radlabel.retrieval.classes_index import ensure_classes_indexed
from radlabel.retrieval.store import CLASSES, VectorStore
from radlabel.sections import Sentence, report_sentences

LEXICAL_SCORE = 1.0


class CandidateRetriever:
    """``candidates(sentences) -> {class: [(sentence_index, score), ...]}`` for one ontology.

    k: classes kept per sentence from the embedding search; min_score: cosine floor for them.
    lexical: also add every class whose synonym or normal wording occurs in a sentence.
    """

    def __init__(self, store: VectorStore, embedder, ontology: Ontology, k: int = 3,
                 min_score: float = 0.55, *, lexical: bool = True, auto_index: bool = True,
                 entries_per_class: int = 4):
        self.store, self.embedder, self.ontology = store, embedder, ontology
        self.k, self.min_score, self.lexical = k, min_score, lexical
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
        merged = self.semantic_hits(texts)
        if self.lexical:
            for cls, per in self.lexical_hits(texts).items():
                slot = merged.setdefault(cls, {})
                for i, score in per.items():
                    slot[i] = max(score, slot.get(i, 0.0))
        order = {c.name: n for n, c in enumerate(self.ontology.classes)}
        return {cls: sorted(per.items()) for cls, per in sorted(merged.items(), key=lambda kv: order[kv[0]])}

    def report_candidates(self, text: str) -> tuple[list[Sentence], dict[str, list[tuple[int, float]]]]:
        """Convenience: split a report into finding sentences and return their candidates."""
        sents = report_sentences(text)
        return sents, self.candidates(sents)
