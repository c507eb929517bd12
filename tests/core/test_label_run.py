"""`radlabel label` as users run it: resumable, crash-safe, and clear about bad input."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from radlabel.jsonl import AppendOnlyJsonl, read_jsonl
from radlabel.labeling import label_reports
from radlabel.labels import read_labels
from radlabel.programs import Labeler
from radlabel.schema import Report

RADLABEL = [sys.executable, "-m", "radlabel.cli"]


def write_reports(path, reports, n):
    texts = list(reports.values())
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"rep-{i:06d}", "text": texts[i % len(texts)]}) + "\n")


def run(args, **kw):
    return subprocess.run(RADLABEL + args, capture_output=True, text=True, timeout=300, **kw)


def test_resume_skips_done_ids_and_retries_failed(tmp_path, reports):
    reps = [Report(id=k, text=v) for k, v in reports.items()] + [Report(id="empty", text="")]
    out = tmp_path / "labels.jsonl"
    s1 = label_reports(Labeler(judge="none"), reps[:2], out, progress=False)
    assert s1.written == 2
    s2 = label_reports(Labeler(judge="none"), reps, out, progress=False)
    assert s2.skipped == 2 and s2.written == 2 and s2.failed == 1
    s3 = label_reports(Labeler(judge="none"), reps, out, progress=False)
    assert s3.skipped == 3 and s3.written == 1  # the failed one is tried again
    ok = read_labels(out)
    assert set(ok) == {"r1", "r2", "r3"}
    assert read_labels(out, keep_failed=True)["empty"].meta.error == "empty report text"


def test_torn_last_line_is_repaired(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"id": "a", "labels": {}}\n{"id": "b", "lab')
    assert list(read_labels(p)) == ["a"]
    with AppendOnlyJsonl(p) as w:
        w.write({"id": "c", "labels": {}})
    assert [r["id"] for r in read_jsonl(p)] == ["a", "c"]


def test_kill_9_mid_run_loses_nothing_written(tmp_path, reports):
    src, out = tmp_path / "reports.jsonl", tmp_path / "labels.jsonl"
    n = 6_000
    write_reports(src, reports, n)
    proc = subprocess.Popen(RADLABEL + ["label", str(src), "-o", str(out), "--judge", "none"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 100_000):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_labels(out)  # parses: no corrupt line survives
    assert 0 < len(before) < n
    r = run(["label", str(src), "-o", str(out), "--judge", "none"])
    assert r.returncode == 0, r.stderr
    lines = read_jsonl(out)
    ids = [x["id"] for x in lines]
    assert len(set(ids)) == n and len(ids) == n  # every report once, none twice
    assert "reports/min" in r.stderr


@pytest.mark.parametrize("case", ["missing_file", "missing_column", "bad_utf8", "bad_jsonl",
                                  "unknown_class", "bad_lm_flag"])
def test_bad_input_is_one_clear_error(tmp_path, case):
    src = tmp_path / "in.jsonl"
    args = ["label", str(src), "-o", str(tmp_path / "o.jsonl"), "--judge", "none"]
    expect = ""
    if case == "missing_file":
        expect = f"{src}: file not found"
    elif case == "missing_column":
        src.write_text('{"id": "1", "report": "No effusion."}\n')
        expect = "text"
    elif case == "bad_utf8":
        src.write_bytes(b'{"id": "1", "text": "ok"}\n{"id": "2", "text": "caf\xe9"}\n')
        expect = ":2"
    elif case == "bad_jsonl":
        src.write_text('{"id": "1", "text": "ok"}\n{"id": "2", "text": \n')
        expect = ":2"
    elif case == "unknown_class":
        src.write_text('{"id": "1", "text": "No effusion."}\n')
        cls = tmp_path / "c.yaml"
        cls.write_text("classes:\n  - name: A\n    definition: x\n    parent: Missing\n")
        args += ["--classes", str(cls)]
        expect = "c.yaml:2 [classes[0].parent]"
    elif case == "bad_lm_flag":
        src.write_text('{"id": "1", "text": "No effusion."}\n')
        args = ["label", str(src), "-o", str(tmp_path / "o.jsonl"), "--judge", "all",
                "--lm", "openai/some-model", "--api-base", "http://10.1.2.3:8000/v1"]
        expect = "PHI"
    r = run(args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and expect in r.stderr, r.stderr
