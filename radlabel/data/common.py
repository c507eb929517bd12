"""Helpers every loader shares: opening files, finding columns, unique ids, meta values.

They exist so that each loader reports bad input the same way: one InputError that names the
file, the line (or row) and the field.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import decimal
import gzip
import re
from pathlib import Path
from typing import IO, Iterator, Sequence

from radlabel.errors import InputError, encoding_hint
from radlabel.sections import split_sections

UTF8_HINT = encoding_hint(b"")  # the advice for a file that is neither UTF-8 nor UTF-16


def existing_path(path: str | Path) -> Path:
    """The path as a Path, or InputError if nothing is there."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError("file not found", path=str(p))
    return p


def is_gzip(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def first_bad_utf8(path: Path) -> tuple[int, int]:
    """(line number, byte column) of the first invalid UTF-8 sequence, both 1-based.

    Used only after a decode failed: the fast path decodes in big chunks and so cannot say
    where, so the file is scanned again line by line.
    """
    with _open_binary(path) as f:
        for no, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                return no, e.start + 1
    return 0, 0


def utf8_error(path: Path) -> InputError:
    line, col = first_bad_utf8(path)
    with _open_binary(path) as f:
        head = f.read(64)
    return InputError(f"invalid UTF-8 at byte {col} of the line; {encoding_hint(head)}", path=str(path),
                      line=line or None)


@contextlib.contextmanager
def open_text(path: Path) -> Iterator[IO[str]]:
    """Open a (possibly gzipped) UTF-8 text file for streaming.

    Lines keep their endings (newline="") as the csv module requires. A decode error anywhere
    in the body becomes an InputError with the line number; a broken gzip stream likewise.
    """
    try:
        if is_gzip(path):
            f = gzip.open(path, "rt", encoding="utf-8-sig", newline="")
        else:
            f = open(path, "r", encoding="utf-8-sig", newline="")
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot open: {e.strerror or e}", path=str(path)) from None
    with f:
        try:
            yield f
        except UnicodeDecodeError:
            raise utf8_error(path) from None
        except (gzip.BadGzipFile, EOFError) as e:
            raise InputError(f"broken gzip stream: {e or 'truncated file'}", path=str(path)) from None


def read_text(path: Path) -> str:
    """A whole (small) file as text; invalid UTF-8 is reported with its line."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(f"invalid UTF-8 at byte {col} of the line; {encoding_hint(data[:64])}",
                         path=str(path), line=line) from None


def find_column(columns: Sequence[str], wanted: str, *, path: Path, line: int | None = 1,
                what: str = "column") -> int:
    """Index of `wanted` among `columns`: exact match first, then a unique case-insensitive one.

    A miss names the columns that do exist, which is what the user needs to fix the call.
    """
    if wanted in columns:
        return list(columns).index(wanted)
    folded = [i for i, c in enumerate(columns) if c.strip().lower() == wanted.strip().lower()]
    if len(folded) == 1:
        return folded[0]
    have = ", ".join(repr(c) for c in columns) or "(none)"
    raise InputError(f"{what} {wanted!r} not found; the {what}s are: {have}", path=str(path),
                     line=line, field=wanted)


class UniqueIds:
    """Remembers where each id was first seen, so a duplicate names both places."""

    def __init__(self, field: str):
        self.field = field
        self._seen: dict[str, tuple[Path, int | None]] = {}

    def add(self, report_id: str, *, path: Path, line: int | None) -> None:
        first = self._seen.get(report_id)
        if first is None:
            self._seen[report_id] = (path, line)
            return
        first_path, first_line = first
        if first_line is None:
            where = f"in {first_path.name}"
        elif first_path == path:
            where = f"at line {first_line}"
        else:
            where = f"in {first_path.name} at line {first_line}"
        raise InputError(f"duplicate id {report_id!r} (first seen {where})", path=str(path),
                         line=line, field=self.field)


def clean_id(value, *, path: Path, line: int | None, field: str) -> str:
    """Ids become strings; a missing or blank id is an error (outputs are joined on it)."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise InputError(f"id must be a string or number, got {value!r}", path=str(path),
                         line=line, field=field)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        raise InputError("empty id", path=str(path), line=line, field=field)
    return text


def clean_text(value, *, path: Path, line: int | None, field: str) -> str:
    """Report text as a string. Missing/null text is kept as "" so the labeller can record a
    per-report failure instead of the whole file being refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"text must be a string, got {type(value).__name__}", path=str(path),
                         line=line, field=field)
    return value


def jsonable(value):
    """Meta values that survive json.dumps: dates become ISO strings, decimals floats."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def section_names(text: str) -> list[str]:
    """Distinct names of the sections found in the text, in first-seen order (a regex scan)."""
    return list(dict.fromkeys(s.name for s in split_sections(text)))


_NUM = re.compile(r"(\d+)")


def natural_key(p: Path):
    """Sort 2.xml before 10.xml."""
    return [int(t) if t.isdigit() else t.lower() for t in _NUM.split(p.name)]


def xml_files(directory: Path) -> list[Path]:
    files = sorted((p for p in directory.iterdir() if p.is_file() and p.suffix.lower() == ".xml"),
                   key=natural_key)
    if not files:
        raise InputError("directory has no .xml files", path=str(directory))
    return files
