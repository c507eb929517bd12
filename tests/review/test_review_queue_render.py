from support.review_data import make_store

from radlabel.review.queue import DISAGREEMENT, ISSUE, REST, UNCERTAIN, rank_reports
from radlabel.review.render import evidence_intervals, report_html


def test_queue_orders_issues_disagreements_uncertain_then_rest(tmp_path):
    store = make_store(tmp_path)
    order = [(q.id, q.tier) for q in store.queue()]
    assert order == [("rv-4", ISSUE), ("rv-3", DISAGREEMENT), ("rv-2", UNCERTAIN),
                     ("rv-1", REST), ("rv-5", REST)]


def test_issues_ranked_by_their_order_and_meta_disagreement_flag():
    records = [("a", 0, {"labels": {"Edema": "present"}, "meta": {}}),
               ("b", 1, {"labels": {"Edema": "present"}, "meta": {"disagreement": True}}),
               ("c", 2, {"labels": {"Edema": "absent"}, "meta": {}}),
               ("d", 3, {"labels": {"Edema": "absent"}, "meta": {}})]
    issues = [{"id": "d", "class": "Edema", "rank": 0, "given": "absent"},
              {"id": "c", "class": "Edema", "rank": 1, "given": "absent"}]
    ranks = rank_reports(records, issues)
    assert sorted(ranks, key=lambda r: ranks[r][:2]) == ["d", "c", "b", "a"]
    assert ranks["b"][2] == "disagreement"


def test_queue_filters(tmp_path):
    store = make_store(tmp_path)
    ids = lambda **f: [q.id for q in store.queue(**f)]  # noqa: E731
    assert ids(classes=["Pneumothorax"]) == ["rv-2", "rv-1"]
    assert ids(classes=["Pneumothorax"], states=["present"]) == []
    assert ids(states=["uncertain"]) == ["rv-2"]
    assert ids(sources=["classifier"]) == ["rv-4"]
    store.accept("rv-2", reviewer="ann")
    assert "rv-2" not in ids() and ids(status="accepted") == ["rv-2"]
    assert len(ids(status="all")) == 5


def test_report_html_escapes_and_marks_evidence():
    text = "FINDINGS: <b>Small</b> effusion & big heart.\nIMPRESSION: Effusion."
    body, missing = report_html(text, {"Pleural Effusion": "effusion & big",
                                       "Cardiomegaly": "big heart", "Edema": "not there"},
                                {"Pleural Effusion": "present", "Cardiomegaly": "absent"})
    assert "<b>" not in body and "&lt;b&gt;Small&lt;/b&gt;" in body
    assert body.count("<mark") == 1  # overlapping spans merge into one mark
    assert 'title="Pleural Effusion: present, Cardiomegaly: absent"' in body
    assert "FINDINGS" in body and "IMPRESSION" in body
    assert missing == ["Edema"]


def test_evidence_found_across_whitespace_differences():
    intervals, missing = evidence_intervals("Mild   pulmonary\nedema.", {"Edema": "mild pulmonary edema"})
    assert intervals == [(0, 22, ["Edema"])] and missing == []
