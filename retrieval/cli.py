"""`radlabel index classes|reports` and `radlabel search`: build and query the Chroma indexes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from radlabel.cli_options import aliases, chroma_option, labels_option
from radlabel.errors import InputError

URL_HELP = "Chroma server URL (http://host:port); overrides --chroma"
REMOTE_HELP = "allow a --chroma-url that is not this machine (the index holds report text: PHI)"
EMB_HELP = "encoder: 'minilm' (packaged default) or a local sentence-transformers folder"

index_app = typer.Typer(no_args_is_help=True, help="Build the retrieval indexes (class definitions, labelled reports).")


def _open(store: Optional[str], chroma_url: Optional[str], embedder: Optional[str],
          allow_remote: bool = False):
    from radlabel.retrieval.embeddings import get_embedder
    from radlabel.retrieval.store import open_store

    return open_store(store, chroma_url, allow_remote=allow_remote), get_embedder(embedder)


@index_app.command("classes", cls=aliases({"--store": "--chroma"}))
def index_classes_cmd(
    file: str = typer.Argument(..., help="class file (YAML) or a bundled set name, e.g. chest_xray"),
    store: Optional[str] = chroma_option(),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", help=URL_HELP),
    allow_remote: bool = typer.Option(False, "--allow-remote", help=REMOTE_HELP),
    embedder: Optional[str] = typer.Option(None, "--embedder", help=EMB_HELP),
):
    """Embed every class's definition, name and synonyms into the class collection."""
    from radlabel.ontology import Ontology
    from radlabel.retrieval.classes_index import index_classes

    onto = Ontology.load(file)
    st, emb = _open(store, chroma_url, embedder, allow_remote)
    info = index_classes(st, emb, onto)
    typer.echo(f"indexed {info['classes']} classes ({info['entries']} entries, {info['written']} new) "
               f"from {onto.source} into {st.location} [{info['collection']}]")


@index_app.command("reports", cls=aliases({"--store": "--chroma"}, positional="--labels"))
def index_reports_cmd(
    labels: str = labels_option("labels JSONL: radlabel label/predict output, reviewed or gold records"),
    reports: Optional[str] = typer.Option(None, "--reports", help="report texts, when label lines carry no 'text'"),
    source: Optional[str] = typer.Option(None, "--source", help="provenance: gold | reviewed | pseudo | classifier"),
    round_: Optional[int] = typer.Option(None, "--round", help="labelling round (default: meta.round or 0)"),
    program: Optional[str] = typer.Option(None, "--program", help="program that made the labels"),
    classes: Optional[str] = typer.Option(None, "--classes", help="class file to resolve label names against"),
    store: Optional[str] = chroma_option(),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", help=URL_HELP),
    allow_remote: bool = typer.Option(False, "--allow-remote", help=REMOTE_HELP),
    embedder: Optional[str] = typer.Option(None, "--embedder", help=EMB_HELP),
):
    """Embed labelled reports and their labelled sentences, with provenance (for `label --demos`).

    A label's sentence is its evidence; without evidence (gold files), the sentences the rule
    stage finds for the class in --classes (default: the chest X-ray classes)."""
    from tqdm import tqdm

    from radlabel.ontology import Ontology
    from radlabel.data import load_texts
    from radlabel.labels import read_label_file
    from radlabel.retrieval.reports_index import index_reports, labelled_reports

    onto = Ontology.load(classes) if classes else None
    texts = load_texts(reports) if reports else None
    items = labelled_reports(read_label_file(labels, onto, source=source), texts=texts, round=round_,
                             program=program)
    st, emb = _open(store, chroma_url, embedder, allow_remote)
    with tqdm(total=len(items), unit="report", desc="indexing", disable=len(items) < 500) as bar:
        info = index_reports(st, emb, items, ontology=onto or Ontology.load(), progress=bar.update)
    typer.echo(f"indexed {info['reports']} labelled reports and {info['sentences']} labelled "
               f"sentences ({info['written']} new entries; "
               f"{info['count']} in collection) into {st.location} [{info['collection']}]")


def search_cmd(
    text: str = typer.Argument(..., help="query text (a sentence or a whole report)"),
    collection: str = typer.Option("classes", "--collection", "-c", help="classes | reports"),
    k: int = typer.Option(5, "-k", help="number of hits"),
    classes: Optional[str] = typer.Option(None, "--classes", help="only this class file's entries (classes)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per hit"),
    store: Optional[str] = chroma_option(),
    chroma_url: Optional[str] = typer.Option(None, "--chroma-url", help=URL_HELP),
    allow_remote: bool = typer.Option(False, "--allow-remote", help=REMOTE_HELP),
    embedder: Optional[str] = typer.Option(None, "--embedder", help=EMB_HELP),
):
    """Nearest classes (best entry per class) or nearest labelled reports for a text."""
    if collection not in ("classes", "reports"):
        raise InputError(f"unknown collection {collection!r} (classes or reports)", field="collection")
    if k < 1:
        raise InputError("-k must be at least 1", field="k")
    st, emb = _open(store, chroma_url, embedder, allow_remote)
    col = st.collection(collection, emb, create=False)
    rows = []
    if collection == "classes":
        where = None
        if classes:
            from radlabel.ontology import Ontology

            where = {"ontology": Ontology.load(classes).hash}
        best: dict[str, dict] = {}
        for h in col.search([text], k=k * 4, where=where)[0]:
            cls = h.metadata.get("class", "")
            if cls not in best or h.score > best[cls]["score"]:
                best[cls] = {"class": cls, "score": round(h.score, 4), "matched": h.document,
                             "kind": h.metadata.get("kind"), "ontology": h.metadata.get("ontology_source")}
        rows = sorted(best.values(), key=lambda r: -r["score"])[:k]
    else:
        from radlabel.retrieval.reports_index import REPORT_ENTRIES, embedding_text

        for h in col.query(emb.embed([embedding_text(text)]), k=k, where=REPORT_ENTRIES)[0]:
            m = h.metadata
            rows.append({"id": m.get("report_id"), "score": round(h.score, 4),
                         "positives": json.loads(m.get("positives") or "[]"), "source": m.get("source"),
                         "round": m.get("round"), "program": m.get("program"), "text": h.document})
    for r in rows:
        if as_json:
            typer.echo(json.dumps(r, ensure_ascii=False))
        elif collection == "classes":
            typer.echo(f"{r['score']:.3f}  {r['class']}  (matched {r['kind']}: {r['matched'][:80]})")
        else:
            snippet = " ".join(r["text"].split())[:100]
            typer.echo(f"{r['score']:.3f}  {r['id']}  [{r['source']}] {', '.join(r['positives']) or '-'}  | {snippet}")
    if not rows:
        typer.echo("no hits", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
    app.command("search", cls=aliases({"--store": "--chroma"}))(search_cmd)
