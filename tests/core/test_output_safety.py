"""Output files are never silently damaged: a complete last record is kept, `-o` may not be an
input, one writer per file (a second is refused, a killed one leaves no stale lock), resume
keeps only ids, and the closing table and hints stay readable. Reports here are our own."""
import json
import os
import signal
import subprocess
import sys
import time

from radlabel.jsonl import AppendOnlyJsonl, iter_jsonl, read_jsonl
from radlabel.labeling import RunSummary, label_reports
from radlabel.labels import done_ids
from radlabel.programs import Labeler
from radlabel.schema import Report

RADLABEL = [sys.executable, "-m", "radlabel.cli"]


def run(args, **kw):
    return subprocess.run(RADLABEL + args, capture_output=True, text=True, timeout=300, **kw)


def rec(rid, status="ok"):
    return {"id": rid, "labels": {}, "meta": {"status": status}}


def write_reports(path, n, newline_at_end=True):
    lines = [json.dumps({"id": f"p{i}", "text": f"Heart size is normal. No pleural effusion. Case {i}."})
             for i in range(n)]
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""))


# -- tail repair ------------------------------------------------------------------------
def test_complete_last_record_without_newline_is_kept(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps(rec("a")) + "\n" + json.dumps(rec("b")))  # no final newline
    with AppendOnlyJsonl(p) as w:
        assert w.repaired == "newline"
        w.write(rec("c"))
    assert [r["id"] for r in read_jsonl(p)] == ["a", "b", "c"]


def test_partial_last_record_is_cut(tmp_path):
    from radlabel.jsonl import repair_tail

    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps(rec("a")) + '\n{"id": "b", "lab')
    assert repair_tail(p) == "truncated"
    assert p.read_text() == json.dumps(rec("a")) + "\n"
    p.write_text('{"id": "only", "lab')  # a single torn line, no newline anywhere
    assert repair_tail(p) == "truncated" and p.read_bytes() == b""


def test_resume_keeps_a_hand_written_last_record(tmp_path, reports):
    """The done id read from an unterminated last line must still be in the file afterwards."""
    out = tmp_path / "labels.jsonl"
    rec_r1 = Labeler(judge="none")(reports["r1"], id="r1").model_dump(mode="json")
    out.write_text(json.dumps(rec_r1))  # e.g. exported by another tool, no final newline
    reps = [Report(id=k, text=v) for k, v in reports.items()]
    s = label_reports(Labeler(judge="none"), reps, out, progress=False)
    assert s.skipped == 1 and s.written == 2
    ids = [r["id"] for r in read_jsonl(out)]
    assert sorted(ids) == ["r1", "r2", "r3"]


# -- -o equal to an input ---------------------------------------------------------------
def test_output_equal_to_input_is_refused(tmp_path):
    src = tmp_path / "reports.jsonl"
    write_reports(src, 3, newline_at_end=False)
    before = src.read_bytes()
    link = tmp_path / "link.jsonl"
    link.symlink_to(src)
    for out in (src, link, tmp_path / "." / "reports.jsonl"):
        r = run(["label", str(src), "-o", str(out), "--judge", "none"])
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr
        assert r.stderr.startswith("error: ") and "is the input file" in r.stderr, r.stderr
    assert src.read_bytes() == before  # the user's last report is still there


def test_output_that_is_not_a_file_is_refused(tmp_path):
    src = tmp_path / "reports.jsonl"
    write_reports(src, 2)
    r = run(["label", str(src), "-o", str(tmp_path), "--judge", "none"])
    assert r.returncode == 2 and "not a regular file" in r.stderr and "Traceback" not in r.stderr


# -- one writer per file ----------------------------------------------------------------
def test_second_writer_is_refused_naming_the_holder(tmp_path):
    src, out = tmp_path / "reports.jsonl", tmp_path / "labels.jsonl"
    write_reports(src, 5)
    with AppendOnlyJsonl(out):  # this test process is the first writer
        r = run(["label", str(src), "-o", str(out), "--judge", "none"])
        assert r.returncode == 3, r.stderr
        assert "Traceback" not in r.stderr
        assert str(out) in r.stderr and "is writing to this file" in r.stderr, r.stderr
        if os.path.exists("/proc/locks"):
            assert f"pid {os.getpid()}" in r.stderr, r.stderr
        assert out.read_bytes() == b""  # nothing written by the refused run
    r = run(["label", str(src), "-o", str(out), "--judge", "none"])
    assert r.returncode == 0, r.stderr
    assert len(read_jsonl(out)) == 5


def test_two_runs_on_one_output_write_each_id_once(tmp_path):
    src, out = tmp_path / "reports.jsonl", tmp_path / "labels.jsonl"
    n = 3000
    write_reports(src, n)
    first = subprocess.Popen(RADLABEL + ["label", str(src), "-o", str(out), "--judge", "none"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.05)
    second = run(["label", str(src), "-o", str(out), "--judge", "none"])
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 3 and "is writing to this file" in second.stderr, second.stderr
    ids = [r["id"] for r in read_jsonl(out)]
    assert len(ids) == n and len(set(ids)) == n  # no duplicated ids


def test_lock_of_a_killed_writer_does_not_block(tmp_path):
    out = tmp_path / "labels.jsonl"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time\nfrom radlabel.jsonl import AppendOnlyJsonl\n"
                               f"w = AppendOnlyJsonl({str(out)!r})\nprint('held', flush=True)\n"
                               "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    try:
        from radlabel.errors import OutputLocked

        try:
            AppendOnlyJsonl(out)
            raise AssertionError("second writer was not refused")
        except OutputLocked:
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with AppendOnlyJsonl(out) as w:  # the OS dropped the dead holder's lock
        w.write(rec("a"))
    assert [r["id"] for r in read_jsonl(out)] == ["a"]


# -- resume keeps ids only --------------------------------------------------------------
def test_done_ids_are_ids_with_an_ok_record_and_streams(tmp_path):
    p = tmp_path / "labels.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in
                         [rec("a"), rec("b", "failed"), rec("c"), rec("c", "failed"), rec("b"),
                          rec("d", "failed")]))
    # a retried b succeeded; c's later failure does not erase its ok record; d is retried
    assert done_ids(p) == {"a", "b", "c"}
    it = iter_jsonl(p)
    assert next(it)[1]["id"] == "a"  # a generator over the open file, not a list


# -- the closing table with many classes ------------------------------------------------
def test_table_with_10000_classes_is_summarised():
    from rich.console import Console

    classes = [f"Class {i:05d}" for i in range(10_000)]
    s = RunSummary(written=3)
    s.counts[("Class 09999", "present")] = 3
    s.counts[("Class 00042", "absent")] = 2
    t = s.table(classes)
    assert t.row_count <= 21
    console = Console(width=200, record=True, file=open(os.devnull, "w"))
    console.print(t)
    text = console.export_text()
    assert "... and 9980 more classes" in text
    assert "Class 09999" in text and "Class 00042" in text  # the mentioned ones are shown
    assert len(text.splitlines()) < 40
    small = RunSummary().table(classes[:14])
    assert small.row_count == 14  # a bundled 14-class set is shown in full


# -- hints that name what the user can do -----------------------------------------------
def test_utf16_file_gets_a_utf16_hint(tmp_path):
    for name, body in (("r.csv", "id,text\n1,No effusion.\n"),
                       ("r.jsonl", '{"id": "1", "text": "No effusion."}\n')):
        src = tmp_path / name
        src.write_bytes(body.encode("utf-16"))
        r = run(["label", str(src), "-o", str(tmp_path / "o.jsonl"), "--judge", "none"])
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert "iconv -f utf-16" in r.stderr, r.stderr
    latin = tmp_path / "l.csv"
    latin.write_bytes("id,text\n1,Caf\xe9 no effusion.\n".encode("latin1"))
    r = run(["label", str(latin), "-o", str(tmp_path / "o2.jsonl"), "--judge", "none"])
    assert r.returncode == 2 and "iconv -f latin1" in r.stderr, r.stderr


def test_max_report_chars_is_an_option(tmp_path):
    src, out = tmp_path / "reports.jsonl", tmp_path / "labels.jsonl"
    long_text = "Heart size is normal. " * 10  # 220 characters
    src.write_text(json.dumps({"id": "long", "text": long_text}) + "\n")
    r = run(["label", str(src), "-o", str(out), "--judge", "none", "--max-report-chars", "100"])
    assert r.returncode == 1, r.stderr
    err = read_jsonl(out)[0]["meta"]["error"]
    assert "--max-report-chars" in err and "MAX_REPORT_CHARS" not in err, err
    r = run(["label", str(src), "-o", str(out), "--judge", "none", "--max-report-chars", "1000"])
    assert r.returncode == 0, r.stderr  # the failed one is retried under the new limit
