"""The core carries no modality vocabulary: chest words live in resource files only.

Scans the string literals (not comments or docstrings) of the core, rules, programs and retrieval
modules for words of the bundled chest set, and labels a head CT report with a head CT ontology
to show that no chest vocabulary is consulted.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import radlabel
from radlabel.ontology import Ontology
from radlabel.programs import Labeler

ROOT = Path(radlabel.__file__).resolve().parent.parent
CORE_DIRS = ["radlabel", "radlabel/rules", "radlabel/lm", "programs", "retrieval"]
# Generators of synthetic reports and ontologies are data by nature; resources are data files.
EXEMPT = {"synth.py", "synth_phrases.py", "commands_synth.py", "synthetic_ontology.py"}
CHEST_WORDS = re.compile(r"\b(?:cardiomegal\w*|effusions?|pneumothora\w*|atelecta\w*|lungs?|pulmonary|"
                         r"pleura\w*|consolidation|edema|emphysema|granuloma\w*|mediastin\w*|"
                         r"costophrenic|pneumonia)\b", re.I)


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_no_chest_words_in_core_code():
    hits = []
    for d in CORE_DIRS:
        for path in sorted((ROOT / d).glob("*.py")):
            if path.name in EXEMPT:
                continue
            for line, text in _literals(path):
                for m in CHEST_WORDS.finditer(text):
                    hits.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)!r}")
    assert not hits, "chest vocabulary in core code (move it to a resource file):\n" + "\n".join(hits)


def test_the_scan_finds_a_planted_word(tmp_path):
    planted = tmp_path / "x.py"
    planted.write_text('"""Docstrings may say effusion."""\nWORDS = ["pleural effusion"]\n')
    assert [t for _l, t in _literals(planted)] == ["pleural effusion"]


HEAD_CT = """
classes:
  - {name: Hemorrhage, definition: "Blood within the skull, in or around the brain."}
  - {name: Hydrocephalus, definition: Enlargement of the ventricles from impaired flow of cerebrospinal fluid.}
  - {name: No Finding, definition: No abnormality of the head., role: normal}
"""


def test_head_ct_labelling_never_uses_chest_vocabulary():
    onto = Ontology.from_yaml(HEAD_CT)
    lab = Labeler(onto, judge="none")
    # Chest abnormality words do not make a head CT abnormal: No Finding stays present.
    rec = lab("FINDINGS: No hemorrhage. Ventricles are normal. Incidental mild cardiomegaly on the scout.")
    assert rec.labels == {"Hemorrhage": "absent", "Hydrocephalus": "not_mentioned", "No Finding": "present"}
    # The ontology's own words do: a hemorrhage sentence makes No Finding absent.
    rec = lab("FINDINGS: Small acute hemorrhage in the left frontal lobe.")
    assert rec.labels["Hemorrhage"] == "present" and rec.labels["No Finding"] == "absent"
    rec = lab("FINDINGS: Hydrocephalus is not seen. Return if hemorrhage is suspected.")
    assert rec.labels == {"Hemorrhage": "not_mentioned", "Hydrocephalus": "absent", "No Finding": "present"}
