"""Plain CSV/TSV reports: one row per report, configurable id and text columns."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from radlabel.data.common import UniqueIds, clean_id, clean_text, find_column
from radlabel.data.csvrows import CsvTable
from radlabel.data.report import make_report
from radlabel.schema import Report


def iter_csv_reports(path: Path, id_col: str = "id", text_col: str = "text") -> Iterator[Report]:
    """Every column other than id and text goes into `Report.meta` under its header name."""
    table = CsvTable(path)
    id_i = find_column(table.header, id_col, path=path, line=table.header_line)
    text_i = find_column(table.header, text_col, path=path, line=table.header_line)
    id_name, text_name = table.header[id_i], table.header[text_i]
    others = [(i, h) for i, h in enumerate(table.header) if i not in (id_i, text_i)]
    ids = UniqueIds(id_name)
    for line, row in table:
        rid = clean_id(row[id_i], path=path, line=line, field=id_name)
        ids.add(rid, path=path, line=line)
        text = clean_text(row[text_i], path=path, line=line, field=text_name)
        yield make_report(rid, text, {h: row[i] for i, h in others}, "csv")
