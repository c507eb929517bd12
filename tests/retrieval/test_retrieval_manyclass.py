"""Many-class pieces: the MeSH-term class file, the synthetic 1,000-class ontology, the no-LM judge."""
from __future__ import annotations

import textwrap

import pytest

from radlabel.ontology import Ontology

ANATOMY = textwrap.dedent("""\
    classes:
      - name: Aorta
        definition: An abnormality of the aorta such as tortuosity or calcification.
        synonyms: [tortuous aorta, aorta ... tortuous, aorta ... calcified]
      - name: Pleural Effusion
        definition: Fluid in the pleural space.
        synonyms: [pleural effusion, effusion]
      - name: Scoliosis
        definition: Sideways curvature of the spine.
        synonyms: [scoliosis, dextroscoliosis]
    """)


def test_mesh_class_file_loads_with_synonyms_for_every_class():
    onto = Ontology.load("mesh_iu")
    assert len(onto) >= 100
    assert all(c.synonyms for c in onto.classes)
    for term in ("Calcified Granuloma", "Thoracic Vertebrae", "Technical Quality of Image Unsatisfactory",
                 "Catheters, Indwelling", "Hernia, Hiatal"):
        assert onto.resolve(term) == term


def test_synthetic_ontology_keeps_base_classes_first_and_names_unique():
    from radlabel.retrieval.synthetic_ontology import synthetic_ontology

    base = Ontology.load()
    onto = synthetic_ontology(1000, base=base)
    assert len(onto) == 1000
    assert onto.names[: len(base)] == base.names
    assert len({Ontology.norm(n) for n in onto.names}) == 1000
    assert synthetic_ontology(1000).hash == onto.hash          # deterministic for a seed
    assert synthetic_ontology(1000, seed=1).hash != onto.hash
    with pytest.raises(ValueError):
        synthetic_ontology(10_000)


def test_rule_judge_needs_synonym_evidence_and_reads_negation(tmp_path):
    from radlabel.retrieval import get_embedder, open_store
    from radlabel.retrieval.candidates import CandidateRetriever
    from radlabel.retrieval.rule_judge import RuleJudge

    onto = Ontology.from_yaml(ANATOMY, source="anatomy-test")
    judge = RuleJudge(CandidateRetriever(open_store(str(tmp_path / "db")), get_embedder(), onto, k=2,
                                         min_score=0.3))
    labels, evidence = judge.label("FINDINGS: The aorta is normal in caliber. No pleural effusion. "
                                   "Mild dextroscoliosis of the thoracic spine.")
    assert labels == {"Aorta": "not_mentioned", "Pleural Effusion": "absent", "Scoliosis": "present"}
    assert evidence["Scoliosis"] == "Mild dextroscoliosis of the thoracic spine."
    labels, _ = judge.label("FINDINGS: The thoracic aorta is tortuous. Possible small left effusion.")
    assert labels["Aorta"] == "present" and labels["Pleural Effusion"] == "uncertain"
    # With semantic_present set, a strong embedding-only hit counts (here: no synonym says "curved").
    # The rank gate drops it by default ("curved" is no abnormality word the gate knows).
    gated = RuleJudge(judge.retriever, semantic_present=0.3)
    assert gated.label("FINDINGS: The spine is curved to the right.")[0]["Scoliosis"] == "not_mentioned"
    ungated = CandidateRetriever(open_store(str(tmp_path / "db")), get_embedder(), onto, k=2, min_score=0.3,
                                 gate=False)
    lenient = RuleJudge(ungated, semantic_present=0.3)
    labels, _ = lenient.label("FINDINGS: The spine is curved to the right.")
    assert labels["Scoliosis"] == "present"
