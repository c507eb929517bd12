"""Few-shot demonstrations from the most similar labelled reports, for DSPy programs.

``RetrievedDemos`` wraps any labelling program and, per call, puts the k nearest labelled reports
(from the Chroma report collection) in front of its predictors' own demos. The wrapped program
stays a normal DSPy module: optimizers see and tune its predictors (instructions, fixed demos),
and ``k`` is a plain attribute a search can vary. ``knn_fewshot`` offers DSPy's own KNNFewShot
with our local embedder as the vectorizer, for in-memory train sets.
"""
from __future__ import annotations

import hashlib
import json
import threading
from typing import Callable, Sequence

import dspy

from radlabel.retrieval.reports_index import SOURCE_RANK, SOURCES, LabelledReport, embedding_text
from radlabel.retrieval.store import REPORTS, VectorStore


def default_example(r: LabelledReport) -> dspy.Example:
    """A demo in the shape ``report -> labels`` ({class: state}, not_mentioned omitted)."""
    labels = {c: s for c, s in r.labels.items() if s != "not_mentioned"}
    return dspy.Example(report=r.text, labels=labels).with_inputs("report")


def _text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


class ReportNeighbours:
    """Nearest labelled reports for a text, one entry per report, best provenance first."""

    def __init__(self, store: VectorStore, embedder, *, sources: Sequence[str] = SOURCES,
                 example_fn: Callable[[LabelledReport], dspy.Example] = default_example,
                 fetch_factor: int = 4):
        self.store, self.embedder = store, embedder
        self.collection = store.collection(REPORTS, embedder, create=False)
        self.sources = set(sources)
        self.example_fn = example_fn
        self.fetch_factor = fetch_factor

    def __deepcopy__(self, memo):  # shared and read-only: optimizers copy programs many times
        return self

    def neighbours(self, text: str, k: int = 3, *, exclude_ids: Sequence[str] = ()
                   ) -> list[tuple[LabelledReport, float]]:
        """The k most similar labelled reports, never the query report itself."""
        if k <= 0:
            return []
        skip_text = _text_key(text)
        hits = self.collection.search([embedding_text(text)], k=k * self.fetch_factor)[0]
        best: dict[str, tuple[LabelledReport, float]] = {}
        for h in hits:
            m = h.metadata
            if m.get("source") not in self.sources or m.get("report_id") in exclude_ids:
                continue
            if _text_key(h.document) == skip_text:
                continue
            r = LabelledReport(m["report_id"], h.document, json.loads(m.get("labels") or "{}"),
                               m.get("source", "pseudo"), int(m.get("round", 0)), m.get("program", ""))
            cur = best.get(r.id)
            if cur is None or (SOURCE_RANK[r.source], r.round) > (SOURCE_RANK[cur[0].source], cur[0].round):
                best[r.id] = (r, h.score if cur is None else max(h.score, cur[1]))
        return sorted(best.values(), key=lambda rs: -rs[1])[:k]

    def examples(self, text: str, k: int = 3, *, exclude_ids: Sequence[str] = ()) -> list[dspy.Example]:
        return [self.example_fn(r) for r, _ in self.neighbours(text, k, exclude_ids=exclude_ids)]


class RetrievedDemos(dspy.Module):
    """Run ``program`` with the k most similar labelled reports as extra demonstrations.

    ``input_field`` names the report-text input of the program. For a Predict or
    ChainOfThought the demos travel as the ``demos`` call argument (thread-safe); for other
    programs they are swapped into every predictor under a lock for the duration of the call.
    """

    def __init__(self, program: dspy.Module, neighbours: ReportNeighbours, k: int = 3,
                 input_field: str = "report"):
        super().__init__()
        self.program = program
        self.neighbours = neighbours
        self.k = k
        self.input_field = input_field
        self._lock = threading.Lock()

    def __deepcopy__(self, memo):
        import copy

        new = self.__class__.__new__(self.__class__)
        new.__dict__.update(self.__dict__)
        new.program = copy.deepcopy(self.program, memo)
        new._lock = threading.Lock()
        return new

    def retrieve(self, text: str) -> list[dspy.Example]:
        return self.neighbours.examples(text, self.k)

    def forward(self, **kwargs):
        if self.input_field not in kwargs:
            raise TypeError(f"RetrievedDemos needs the input field {self.input_field!r}")
        retrieved = self.retrieve(kwargs[self.input_field])
        if isinstance(self.program, dspy.Predict):
            return self.program(**kwargs, demos=retrieved + list(self.program.demos))
        if isinstance(self.program, dspy.ChainOfThought):
            return self.program(**kwargs, demos=retrieved + list(self.program.predict.demos))
        with self._lock:
            preds = [p for _, p in self.program.named_predictors()]
            saved = [p.demos for p in preds]
            try:
                for p in preds:
                    p.demos = retrieved + list(p.demos)
                return self.program(**kwargs)
            finally:
                for p, d in zip(preds, saved):
                    p.demos = d


def dspy_vectorizer(embedder) -> dspy.Embedder:
    """Our local encoder as a DSPy embedder (no hosted embedding model, no cache on disk)."""
    return dspy.Embedder(lambda texts: embedder.embed(list(texts)), caching=False)


def knn_fewshot(trainset: list[dspy.Example], k: int, embedder, **bootstrap_args) -> dspy.KNNFewShot:
    """DSPy's KNNFewShot optimizer with the local embedder as vectorizer."""
    return dspy.KNNFewShot(k, trainset, vectorizer=dspy_vectorizer(embedder), **bootstrap_args)


def labelled_examples(store: VectorStore, embedder, *, sources: Sequence[str] = SOURCES,
                      example_fn: Callable[[LabelledReport], dspy.Example] = default_example
                      ) -> list[dspy.Example]:
    """Every labelled report in the collection as a DSPy example (best provenance per report)."""
    col = store.collection(REPORTS, embedder, create=False)
    got = col.col.get(include=["documents", "metadatas"])
    best: dict[str, LabelledReport] = {}
    for doc, m in zip(got["documents"], got["metadatas"]):
        if m.get("source") not in sources:
            continue
        r = LabelledReport(m["report_id"], doc, json.loads(m.get("labels") or "{}"),
                           m.get("source", "pseudo"), int(m.get("round", 0)), m.get("program", ""))
        cur = best.get(r.id)
        if cur is None or (SOURCE_RANK[r.source], r.round) > (SOURCE_RANK[cur.source], cur.round):
            best[r.id] = r
    return [example_fn(r) for r in best.values()]
