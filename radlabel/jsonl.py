"""JSONL reading with exact error locations, and an append-only writer that survives kill -9.

The writer appends one complete line per record and flushes + fsyncs it, so a crash loses at
most the record being written; a torn last line (no trailing newline) left by a crash is cut
off on the next open, never parsed as data.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from radlabel.errors import InputError


def iter_jsonl(path: str | Path, *, skip_torn_tail: bool = False) -> Iterator[tuple[int, dict]]:
    """Yield (line_number, object). Blank lines are skipped; a bad line raises InputError."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(p))
    with open(p, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    last = len(lines)
    for no, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        torn = no == last and not data.endswith(b"\n")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if torn and skip_torn_tail:
                return
            raise InputError(f"invalid UTF-8 at byte {e.start}", path=str(p), line=no) from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            if torn and skip_torn_tail:
                return
            raise InputError(f"malformed JSON: {e.msg} (column {e.colno})", path=str(p),
                             line=no) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", path=str(p), line=no)
        yield no, obj


def read_jsonl(path: str | Path) -> list[dict]:
    return [obj for _, obj in iter_jsonl(path)]


class AppendOnlyJsonl:
    """Append records to a JSONL file durably; repairs a torn final line from a crash."""

    def __init__(self, path: str | Path, fsync: bool = True):
        self.path = Path(path)
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._f = open(self.path, "ab")

    def _repair_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 1))
            if f.read(1) == b"\n":
                return
            # find the last newline and truncate the partial record after it
            block, pos = 1 << 16, size
            while pos > 0:
                start = max(0, pos - block)
                f.seek(start)
                chunk = f.read(pos - start)
                idx = chunk.rfind(b"\n")
                if idx >= 0:
                    f.truncate(start + idx + 1)
                    return
                pos = start
            f.truncate(0)

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        self._f.write(line)
        self._f.flush()
        if self.fsync:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_jsonl_atomic(path: str | Path, records) -> None:
    """Write a whole file atomically (temp file + rename): readers never see half of it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)
