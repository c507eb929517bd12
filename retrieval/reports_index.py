"""The labelled-report collection: reports and their labelled sentences, with provenance.

Two kinds of entry share the collection (metadata ``kind``):

* ``report``: a whole report (findings/impression embedded) with all its labels, for looking up
  how similar reports were labelled (`radlabel search -c reports`);
* ``sentence``: one (class, state, sentence) a label rests on, for the judge's retrieved
  demonstrations (`radlabel.retrieval.fewshot`). The sentence is the label's evidence; a label
  without evidence (gold files usually have none) takes the sentences the rule stage finds for
  the class when an ontology is given, i.e. what the judge itself would read.

Provenance matters: gold and reviewed labels make better demos than pseudo-labels, so every
entry records source (gold | reviewed | pseudo | classifier), round and program, and a pseudo
sentence the LM judged keeps the judge's confidence. Ids hash content and provenance, so
re-indexing a file is a no-op and a report relabelled in a later round becomes a second entry
(readers pick the best per report or sentence).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

from radlabel.errors import InputError
from radlabel.labels import SOURCES, LabelFile, record_round, record_text
from radlabel.ontology import Ontology
from radlabel.retrieval.store import REPORTS, VectorStore, content_id
from radlabel.rules.mentions import find_mentions, mention_sentences
from radlabel.sections import NON_FINDING_SECTIONS, split_sections


REPORT_ENTRIES = {"kind": {"$ne": "sentence"}}  # a Chroma filter: whole reports only


@dataclass
class LabelledReport:
    id: str
    text: str
    labels: dict[str, str]
    source: str = "pseudo"
    round: int = 0
    program: str = ""
    evidence: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)  # the LM judge's, per judged class
    judged: tuple[str, ...] = ()  # classes an LM decided (the rest: rules or a person)


@dataclass(frozen=True)
class SentenceEntry:
    cls: str
    state: str
    sentence: str


def embedding_text(text: str) -> str:
    """Findings + impression only: indication and technique say little about what was seen."""
    kept = [s.text.strip() for s in split_sections(text) if s.name not in NON_FINDING_SECTIONS]
    body = " ".join(k for k in kept if k)
    return body or text


def report_entry(r: LabelledReport) -> tuple[str, str, dict]:
    labels = {k: v for k, v in sorted(r.labels.items())}
    meta = {"kind": "report", "report_id": r.id, "labels": json.dumps(labels), "source": r.source,
            "round": int(r.round), "program": r.program or "",
            "positives": json.dumps(sorted(k for k, v in labels.items() if v == "present"))}
    return content_id("report", r.id, r.text, labels, r.source, int(r.round), r.program or ""), r.text, meta


def labelled_sentences(r: LabelledReport, ontology: Ontology | None = None) -> list[SentenceEntry]:
    """The (class, state, sentence) triples a report's labels rest on.

    A mentioned class (any state but not_mentioned) gives its evidence sentence; without
    evidence, and with an ontology, the sentences the rule stage finds for the class (joined as
    the judge reads them). The ontology's normal class is left out: no judge decides it.
    """
    out: list[SentenceEntry] = []
    mentions = None
    normal = ontology.normal_class.name if ontology is not None and ontology.normal_class else None
    for cls, state in sorted(r.labels.items()):
        if state == "not_mentioned" or cls == normal:
            continue
        sentence = (r.evidence.get(cls) or "").strip()
        if not sentence and ontology is not None and cls in ontology.by_name:
            if mentions is None:
                mentions = find_mentions(r.text, ontology)
            sentence = mention_sentences(mentions.get(cls, []))
        if sentence:
            out.append(SentenceEntry(cls, state, sentence))
    return out


def sentence_entry(r: LabelledReport, e: SentenceEntry) -> tuple[str, str, dict]:
    meta = {"kind": "sentence", "class": e.cls, "state": e.state, "report_id": r.id,
            "source": r.source, "round": int(r.round), "program": r.program or "",
            "judged": e.cls in r.judged}
    if e.cls in r.confidence:
        meta["confidence"] = float(r.confidence[e.cls])
    return (content_id("sentence", r.id, e.cls, e.state, e.sentence, r.source, int(r.round),
                       r.program or ""), e.sentence, meta)


def index_reports(store: VectorStore, embedder, reports: Iterable[LabelledReport], *,
                  ontology: Ontology | None = None, batch: int = 256, progress=None) -> dict:
    """Upsert each report (findings/impression embedded) and each of its labelled sentences
    (`labelled_sentences`), all with labels and provenance."""
    col = store.collection(REPORTS, embedder)
    total = written = sentences = 0
    buf: list[LabelledReport] = []

    def flush():
        nonlocal written, sentences
        entries = [(report_entry(r), embedding_text(r.text)) for r in buf]
        for r in buf:
            for e in labelled_sentences(r, ontology):
                entries.append((sentence_entry(r, e), e.sentence))
                sentences += 1
        have = col.existing_ids([e[0] for e, _ in entries])
        new = [(e, t) for e, t in entries if e[0] not in have]
        if new:
            vecs = embedder.embed([t for _, t in new])
            written += col.upsert([e[0] for e, _ in new], [e[1] for e, _ in new],
                                  [e[2] for e, _ in new], vecs, skip_existing=False)
        if progress is not None:
            progress(len(buf))
        buf.clear()

    for r in reports:
        if r.source not in SOURCES:
            raise InputError(f"unknown label source {r.source!r} (expected {', '.join(SOURCES)})",
                             field="source")
        buf.append(r)
        total += 1
        if len(buf) >= batch:
            flush()
    if buf:
        flush()
    return {"collection": col.name, "reports": total, "sentences": sentences, "written": written,
            "count": col.count()}


def labelled_reports(labels: LabelFile, *, texts: dict[str, str] | None = None,
                     round: int | None = None, program: str | None = None) -> list[LabelledReport]:
    """The ok records of a label file (read by `radlabel.labels`) joined with report texts.

    Text comes from the line's ``text`` field or from ``texts`` (id -> text, from --reports);
    provenance from the record (its file's role, else ``meta.source``, else pseudo), round and
    program from ``meta`` unless overridden.
    """
    out = []
    for rid, rec in labels.records.items():
        text = record_text(rec) or (texts or {}).get(rid)
        if not text:
            raise InputError(f"no text for report {rid!r}: the line has no 'text' and --reports does "
                             "not contain this id", path=labels.path, line=labels.lines[rid], field="text")
        rnd = int(round) if round is not None else record_round(rec)
        prog = program if program is not None else str(rec.meta.program or "")
        extra = rec.meta.model_extra or {}
        confidence = extra.get("confidence") if isinstance(extra.get("confidence"), dict) else {}
        out.append(LabelledReport(rid, text, dict(rec.labels), rec.meta.source, rnd, prog,
                                  evidence=dict(rec.evidence),
                                  confidence={c: float(p) for c, p in confidence.items()},
                                  judged=tuple(extra.get("judged") or ())))
    return out
