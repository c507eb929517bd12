"""One CLI vocabulary: verbs in pipeline order, one spelling per concept, old spellings as hidden
aliases that warn, and `label --program` owning its classes (retrieval included)."""
from __future__ import annotations

import json
import re
import textwrap

import pytest
from typer.testing import CliRunner

from radlabel.cli import PIPELINE, TOOLS, app, main
from radlabel.cli_options import aliases

SMALL_CLASSES = textwrap.dedent("""\
    classes:
      - name: Hiatal Hernia
        definition: Part of the stomach has slid up through the diaphragm into the chest, often seen as a retrocardiac air-fluid level.
      - name: Pleural Effusion
        definition: Fluid in the pleural space.
        synonyms: [pleural effusion, effusion]
    """)


def _run(args):
    """The real entry point's app, in-process (stdout and stderr apart)."""
    from radlabel.cli import _register_all

    if not app.registered_commands:
        _register_all()
    return CliRunner().invoke(app, args)


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- --help lists the verbs in pipeline order ---------------------------------------------------

def test_help_lists_verbs_in_pipeline_order(capsys):
    main(["--help"])
    out = capsys.readouterr().out
    listed = re.findall(r"^│ ([a-z][a-z-]*)\s{2,}", out, flags=re.M)
    assert listed == [v for v in PIPELINE + TOOLS if v in listed]
    assert listed[:9] == ["reports", "label", "review", "review-export", "compile", "evaluate",
                          "train", "predict", "analyze"]
    assert listed.index("loop") < listed.index("index") < listed.index("synth") < listed.index("demo")
    assert set(listed) == set(PIPELINE + TOOLS)  # every verb is placed; none is hidden


def test_help_shows_the_new_flags_only():
    for verb, new, old in (("train", "--output", "--out"), ("evaluate", "--labels", "--pred"),
                           ("review", "--review-db", "--store"), ("label", "--chroma", "--store")):
        r = _run([verb, "--help"])
        assert r.exit_code == 0, r.output
        assert new in r.stdout and re.search(re.escape(old) + r"\b(?!-)", r.stdout) is None, (verb, old)


# -- the alias rewrite ----------------------------------------------------------------------------

def _cmd(cls):
    import typer

    t = typer.Typer()

    @t.command(cls=cls)
    def verb(output: str = typer.Option(..., "-o", "--output"), chroma: str = typer.Option(None, "--chroma"),
             labels: str = typer.Option(None, "--labels"), index_demos: bool = typer.Option(False, "--index-demos"),
             quiet: bool = typer.Option(False, "--quiet")):
        pass

    return typer.main.get_command(t)


def test_rewrite_maps_each_old_spelling_and_leaves_values_alone(capsys):
    cmd = _cmd(aliases({"--out": "--output", "--store": "--chroma"}, positional="--labels",
                       took_value={"--index-demos": "--chroma"}))
    assert cmd.rewrite(["--out", "a", "--store=db", "l.jsonl"]) == \
        ["--output", "a", "--chroma=db", "--labels", "l.jsonl"]
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: --out is deprecated, use --output (the old spelling goes in the next release)",
                   "warning: --store is deprecated, use --chroma (the old spelling goes in the next release)",
                   "warning: a positional LABELS argument is deprecated, use --labels l.jsonl (the old "
                   "spelling goes in the next release)"]
    # an option's value is never taken for an old spelling or a positional
    assert cmd.rewrite(["-o", "--out", "--labels", "x", "-ofile"]) == ["-o", "--out", "--labels", "x", "-ofile"]
    assert cmd.rewrite(["--index-demos", "dir", "--quiet"]) == ["--index-demos", "--chroma", "dir", "--quiet"]
    assert cmd.rewrite(["--index-demos", "--quiet"]) == ["--index-demos", "--quiet"]
    assert "--index-demos dir is deprecated, use --index-demos --chroma dir" in capsys.readouterr().err
    assert cmd.rewrite(["--", "--out"]) == ["--", "--out"]


# -- one old spelling of each kind, through the real verbs --------------------------------------

def _review_labels(tmp_path):
    from support.review_data import write_labels

    return write_labels(tmp_path)


def test_old_out_still_writes_and_warns(tmp_path):
    from radlabel.review.store import ReviewStore

    labels, db = _review_labels(tmp_path), tmp_path / "labels.db"
    assert _run(["review", "--labels", str(labels), "--review-db", str(db), "--no-launch"]).exit_code == 0
    with ReviewStore(db) as s:
        s.accept("rv-5", reviewer="ann")
    out = tmp_path / "reviewed.jsonl"
    r = _run(["review-export", "--review-db", str(db), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["rv-5"]
    assert r.stderr.strip() == ("warning: --out is deprecated, use --output (the old spelling goes in "
                                "the next release)")


def test_old_store_as_review_db_and_positional_labels_still_import(tmp_path):
    labels, db = _review_labels(tmp_path), tmp_path / "mine.db"
    r = _run(["review", str(labels), "--store", str(db), "--no-launch"])
    assert r.exit_code == 0, r.output
    assert db.exists() and not labels.with_suffix(".db").exists()
    warned = r.stderr.strip().splitlines()
    assert len(warned) == 2
    assert "a positional LABELS argument is deprecated, use --labels" in warned[0]
    assert "--store is deprecated, use --review-db" in warned[1]


def test_old_store_as_chroma_folder_still_indexes_there(tmp_path):
    classes = tmp_path / "small.yaml"
    classes.write_text(SMALL_CLASSES)
    r = _run(["index", "classes", str(classes), "--store", str(tmp_path / "db")])
    assert r.exit_code == 0, r.output
    assert f"into {tmp_path / 'db'}" in r.stdout
    assert r.stderr.strip().endswith("--store is deprecated, use --chroma (the old spelling goes in the "
                                     "next release)")


def test_old_pred_still_evaluates(tmp_path):
    from radlabel.ontology import Ontology

    names = Ontology.load().names
    gold = _write(tmp_path / "gold.jsonl", [{"id": "a", "labels": {n: "absent" for n in names}}])
    pred = _write(tmp_path / "pred.jsonl", [{"id": "a", "labels": {n: "absent" for n in names}}])
    r = _run(["evaluate", "--gold", str(gold), "--pred", str(pred), "-o", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "report.md").exists()
    assert "--pred is deprecated, use --labels" in r.stderr


def test_old_synth_gold_still_writes_the_gold_file(tmp_path):
    r = _run(["synth", "3", "-o", str(tmp_path / "r.jsonl"), "--gold", str(tmp_path / "g.jsonl")])
    assert r.exit_code == 0, r.output
    assert len((tmp_path / "g.jsonl").read_text().splitlines()) == 3
    assert "--gold is deprecated, use --gold-output" in r.stderr


# -- label --program: the program's classes rule, and other flags are not silently dropped ------

@pytest.fixture
def program(tmp_path):
    from radlabel.ontology import Ontology
    from radlabel.programs import Labeler

    classes = tmp_path / "small.yaml"
    classes.write_text(SMALL_CLASSES)
    d = tmp_path / "program"
    Labeler(Ontology.load(str(classes)), judge="none").save_program(d)
    return d


@pytest.fixture
def reports(tmp_path):
    return _write(tmp_path / "reports.jsonl", [
        {"id": "r1", "text": "FINDINGS: Large retrocardiac air-fluid level consistent with a hiatus hernia. "
                             "No pleural effusion."}])


def test_label_program_retrieve_ranks_the_programs_classes(tmp_path, program, reports):
    from radlabel.ontology import Ontology
    from radlabel.retrieval.embeddings import get_embedder
    from radlabel.retrieval.store import open_store

    out, chroma = tmp_path / "labels.jsonl", tmp_path / "chroma"
    r = _run(["label", str(reports), "--program", str(program), "--retrieve", "--chroma", str(chroma),
              "-o", str(out)])
    assert r.exit_code == 0, r.output
    rec = json.loads(out.read_text())
    assert set(rec["labels"]) == {"Hiatal Hernia", "Pleural Effusion"}
    assert rec["labels"]["Hiatal Hernia"] == "present"  # found by retrieval only: no synonym says it
    assert rec["labels"]["Pleural Effusion"] == "absent"
    col = open_store(str(chroma)).collection("classes", get_embedder(), create=False)
    prog, chest = Ontology.load(str(program / "classes.yaml")), Ontology.load()
    assert col.search(["hernia"], k=1, where={"ontology": prog.hash})[0]
    assert not col.search(["hernia"], k=1, where={"ontology": chest.hash})[0]  # chest never indexed


def test_label_program_reports_flags_it_overrides(tmp_path, program, reports):
    out = tmp_path / "labels.jsonl"
    same = _run(["label", str(reports), "--program", str(program), "--judge", "none",
                 "--classes", str(program / "classes.yaml"), "-o", str(out)])
    assert same.exit_code == 0, same.output
    assert "warning: --classes is ignored: --program" in same.stderr
    assert "warning: --judge is ignored: --program" in same.stderr and "(none)" in same.stderr
    for flag, value in (("--judge", "all"), ("--strategy", "full"), ("--classes", "chest_xray")):
        r = _run(["label", str(reports), "--program", str(program), flag, value, "-o", str(tmp_path / "x.jsonl")])
        assert r.exit_code != 0
        assert f"{flag} {value} contradicts --program" in str(r.exception), (flag, r.exception)
        assert not (tmp_path / "x.jsonl").exists()
