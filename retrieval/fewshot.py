"""Retrieved demonstrations for the judge: the most similar already-judged sentences of a class.

For one judge call (class C, the sentences s the judge reads), `SentenceDemos.retrieve(C, s)`
returns up to ``k`` labelled sentences of class C from the Chroma reports collection: the
``sentence`` entries that `radlabel index reports` and `radlabel feedback --index-demos` write
(`radlabel.retrieval.reports_index`). Ranking: labels a person gave (gold, reviewed) first, then
confident machine labels (pseudo, classifier), each tier most similar first. A machine label is
confident when the LM judged it with probability >= ``min_confidence``, or when the rules decided
it without a hedge (a rule reading of ``uncertain`` is what the judge is there to settle). A
sentence indexed several times is shown once, with its best-provenance label; a machine label
of the very sentence being judged is skipped (it would only echo the judge's earlier answer).

The labeller (`radlabel.programs.modules.MentionLabeler`) turns these into demonstrations for
the class at hand; ``k``, ``min_score`` and ``min_confidence`` are plain attributes a search can
vary. Nothing here imports the programs layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from radlabel.labels import SOURCE_RANK, SOURCES, TRUSTED_SOURCES
from radlabel.sections import normalise_sentences
from radlabel.retrieval.store import REPORTS, VectorStore


@dataclass(frozen=True)
class SentenceDemo:
    """One labelled sentence of a class, with where its label came from and its similarity."""

    cls: str
    state: str
    sentence: str
    source: str
    score: float
    report_id: str = ""
    round: int = 0

    @property
    def trusted(self) -> bool:
        return self.source in TRUSTED_SOURCES


class SentenceDemos:
    """The demo retriever a `MentionLabeler` takes: k nearest labelled sentences per class.

    Args:
        store, embedder: the Chroma store holding the reports collection, and the encoder it
            was built with (checked by the store).
        k: demos per judge call (0 = none).
        min_score: least cosine similarity of a demo to the judged sentences.
        min_confidence: least judge probability for an LM-judged machine label.
        sources: provenances that may serve as demos.
        fetch: nearest entries read per query before filtering and de-duplication.
    """

    def __init__(self, store: VectorStore, embedder, *, k: int = 3, min_score: float = 0.5,
                 min_confidence: float = 0.8, sources: Sequence[str] = SOURCES, fetch: int = 40):
        self.collection = store.collection(REPORTS, embedder, create=False)
        self.embedder_name = embedder.name
        self.k, self.min_score, self.min_confidence, self.fetch = k, min_score, min_confidence, fetch
        self.sources = tuple(s for s in SOURCES if s in set(sources))

    def __deepcopy__(self, memo):  # shared and read-only: optimizers copy programs many times
        return self

    def identity(self) -> dict:
        """What changes the demos besides the index content (part of a program's hash)."""
        return {"k": self.k, "min_score": self.min_score, "min_confidence": self.min_confidence,
                "sources": list(self.sources), "embedder": self.embedder_name}

    def eligible(self, meta: dict) -> bool:
        source = meta.get("source")
        if source not in self.sources:
            return False
        if source in TRUSTED_SOURCES:
            return True
        if "confidence" in meta:
            return float(meta["confidence"]) >= self.min_confidence
        return not meta.get("judged") and meta.get("state") != "uncertain"

    def retrieve(self, cls: str, sentences: str, k: int | None = None) -> list[SentenceDemo]:
        """Up to k demos for judging class ``cls`` on ``sentences``: trusted first, then by similarity."""
        k = self.k if k is None else k
        if k <= 0 or not sentences.strip():
            return []
        where = {"$and": [{"kind": {"$eq": "sentence"}}, {"class": {"$eq": cls}}]}
        hits = self.collection.search([sentences], k=max(self.fetch, k), where=where)[0]
        query = normalise_sentences(sentences)
        best: dict[str, tuple[tuple, SentenceDemo]] = {}
        for h in hits:
            m = h.metadata
            if h.score < self.min_score or not self.eligible(m):
                continue
            key = normalise_sentences(h.document)
            if key == query and m.get("source") not in TRUSTED_SOURCES:
                continue
            d = SentenceDemo(cls, str(m.get("state")), h.document, str(m.get("source")),
                             round(h.score, 4), str(m.get("report_id", "")), int(m.get("round", 0)))
            rank = (SOURCE_RANK[d.source], d.round, d.score)
            if key not in best or rank > best[key][0]:
                best[key] = (rank, d)
        demos = sorted((d for _, d in best.values()), key=lambda d: (not d.trusted, -d.score))
        return demos[:k]
