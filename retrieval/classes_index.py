"""The class collection: one entry per class definition, name and synonym.

Several short entries per class match a report sentence better than one long description
("small left effusion" is closer to the synonym "effusion" than to a definition). Entries carry
the ontology hash so several class sets can share one collection and a query sees only its own;
re-indexing an edited class file removes the entries of its older versions.
"""
from __future__ import annotations

import json

from radlabel.ontology import Ontology
from radlabel.retrieval.store import CLASSES, VectorStore, content_id

MAX_SYNONYMS = 16


def class_entries(ontology: Ontology) -> tuple[list[str], list[str], list[dict]]:
    """(ids, documents, metadatas) for every finding class of the ontology."""
    ids, docs, metas = [], [], []
    for c in ontology.finding_classes:
        base = {"class": c.name, "ontology": ontology.hash, "ontology_source": ontology.source,
                "parent": c.parent or "", "codes": json.dumps(c.codes),
                "synonyms": json.dumps([*c.synonyms, *c.learned_synonyms][:MAX_SYNONYMS])}
        texts = [("definition", c.describe()), ("name", c.name)]
        seen = {c.name.lower()}
        for s in [*c.synonyms, *c.learned_synonyms][:MAX_SYNONYMS]:
            s = " ".join(s.replace("...", " ").split())
            if s and s.lower() not in seen:
                seen.add(s.lower())
                texts.append(("synonym", s))
        for kind, text in texts:
            ids.append(content_id("class", ontology.hash, c.name, kind, text))
            docs.append(text)
            metas.append(dict(base, kind=kind))
    return ids, docs, metas


def index_classes(store: VectorStore, embedder, ontology: Ontology, *, progress=None) -> dict:
    """Upsert the ontology's class entries; drop stale entries of the same class file."""
    col = store.collection(CLASSES, embedder)
    ids, docs, metas = class_entries(ontology)
    written = col.upsert(ids, docs, metas, progress=progress)
    col.delete(where={"$and": [{"ontology_source": ontology.source},
                               {"ontology": {"$ne": ontology.hash}}]})
    return {"collection": col.name, "classes": len(ontology.finding_classes), "entries": len(ids),
            "written": written, "ontology": ontology.hash}


def ensure_classes_indexed(store: VectorStore, embedder, ontology: Ontology) -> None:
    """Index the ontology if any of its entries is missing (cheap check by id)."""
    col = store.collection(CLASSES, embedder)
    ids, _, _ = class_entries(ontology)
    if len(col.existing_ids(ids)) < len(ids):
        index_classes(store, embedder, ontology)
