"""Report text as HTML: section headers, and each label's evidence span in a <mark>.

Everything from the report is HTML-escaped; only our own tags are emitted. Spans are found
case-insensitively in the original text; overlapping spans merge into one mark whose
tooltip names every class. Spans that cannot be found are returned so the app can say so
(an evidence quote that is not in the report is itself a label problem).
"""
from __future__ import annotations

import html
import re

from radlabel.sections import split_sections

STATE_COLOURS = {"present": "#f8d7da", "absent": "#d1e7dd", "uncertain": "#fff3cd",
                 "not_mentioned": "#e9ecef"}


def find_span(text: str, span: str) -> tuple[int, int] | None:
    """Offsets of the evidence in the text; whitespace differences are tolerated."""
    span = span.strip()
    if not span:
        return None
    i = text.lower().find(span.lower())
    if i >= 0:
        return i, i + len(span)
    pattern = r"\s+".join(re.escape(w) for w in span.split())
    m = re.search(pattern, text, re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def evidence_intervals(text: str, evidence: dict[str, str]
                       ) -> tuple[list[tuple[int, int, list[str]]], list[str]]:
    """Merged (start, end, classes) intervals, and the classes whose span was not found."""
    raw, missing = [], []
    for cls, span in evidence.items():
        where = find_span(text, span)
        if where is None:
            missing.append(cls)
        else:
            raw.append((where[0], where[1], cls))
    raw.sort()
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, cls in raw:
        if merged and start < merged[-1][1]:
            s, e, names = merged[-1]
            merged[-1] = (s, max(e, end), names + [cls])
        else:
            merged.append((start, end, [cls]))
    return merged, missing


def _marked(text: str, start: int, end: int, intervals, labels: dict[str, str],
            focus: str | None) -> str:
    out, pos = [], start
    for s, e, names in intervals:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s]))
        state = labels.get(names[0], "present")
        tip = ", ".join(f"{n}: {labels.get(n, '?')}" for n in names)
        style = f"background:{STATE_COLOURS.get(state, '#fff3cd')};"
        if focus in names:
            style += "outline:2px solid #0d6efd;"
        out.append(f'<mark title="{html.escape(tip)}" style="{style}">'
                   f"{html.escape(text[s:e])}</mark>")
        pos = e
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def report_html(text: str, evidence: dict[str, str], labels: dict[str, str],
                focus: str | None = None) -> tuple[str, list[str]]:
    """(HTML of the report with section headers and marks, classes with unfound evidence)."""
    intervals, missing = evidence_intervals(text, evidence)
    parts = []
    for sec in split_sections(text) or []:
        body = _marked(text, sec.start, sec.end, intervals, labels, focus).strip()
        head = "" if sec.name == "BODY" else (
            f'<div style="font-weight:700;font-size:0.8em;letter-spacing:0.05em;'
            f'color:#555;margin-top:0.6em">{html.escape(sec.name)}</div>')
        parts.append(f'{head}<div style="white-space:pre-wrap">{body}</div>')
    if not parts:
        parts.append('<div style="color:#888">(empty report)</div>')
    return '<div class="radlabel-report">' + "".join(parts) + "</div>", missing
