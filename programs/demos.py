"""Demonstrations for the judge, chosen for the ontology (our own sentences, not from any dataset).

The default demos live in ``radlabel/resources/judge_demos.yaml``, each tagged with its class. A
judge gets the demos whose class is in its ontology; an ontology that shares none of them (head CT,
knee MRI, ...) gets three demos built from its own class names instead, one per judged state, so no
chest sentence is shown to a judge of another modality. `radlabel compile` replaces them with
optimized ones.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import dspy
import yaml

MIN_DEMOS = 3


@lru_cache(maxsize=1)
def default_demo_rows() -> tuple[dict, ...]:
    text = resources.files("radlabel").joinpath("resources/judge_demos.yaml").read_text(encoding="utf-8")
    return tuple(yaml.safe_load(text)["demos"])


def demo_example(finding: str, sentences: str, state: str) -> dspy.Example:
    """One judge demonstration: (finding, sentences) -> state."""
    return dspy.Example(finding=finding, sentences=sentences, state=state).with_inputs("finding", "sentences")


def synthetic_demos(ontology) -> list[dspy.Example]:
    """One present, one absent, one uncertain demo from the ontology's own first classes."""
    classes = list(ontology.finding_classes)[:MIN_DEMOS]
    if not classes:
        return []
    templates = [("{n}.", "present"), ("No {l}.", "absent"), ("Possible {l}.", "uncertain")]
    out = []
    for i, (tmpl, state) in enumerate(templates):
        c = classes[i % len(classes)]
        out.append(demo_example(f"{c.name}: {c.definition}", tmpl.format(n=c.name, l=c.name.lower()), state))
    return out


def judge_demos(ontology=None) -> list[dspy.Example]:
    """Default demos: all of the file's (no ontology), else those of the ontology's classes, else
    synthetic ones from the ontology's class names."""
    rows = default_demo_rows()
    if ontology is not None:
        names = {c.name for c in ontology.finding_classes}
        rows = tuple(r for r in rows if r["class"] in names)
        if not rows:
            return synthetic_demos(ontology)
    return [demo_example(f"{r['class']}: {r['definition']}", r["sentences"], r["state"]) for r in rows]
