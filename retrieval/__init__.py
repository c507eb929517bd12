"""Chroma RAG for radlabel: class-definition and labelled-report indexes, candidate classes, few-shot demos.

Importing this package is light; sentence-transformers, torch and chromadb load on first use.
"""
from radlabel.retrieval.embeddings import Embedder, SentenceTransformerEmbedder, get_embedder
from radlabel.retrieval.store import VectorStore, open_store

__all__ = ["Embedder", "SentenceTransformerEmbedder", "get_embedder", "VectorStore", "open_store",
           "CandidateRetriever", "ReportNeighbours", "RetrievedDemos"]


def __getattr__(name):  # lazy: these pull in dspy
    if name == "CandidateRetriever":
        from radlabel.retrieval.candidates import CandidateRetriever
        return CandidateRetriever
    if name in ("ReportNeighbours", "RetrievedDemos"):
        from radlabel.retrieval import fewshot
        return getattr(fewshot, name)
    raise AttributeError(name)
