"""MIMIC-III NOTEEVENTS.csv: the radiology notes only, streamed (the file is several GB).

Keeps rows whose CATEGORY is "Radiology" (trimmed, any case) and whose ISERROR is not set;
id = ROW_ID. Text is kept verbatim, including the `[** ... **]` de-identification placeholders.
Column names are matched case-insensitively (the MIMIC-III demo uses lower case).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterator

from radlabel.data.common import UniqueIds, clean_id, find_column
from radlabel.data.csvrows import CsvTable
from radlabel.data.report import make_report
from radlabel.errors import InputError
from radlabel.schema import Report

RADIOLOGY = "radiology"
# Optional columns copied into meta, under their MIMIC-III (upper-case) names.
META_COLUMNS = ("SUBJECT_ID", "HADM_ID", "CHARTDATE", "CHARTTIME")


def is_error_flag(value: str) -> bool:
    """ISERROR is "1" on notes a physician marked as erroneous, empty otherwise."""
    return value.strip() not in ("", "0")


def iter_mimic_reports(path: Path) -> Iterator[Report]:
    """meta: exam (DESCRIPTION), SUBJECT_ID, HADM_ID, CHARTDATE, CHARTTIME where present."""
    table = CsvTable(path)
    id_i, cat_i, text_i = (find_column(table.header, name, path=path, line=table.header_line)
                           for name in ("ROW_ID", "CATEGORY", "TEXT"))
    index = table.column_index()
    err_i = index.get("iserror")
    desc_i = index.get("description")
    meta_cols = [(name, index[name.lower()]) for name in META_COLUMNS if name.lower() in index]
    ids = UniqueIds(table.header[id_i])
    categories: Counter[str] = Counter()
    radiology = flagged = 0
    for line, row in table:
        category = row[cat_i].strip()
        if category.lower() != RADIOLOGY:
            categories[category] += 1
            continue
        radiology += 1
        if err_i is not None and is_error_flag(row[err_i]):
            flagged += 1
            continue
        rid = clean_id(row[id_i], path=path, line=line, field=table.header[id_i])
        ids.add(rid, path=path, line=line)
        meta = {"exam": row[desc_i].strip() if desc_i is not None else ""}
        meta.update((name, row[i]) for name, i in meta_cols)
        yield make_report(rid, row[text_i], meta, "mimic")
    if radiology == 0:
        seen = ", ".join(f"{c or '(empty)'} ({n})" for c, n in categories.most_common(8)) or "none"
        raise InputError(f"no Radiology notes in this file (CATEGORY values seen: {seen}); "
                         "radlabel reads only CATEGORY == 'Radiology' rows of NOTEEVENTS.csv",
                         path=str(path), field=table.header[cat_i])
    if radiology == flagged:
        raise InputError(f"all {radiology} Radiology notes are marked ISERROR; nothing to load",
                         path=str(path), field=table.header[err_i])
