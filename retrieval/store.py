"""Chroma storage for radlabel's two indexes, with our vectors only.

Every write passes precomputed ``embeddings`` and every read ``query_embeddings``, and every
collection is opened with ``embedding_function=None``, so Chroma's default (which downloads a
model) can never run. Each collection records the embedder's name and dimension and refuses
vectors from another model: mixed models make distances meaningless without any error.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from radlabel.env import apply_offline_defaults
from radlabel.errors import InputError
from radlabel.netguard import guard_url

DEFAULT_STORE = os.path.join(".radlabel", "chroma")
CLASSES = "radlabel-classes"
REPORTS = "radlabel-reports"
COLLECTIONS = {"classes": CLASSES, "reports": REPORTS}
UPSERT_BATCH = 1000
QUERY_BATCH = 64


def default_store_path() -> str:
    return os.environ.get("RADLABEL_CHROMA") or DEFAULT_STORE


def content_id(*parts: Any) -> str:
    """Deterministic id from content, so re-indexing the same thing is a no-op upsert."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


@dataclass
class Hit:
    id: str
    score: float  # cosine similarity, 1 = identical direction
    document: str
    metadata: dict[str, Any] = field(default_factory=dict)


class VectorStore:
    """A Chroma client (local folder or server) plus embedder-checked collections."""

    def __init__(self, client, location: str):
        self.client = client
        self.location = location

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, url: str | None = None, *,
             allow_remote: bool = False) -> "VectorStore":
        apply_offline_defaults()
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if url:
            # the PHI guard (reports are stored in the index): strict URL, loopback only, no proxy
            u = guard_url(url, field="chroma-url", allow_remote=allow_remote, default_scheme="http")
            if u.path not in ("", "/"):
                raise InputError(f"refusing URL {url!r}: a Chroma server URL has no path",
                                 field="chroma-url")
            try:
                client = chromadb.HttpClient(host=f"[{u.host}]" if ":" in u.host else u.host, port=u.port or (443 if u.scheme == "https" else 8000),
                                             ssl=u.scheme == "https", settings=settings)
                client.heartbeat()
            except Exception as e:
                raise InputError(f"cannot reach the Chroma server at {url}: {e}", field="chroma-url") from None
            return cls(client, url)
        p = Path(path or default_store_path())
        p.mkdir(parents=True, exist_ok=True)
        return cls(chromadb.PersistentClient(path=str(p), settings=settings), str(p))

    def collection(self, name: str, embedder, *, create: bool = True) -> "Collection":
        """Open (or create) a collection; raise InputError if it was built by another embedder."""
        name = COLLECTIONS.get(name, name)
        try:
            col = self.client.get_collection(name, embedding_function=None)
        except Exception:
            if not create:
                raise InputError(f"no collection {name!r} in {self.location}; index something first",
                                 field="collection") from None
            meta = {"hnsw:space": "cosine", "embedder": embedder.name, "dim": int(embedder.dim)}
            col = self.client.get_or_create_collection(name, metadata=meta, embedding_function=None)
        check_embedder(col.metadata or {}, embedder, name, self.location)
        return Collection(col, embedder)

    def list_collections(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self.client.list_collections()]


def check_embedder(meta: dict, embedder, name: str, location: str) -> None:
    built = meta.get("embedder")
    dim = meta.get("dim")
    if built is None:
        raise InputError(f"collection {name!r} in {location} records no embedder; it was not built "
                         "by radlabel, so its vectors cannot be trusted", field="collection")
    if built != embedder.name or int(dim) != int(embedder.dim):
        raise InputError(f"collection {name!r} in {location} was built with embedder {built!r} "
                         f"(dim {dim}); this run uses {embedder.name!r} (dim {embedder.dim}). "
                         "Use the same --embedder, or a new --chroma", field="embedder")


class Collection:
    """Batched upserts and similarity queries on one collection, always with our vectors."""

    def __init__(self, col, embedder):
        self.col = col
        self.embedder = embedder
        self.name = col.name

    def count(self) -> int:
        return self.col.count()

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(ids), UPSERT_BATCH):
            got = self.col.get(ids=list(ids[i:i + UPSERT_BATCH]), include=[])
            out.update(got["ids"])
        return out

    def upsert(self, ids: Sequence[str], documents: Sequence[str], metadatas: Sequence[dict],
               embeddings: np.ndarray | None = None, *, batch: int = UPSERT_BATCH,
               skip_existing: bool = True, progress=None) -> int:
        """Add or replace entries; embeds only what is new when ``skip_existing``. Returns #written."""
        ids, documents, metadatas = list(ids), list(documents), list(metadatas)
        if not (len(ids) == len(documents) == len(metadatas)):
            raise ValueError("ids, documents and metadatas differ in length")
        if len(set(ids)) != len(ids):  # Chroma rejects duplicate ids inside one call
            keep = {i: n for n, i in enumerate(ids)}
            sel = sorted(keep.values())
            ids, documents, metadatas = [ids[n] for n in sel], [documents[n] for n in sel], [metadatas[n] for n in sel]
            embeddings = embeddings[sel] if embeddings is not None else None
        written = 0
        for start in range(0, len(ids), batch):
            sl = slice(start, start + batch)
            b_ids, b_docs, b_meta = ids[sl], documents[sl], metadatas[sl]
            b_emb = embeddings[sl] if embeddings is not None else None
            if skip_existing:
                have = self.existing_ids(b_ids)
                if have:
                    keep = [n for n, i in enumerate(b_ids) if i not in have]
                    b_ids = [b_ids[n] for n in keep]
                    b_docs = [b_docs[n] for n in keep]
                    b_meta = [b_meta[n] for n in keep]
                    b_emb = b_emb[keep] if b_emb is not None else None
            if b_ids:
                if b_emb is None:
                    b_emb = self.embedder.embed(b_docs)
                self.col.upsert(ids=b_ids, documents=b_docs, metadatas=b_meta,
                                embeddings=np.asarray(b_emb, dtype=np.float32))
                written += len(b_ids)
            if progress is not None:
                progress(len(ids[sl]))
        return written

    def query(self, embeddings: np.ndarray, k: int, where: dict | None = None) -> list[list[Hit]]:
        """k nearest entries per query vector, best first."""
        n = self.count()
        if n == 0 or len(embeddings) == 0:
            return [[] for _ in range(len(embeddings))]
        embeddings = np.asarray(embeddings, dtype=np.float32)
        out = []
        for start in range(0, len(embeddings), QUERY_BATCH):  # big batches overflow SQLite's variables
            res = self.col.query(query_embeddings=embeddings[start:start + QUERY_BATCH],
                                 n_results=min(k, n), where=where,
                                 include=["documents", "metadatas", "distances"])
            for q in range(len(res["ids"])):
                out.append([Hit(i, 1.0 - float(d), doc or "", dict(m or {}))
                            for i, d, doc, m in zip(res["ids"][q], res["distances"][q],
                                                    res["documents"][q], res["metadatas"][q])])
        return out

    def search(self, texts: Sequence[str], k: int, where: dict | None = None) -> list[list[Hit]]:
        return self.query(self.embedder.embed(list(texts)), k, where)

    def delete(self, where: dict) -> None:
        self.col.delete(where=where)


def open_store(path: str | None = None, url: str | None = None, *,
               allow_remote: bool = False) -> VectorStore:
    return VectorStore.open(path=path, url=url, allow_remote=allow_remote)
