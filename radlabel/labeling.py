"""Label a whole file of reports: resumable, crash-safe, metered, with a closing summary.

Re-running skips ids already written with status ok (failed ids are tried again); records are
appended and fsynced one by one, so kill -9 loses at most the reports in flight.
"""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from radlabel.jsonl import AppendOnlyJsonl
from radlabel.labelsets import read_label_records
from radlabel.schema import STATES, LabelRecord, Report


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

    def add(self, rec: LabelRecord) -> None:
        self.written += 1
        self.tokens += rec.meta.tokens
        self.lm_calls += rec.meta.lm_calls
        if not rec.ok:
            self.failed += 1
            self.failures.append((rec.id, rec.meta.error or ""))
        for cls, state in rec.labels.items():
            self.counts[(cls, state)] += 1

    @property
    def reports_per_min(self) -> float:
        return 60.0 * self.written / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_report(self) -> float:
        return self.tokens / self.written if self.written else 0.0

    def table(self, classes: list[str]):
        from rich.table import Table

        t = Table(title=f"{self.written} labelled ({self.failed} failed), {self.skipped} already done; "
                        f"{self.reports_per_min:.1f} reports/min, {self.tokens_per_report:.0f} tokens/report, "
                        f"{self.lm_calls / max(self.written, 1):.2f} LM calls/report")
        t.add_column("class")
        for s in STATES:
            t.add_column(s, justify="right")
        for c in classes:
            t.add_row(c, *[str(self.counts[(c, s)]) for s in STATES])
        return t


def done_ids(out_path: Path) -> set[str]:
    if not out_path.exists():
        return set()
    return set(read_label_records(out_path))


def label_reports(labeler, reports: list[Report], out_path: str | Path, *, parallel: int = 1,
                  progress: bool = True, limit: int | None = None) -> RunSummary:
    """Label `reports` into `out_path` (JSONL), skipping ids already labelled there."""
    out_path = Path(out_path)
    done = done_ids(out_path)
    pending = [r for r in reports if r.id not in done]
    todo = pending if limit is None else pending[:limit]
    summary = RunSummary(skipped=len(reports) - len(pending))
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), disable=not progress, unit="report", desc="labelling")

    def one(r: Report) -> LabelRecord:
        return labeler(r.text, id=r.id)

    with AppendOnlyJsonl(out_path) as out, ThreadPoolExecutor(max(parallel, 1)) as pool:
        # Results come back in input order; each is written as soon as it and those before it are done.
        for rec in (pool.map(one, todo) if parallel > 1 else map(one, todo)):
            out.write(rec.model_dump(mode="json"))
            summary.add(rec)
            bar.update(1)
    bar.close()
    summary.seconds = time.perf_counter() - t0
    return summary
