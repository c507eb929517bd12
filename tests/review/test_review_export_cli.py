import csv
import json

import pytest
import typer
from support.review_data import make_store, write_jsonl
from typer.testing import CliRunner

from radlabel.errors import InputError
from radlabel.labels import load_gold, read_labels
from radlabel.ontology import Ontology
from radlabel.review.cli import register, streamlit_command
from radlabel.review.export import export_reviewed
from radlabel.review.store import ReviewStore


def _reviewed_store(tmp_path):
    store = make_store(tmp_path)
    store.set_state("rv-1", "Cardiomegaly", "absent", reviewer="ann")
    store.accept("rv-1", reviewer="ann")
    store.accept("rv-3", reviewer="bob")
    store.set_state("rv-2", "Opacity", "present", reviewer="ann")  # edited, not accepted
    return store


def test_jsonl_export_holds_only_accepted_reports_and_reads_as_labels_and_gold(tmp_path):
    store = _reviewed_store(tmp_path)
    out = tmp_path / "reviewed.jsonl"
    assert export_reviewed(store, out) == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["rv-3", "rv-1"]  # queue order
    rv1 = rows[1]
    assert rv1["labels"]["Cardiomegaly"] == "absent" and rv1["meta"]["source"] == "reviewed"
    assert rv1["meta"]["reviewer"] == "ann" and rv1["meta"]["changed"] == ["Cardiomegaly"]
    assert "Cardiomegaly" not in rv1["evidence"]  # the span supported the old label
    assert rv1["evidence"]["Pleural Effusion"] == "Small left pleural effusion"
    onto = Ontology.load(None)
    records = read_labels(out, onto)
    assert records["rv-1"].meta.source == "reviewed"
    gold = load_gold(out, onto).by_id()
    assert gold["rv-3"].labels["No Finding"] == "present" and gold["rv-3"].text


def test_include_edited_and_csv(tmp_path):
    store = _reviewed_store(tmp_path)
    out = tmp_path / "reviewed.csv"
    assert export_reviewed(store, out, include_edited=True) == 3
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["rv-3", "rv-2", "rv-1"]
    assert rows[1]["Opacity"] == "present" and rows[2]["Cardiomegaly"] == "absent"
    assert set(store.classes()) <= set(rows[0])


def _app():
    app = typer.Typer()
    register(app)
    return app


def test_cli_imports_without_launching_and_exports(tmp_path):
    from support.review_data import write_labels

    labels = write_labels(tmp_path)
    db = tmp_path / "labels.db"
    runner = CliRunner()
    result = runner.invoke(_app(), ["review", "--labels", str(labels), "--review-db", str(db), "--no-launch"])
    assert result.exit_code == 0, result.output
    assert "5 report(s) added" in result.output
    with ReviewStore(db) as store:
        store.accept("rv-5", reviewer="ann")
    out = tmp_path / "out.csv"
    result = runner.invoke(_app(), ["review-export", "--review-db", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[1].startswith("rv-5,")


def test_cli_reports_bad_input_as_input_error(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "text": "t", "labels": {"Foo": 1}}])
    result = CliRunner().invoke(_app(), ["review", "--labels", str(bad), "--no-launch"])
    assert isinstance(result.exception, InputError)
    assert "bad.jsonl:1 [labels.Foo]: unknown class 'Foo'" in str(result.exception)
    assert not (tmp_path / "bad.db").exists()  # a refused import leaves no store behind
    result = CliRunner().invoke(_app(), ["review-export", "--review-db", str(tmp_path / "none.db"),
                                         "-o", str(tmp_path / "o.jsonl")])
    assert isinstance(result.exception, InputError)


def test_streamlit_is_headless_local_and_without_usage_stats(tmp_path):
    cmd = streamlit_command(tmp_path / "s.db", host="127.0.0.1", port=8600, reviewer="ann")
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.address"] == "127.0.0.1"
    assert cmd[cmd.index("--") + 1:] == ["--review-db", str(tmp_path / "s.db"), "--reviewer", "ann"]


@pytest.mark.parametrize("fmt", ["xml"])
def test_unknown_export_format_is_refused(tmp_path, fmt):
    store = _reviewed_store(tmp_path)
    with pytest.raises(ValueError):
        export_reviewed(store, tmp_path / "o.x", fmt=fmt)


def test_training_reads_the_export_as_reviewed_labels(tmp_path):
    store = _reviewed_store(tmp_path)
    out = tmp_path / "reviewed.jsonl"
    export_reviewed(store, out)
    records = read_labels(out, Ontology.load(None))
    assert set(records) == {"rv-1", "rv-3"}
    assert {r.meta.source for r in records.values()} == {"reviewed"}
