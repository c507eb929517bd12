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
