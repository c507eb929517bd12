"""The runnable examples in docstrings (numpydoc ``Examples`` / ``>>>``) are tests too.

Every module of the package whose source holds a ``>>>`` example is collected here, so a new
example is checked without registering it anywhere.
"""
import doctest
import importlib
import pkgutil

import pytest



# the sub-packages live in top-level folders (pyproject's package-dir), so each is walked itself
PACKAGES = ["radlabel", "radlabel.programs", "radlabel.retrieval", "radlabel.training", "radlabel.eval",
            "radlabel.review"]
NOT_IMPORTABLE = {"radlabel.review.app"}  # the Streamlit script runs the app on import


def _modules_with_examples() -> list[str]:
    names = set()
    for top in PACKAGES:
        for info in pkgutil.walk_packages(importlib.import_module(top).__path__, top + "."):
            if info.name in NOT_IMPORTABLE:
                continue
            spec = importlib.util.find_spec(info.name)
            origin = spec.origin if spec else None
            if origin and origin.endswith(".py") and ">>>" in open(origin, encoding="utf-8").read():
                names.add(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_examples_are_found():
    # the rule layer and the atomic writer document themselves with examples
    assert {"radlabel.files", "radlabel.rules.context", "radlabel.retrieval.candidates"} <= set(MODULES), MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
