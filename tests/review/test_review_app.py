"""Streamlit AppTest unit tests: the page driven through its widgets, checked in the store."""
from pathlib import Path

import pytest
from support.review_data import make_store

from radlabel.review.store import ReviewStore
from support.paths import ROOT

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
APP = str(ROOT / "review" / "app.py")
TOKEN = "apptest-launch-token"


@pytest.fixture
def app(tmp_path, monkeypatch):
    make_store(tmp_path).close()
    db = tmp_path / "review.db"
    monkeypatch.setenv("RADLABEL_REVIEW_STORE", str(db))
    monkeypatch.setenv("RADLABEL_REVIEWER", "apptest")
    monkeypatch.setenv("RADLABEL_REVIEW_TOKEN", TOKEN)
    monkeypatch.setenv("RADLABEL_REVIEW_HOSTS", "127.0.0.1:8501")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["token"] = TOKEN
    at.run()
    assert not at.exception
    return at, db


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_no_data_without_the_launch_token(tmp_path, monkeypatch, token):
    make_store(tmp_path).close()
    monkeypatch.setenv("RADLABEL_REVIEW_STORE", str(tmp_path / "review.db"))
    monkeypatch.setenv("RADLABEL_REVIEW_TOKEN", TOKEN)
    monkeypatch.setenv("RADLABEL_REVIEW_HOSTS", "127.0.0.1:8501")
    at = AppTest.from_file(APP, default_timeout=60)
    if token is not None:
        at.query_params["token"] = token
    at.run()
    assert not at.exception
    assert "No access" in at.error[0].value
    assert not [m for m in at.markdown if m.value.startswith("### Report")] and not at.get("html")[1:]


def test_no_data_when_the_app_was_not_started_with_a_token(tmp_path, monkeypatch):
    make_store(tmp_path).close()
    monkeypatch.setenv("RADLABEL_REVIEW_STORE", str(tmp_path / "review.db"))
    monkeypatch.delenv("RADLABEL_REVIEW_TOKEN", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["token"] = ""
    at.run()
    assert "No access" in at.error[0].value


def header(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### Report"))


def test_first_report_is_the_suspected_issue(app):
    at, _ = app
    assert "`rv-4`" in header(at) and "Fracture given present, suggested absent" in header(at)
    assert any("rib fracture</mark>" in h.proto.body for h in at.get("html"))


def test_focused_state_button_writes_through_and_accept_moves_on(app):
    at, db = app
    at.button(key="focus_down").click().run()       # Cardiomegaly -> Pleural Effusion
    at.button(key="focused_uncertain").click().run()
    at.button(key="accept_next").click().run()
    assert "`rv-3`" in header(at)
    with ReviewStore(db) as store:
        view = store.report("rv-4")
        assert view.labels["Pleural Effusion"] == "uncertain"
        assert view.status == "accepted" and view.reviewer == "apptest"
        assert [e.action for e in store.audit("rv-4")] == ["set", "accept"]


def test_per_class_button_and_undo(app):
    at, db = app
    classes = ReviewStore(db).classes()
    fracture = classes.index("Fracture")
    at.button(key=f"set_{fracture}_1").click().run()   # Fracture -> absent
    assert any("(was present)" in m.value for m in at.markdown)
    at.button(key="undo").click().run()
    with ReviewStore(db) as store:
        assert store.report("rv-4").labels["Fracture"] == "present"
        assert [e.action for e in store.audit("rv-4")] == ["set", "undo"]
    assert [t.value for t in at.toast] == ["undone: Fracture on rv-4 back to present"]


def test_filters_and_navigation(app):
    at, _ = app
    at.multiselect(key="f_states").select("uncertain").run()
    assert "`rv-2`" in header(at) and "1 of 1" in header(at)
    at.multiselect(key="f_states").unselect("uncertain").run()
    at.multiselect(key="f_sources").select("classifier").run()
    assert "`rv-4`" in header(at)
    at.multiselect(key="f_sources").unselect("classifier").run()
    at.button(key="nav_next").click().run()
    assert "`rv-3`" in header(at)
    at.button(key="nav_prev").click().run()
    assert "`rv-4`" in header(at)


def test_progress_and_agreement_figures(app):
    at, _ = app
    at.button(key="focused_present").click().run()  # Cardiomegaly on rv-4: not_mentioned -> present
    at.button(key="accept_next").click().run()
    assert "1 of 5 reports reviewed" in at.sidebar.get("progress")[0].proto.text
    metric = at.sidebar.get("metric")[0]
    assert metric.value == "92.9%"  # 13 of 14 labels kept
