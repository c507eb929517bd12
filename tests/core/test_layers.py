"""The import contract (pyproject.toml [tool.importlinter]): layers only point down.

import-linter (grimp) finds a package's modules by walking its folder, but radlabel's
sub-packages live in top-level folders (pyproject's [tool.setuptools.package-dir]), so the
contract runs on a staged tree: a temporary ``radlabel/`` whose entries are symlinks to the real
files and folders, laid out as the import names are. The contract itself is the one in
pyproject.toml, checked by import-linter, in a fresh interpreter (this one has already imported
radlabel from the repository, and grimp would find that copy).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support.paths import ROOT

PYPROJECT = ROOT / "pyproject.toml"

pytest.importorskip("importlinter")


def stage_package(dest: Path) -> Path:
    """dest/radlabel/ as the installed package sees it, made of symlinks into the repository."""
    conf = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-dir"]
    pkg = dest / "radlabel"
    pkg.mkdir(parents=True)
    for entry in (ROOT / conf["radlabel"]).iterdir():
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for name, folder in conf.items():
        if name != "radlabel":
            (pkg / name.split(".", 1)[1]).symlink_to(ROOT / folder)
    return dest


# Runs in the fresh interpreter: the contract from pyproject.toml, through import-linter's API,
# on grimp's graph of the staged package, optionally with extra import edges added to the graph.
CHECK = r"""
import json, sys
import grimp
from importlinter import api  # configures import-linter's adapters
from importlinter.application import use_cases
from importlinter.contracts.layers import LayersContract

pyproject, extra = sys.argv[1], json.loads(sys.argv[2])
options = use_cases.read_user_options(pyproject)
(contract_options,) = [c for c in options.contracts_options if c["id"] == "layers"]
graph = grimp.build_graph(*options.session_options["root_packages"], cache_dir=None)
for importer, imported in extra:
    graph.add_import(importer=importer, imported=imported, line_number=1,
                     line_contents=f"import {imported}")
contract = LayersContract(name=contract_options["name"], session_options=options.session_options,
                          contract_options=contract_options)
check = contract.check(graph, verbose=False)
print(json.dumps({
    "kept": check.kept,
    "modules": len(graph.modules),
    "undeclared": sorted(check.metadata["undeclared_modules"]),
    "illegal": [[c["importer"], c["imported"],
                 [[l["importer"], l["imported"], l["line_numbers"]] for r in c["routes"] for l in r["chain"]]]
                for c in check.metadata["invalid_dependencies"]],
}))
"""


def run_contract(tmp_path: Path, extra_imports: list[tuple[str, str]] = ()) -> dict:
    stage = stage_package(tmp_path / "stage")
    env = {**os.environ, "PYTHONPATH": str(stage)}
    proc = subprocess.run([sys.executable, "-c", CHECK, str(PYPROJECT), json.dumps(list(extra_imports))],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_layers_contract_is_kept(tmp_path):
    result = run_contract(tmp_path)
    assert result["modules"] > 100  # the staged tree holds every area, not just radlabel/
    assert result["undeclared"] == []  # every module under radlabel/ has a layer
    assert result["kept"], "imports that point up the layers:\n" + json.dumps(result["illegal"], indent=1)


def test_a_back_pointing_import_breaks_the_contract(tmp_path):
    # a core contract importing the programs layer, two of them in the loop's direction
    result = run_contract(tmp_path, [("radlabel.schema", "radlabel.programs.compile"),
                                     ("radlabel.programs.labeler", "radlabel.eval.evaluate")])
    assert not result["kept"]
    broken = {(importer, imported) for importer, imported, _ in result["illegal"]}
    assert broken == {("radlabel.schema", "radlabel.programs"), ("radlabel.programs", "radlabel.eval")}
    links = [tuple(link[:2]) for _, _, chain in result["illegal"] for link in chain]
    assert ("radlabel.schema", "radlabel.programs.compile") in links


def test_lint_imports_cli_keeps_the_contract(tmp_path):
    """The same check as a developer runs it: `lint-imports` on the staged tree."""
    stage = stage_package(tmp_path / "stage")
    env = {**os.environ, "PYTHONPATH": str(stage)}
    lint_imports = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    proc = subprocess.run([sys.executable, "-c", lint_imports, str(PYPROJECT), "--no-cache"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0 and "1 kept, 0 broken" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
