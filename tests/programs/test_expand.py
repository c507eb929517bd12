"""`radlabel classes expand`: bad input, LM proposals checked against the corpus, provenance that
round-trips, resume after an interruption. Reports are our own sentences."""
from __future__ import annotations

import json
import types

import pytest

from radlabel.errors import InputError
from radlabel.ontology import Ontology

CLASSES = """classes:
  - name: Hydrocephalus
    definition: Abnormal enlargement of the cerebral ventricles.
    synonyms: [hydrocephalus, enlarged ventricles]
  - name: Subdural Hematoma
    definition: Blood between the dura and the arachnoid.
"""

REPORTS = [
    {"id": "r1", "text": "FINDINGS: Mild ventriculomegaly. No subdural hematoma.\nIMPRESSION: Ventriculomegaly."},
    {"id": "r2", "text": "FINDINGS: Ventriculomegaly is unchanged. Left SDH measuring 5 mm."},
    {"id": "r3", "text": "FINDINGS: Acute left SDH. The ventricles are normal in size."},
    {"id": "r4", "text": "FINDINGS: Moderate ventriculomegaly. The ventricles are normal in size."},
]


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_empty_corpus_is_one_clear_error(tmp_path):
    from radlabel.programs.expand import expand_ontology

    onto = Ontology.from_yaml(CLASSES)
    empty = [{"id": "a", "text": ""}, {"id": "b", "text": "INDICATION: Headache."}]
    with pytest.raises(InputError, match="no finding or impression sentences"):
        expand_ontology(onto, empty, lm=object(), output=tmp_path / "out.yaml", progress=False)
    with pytest.raises(InputError, match="no finding or impression sentences"):
        expand_ontology(onto, [], lm=object(), output=tmp_path / "out.yaml", progress=False)
    assert not (tmp_path / "out.yaml").exists()


def test_cli_duplicate_class_names_exit_2_naming_file_and_line(tmp_path, capsys):
    from radlabel.cli import main

    classes = _write(tmp_path, "c.yaml", CLASSES + "  - name: subdural-hematoma\n    definition: again\n")
    reports = _write(tmp_path, "r.jsonl", "".join(json.dumps(r) + "\n" for r in REPORTS))
    with pytest.raises(SystemExit) as e:
        main(["classes", "expand", str(classes), str(reports), "-o", str(tmp_path / "out.yaml")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "c.yaml:7" in err and "duplicate class name 'subdural-hematoma'" in err
    assert not (tmp_path / "out.yaml").exists()


def test_cli_refuses_output_equal_to_input(tmp_path, capsys):
    from radlabel.cli import main

    classes = _write(tmp_path, "c.yaml", CLASSES)
    reports = _write(tmp_path, "r.jsonl", "".join(json.dumps(r) + "\n" for r in REPORTS))
    with pytest.raises(SystemExit) as e:
        main(["classes", "expand", str(classes), str(reports), "-o", str(classes), "--lm", "embedded"])
    assert e.value.code == 2 and "-o is the input class file" in capsys.readouterr().err
    assert classes.read_text() == CLASSES


def test_lm_variants_absent_from_corpus_are_dropped_and_provenance_round_trips(tmp_path):
    """The LM proposes three variants; only the one the reports use is judged and kept."""
    from dspy.utils import DummyLM

    from radlabel.programs.expand import ExpandSettings, expand_ontology

    onto = Ontology.from_yaml(CLASSES)
    # Hydrocephalus: variants, then a yes for the one found; Subdural Hematoma: variants, yes.
    lm = DummyLM([{"variants": "ventriculomegaly, zorbomegaly, VMG"}, {"answer": "yes"},
                  {"variants": "SDH, subdural zorbation"}, {"answer": "yes"}])
    settings = ExpandSettings(top_k=0, normal=False, max_variants=3)
    out = tmp_path / "expanded.yaml"
    expanded, summary = expand_ontology(onto, REPORTS, lm=lm, output=out, settings=settings,
                                        progress=False)
    hyd = expanded.by_name["Hydrocephalus"]
    assert hyd.synonyms == ["hydrocephalus", "enlarged ventricles"]  # the user's, untouched
    assert [lp.phrase for lp in hyd.learned] == ["ventriculomegaly"]
    lp = hyd.learned[0]
    assert (lp.kind, lp.source, lp.count, lp.example_id) == ("synonym", "lm", 3, "r1")
    sdh = expanded.by_name["Subdural Hematoma"]
    assert [(p.phrase, p.count, p.example_id) for p in sdh.learned] == [("SDH", 2, "r2")]
    assert summary.rejected_not_in_corpus == {"Hydrocephalus": ["zorbomegaly", "VMG"],
                                              "Subdural Hematoma": ["subdural zorbation"]}
    assert summary.added == {"Hydrocephalus": {"variants": 1}, "Subdural Hematoma": {"variants": 1}}
    # the file on disk is an ordinary class file whose provenance loads, and matching uses it
    text = out.read_text()
    assert text.startswith("# Expanded by `radlabel classes expand`")
    assert "{phrase: ventriculomegaly, kind: synonym, source: lm, count: 3, example_id: r1}" in text
    back = Ontology.load(out)
    assert back.hash == expanded.hash
    assert back.by_name["Hydrocephalus"].learned == hyd.learned
    assert back.synonym_patterns["Hydrocephalus"].search("Mild ventriculomegaly.")
    assert back.synonym_patterns["Subdural Hematoma"].search("Acute left SDH.")
    assert back.synonym_patterns["Subdural Hematoma"].search("No subdural hematoma.")  # the name


def test_lm_rejection_adds_nothing(tmp_path):
    from dspy.utils import DummyLM

    from radlabel.programs.expand import ExpandSettings, expand_ontology

    onto = Ontology.from_yaml(CLASSES)
    lm = DummyLM([{"variants": "ventriculomegaly"}, {"answer": "no"}, {"variants": "none"}])
    expanded, summary = expand_ontology(onto, REPORTS, lm=lm, output=tmp_path / "e.yaml",
                                        settings=ExpandSettings(top_k=0, normal=False),
                                        progress=False)
    assert all(not c.learned for c in expanded.classes)
    assert summary.as_dict()["phrases_added"] == 0


def test_mining_proposes_corpus_phrases_not_already_in_the_vocabulary():
    """Step (a) without the LM: n-grams of finding sentences, no function-word edges, no cues,
    nothing the class already matches, each with a real count and example report."""
    from radlabel.programs.expand import Corpus, OntologyExpander

    corpus = Corpus.from_reports(REPORTS)
    ex = OntologyExpander(Ontology.from_yaml(CLASSES), corpus)
    assert "ventriculomegaly" in ex.phrases and "sdh" in ex.phrases
    assert not any(p.split()[0] in {"no", "the", "is"} or p.split()[-1] in {"the", "is"}
                   for p in ex.phrases)
    assert ex.example_sentence("ventriculomegaly")[1:] == (3, "r1")
    assert ex.example_sentence("zorbomegaly") == ("", 0, None)


def test_a_candidate_is_dropped_only_where_an_earlier_one_covers_it():
    """A candidate holding an earlier one's pattern adds nothing ("calcification noted" after
    "calcification"); "calcification" after "calcifications" does: the plural's pattern does
    not match the singular."""
    from radlabel.programs.expand import Corpus, ExpandSettings, OntologyExpander

    texts = ["FINDINGS: Calcifications in the arch.", "FINDINGS: Calcifications noted.",
             "FINDINGS: Calcifications seen.", "FINDINGS: Calcifications again.",
             "FINDINGS: Calcification in the arch.", "FINDINGS: Calcification noted."]
    onto = Ontology.from_yaml("classes: [{name: Calcinosis, definition: Calcium deposits.}]")
    ex = OntologyExpander(onto, Corpus.from_reports(
        [{"id": f"c{i}", "text": t} for i, t in enumerate(texts)]),
        settings=ExpandSettings(min_similarity=0.0, min_count=2))
    cands = [p for p, _ in ex.candidates(onto.by_name["Calcinosis"], k=50)]
    assert cands.index("calcifications") < cands.index("calcification")  # the plural first
    assert not any(p != q and p.startswith(q + " ") for p in cands for q in cands)


@pytest.mark.slow
def test_interrupted_expansion_resumes_from_the_cache(tmp_path):
    """The real embedded LM; the run is cut (KeyboardInterrupt) after a few LM answers. The rerun
    asks only what was not answered, a third run asks nothing and writes the same file."""
    from radlabel.lm.config import LMConfig
    from radlabel.lm.factory import make_lm
    from radlabel.programs.expand import ExpandSettings, expand_ontology

    real = make_lm(LMConfig())
    engine = real._engine_spec if hasattr(real, "_engine_spec") else real.engine

    class Interrupting:
        def __init__(self, after):
            self.left = after

        def option_logprobs(self, *a, **kw):
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            return engine.option_logprobs(*a, **kw)

    cut = types.SimpleNamespace(model=real.model, engine=Interrupting(4))
    onto = Ontology.from_yaml(CLASSES)
    settings = ExpandSettings(top_k=2, variants=False, normal=False, min_similarity=0.0)
    out = tmp_path / "e.yaml"
    with pytest.raises(KeyboardInterrupt):
        expand_ontology(onto, REPORTS, lm=cut, output=out, settings=settings, progress=False)
    assert not out.exists()
    cache = out.with_name(out.name + ".cache.jsonl")
    answered = len(cache.read_text().splitlines())
    assert answered >= 1
    _, s2 = expand_ontology(onto, REPORTS, lm=real, output=out, settings=settings, progress=False)
    assert s2.cached_calls == answered and s2.lm_calls >= 1
    first = out.read_text().split("classes:", 1)[1]
    _, s3 = expand_ontology(onto, REPORTS, lm=real, output=out, settings=settings, progress=False)
    assert s3.lm_calls == 0 and s3.cached_calls == len(cache.read_text().splitlines())
    assert out.read_text().split("classes:", 1)[1] == first
    keys = [json.loads(line)["key"] for line in cache.read_text().splitlines()]
    assert len(keys) == len(set(keys))  # nothing asked twice


def test_modifier_words_of_a_class_name_are_no_candidates():
    """"subdural" alone names a place, not the hematoma; "hydrocephalus" words are the name."""
    from radlabel.programs.expand import Corpus, OntologyExpander

    reports = REPORTS + [{"id": "r5", "text": "FINDINGS: Subdural collection on the left."},
                         {"id": "r6", "text": "FINDINGS: Subdural fluid is unchanged."}]
    ex = OntologyExpander(Ontology.from_yaml(CLASSES), Corpus.from_reports(reports))
    sdh = Ontology.from_yaml(CLASSES).by_name["Subdural Hematoma"]
    assert "subdural" in ex.phrases
    assert ex._modifier_only(sdh, "subdural") and not ex._modifier_only(sdh, "sdh")
    assert not ex._modifier_only(sdh, "hematoma")  # the head of the name is a fine candidate


NORMAL_CLASSES = """classes:
  - name: Hemorrhage
    definition: Blood in the brain.
  - name: No Finding
    definition: Nothing abnormal.
    role: normal
"""

NORMAL_REPORTS = [
    {"id": "n1", "text": "FINDINGS: Mild degenerative change of the cervical spine. No hemorrhage."},
    {"id": "n2", "text": "FINDINGS: Mild degenerative change of the cervical spine."},
    {"id": "n3", "text": "FINDINGS: The cervical spine is normal. No hemorrhage."},
    {"id": "n4", "text": "FINDINGS: The cervical spine is normal. Hemorrhagic focus in the left frontal lobe."},
    {"id": "n5", "text": "FINDINGS: Hemorrhagic contusion. The ventricles are normal."},
]


def test_abnormality_words_rank_above_anatomy_and_skip_what_is_explained():
    """Step (e) without the LM: "degenerative" is in affirmed sentences only, "spine" and
    "cervical" also in normal ones; words of negated or normal sentences are no candidates."""
    from radlabel.programs.expand import Corpus, OntologyExpander

    onto = Ontology.from_yaml(NORMAL_CLASSES)
    ex = OntologyExpander(onto, Corpus.from_reports(NORMAL_REPORTS))
    cands = ex.abnormal_candidates(onto, 10)
    words = [w for w, *_ in cands]
    assert words[0] == "degenerative"
    assert set(words) <= {"degenerative", "change", "cervical", "spine", "mild",
                          "hemorrhagic", "focus", "left", "frontal", "lobe", "contusion"}
    assert "ventricles" not in words  # only in a normal sentence
    w, sentence, count, example = cands[0]
    assert (count, example) == (2, "n1") and "degenerative" in sentence.lower()


def test_name_forms_are_judged_first():
    """Another form of a word of the name ("hemorrhagic") is a candidate even when its
    embedding is far from the class description."""
    from radlabel.programs.expand import Corpus, ExpandSettings, OntologyExpander

    onto = Ontology.from_yaml(NORMAL_CLASSES)
    ex = OntologyExpander(onto, Corpus.from_reports(NORMAL_REPORTS),
                          settings=ExpandSettings(min_similarity=0.99))
    hem = onto.by_name["Hemorrhage"]
    assert {ex.phrases[j] for j in ex.name_forms(hem)} == {"hemorrhagic"}
    assert ex.candidates(hem, k=1)[0][0] == "hemorrhagic"


def test_learned_abnormality_words_turn_the_normal_class_off(tmp_path):
    """An LM that chooses A for the first candidate and C for the rest: one abnormal_term on the
    normal class, with provenance; the report that only has degenerative change is no longer
    normal; the file round-trips."""
    from dspy.utils import DummyLM

    from radlabel.programs.expand import ExpandSettings, expand_ontology
    from radlabel.programs.labeler import Labeler

    onto = Ontology.from_yaml(NORMAL_CLASSES)
    before = Labeler(classes=onto, judge="none")(NORMAL_REPORTS[1]["text"]).labels
    assert before["No Finding"] == "present"
    lm = DummyLM([{"answer": "A"}] + [{"answer": "C"}] * 20)
    out = tmp_path / "e.yaml"
    expanded, summary = expand_ontology(
        onto, NORMAL_REPORTS, lm=lm, output=out, progress=False,
        settings=ExpandSettings(top_k=0, variants=False, normal=False, max_abnormal=5))
    nf = expanded.by_name["No Finding"]
    assert [(lp.phrase, lp.kind, lp.count, lp.example_id) for lp in nf.learned] == [
        ("degenerat*", "abnormal_term", 2, "n1")]  # kept as its word family
    assert summary.added["No Finding"] == {"abnormal_terms": 1}
    back = Ontology.load(out)
    assert back.hash == expanded.hash
    lab = Labeler(classes=back, judge="none")
    assert lab(NORMAL_REPORTS[1]["text"]).labels["No Finding"] == "absent"
    # another form of the word, never seen by the expansion, is an abnormality too
    assert lab("FINDINGS: Disc degeneration at C5-6.").labels["No Finding"] == "absent"
    assert lab(NORMAL_REPORTS[2]["text"]).labels["No Finding"] == "present"


def test_abnormality_word_families_are_asked_once(tmp_path):
    """A candidate of a family already learned ("degeneration" after "degenerative") is not
    put to the LM; with ``stems=False`` the word is kept as written and both are asked."""
    from dspy.utils import DummyLM

    from radlabel.programs.expand import ExpandSettings, expand_ontology

    reports = NORMAL_REPORTS + [
        {"id": "n6", "text": "FINDINGS: Disc degeneration at C5-6."},
        {"id": "n7", "text": "FINDINGS: Disc degeneration at C6-7."}]
    onto = Ontology.from_yaml(NORMAL_CLASSES)
    for stems, terms in ((True, ["degenerat*"]), (False, ["degeneration", "degenerative"])):
        lm = DummyLM([{"answer": "A"}] * 40)
        expanded, _ = expand_ontology(
            onto, reports, lm=lm, output=tmp_path / f"s{stems}.yaml", progress=False,
            settings=ExpandSettings(top_k=0, variants=False, normal=False, sites=False,
                                    max_abnormal=2, stems=stems))
        got = expanded.by_name["No Finding"].learned_abnormal_terms
        assert sorted(got) == sorted(terms)


def test_abnormal_terms_only_on_the_normal_class():
    with pytest.raises(InputError, match="normal class"):
        Ontology.from_yaml("classes:\n  - name: A\n    definition: d\n    learned:\n"
                           "    - {phrase: degenerative, kind: abnormal_term}\n")


def test_modifiers_and_anatomy_are_no_candidates():
    """"acute" is nearly always followed by another content word (a modifier), "ventricles"
    is mostly in normal-worded sentences (anatomy); neither is put to the LM, however similar
    its embedding; the finding word is."""
    from radlabel.programs.expand import Corpus, ExpandSettings, OntologyExpander

    reports = [{"id": f"m{i}", "text": t} for i, t in enumerate([
        "FINDINGS: Acute hemorrhage in the left frontal lobe. The ventricles are normal.",
        "FINDINGS: Acute infarct in the right parietal lobe. The ventricles are normal in size.",
        "FINDINGS: No acute abnormality. The ventricles are unremarkable.",
        "FINDINGS: Acute hemorrhage. Parenchymal bleed in the left frontal lobe.",
        "FINDINGS: Parenchymal bleed unchanged. The ventricles are normal.",
        "FINDINGS: Enlarged ventricles with acute hydrocephalus.",
    ])]
    onto = Ontology.from_yaml(NORMAL_CLASSES)
    ex = OntologyExpander(onto, Corpus.from_reports(reports),
                          settings=ExpandSettings(min_similarity=0.0))
    cands = [p for p, _ in ex.candidates(onto.by_name["Hemorrhage"], k=50)]
    assert "acute" in ex.phrases and "ventricles" in ex.phrases
    assert "acute" not in cands and "ventricles" not in cands
    assert "parenchymal bleed" in cands


class _ScoringEngine:
    """Likelihoods from a table: (class name in the prompt, phrase) -> P(A). Stands in for the
    embedded engine's option scoring so that the claim rule can be pinned exactly."""

    def __init__(self, table):
        self.table = table

    def option_logprobs(self, msgs, options):
        import math

        text = msgs[-1]["content"]
        p = 0.1
        for (cls, phrase), v in self.table.items():
            if f"Finding: {cls}." in text and f'phrase "{phrase}"' in text:
                p = v
        rest = (1 - p) / (len(options) - 1)
        return [math.log(p if o == "A" else rest) for o in options]


def test_a_phrase_accepted_for_two_classes_names_the_surer_one(tmp_path):
    from radlabel.programs.expand import ExpandSettings, expand_ontology

    classes = Ontology.from_yaml("""classes:
  - name: Subdural Hematoma
    definition: Blood between the dura and the arachnoid.
  - name: Intracranial Hemorrhage
    definition: Bleeding inside the skull.
""")
    reports = [{"id": f"c{i}", "text": f"FINDINGS: Extra-axial blood collection on the {side}."}
               for i, side in enumerate(["left", "right", "left", "right"])]
    lm = types.SimpleNamespace(model="table", engine=_ScoringEngine({
        ("Subdural Hematoma", "extra-axial blood collection"): 0.9,
        ("Intracranial Hemorrhage", "extra-axial blood collection"): 0.6}))
    expanded, summary = expand_ontology(
        classes, reports, lm=lm, output=tmp_path / "e.yaml", progress=False,
        settings=ExpandSettings(top_k=3, variants=False, normal=False, min_similarity=0.0,
                                judge="choice"))
    sdh, ich = expanded.by_name["Subdural Hematoma"], expanded.by_name["Intracranial Hemorrhage"]
    assert "extra-axial blood collection" in sdh.learned_synonyms
    assert "extra-axial blood collection" not in ich.learned_synonyms
    assert summary.added["Intracranial Hemorrhage"].get("dropped_to_other_class") == 1


def test_a_phrase_claimed_by_two_classes_is_the_one_whose_name_it_is_a_form_of(tmp_path):
    """"fracture", a form of the name "Fractures, Bone", is accepted for that class and for
    Humerus (a site class whose definition gives "e.g. a fracture"): it names the fracture class
    even where the LM was surer of Humerus. Without the name form the surer class keeps it."""
    from radlabel.programs.expand import ExpandSettings, expand_ontology

    yaml = """classes:
  - name: Fractures, Bone
    definition: A broken bone.
  - name: Humerus
    definition: An abnormality of the humerus, e.g. a fracture.
    role: site
"""
    reports = [{"id": f"k{i}", "text": f"FINDINGS: Fracture {where}."}
               for i, where in enumerate(["of the neck", "is healed", "of the shaft", "noted"])]
    owners = []
    for name in ("Fractures, Bone", "Broken Bones"):
        table = {("Humerus", "fracture"): 0.9, (name, "fracture"): 0.6}
        lm = types.SimpleNamespace(model="table", engine=_ScoringEngine(table))
        expanded, _ = expand_ontology(
            Ontology.from_yaml(yaml.replace("Fractures, Bone", name)), reports, lm=lm,
            output=tmp_path / f"e{len(owners)}.yaml", progress=False,
            settings=ExpandSettings(top_k=3, variants=False, normal=False, min_similarity=0.0,
                                    judge="choice", sites=False))
        owners.append([c.name for c in expanded.classes if "fracture" in c.learned_synonyms])
    assert owners == [["Fractures, Bone"], ["Humerus"]]


def test_a_definition_example_is_judged_even_where_its_reports_deny_the_class(tmp_path):
    """Reports write "vascular congestion" beside "no edema"; mined, the phrase is contradicted
    and never reaches the LM, but a definition that says the class "includes vascular
    congestion" puts it in the class: it is judged, and learned."""
    import math

    from radlabel.programs.expand import ExpandSettings, expand_ontology

    class Yes:
        def option_logprobs(self, msgs, options):
            return [math.log(0.7 if o == "A" else 0.1) for o in options]

    reports = [{"id": f"v{i}", "text": f"FINDINGS: {t}"} for i, t in enumerate([
        "Mild vascular congestion. No edema.", "Vascular congestion. No pulmonary edema.",
        "Vascular congestion, no edema.", "Interstitial edema.", "Edema is seen."])]
    learned = {}
    for definition in ("Fluid in the lung; includes vascular congestion.", "Fluid in the lung."):
        classes = Ontology.from_yaml(f"classes: [{{name: Edema, definition: {definition}}}]")
        lm = types.SimpleNamespace(model="table", engine=Yes())
        expanded, summary = expand_ontology(
            classes, reports, lm=lm, output=tmp_path / f"e{len(learned)}.yaml", progress=False,
            settings=ExpandSettings(top_k=8, variants=False, normal=False, sites=False,
                                    min_similarity=0.0, judge="choice"))
        learned[definition] = ("vascular congestion" in expanded.by_name["Edema"].learned_synonyms,
                               summary.added["Edema"].get("contradicted", 0) > 0)
    assert learned["Fluid in the lung; includes vascular congestion."][0]
    assert learned["Fluid in the lung."] == (False, True)  # mined only: contradicted


def test_a_phrase_whose_reports_deny_the_class_is_contradicted():
    """Reports that affirm "ventriculomegaly" keep saying "no hemorrhage": no name of
    Hemorrhage, whatever an LM would answer; "parenchymal bleed" is never denied beside."""
    from radlabel.programs.expand import Corpus, OntologyExpander

    reports = [{"id": f"v{i}", "text": "FINDINGS: Mild ventriculomegaly. No hemorrhage."}
               for i in range(4)] + [
        {"id": "b1", "text": "FINDINGS: Parenchymal bleed in the left frontal lobe."},
        {"id": "b2", "text": "FINDINGS: Parenchymal bleed, unchanged. Hemorrhage in the right lobe."},
        {"id": "b3", "text": "FINDINGS: Small parenchymal bleed."},
        {"id": "b4", "text": "FINDINGS: No parenchymal bleed. No hemorrhage."}]
    onto = Ontology.from_yaml(NORMAL_CLASSES)
    ex = OntologyExpander(onto, Corpus.from_reports(reports))
    hem = onto.by_name["Hemorrhage"]
    assert ex.contradiction(hem, "ventriculomegaly") == (1.0, 4)
    assert ex.contradicts(hem, "ventriculomegaly")
    assert ex.contradiction(hem, "parenchymal bleed") == (0.0, 3)  # b4 denies both: not affirmed
    assert not ex.contradicts(hem, "parenchymal bleed")


def test_cli_refuses_an_unknown_judge(tmp_path, capsys):
    from radlabel.cli import main

    classes = _write(tmp_path, "c.yaml", CLASSES)
    reports = _write(tmp_path, "r.jsonl", "".join(json.dumps(r) + "\n" for r in REPORTS))
    with pytest.raises(SystemExit) as e:
        main(["classes", "expand", str(classes), str(reports), "-o", str(tmp_path / "o.yaml"),
              "--judge", "maybe", "--lm", "embedded"])
    assert e.value.code == 2 and "--judge must be choice or yesno" in capsys.readouterr().err
    assert not (tmp_path / "o.yaml").exists()


def test_a_single_word_read_as_a_body_part_is_vetoed(tmp_path):
    """With ``veto=True``: the class question says yes to "ventriculomegaly" and to
    "ventricles"; the class-free question reads "ventricles" as a body part (B), so only the
    finding word is kept."""
    from dspy.utils import DummyLM

    from radlabel.programs.expand import ExpandSettings, expand_ontology

    onto = Ontology.from_yaml(CLASSES)
    lm = DummyLM([{"variants": "ventriculomegaly, ventricles"}, {"answer": "yes"}, {"answer": "A"},
                  {"answer": "yes"}, {"answer": "B"}, {"variants": "none"}])
    expanded, summary = expand_ontology(onto, REPORTS, lm=lm, output=tmp_path / "e.yaml",
                                        settings=ExpandSettings(top_k=0, normal=False, veto=True),
                                        progress=False)
    assert expanded.by_name["Hydrocephalus"].learned_synonyms == ["ventriculomegaly"]
    assert summary.added["Hydrocephalus"] == {"variants": 1, "vetoed": 1}


EXAMPLE_CLASSES = """classes:
  - name: Support Hardware
    definition: Medical hardware such as shunt catheters, reservoirs or clips (not the skull itself).
"""

EXAMPLE_REPORTS = [
    {"id": f"e{i}", "text": t} for i, t in enumerate([
        "FINDINGS: Right frontal shunt catheter terminates in the lateral ventricle.",
        "FINDINGS: Shunt catheter unchanged. Aneurysm clip in the left MCA territory.",
        "FINDINGS: Aneurysm clips are again seen.",
        "FINDINGS: No hemorrhage. The skull is intact.",
    ])]


def test_the_definitions_own_examples_are_judged_first_at_a_lower_bar(tmp_path):
    """"such as shunt catheters, reservoirs or clips": the items the corpus has (in the form it
    uses) are judged before any mined phrase, and kept at P(yes) >= accept_example."""
    from radlabel.programs.expand import Corpus, ExpandSettings, OntologyExpander, expand_ontology

    onto = Ontology.from_yaml(EXAMPLE_CLASSES)
    cls = onto.by_name["Support Hardware"]
    ex = OntologyExpander(onto, Corpus.from_reports(EXAMPLE_REPORTS))
    assert ex.definition_examples(cls) == ["shunt catheter", "clip"]  # no "reservoirs" in the corpus
    # before a plural head a bare singular word modifies it: "skull fractures", not "skull"
    frac = Ontology.from_yaml("classes:\n  - name: Fracture\n    definition: A break, e.g. skull,"
                              " orbital or facial bone fractures, and contusions.\n")
    reports = [{"id": f"f{i}", "text": t} for i, t in enumerate([
        "FINDINGS: Skull fracture on the left.", "FINDINGS: Left skull fracture.",
        "FINDINGS: The skull is intact.", "FINDINGS: The skull is intact. Scalp contusions.",
        "FINDINGS: Frontal contusions."])]
    fx = OntologyExpander(frac, Corpus.from_reports(reports))
    assert fx.definition_examples(frac.by_name["Fracture"]) == ["skull fracture", "contusion"]
    # a list that starts with a preposition says where or whence, not what: no example
    # ("from a prior study" is not "study", "of a rib or clavicle" no fracture); a leading
    # article is dropped ("such as a clip")
    dye = Ontology.from_yaml("classes:\n  - name: Contrast\n    definition: Contrast material,"
                             " e.g. from a prior study or a clip; such as a clip.\n"
                             "  - name: Break\n    definition: A fracture, e.g. of a rib or clavicle.\n")
    rep = [{"id": f"c{i}", "text": t} for i, t in enumerate([
        "FINDINGS: Limited study. Aneurysm clip. Old rib fracture. The clavicle is normal."] * 2)]
    dx = OntologyExpander(dye, Corpus.from_reports(rep))
    assert dx.definition_examples(dye.by_name["Contrast"]) == ["clip"]
    assert dx.definition_examples(dye.by_name["Break"]) == []

    class Table:  # P(yes) 0.4 for every question: below accept, above accept_example
        def option_logprobs(self, msgs, options):
            import math
            text = msgs[-1]["content"]
            if "Answer yes or no" in text:
                return [math.log(0.4 if o == "yes" else 0.6) for o in options]
            if '"clip"' in text:  # the single-word veto: read as an abnormality-or-device (A)
                return [math.log(0.7 if o == "A" else 0.1) for o in options]
            return [math.log(0.25) for o in options]  # content-free: no preference

    lm = types.SimpleNamespace(model="table", engine=Table())
    settings = ExpandSettings(top_k=3, variants=False, normal=False, min_similarity=0.0)
    expanded, summary = expand_ontology(onto, EXAMPLE_REPORTS, lm=lm, output=tmp_path / "e.yaml",
                                        settings=settings, progress=False)
    got = expanded.by_name["Support Hardware"].learned_synonyms
    assert got == ["shunt catheter", "clip"]
    assert summary.added["Support Hardware"] == {"definition_examples": 2}
    none, _ = expand_ontology(onto, EXAMPLE_REPORTS, lm=lm, output=tmp_path / "f.yaml",
                              settings=ExpandSettings(top_k=3, variants=False, normal=False,
                                                      min_similarity=0.0, examples=False),
                              progress=False)
    assert none.by_name["Support Hardware"].learned_synonyms == []  # 0.4 < accept


def test_the_example_sentence_affirms_the_phrase():
    """The LM is asked whether a phrase names the class *in this sentence*: the sentence shown
    affirms the phrase when any does ("Patchy infiltrate on the left.", not the more frequent
    "No infiltrate."); a phrase only ever denied keeps its most frequent sentence."""
    from radlabel.programs.expand import Corpus, OntologyExpander

    reports = [{"id": f"i{i}", "text": t} for i, t in enumerate([
        "FINDINGS: No infiltrate.", "FINDINGS: No infiltrate.", "FINDINGS: No infiltrate.",
        "FINDINGS: Patchy infiltrate on the left.", "FINDINGS: No zorbosis.",
        "FINDINGS: No zorbosis."])]
    onto = Ontology.from_yaml("classes:\n  - name: Opacity\n    definition: Whiter lung.\n")
    ex = OntologyExpander(onto, Corpus.from_reports(reports))
    assert ex.example_sentence("infiltrate") == ("Patchy infiltrate on the left.", 4, "i0")
    assert ex.example_sentence("zorbosis") == ("No zorbosis.", 2, "i4")


def test_variants_that_are_modifiers_or_already_matched_are_not_judged(tmp_path):
    """The LM lists "focal" (a word nearly always followed by another content word) and
    "opacities" (the name's plural, already matched) as variants of Opacity: neither is put to
    the judge; "infiltrate" is."""
    from dspy.utils import DummyLM

    from radlabel.programs.expand import ExpandSettings, expand_ontology

    reports = [{"id": f"v{i}", "text": t} for i, t in enumerate([
        "FINDINGS: Focal opacity in the left base.", "FINDINGS: Focal consolidation.",
        "FINDINGS: Right perihilar opacities.", "FINDINGS: Focal infiltrate in the right base.",
        "FINDINGS: Patchy infiltrate.", "FINDINGS: Focal atelectasis."])]
    onto = Ontology.from_yaml("classes:\n  - name: Opacity\n    definition: Whiter lung.\n")
    lm = DummyLM([{"variants": "focal, opacities, infiltrate"}, {"answer": "yes"}])
    expanded, summary = expand_ontology(onto, reports, lm=lm, output=tmp_path / "e.yaml",
                                        settings=ExpandSettings(top_k=0, normal=False,
                                                                examples=False),
                                        progress=False)
    assert expanded.by_name["Opacity"].learned_synonyms == ["infiltrate"]
    assert summary.added["Opacity"] == {"modifiers": 1, "variants": 1}


def test_a_class_named_after_a_body_part_learns_its_abnormal_phrasings(tmp_path):
    """"Aorta: an abnormality of the aorta": the class-free question reads the name as a body
    part, so the class becomes ``role: site``; the organ's own words ("aortic") are no
    candidates, "tortuous aorta" is judged and learned, and "The aorta is normal." no longer
    names it. A site class that learns nothing keeps its name; a finding class is untouched."""
    from radlabel.programs.expand import Corpus, ExpandSettings, OntologyExpander, expand_ontology

    classes = ("classes:\n  - name: Aorta\n    definition: An abnormality of the aorta.\n"
               "  - name: Heart\n    definition: An abnormality of the heart.\n"
               "  - name: Effusion\n    definition: Fluid around the lung.\n")
    reports = [{"id": f"a{i}", "text": t} for i, t in enumerate([
        "FINDINGS: Tortuous aorta. The heart is normal.", "FINDINGS: Tortuous aorta. Aortic arch calcified.",
        "FINDINGS: The aorta is normal. Small effusion.", "FINDINGS: Tortuous aorta.",
        "FINDINGS: Aortic arch calcified. The heart is normal."])]

    class Table:
        def option_logprobs(self, msgs, options):
            import math
            text = msgs[-1]["content"]
            if "Answer yes or no" in text:  # names Aorta? only the tortuous aorta
                p = 0.9 if ('"tortuous aorta"' in text and "Finding: Aorta." in text) else 0.1
                if any(f'"{x}"' in text for x in ("N/A", "", "[MASK]")):
                    p = 0.5  # content-free: no preference
                return [math.log(p if o == "yes" else 1 - p) for o in options]
            body = any(f'word "{w}"' in text for w in ("Aorta", "Heart"))
            p = {"A": 0.05, "B": 0.85, "C": 0.05, "D": 0.05} if body else \
                {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}
            return [math.log(p[o]) for o in options]

    lm = types.SimpleNamespace(model="table", engine=Table())
    settings = ExpandSettings(top_k=6, variants=False, normal=False, min_similarity=0.0, min_count=2)
    out = tmp_path / "e.yaml"
    expanded, summary = expand_ontology(Ontology.from_yaml(classes), reports, lm=lm, output=out,
                                        settings=settings, progress=False)
    aorta, heart, eff = (expanded.by_name[n] for n in ("Aorta", "Heart", "Effusion"))
    assert aorta.role == "site" and aorta.learned_synonyms == ["tortuous aorta"]
    assert heart.role is None and heart.learned_synonyms == []  # learned nothing: its name back
    assert eff.role is None
    assert summary.added["Aorta"]["site"] == 1 and summary.added["Heart"]["site"] == 0
    pats = Ontology.load(out).synonym_patterns
    assert pats["Aorta"].search("Tortuous aorta.") and not pats["Aorta"].search("The aorta is normal.")
    site = Ontology.from_yaml(classes.replace("the aorta.\n", "the aorta.\n    role: site\n", 1))
    ex = OntologyExpander(site, Corpus.from_reports(reports), settings=settings)
    cands = [p for p, _ in ex.candidates(site.by_name["Aorta"], k=20)]
    assert "aortic" not in cands and "aorta" not in cands and "tortuous aorta" in cands


def test_locations_named_by_site_classes_are_no_candidates():
    """With site classes (body parts the LM recognised in the class file), a phrase made only of
    their words and stop words is a location ("thoracic aorta", "right clavicle"): no candidate
    for any class. A finding word beside them keeps the phrase ("tortuous thoracic aorta",
    "clavicle fracture"). Without site classes nothing is a location."""
    from radlabel.programs.expand import Corpus, ExpandSettings, OntologyExpander

    classes = ("classes:\n"
               "  - {name: Aorta, definition: An abnormality of the aorta., role: site}\n"
               "  - {name: Thoracic Vertebrae, definition: An abnormality of the thoracic vertebrae., role: site}\n"
               "  - {name: Clavicle, definition: An abnormality of a clavicle., role: site}\n"
               "  - {name: Bronchi, definition: An abnormality of the bronchi., role: site}\n"
               "  - {name: Fracture, definition: A broken bone.}\n"
               "  - {name: Bronchiectasis, definition: Widened bronchi.}\n")
    texts = ["FINDINGS: Tortuous thoracic aorta. Old right clavicle fracture.",
             "FINDINGS: Tortuous thoracic aorta. Healed right clavicle fracture.",
             "FINDINGS: The thoracic aorta is calcified. Right clavicle fracture.",
             "FINDINGS: Clavicle fracture on the right."]
    reports = [{"id": f"s{i}", "text": t} for i, t in enumerate(texts)]
    settings = ExpandSettings(min_similarity=0.0, min_count=2)
    onto = Ontology.from_yaml(classes)
    ex = OntologyExpander(onto, Corpus.from_reports(reports), settings=settings)
    assert ex.anatomy_only("thoracic aorta") and ex.anatomy_only("right clavicle")
    assert ex.anatomy_only("aortic") and ex.anatomy_only("thoracic vertebral")
    assert not ex.anatomy_only("tortuous thoracic aorta") and not ex.anatomy_only("clavicle fracture")
    assert ex.anatomy_only("bronchi") and ex.anatomy_only("peribronchi")
    assert ex.anatomy_only("hemiclavicle")  # a compound holding a site word (5+ letters)
    assert not ex.anatomy_only("bronchiectatic")  # a form of a finding class's name
    for name in ("Aorta", "Fracture"):
        cands = [p for p, _ in ex.candidates(onto.by_name[name], k=50)]
        assert "thoracic aorta" not in cands and "right clavicle" not in cands and cands
    assert any("tortuous" in p for p, _ in ex.candidates(onto.by_name["Aorta"], k=50))
    plain = Ontology.from_yaml(classes.replace(", role: site", ""))
    ex2 = OntologyExpander(plain, Corpus.from_reports(reports), settings=settings)
    assert not ex2.anatomy_only("thoracic aorta")
