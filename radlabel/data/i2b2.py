"""i2b2 2012 temporal-relations XML: the narrative text plus its EVENT mentions.

The released files are not well-formed XML (bare `&`, sometimes `<` in text), so a strict
parser refuses them. This reader pulls out <TEXT> and the EVENT tags with regular expressions
instead and unescapes entities itself.

Offsets: EVENT start/end are 0-based, end-exclusive character offsets into the <TEXT> content
exactly as stored, including the newline that opens the CDATA block (the first word of a file
has start="1"). Report.text therefore keeps that content verbatim, so
`text[start:end] == event["text"]`. Events whose span does not match their text (up to
whitespace) are listed in meta["offset_mismatches"] rather than silently shifted.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterable, Iterator

from radlabel.data.common import UniqueIds, read_text
from radlabel.data.report import make_report
from radlabel.errors import InputError
from radlabel.schema import Report

_TEXT_CDATA = re.compile(r"<TEXT>\s*<!\[CDATA\[(.*?)\]\]>\s*</TEXT>", re.S)
_TEXT_PLAIN = re.compile(r"<TEXT>(.*?)</TEXT>", re.S)
# Quoted attribute values may contain ">", so they are matched as whole strings.
_EVENT = re.compile(r"""<EVENT\b((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_ATTR = re.compile(r'([A-Za-z_][\w.-]*)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')', re.S)
EVENT_KEYS = ("id", "start", "end", "text", "type", "polarity", "modality")


def _line_of(source: str, pos: int) -> int:
    return source.count("\n", 0, pos) + 1


def _narrative(source: str, path: Path) -> tuple[str, int]:
    """The <TEXT> content and where the tags may start (after </TEXT>)."""
    m = _TEXT_CDATA.search(source)
    if m:
        return m.group(1), m.end()
    m = _TEXT_PLAIN.search(source)
    if m:  # no CDATA: entities in the text are escaped (or meant to be)
        return html.unescape(m.group(1)), m.end()
    raise InputError("no <TEXT>...</TEXT> element; not an i2b2 2012 file", path=str(path),
                     field="TEXT")


def _attributes(raw: str) -> dict[str, str]:
    return {m.group(1): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
            for m in _ATTR.finditer(raw)}


def _event(attrs: dict[str, str], path: Path, line: int) -> dict:
    for key in ("id", "start", "end"):
        if key not in attrs:
            raise InputError(f"EVENT has no {key!r} attribute", path=str(path), line=line,
                             field=key)
    event = {key: attrs.get(key, "") for key in EVENT_KEYS}
    for key in ("start", "end"):
        try:
            event[key] = int(attrs[key])
        except ValueError:
            raise InputError(f"EVENT {attrs['id']} {key}={attrs[key]!r} is not an integer",
                             path=str(path), line=line, field=key) from None
    return event


def _spans_match(text: str, event: dict) -> bool:
    start, end = event["start"], event["end"]
    if not 0 <= start <= end <= len(text):
        return False
    return text[start:end].split() == event["text"].split()


def read_i2b2_file(path: Path) -> Report:
    """One file -> one Report; id = file stem; meta["events"] = the EVENT tags in file order."""
    source = read_text(path)
    text, tags_from = _narrative(source, path)
    events = []
    for m in _EVENT.finditer(source, tags_from):
        events.append(_event(_attributes(m.group(1)), path, _line_of(source, m.start())))
    mismatches = [e["id"] for e in events if not _spans_match(text, e)]
    meta = {"events": events, "offset_mismatches": mismatches}
    return make_report(path.stem, text, meta, "i2b2")


def iter_i2b2_reports(files: Iterable[Path]) -> Iterator[Report]:
    ids = UniqueIds("id")
    for path in files:
        report = read_i2b2_file(path)
        ids.add(report.id, path=path, line=None)
        yield report
