"""Building a Report the same way in every loader."""
from __future__ import annotations

from radlabel.data.common import section_names
from radlabel.schema import Report


def make_report(report_id: str, text: str, meta: dict, fmt: str) -> Report:
    """Source fields win over the derived `format` and `sections` keys if both exist."""
    meta.setdefault("format", fmt)
    meta.setdefault("sections", section_names(text))
    return Report(id=report_id, text=text, meta=meta)
