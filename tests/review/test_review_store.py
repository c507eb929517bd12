import sqlite3
import subprocess
import sys

import pytest
from support.review_data import make_store

from radlabel.errors import InputError
from radlabel.review.store import ReviewStore


def test_store_is_wal_with_full_sync(tmp_path):
    store = make_store(tmp_path)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_set_state_changes_label_and_appends_audit(tmp_path):
    store = make_store(tmp_path)
    seq = store.set_state("rv-1", "Edema", "uncertain", reviewer="ann", note="faint")
    view = store.report("rv-1")
    assert view.labels["Edema"] == "uncertain" and view.original["Edema"] == "not_mentioned"
    last = store.audit("rv-1")[-1]
    assert (last.seq, last.action, last.cls, last.old, last.new, last.reviewer, last.note) == (
        seq, "set", "Edema", "not_mentioned", "uncertain", "ann", "faint")


def test_audit_log_refuses_update_and_delete(tmp_path):
    store = make_store(tmp_path)
    store.set_state("rv-1", "Edema", "present", reviewer="ann")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE audit SET new='absent'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM audit")


def test_unknown_state_or_label_is_input_error(tmp_path):
    store = make_store(tmp_path)
    with pytest.raises(InputError, match="unknown state"):
        store.set_state("rv-1", "Edema", "maybe", reviewer="ann")
    with pytest.raises(InputError, match="no label"):
        store.set_state("nope", "Edema", "present", reviewer="ann")


def test_undo_reverts_own_last_change_and_is_audited(tmp_path):
    store = make_store(tmp_path)
    store.set_state("rv-2", "Opacity", "present", reviewer="ann", session="s1")
    store.set_state("rv-2", "Opacity", "absent", reviewer="ann", session="s1")
    first = store.undo(reviewer="ann", session="s1")
    assert first.done and store.report("rv-2").labels["Opacity"] == "present"
    second = store.undo(reviewer="ann", session="s1")
    assert second.done and store.report("rv-2").labels["Opacity"] == "uncertain"
    assert not store.undo(reviewer="ann", session="s1").done  # nothing left
    actions = [e.action for e in store.audit("rv-2")]
    assert actions == ["set", "set", "undo", "undo"]


def test_undo_never_overwrites_someone_elses_later_change(tmp_path):
    store = make_store(tmp_path)
    store.set_state("rv-2", "Opacity", "present", reviewer="ann", session="s1")
    store.set_state("rv-2", "Opacity", "absent", reviewer="bob", session="s2")
    result = store.undo(reviewer="ann", session="s1")
    assert not result.done and "bob" in result.message
    assert store.report("rv-2").labels["Opacity"] == "absent"


def test_accept_and_undo_accept(tmp_path):
    store = make_store(tmp_path)
    store.accept("rv-3", reviewer="ann", session="s1")
    assert store.report("rv-3").status == "accepted" and store.progress() == (1, 5)
    store.undo(reviewer="ann", session="s1")
    view = store.report("rv-3")
    assert view.status == "pending" and view.reviewer is None and store.progress() == (0, 5)


def test_agreement_counts_kept_and_changed_on_accepted_reports(tmp_path):
    store = make_store(tmp_path)
    store.set_state("rv-1", "Cardiomegaly", "absent", reviewer="ann")
    store.set_state("rv-2", "Opacity", "present", reviewer="ann")  # not accepted: not counted
    store.accept("rv-1", reviewer="ann")
    agreement = store.agreement()
    assert agreement["Cardiomegaly"] == {"kept": 0, "changed": 1}
    assert agreement["Opacity"] == {"kept": 1, "changed": 0}
    assert sum(v["changed"] for v in agreement.values()) == 1


CRASHER = """
import os, sys
from radlabel.review.store import ReviewStore
store = ReviewStore(sys.argv[1])
states = ["present", "absent", "uncertain", "not_mentioned"]
for i in range(40):
    seq = store.set_state("rv-5", "Edema", states[i % 4], reviewer="crash", note=str(i))
    print(seq, flush=True)  # printed only after the commit returned
    if i == 24:
        os._exit(9)  # die without closing anything, as a crash would
"""


def test_a_crash_loses_nothing_already_saved(tmp_path):
    make_store(tmp_path).close()
    db = tmp_path / "review.db"
    proc = subprocess.run([sys.executable, "-c", CRASHER, str(db)], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    committed = [int(x) for x in proc.stdout.split()]
    assert len(committed) == 25
    with ReviewStore(db) as store:
        logged = {e.seq for e in store.audit("rv-5") if e.reviewer == "crash"}
        assert set(committed) == logged
        assert store.report("rv-5").labels["Edema"] == ["present", "absent", "uncertain",
                                                        "not_mentioned"][24 % 4]
