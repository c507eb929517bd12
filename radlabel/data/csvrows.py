"""Streaming CSV records with the file line each one starts on.

The csv module (not pandas) because it streams files of any size, keeps quoted multi-line
fields intact, and lets every error name the exact line. `strict=True` turns stray quotes into
errors instead of silently merging fields.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from radlabel.data.common import open_text
from radlabel.errors import InputError

# Radiology notes can be long (MIMIC has notes of >100 kB); the csv default limit is 128 kB.
_FIELD_LIMIT = 2**31 - 1


def delimiter_for(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    return "\t" if name.endswith((".tsv", ".tab")) else ","


def csv_records(path: Path, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """Yield (start_line, fields) for every non-blank record, the header first."""
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    with open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        end = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise InputError(f"malformed CSV: {e}", path=str(path),
                                 line=end + 1) from None
            start, end = end + 1, reader.line_num
            if row:
                yield start, row


class CsvTable:
    """A CSV file's header plus its records, checked for a consistent field count."""

    def __init__(self, path: Path, delimiter: str | None = None):
        self.path = path
        self._records = csv_records(path, delimiter or delimiter_for(path))
        first = next(self._records, None)
        if first is None:
            raise InputError("empty file: no header row", path=str(path), line=1)
        self.header_line, header = first
        self.header = [h.strip() for h in header]
        seen: set[str] = set()
        for name in self.header:
            if name in seen:
                raise InputError(f"column {name!r} appears twice in the header", path=str(path),
                                 line=self.header_line, field=name)
            seen.add(name)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        for line, row in self._records:
            if len(row) != width:
                raise InputError(f"record has {len(row)} fields but the header has {width} "
                                 "(an unquoted delimiter or newline in a field?)",
                                 path=str(self.path), line=line)
            yield line, row

    def column_index(self) -> dict[str, int]:
        """Lower-cased column name -> index, for optional columns."""
        return {h.lower(): i for i, h in enumerate(self.header)}
