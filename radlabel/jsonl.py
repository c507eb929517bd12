"""JSONL reading with exact error locations, and an append-only writer that survives kill -9.

The writer appends one complete line per record and flushes + fsyncs it, so a crash loses at
most the record being written. On the next open a last line without its newline is checked:
a complete JSON record (e.g. written by hand or by another tool without the final newline)
gets its newline back; only a genuinely partial record (a torn write) is cut off.

One writer per file: the writer holds an exclusive OS lock (flock) on the file for as long as
it is open, and a second writer is refused with `OutputLocked`. The OS drops the lock when the
holder dies, so a run killed with kill -9 never leaves a stale lock behind.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from radlabel.errors import InputError, OutputLocked, encoding_hint
from radlabel.files import atomic_write


def iter_jsonl(path: str | Path, *, skip_torn_tail: bool = False,
               on_error: Callable[[InputError], None] | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (line_number, object), streaming. Blank lines are skipped; a bad line raises InputError.

    With `skip_torn_tail`, a last line with no newline that does not parse (a torn write) is
    ignored; a last line that parses is a complete record and is yielded. With `on_error`, a bad
    line is handed to it and skipped instead of raised (to list every bad line at once).
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(p))
    with open(p, "rb") as f:
        for no, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            torn = not raw.endswith(b"\n")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                if torn and skip_torn_tail:
                    return
                with open(p, "rb") as h:
                    hint = encoding_hint(h.read(64))
                err = InputError(f"invalid UTF-8 at byte {e.start}; {hint}", path=str(p), line=no)
            else:
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    if torn and skip_torn_tail:
                        return
                    err = InputError(f"malformed JSON: {e.msg} (column {e.colno})", path=str(p),
                                     line=no)
                else:
                    if isinstance(obj, dict):
                        yield no, obj
                        continue
                    err = InputError("each line must be a JSON object", path=str(p), line=no)
            if on_error is None:
                raise err
            on_error(err)


def read_jsonl(path: str | Path) -> list[dict]:
    return [obj for _, obj in iter_jsonl(path)]


def _is_complete_record(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw.decode("utf-8")), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


def repair_tail(path: str | Path) -> str | None:
    """Make the file end in a newline. Returns "newline" (a complete last record got its
    newline), "truncated" (a partial last record was cut off) or None (nothing to do)."""
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return None
    with open(p, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return None
        # find the last newline: the bytes after it are the last line
        block, pos, cut = 1 << 16, size, 0
        while pos > 0:
            start = max(0, pos - block)
            f.seek(start)
            idx = f.read(pos - start).rfind(b"\n")
            if idx >= 0:
                cut = start + idx + 1
                break
            pos = start
        f.seek(cut)
        if _is_complete_record(f.read(size - cut)):
            f.seek(size)
            f.write(b"\n")
            f.flush()
            os.fsync(f.fileno())
            return "newline"
        f.truncate(cut)
        f.flush()
        os.fsync(f.fileno())
        return "truncated"


def lock_holder(fd: int) -> str | None:
    """Who holds a flock on the file open as `fd` (Linux /proc/locks), e.g. "pid 42: radlabel label ..."."""
    st = os.fstat(fd)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as f:
            rows = [ln.split() for ln in f]
    except OSError:
        return None
    for parts in rows:
        if "->" in parts or len(parts) < 6 or parts[1] != "FLOCK" or parts[5] != key:
            continue
        pid = parts[4]
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = " ".join(f.read().replace(b"\0", b" ").decode("utf-8", "replace").split())
        except OSError:
            cmd = ""
        return f"pid {pid}" + (f": {cmd[:200]}" if cmd else "")
    return None


class AppendOnlyJsonl:
    """Append records to a JSONL file durably, as its only writer; repairs a torn final line."""

    def __init__(self, path: str | Path, fsync: bool = True, lock: bool = True):
        self.path = Path(path)
        self.fsync = fsync
        if self.path.exists() and not self.path.is_file():
            raise InputError("not a regular file (a directory or a device); name a file to write",
                             path=str(self.path))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "ab")
        except OSError as e:
            raise OSError(e.errno, f"cannot open for writing: {e.strerror}", str(self.path)) from None
        if lock:
            try:
                fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = lock_holder(self._f.fileno()) if e.errno in (errno.EWOULDBLOCK, errno.EACCES) else None
                self._f.close()
                if e.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    raise OutputLocked(str(self.path), holder) from None
                raise
        try:
            self.repaired = repair_tail(self.path)
        except OSError as e:
            self._f.close()
            raise OSError(e.errno, f"cannot repair the last line: {e.strerror}", str(self.path)) from None

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self._f.write(line)
            self._f.flush()
            if self.fsync:
                os.fsync(self._f.fileno())
        except OSError as e:
            raise OSError(e.errno, f"cannot write: {e.strerror}", str(self.path)) from None

    def close(self) -> None:
        try:
            self._f.close()  # closing drops the lock
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_jsonl_atomic(path: str | Path, records) -> None:
    """Write a whole file atomically (temp file + rename): readers never see half of it."""
    with atomic_write(path) as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
