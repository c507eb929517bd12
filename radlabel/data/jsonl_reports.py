"""JSONL reports: one JSON object per line, configurable id and text keys.

Streams line by line (radlabel.jsonl.iter_jsonl reads the whole file into memory, which is
fine for label files but not for multi-GB report dumps) and accepts .jsonl.gz.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from radlabel.data.common import UniqueIds, clean_id, clean_text, jsonable, open_text
from radlabel.data.report import make_report
from radlabel.errors import InputError
from radlabel.schema import Report


def iter_jsonl_reports(path: Path, id_col: str = "id", text_col: str = "text") -> Iterator[Report]:
    """Other keys go into `Report.meta`. A line without the id or text key is an error."""
    ids = UniqueIds(id_col)
    with open_text(path) as f:
        for line, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise InputError(f"malformed JSON: {e.msg} (column {e.colno})", path=str(path),
                                 line=line) from None
            if not isinstance(obj, dict):
                raise InputError(f"each line must be a JSON object, got {type(obj).__name__}",
                                 path=str(path), line=line)
            for key in (id_col, text_col):
                if key not in obj:
                    have = ", ".join(repr(k) for k in obj) or "(none)"
                    raise InputError(f"key {key!r} missing; the keys on this line are: {have}",
                                     path=str(path), line=line, field=key)
            rid = clean_id(obj.pop(id_col), path=path, line=line, field=id_col)
            ids.add(rid, path=path, line=line)
            text = clean_text(obj.pop(text_col), path=path, line=line, field=text_col)
            yield make_report(rid, text, {k: jsonable(v) for k, v in obj.items()}, "jsonl")
