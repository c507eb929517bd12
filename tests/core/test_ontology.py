import pytest

from radlabel.errors import InputError
from radlabel.ontology import Ontology, phrase_pattern
import re


def test_default_set_has_the_14_classes():
    ont = Ontology.load()
    assert len(ont) == 14
    assert ont.normal_class.name == "No Finding"
    assert ont.resolve("nodule_mass") == "Nodule/Mass"
    assert ont.resolve("pleural-effusion") == "Pleural Effusion"
    assert ont.resolve("Unknown Thing") is None


@pytest.mark.parametrize("phrase,text,hit", [
    ("heart ... enlarged", "The heart is mildly enlarged.", True),
    ("heart ... enlarged", "The heart and lungs are normal; the liver is enlarged.", False),
    ("effusion", "Bilateral effusions.", True),
    ("nodular density", "Patchy nodular densities.", True),
    ("PTX", "no PTXs", True),
    ("mass", "massive", False),
])
def test_phrase_pattern(phrase, text, hit):
    assert bool(re.search(phrase_pattern(phrase), text, re.I)) is hit


def test_user_class_file(tmp_path):
    p = tmp_path / "classes.yaml"
    p.write_text("classes:\n  - name: Foo\n    definition: a foo\n    synonyms: [foo, F.O.O.]\n"
                 "  - name: Bar\n    definition: a bar\n    parent: Foo\n")
    ont = Ontology.load(p)
    assert ont.names == ["Foo", "Bar"] and ont.by_name["Bar"].parent == "Foo"
    assert Ontology.from_yaml(ont.to_yaml()).hash == ont.hash


@pytest.mark.parametrize("body,needle", [
    ("classes:\n  - name: A\n    definition: x\n  - name: B\n", "classes.yaml:4 [classes[1].definition]"),
    ("classes:\n  - name: A\n    definition: x\n    parent: Nope\n", "parent 'Nope'"),
    ("classes:\n  - name: A\n    definition: x\n  - name: a\n    definition: y\n", "duplicate class name"),
    ("klasses: []\n", "top-level 'classes:'"),
    ("classes: [\n", "invalid YAML"),
    ("classes:\n  - name: A\n    definition: x\n    colour: red\n", "classes[0].colour"),
])
def test_bad_class_files_name_file_line_field(tmp_path, body, needle):
    p = tmp_path / "classes.yaml"
    p.write_text(body)
    with pytest.raises(InputError) as e:
        Ontology.load(p)
    assert needle in str(e.value)


def test_missing_class_file():
    with pytest.raises(InputError, match="class file not found"):
        Ontology.load("/nonexistent/classes.yaml")


# -- empty phrases (issue 12 item 3) and learned provenance (issue 11) ----------------------------
import pytest as _pytest  # noqa: E402


@_pytest.mark.parametrize("bad", ["''", "'  '", "'...'", "' ... ... '"])
@_pytest.mark.parametrize("field", ["synonyms", "normal_phrases"])
def test_empty_or_gap_only_phrase_is_refused_with_file_line_field(bad, field):
    from radlabel.errors import InputError
    from radlabel.ontology import Ontology

    text = ("classes:\n- name: Hydrocephalus\n  definition: Enlarged ventricles.\n"
            f"  {field}:\n  - ventriculomegaly\n  - {bad}\n")
    with _pytest.raises(InputError) as e:
        Ontology.from_yaml(text, source="user.yaml")
    msg = str(e.value)
    assert msg.startswith("user.yaml:6 ") and f"classes[0].{field}[1]" in msg, msg


def test_blank_synonym_no_longer_matches_every_sentence():
    from radlabel.errors import InputError
    from radlabel.ontology import Ontology

    with _pytest.raises(InputError):
        Ontology.from_yaml("classes: [{name: Hydrocephalus, definition: d, synonyms: ['']}]")


def test_learned_phrases_round_trip_and_are_matched():
    from radlabel.ontology import Ontology

    text = ("classes:\n- name: Hydrocephalus\n  definition: Enlarged ventricles.\n  learned:\n"
            "  - {phrase: ventriculomegaly, kind: synonym, source: lm, count: 3, example_id: r1}\n"
            "  - {phrase: ventricles are normal in size, kind: normal_phrase, count: 2, example_id: 7}\n")
    o = Ontology.from_yaml(text)
    c = o.by_name["Hydrocephalus"]
    assert c.learned_synonyms == ["ventriculomegaly"]
    # the name still matches (no user synonyms), and so does the learned synonym
    assert o.synonym_patterns["Hydrocephalus"].search("Mild ventriculomegaly.")
    assert o.synonym_patterns["Hydrocephalus"].search("No hydrocephalus.")
    assert o.normal_patterns["Hydrocephalus"].search("The ventricles are normal in size.")
    out = o.to_yaml(header="expanded by test")
    assert out.startswith("# expanded by test\n")
    assert "{phrase: ventriculomegaly, kind: synonym, source: lm, count: 3, example_id: r1}" in out
    back = Ontology.from_yaml(out)
    assert back.hash == o.hash and back.by_name["Hydrocephalus"].learned == c.learned
    assert back.by_name["Hydrocephalus"].learned[1].example_id == "7"


def test_learned_bad_kind_names_the_field():
    from radlabel.errors import InputError
    from radlabel.ontology import Ontology

    text = ("classes:\n- name: Hydrocephalus\n  definition: d\n  learned:\n"
            "  - {phrase: ventriculomegaly, kind: synonym}\n  - {phrase: hydro, kind: abbreviation}\n")
    with _pytest.raises(InputError) as e:
        Ontology.from_yaml(text, source="x.yaml")
    assert str(e.value).startswith("x.yaml:6 [classes[0].learned[1].kind]")


def test_curated_hash_unchanged_without_learned_phrases():
    from radlabel.ontology import Ontology

    o = Ontology.load()
    assert "learned" not in o.to_yaml()
    assert Ontology.from_yaml(o.to_yaml()).hash == o.hash


def test_duplicate_names_after_normalisation_name_both():
    from radlabel.errors import InputError
    from radlabel.ontology import Ontology

    text = "classes:\n- {name: Pleural Effusion, definition: a}\n- {name: pleural-effusion, definition: b}\n"
    with _pytest.raises(InputError) as e:
        Ontology.from_yaml(text, source="x.yaml")
    assert "x.yaml:3" in str(e.value) and "Pleural Effusion" in str(e.value)


def test_a_site_class_is_matched_by_its_phrases_not_its_name():
    """``role: site``: the class is named after a body part, so "The aorta is normal." and
    "Tortuous aorta." do not mention it by the name; its learned phrases do. Without any phrase
    it matches nothing (not everything)."""
    text = ("classes:\n- name: Aorta\n  definition: An abnormality of the aorta.\n  role: site\n"
            "  learned:\n  - {phrase: tortuous aorta, kind: synonym, source: lm, count: 3}\n"
            "- name: Heart\n  definition: An abnormality of the heart.\n  role: site\n"
            "- name: Effusion\n  definition: Fluid.\n")
    onto = Ontology.from_yaml(text)
    pats = onto.synonym_patterns
    assert pats["Aorta"].search("Tortuous aorta.") and not pats["Aorta"].search("The aorta is normal.")
    assert not pats["Heart"].search("The heart is normal.") and not pats["Heart"].search("x")
    assert pats["Effusion"].search("Small effusion.")  # no role: the name, as before
    back = Ontology.from_yaml(onto.to_yaml())
    assert [c.role for c in back.classes] == ["site", "site", None]


def test_an_unknown_role_names_file_line_field():
    with pytest.raises(InputError) as e:
        Ontology.from_yaml("classes:\n  - name: A\n    definition: b\n    role: sight\n",
                           source="c.yaml")
    assert str(e.value).startswith("c.yaml:4 [classes[0].role]") and "normal, site" in str(e.value)
