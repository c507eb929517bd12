"""Label a whole file of reports: resumable, crash-safe, metered, with a closing summary.

Re-running skips ids already written with status ok (failed ids are tried again); records are
appended and fsynced one by one, so kill -9 loses at most the reports in flight. The output
file is locked for the run (a second writer is refused), and resuming keeps only the set of
done ids in memory, never the records.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from tqdm import tqdm

from radlabel.errors import InputError, Interrupted
from radlabel.labels import LabelAppender, done_ids
from radlabel.schema import STATES, LabelRecord, Report

TABLE_ROWS = 20  # classes shown in the closing table; the rest are summed up in one line


@dataclass
class RunSummary:
    written: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    tokens: int = 0
    lm_calls: int = 0
    counts: Counter = field(default_factory=Counter)  # (class, state) -> n
    failures: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False

    def add(self, rec: LabelRecord) -> None:
        self.written += 1
        self.tokens += rec.meta.tokens
        self.lm_calls += rec.meta.lm_calls
        if not rec.ok:
            self.failed += 1
            if len(self.failures) < 100:
                self.failures.append((rec.id, rec.meta.error or ""))
        for cls, state in rec.labels.items():
            self.counts[(cls, state)] += 1

    @property
    def reports_per_min(self) -> float:
        return 60.0 * self.written / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_report(self) -> float:
        return self.tokens / self.written if self.written else 0.0

    def table(self, classes: list[str], rows: int = TABLE_ROWS):
        """Counts per class and state. With many classes, the `rows` most often mentioned are
        shown and the others summed up in a last "... and K more classes" row."""
        from rich.table import Table

        shown = list(classes)
        more = 0
        if len(classes) > rows + 5:
            mentioned = {c: sum(self.counts[(c, s)] for s in STATES if s != "not_mentioned")
                         for c in classes}
            order = sorted(range(len(classes)), key=lambda i: (-mentioned[classes[i]], i))
            shown = [classes[i] for i in sorted(order[:rows])]  # in ontology order
            more = len(classes) - rows
        title = (f"{self.written} labelled ({self.failed} failed), {self.skipped} already done; "
                 f"{self.reports_per_min:.1f} reports/min, {self.tokens_per_report:.0f} tokens/report, "
                 f"{self.lm_calls / max(self.written, 1):.2f} LM calls/report")
        if more:
            title += f"; the {rows} most mentioned of {len(classes)} classes"
        t = Table(title=title)
        t.add_column("class")
        for s in STATES:
            t.add_column(s, justify="right")
        for c in shown:
            t.add_row(c, *[str(self.counts[(c, s)]) for s in STATES])
        if more:
            keep = set(shown)
            rest = [c for c in classes if c not in keep]
            t.add_row(f"... and {more} more classes",
                      *[str(sum(self.counts[(c, s)] for c in rest)) for s in STATES])
        return t


class _StopAfterCurrent:
    """First Ctrl-C: finish and write the report in progress, then stop (so what is counted is
    exactly what is in the file). A second Ctrl-C stops at once. Main thread only."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        sys.stderr.write("\nstopping after the report in progress (Ctrl-C again to stop now)\n")

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def check_output_not_input(output: str | Path, inputs: Iterable[str | Path]) -> None:
    """InputError if `output` is (a path, symlink or hard link to) one of the input files."""
    out = Path(output).expanduser()
    if not out.exists():
        return
    for inp in inputs:
        inp = Path(inp).expanduser()
        try:
            same = inp.exists() and os.path.samefile(out, inp)
        except OSError:
            same = out.resolve() == inp.resolve()
        if same:
            raise InputError(f"the output is the input file {inp}; labels would be appended to "
                             "your reports. Choose another -o", path=str(output), field="-o")


def label_reports(labeler, reports: Iterable[Report], out_path: str | Path, *, parallel: int = 1,
                  progress: bool = True, limit: int | None = None) -> RunSummary:
    """Label `reports` (any iterable, streamed) into `out_path` (JSONL), skipping ids already
    labelled there. Ctrl-C raises `radlabel.errors.Interrupted` once what was labelled is
    safely written; its message says how many and how to resume."""
    out_path = Path(out_path)
    existed = out_path.exists()
    summary = RunSummary()
    with LabelAppender(out_path) as out:  # lock + tail repair before anything is read
        try:
            done = done_ids(out_path)
            pending, total = [], 0
            for r in reports:
                total += 1
                if r.id not in done:
                    pending.append(r)
            del done
        except BaseException:
            if not existed and out_path.stat().st_size == 0:
                out_path.unlink()  # bad input: do not leave an empty output behind
            raise
        todo = pending if limit is None else pending[:limit]
        summary.skipped = total - len(pending)
        t0 = time.perf_counter()
        bar = tqdm(total=len(todo), disable=not progress, unit="report", desc="labelling")

        def one(r: Report) -> LabelRecord:
            return labeler(r.text, id=r.id)

        pool = ThreadPoolExecutor(max(parallel, 1)) if parallel > 1 else None
        try:
            with _StopAfterCurrent() as stop:
                # Results come back in input order; each is written as soon as it and those
                # before it are done.
                for rec in (pool.map(one, todo) if pool else map(one, todo)):
                    out.write(rec)
                    summary.add(rec)
                    bar.update(1)
                    if stop.requested and summary.written < len(todo):
                        summary.interrupted = True
                        break
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            if pool:
                pool.shutdown(wait=not summary.interrupted, cancel_futures=True)
            bar.close()
            summary.seconds = time.perf_counter() - t0
    if summary.interrupted:
        left = len(todo) - summary.written
        raise Interrupted(f"{summary.written} labelled, {left} not yet (kept in {out_path}); "
                          "resume with the same command", summary)
    return summary
