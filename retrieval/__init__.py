"""Chroma RAG for radlabel: class-definition and labelled-report indexes, candidate classes, judge demos.

Importing this package is light; sentence-transformers, torch and chromadb load on first use.
"""
from radlabel.retrieval.embeddings import Embedder, SentenceTransformerEmbedder, get_embedder
from radlabel.retrieval.fewshot import SentenceDemos
from radlabel.retrieval.store import VectorStore, open_store

__all__ = ["Embedder", "SentenceTransformerEmbedder", "get_embedder", "VectorStore", "open_store",
           "CandidateRetriever", "SentenceDemos"]


def __getattr__(name):  # lazy: it pulls in dspy
    if name == "CandidateRetriever":
        from radlabel.retrieval.candidates import CandidateRetriever
        return CandidateRetriever
    raise AttributeError(name)
