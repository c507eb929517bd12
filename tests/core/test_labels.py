"""The label-record contract (radlabel.labels): each rule pinned, and every verb reading one
label file the same way."""
from __future__ import annotations

import json

import pytest

from radlabel.errors import InputError
from radlabel.labels import (POSITIVES_ONLY, SOURCE_RANK, LabelAppender, done_ids, load_gold,
                             merge_labels, read_label_file, read_labels, record_text, write_labels)
from radlabel.ontology import Ontology
from radlabel.schema import LabelRecord

ONT = Ontology.load(None)


def write(path, rows) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return str(path)


def ok(rid, source=None, **labels):
    meta = {"status": "ok"} | ({"source": source} if source else {})
    return {"id": rid, "labels": labels or {"Edema": "present"}, "meta": meta}


def failed(rid, error="timeout"):
    return {"id": rid, "labels": {}, "meta": {"status": "failed", "error": error}}


# -- strict reading: the first problem names file, line and field -------------------------------

@pytest.mark.parametrize("line, field, message", [
    ({"labels": {}}, "id", "missing 'id'"),
    ({"id": "", "labels": {}}, "id", "missing 'id'"),
    ({"id": "x", "labels": {"Heart Attack": 1}}, "labels.Heart Attack", "unknown class 'Heart Attack'"),
    ({"id": "x", "labels": {"Edema": "maybe"}}, "labels.Edema", "unknown state 'maybe'"),
    ({"id": "x", "labels": ["Edema"]}, "labels", "'labels' must be an object"),
    ({"id": "x", "labels": {}, "meta": "pseudo"}, "meta", "'meta' must be an object"),
    ({"id": "x", "labels": {}, "meta": {"source": "guess"}}, "meta.source", "unknown source 'guess'"),
    ({"id": "x", "labels": {}, "meta": {"status": "done"}}, "meta.status", "unknown status 'done'"),
    ({"id": "x", "labels": {}, "meta": {"round": "two"}}, "meta.round", "must be an integer"),
    ({"id": "x", "labels": {}, "text": 3}, "text", "'text' must be a string"),
    ({"id": "x", "labels": {}, "evidence": {"Edema": 3}}, "evidence.Edema", "evidence must be a string"),
])
def test_strict_error_names_file_line_and_field(tmp_path, line, field, message):
    p = write(tmp_path / "labels.jsonl", [ok("a"), line])
    with pytest.raises(InputError) as e:
        read_labels(p, ONT)
    assert (e.value.path, e.value.line, e.value.field) == (p, 2, field)
    assert str(e.value).startswith(f"{p}:2 [{field}]: ") and message in str(e.value)


def test_strict_error_for_bad_json_names_the_line(tmp_path):
    p = write(tmp_path / "labels.jsonl", [ok("a"), '{"id": "b", "labels": ', ok("c")])
    with pytest.raises(InputError, match=r"labels.jsonl:2: malformed JSON"):
        read_labels(p)


# -- collecting mode: every problem listed, the good records kept --------------------------------

def test_collecting_mode_lists_every_problem_and_keeps_good_records(tmp_path):
    p = write(tmp_path / "labels.jsonl", [
        ok("a"),
        {"id": "b", "labels": {"Heart Attack": 1, "Edema": "maybe"}},  # two problems, one line
        "not json",
        ok("a"),  # a duplicate
        ok("c"),
        [1, 2],
    ])
    f = read_label_file(p, ONT, strict=False)
    assert list(f.records) == ["a", "c"] and f.lines == {"a": 1, "c": 5}
    assert [(x.line, x.field) for x in f.problems] == [
        (2, "labels.Heart Attack"), (2, "labels.Edema"), (3, None), (4, "id"), (6, None)]
    assert str(f.problems[0]).startswith(f"{p}:2 [labels.Heart Attack]: unknown class")


# -- provenance ---------------------------------------------------------------------------------

def test_missing_meta_or_source_is_pseudo_and_a_role_overrides(tmp_path):
    p = write(tmp_path / "labels.jsonl", [
        {"id": "no-meta", "labels": {"Edema": 1}},
        {"id": "no-source", "labels": {"Edema": 1}, "meta": {"model": "m"}},
        ok("rev", "reviewed"), ok("gld", "gold"), ok("clf", "classifier")])
    got = {rid: r.meta.source for rid, r in read_labels(p, ONT).items()}
    assert got == {"no-meta": "pseudo", "no-source": "pseudo", "rev": "reviewed", "gld": "gold",
                   "clf": "classifier"}
    assert {r.meta.source for r in read_labels(p, ONT, source="gold").values()} == {"gold"}


def test_precedence_gold_over_reviewed_over_pseudo_whatever_the_file_order():
    def recs(source, state):
        return {"x": LabelRecord(id="x", labels={"Edema": state}, meta={"source": source})}

    files = [recs("pseudo", "absent"), recs("gold", "present"), recs("reviewed", "uncertain"),
             recs("classifier", "absent")]
    for order in (files, files[::-1], files[1:] + files[:1]):
        assert merge_labels(order)["x"].meta.source == "gold"
    assert merge_labels([recs("pseudo", "absent"), recs("reviewed", "present")])["x"].labels == {"Edema": "present"}
    assert merge_labels([recs("reviewed", "present"), recs("pseudo", "absent")])["x"].labels == {"Edema": "present"}
    # among equals the later file wins
    assert merge_labels([recs("pseudo", "absent"), recs("pseudo", "present")])["x"].labels == {"Edema": "present"}
    assert SOURCE_RANK["gold"] > SOURCE_RANK["reviewed"] > SOURCE_RANK["pseudo"] > SOURCE_RANK["classifier"]


# -- failed records ----------------------------------------------------------------------------

def test_a_failed_record_never_erases_an_ok_one(tmp_path):
    p = write(tmp_path / "labels.jsonl", [
        ok("a"), failed("a"),              # ok then failed: the ok record stands
        failed("b"), ok("b"),              # retried: ok
        failed("c", "first"), failed("c", "second")])  # only failures: the latest is kept
    f = read_label_file(p, ONT)
    assert list(f.records) == ["a", "b"] and list(f.failed) == ["c"]
    assert f.failed["c"].meta.error == "second" and f.lines == {"a": 1, "b": 4, "c": 6}
    assert set(read_labels(p, ONT)) == {"a", "b"}
    assert set(read_labels(p, ONT, keep_failed=True)) == {"a", "b", "c"}
    assert done_ids(p) == {"a", "b"}
    with pytest.raises(InputError, match="no usable label record"):
        read_labels(write(tmp_path / "f.jsonl", [failed("z")]), require=True)


# -- duplicate ids -----------------------------------------------------------------------------

def test_a_second_ok_record_for_an_id_is_an_error_in_every_reader(tmp_path):
    p = write(tmp_path / "labels.jsonl", [ok("a"), ok("b"), ok("a", "reviewed")])
    with pytest.raises(InputError) as e:
        read_labels(p)
    assert (e.value.line, e.value.field) == (3, "id") and "first at line 1" in str(e.value)
    with pytest.raises(InputError, match=r":3 \[id\]: duplicate id 'a'"):
        done_ids(p)
    with pytest.raises(InputError, match=r":3 \[id\]: duplicate id 'a'"):
        load_gold(p, ONT)


# -- torn tail ---------------------------------------------------------------------------------

def test_a_torn_last_line_is_skipped_in_label_files_but_not_in_gold(tmp_path):
    p = tmp_path / "labels.jsonl"
    p.write_text(json.dumps(ok("a")) + "\n" + '{"id": "b", "lab', encoding="utf-8")
    assert list(read_labels(p)) == ["a"]
    with pytest.raises(InputError, match=r"labels.jsonl:2: malformed JSON"):
        load_gold(p, ONT)


# -- the writer --------------------------------------------------------------------------------

def test_writer_round_trip_atomic_and_append_only(tmp_path):
    recs = [LabelRecord(id="a", labels={"Edema": "present"}, evidence={"Edema": "mild edema"},
                        meta={"source": "pseudo", "model": "m", "round": 2}, text="Mild edema."),
            {"id": "b", "labels": {"Cardiomegaly": "absent"}, "meta": {"source": "reviewed", "reviewer": "ann"}},
            LabelRecord(id="c", meta={"status": "failed", "error": "timeout"})]
    p = tmp_path / "out.jsonl"
    write_labels(p, recs)
    back = read_labels(p, ONT, keep_failed=True)
    assert back["a"] == recs[0] and record_text(back["a"]) == "Mild edema."
    assert back["b"].labels == {"Cardiomegaly": "absent"} and back["b"].meta.model_extra["reviewer"] == "ann"
    assert back["c"].meta.error == "timeout" and not back["c"].ok
    assert not list(tmp_path.glob("*.tmp"))
    q = tmp_path / "appended.jsonl"
    with LabelAppender(q) as w:
        for r in recs:
            w.write(r)
    assert read_labels(q, ONT, keep_failed=True) == back
    with pytest.raises(InputError, match="not a label record"):
        write_labels(tmp_path / "bad.jsonl", [{"id": "x", "labels": {"Edema": "maybe"}}])
    assert not list(tmp_path.glob("bad.jsonl*"))


# -- gold ---------------------------------------------------------------------------------------

def test_gold_is_a_label_file_in_the_gold_role(tmp_path):
    p = write(tmp_path / "gold.jsonl", [{"id": "g1", "text": "Big heart.", "labels": {"cardiomegaly": 1}},
                                        {"id": "g2", "text": "Clear.", "labels": {"Edema": 0}}])
    gold = load_gold(p, ONT)
    assert gold.kind == POSITIVES_ONLY and [g.id for g in gold] == ["g1", "g2"]
    g1 = gold.by_id()["g1"]
    assert g1.text == "Big heart." and g1.labels["Cardiomegaly"] == "present"
    assert set(g1.labels) == set(ONT.names) and g1.labels["Edema"] == "absent"  # unlisted: not coded
    with pytest.raises(InputError, match=r"gold.jsonl:1 \[meta.status\]"):
        load_gold(write(tmp_path / "gold.jsonl", [failed("g1")] + [ok("g2")]), ONT)


# -- every verb reads one file the same way ----------------------------------------------------

def test_train_index_review_and_evaluate_agree_on_provenance(tmp_path):
    from radlabel.eval.evaluate import evaluate_file
    from radlabel.retrieval.reports_index import labelled_reports
    from radlabel.review.importer import import_labels
    from radlabel.review.store import ReviewStore
    from radlabel.training.data import build_training_set

    texts = {"g": "FINDINGS: The heart is enlarged.", "r": "FINDINGS: Small left effusion.",
             "p": "FINDINGS: Mild edema.", "m": "FINDINGS: Lungs are clear.",
             "f": "FINDINGS: Unreadable."}
    rows = [dict(ok("g", "gold", Cardiomegaly="present"), text=texts["g"]),
            dict(ok("r", "reviewed", **{"Pleural Effusion": "present"}), text=texts["r"]),
            dict(ok("p", "pseudo", Edema="present"), text=texts["p"]),
            {"id": "m", "labels": {"No Finding": 1}, "text": texts["m"]},  # no meta at all
            dict(failed("f"), text=texts["f"])]
    labels = write(tmp_path / "labels.jsonl", rows)
    expected = {"g": "gold", "r": "reviewed", "p": "pseudo", "m": "pseudo"}

    ts = build_training_set([labels], ONT)                      # radlabel train
    assert dict(zip(ts.ids, ts.record_sources)) == expected and ts.skipped["failed"] == 1

    indexed = labelled_reports(read_label_file(labels, ONT))    # radlabel index reports
    assert {r.id: r.source for r in indexed} == expected

    store = ReviewStore(tmp_path / "review.db")                # radlabel review (import)
    summary = import_labels(store, labels, ontology=ONT)
    assert (summary.added, summary.failed_skipped) == (4, 1)
    assert {rid: store.report(rid).source for rid in expected} == expected
    assert {rid: store.report(rid).record["meta"]["source"] for rid in expected} == expected

    gold = load_gold(write(tmp_path / "gold.jsonl", [{"id": i, "text": t, "labels": {"Edema": "absent"}}
                                                     for i, t in texts.items()]), ONT)
    result = evaluate_file(gold, labels, ONT)                   # radlabel evaluate --labels
    assert result.n_pred == len(expected) and result.failed == ["f"]
    # and the same file given as gold: every record is gold by its role
    as_gold = read_labels(labels, ONT, source="gold")
    assert {r.meta.source for r in as_gold.values()} == {"gold"} and set(as_gold) == set(expected)
