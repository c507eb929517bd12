import json

import pytest
from support.review_data import REPORTS, make_store, write_issues, write_jsonl, write_labels

from radlabel.ontology import Ontology
from radlabel.review.importer import ImportRejected, import_labels
from radlabel.review.store import ReviewStore


def _bad_file(tmp_path):
    good = {"id": "ok-1", "text": "FINDINGS: Clear lungs.", "labels": {"No Finding": "present"}}
    lines = [
        json.dumps(good),
        json.dumps({"id": "b-2", "text": "x", "labels": {"Heart Big": "present"}}),
        json.dumps({"id": "b-3", "text": "x", "labels": {"Edema": "maybe"}}),
        '{"id": "b-4", "labels": ',
        json.dumps(dict(good, labels={})),
        json.dumps({"text": "no id", "labels": {}}),
        json.dumps({"id": "b-7", "text": "x", "labels": ["Edema"]}),
        json.dumps({"id": "b-8", "text": "x", "labels": {}, "evidence": {"Edema": 3}}),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_problem_is_listed_with_line_and_field_and_nothing_imported(tmp_path):
    store = ReviewStore(tmp_path / "r.db")
    with pytest.raises(ImportRejected) as err:
        import_labels(store, _bad_file(tmp_path))
    found = {(p.line, p.field) for p in err.value.problems}
    assert found == {(2, "labels.Heart Big"), (3, "labels.Edema"), (4, None), (5, "id"),
                     (6, "id"), (7, "labels"), (8, "evidence.Edema")}
    message = str(err.value)
    assert "nothing was imported" in message and "bad.jsonl:5 [id]: duplicate id 'ok-1'" in message
    assert store.progress() == (0, 0) and store.classes() == [] and store.audit() == []


def test_ids_missing_from_reports_file_are_rejected(tmp_path):
    reports = write_jsonl(tmp_path / "reports.jsonl",
                          [{"id": r["id"], "text": r["text"]} for r in REPORTS[:3]])
    labels = write_labels(tmp_path, with_text=False)
    store = ReviewStore(tmp_path / "r.db")
    with pytest.raises(ImportRejected) as err:
        import_labels(store, labels, reports_path=reports)
    assert {(p.line, p.field) for p in err.value.problems} == {(4, "id"), (5, "id")}
    assert "'rv-4' is not in the reports" in str(err.value)
    assert store.progress() == (0, 0)


def test_texts_come_from_reports_file(tmp_path):
    reports = write_jsonl(tmp_path / "reports.jsonl",
                          [{"id": r["id"], "text": r["text"].upper()} for r in REPORTS])
    store = ReviewStore(tmp_path / "r.db")
    summary = import_labels(store, write_labels(tmp_path, with_text=False), reports_path=reports)
    assert summary.added == 5
    assert store.report("rv-2").text == REPORTS[1]["text"].upper()


def test_bad_issue_lines_are_rejected(tmp_path):
    issues = write_jsonl(tmp_path / "issues.jsonl", [
        {"id": "rv-1", "class": "Cardiomegaly", "given": "present", "suggested": "absent",
         "score": 0.5},
        {"id": "ghost", "class": "Edema", "given": "present"},
        {"id": "rv-2", "class": "Cardiac Stuff", "given": "present"},
        {"id": "rv-2", "class": "Edema", "given": "sure"},
        {"id": "rv-2", "class": "Edema", "given": "absent", "score": "high"}])
    store = ReviewStore(tmp_path / "r.db")
    with pytest.raises(ImportRejected) as err:
        import_labels(store, write_labels(tmp_path), issues_path=issues)
    assert {(p.line, p.field) for p in err.value.problems} == {
        (2, "id"), (3, "class"), (4, "given"), (5, "score")}
    assert store.progress() == (0, 0)


def test_failed_records_are_skipped_and_counted(tmp_path):
    rows = REPORTS[:2] + [{"id": "f-1", "labels": {}, "meta": {"status": "failed",
                                                               "error": "timeout"}}]
    store = ReviewStore(tmp_path / "r.db")
    summary = import_labels(store, write_jsonl(tmp_path / "l.jsonl", rows))
    assert (summary.added, summary.failed_skipped) == (2, 1)


def test_reimport_keeps_review_work(tmp_path):
    store = make_store(tmp_path)
    store.set_state("rv-1", "Cardiomegaly", "absent", reviewer="ann")
    store.accept("rv-1", reviewer="ann")
    summary = import_labels(store, write_labels(tmp_path), issues_path=write_issues(tmp_path))
    assert (summary.added, summary.kept) == (0, 5)
    view = store.report("rv-1")
    assert view.labels["Cardiomegaly"] == "absent" and view.status == "accepted"


def test_store_created_with_other_classes_is_refused(tmp_path):
    store = make_store(tmp_path)
    other = Ontology.from_yaml("classes:\n  - name: Edema\n    definition: fluid\n")
    labels = write_jsonl(tmp_path / "o.jsonl", [{"id": "o-1", "text": "t", "labels": {"Edema": 1}}])
    with pytest.raises(ImportRejected, match="other classes"):
        import_labels(store, labels, ontology=other)


def test_class_names_and_values_are_normalised(tmp_path):
    rows = [{"id": 7, "text": "FINDINGS: Big heart.", "labels": {"cardiomegaly": 1,
                                                                 "pleural_effusion": 0}}]
    store = ReviewStore(tmp_path / "r.db")
    import_labels(store, write_jsonl(tmp_path / "l.jsonl", rows))
    view = store.report("7")
    assert view.labels["Cardiomegaly"] == "present"
    assert view.labels["Pleural Effusion"] == "absent"
    assert view.labels["Edema"] == "not_mentioned" and len(view.labels) == 14
