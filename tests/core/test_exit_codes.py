"""Exit codes of the real CLI (subprocesses): 0 ok, 1 some reports failed, 2 bad input,
3 OS error (one line, no traceback), 130 interrupted with a resume hint. Our own reports."""
import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from radlabel.jsonl import read_jsonl

RADLABEL = [sys.executable, "-m", "radlabel.cli"]


def run(args, **kw):
    return subprocess.run(RADLABEL + args, capture_output=True, text=True, timeout=300, **kw)


def write_reports(path, texts):
    path.write_text("".join(json.dumps({"id": f"q{i}", "text": t}) + "\n" for i, t in enumerate(texts)))


def label_args(src, out):
    return ["label", str(src), "-o", str(out), "--judge", "none"]


def test_all_ok_exits_0(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_reports(src, ["No pleural effusion.", "The heart is enlarged."])
    r = run(label_args(src, out))
    assert r.returncode == 0, r.stderr
    assert len(read_jsonl(out)) == 2


def test_some_failed_exits_1_with_the_count(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_reports(src, ["No pleural effusion.", "", "Small left pneumothorax."])
    r = run(label_args(src, out))
    assert r.returncode == 1, r.stderr
    assert "1 of 3 reports failed" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_every_report_failed_exits_1(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_reports(src, ["", "   ", ""])
    r = run(label_args(src, out))
    assert r.returncode == 1, r.stderr
    assert "3 of 3 reports failed" in r.stderr, r.stderr


def test_bad_input_exits_2(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "1", "text": "ok"}\n{"id": "1", "text": "again"}\n')
    r = run(label_args(src, tmp_path / "out.jsonl"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and ":2" in r.stderr, r.stderr
    assert not (tmp_path / "out.jsonl").exists()  # no empty output left behind


@pytest.mark.parametrize("args, says", [
    (["index", "classes"], "Missing"),                       # a required argument left out
    (["label", "x.jsonl", "-o", "y.jsonl", "--no-such-flag"], "No such option"),
    (["no-such-verb"], "No such command"),
])
def test_usage_errors_exit_2_without_traceback(tmp_path, args, says):
    r = run(args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_ctrl_c_mid_run_exits_130_and_resumes(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    n = 4000
    write_reports(src, [f"Heart size is normal. No effusion. Note {i}." for i in range(n)])
    proc = subprocess.Popen(RADLABEL + label_args(src, out), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 30_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert "resume with the same command" in err, err
    done = len(read_jsonl(out))
    assert 0 < done < n
    assert f"{done} labelled" in err, err  # the count printed is what is in the file
    r = run(label_args(src, out))
    assert r.returncode == 0, r.stderr
    ids = [x["id"] for x in read_jsonl(out)]
    assert len(ids) == n and len(set(ids)) == n


def test_ctrl_c_during_start_up_exits_130_without_traceback(tmp_path):
    """Blocked reading the input (a FIFO nobody writes to): Ctrl-C before any labelling."""
    fifo, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen(RADLABEL + label_args(fifo, out) + ["--format", "jsonl"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline, wfd = time.time() + 120, None
    while wfd is None and time.time() < deadline:
        try:  # succeeds once the CLI is waiting in open() for a writer: start-up is under way
            wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            assert e.errno == errno.ENXIO
            time.sleep(0.05)
    assert wfd is not None
    time.sleep(0.5)  # now blocked reading the first report (the writer end stays open)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    os.close(wfd)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err, err


FAIL_SCRIPT = """
import errno, os, sys
import radlabel.jsonl as J
from radlabel.cli import main
real_open = open
def fake_open(path, mode="r", *a, **k):
    if "a" in mode and {kind!r} == "erofs":
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
    return real_open(path, mode, *a, **k)
def fake_fsync(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
J.open = fake_open
if {kind!r} == "enospc":
    os.fsync = fake_fsync
main(sys.argv[1:])
"""


@pytest.mark.parametrize("kind,expect", [("enospc", "No space left on device"),
                                         ("erofs", "Read-only file system")])
def test_os_errors_are_one_line(tmp_path, kind, expect):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_reports(src, ["No effusion.", "Enlarged heart."])
    r = subprocess.run([sys.executable, "-c", FAIL_SCRIPT.format(kind=kind)] + label_args(src, out),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    errs = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errs) == 1 and expect in errs[0] and str(out) in errs[0], r.stderr


def test_output_under_a_file_is_one_line(tmp_path):
    src = tmp_path / "in.jsonl"
    write_reports(src, ["No effusion."])
    r = run(label_args(src, src / "out.jsonl"))  # a "directory" that is a file
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_is_one_line(tmp_path):
    src, ro = tmp_path / "in.jsonl", tmp_path / "ro"
    write_reports(src, ["No effusion."])
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = run(label_args(src, ro / "out.jsonl"))
    finally:
        ro.chmod(0o755)
    assert r.returncode == 3 and "Traceback" not in r.stderr and "Permission denied" in r.stderr
