"""Load radiology reports from the formats they are shared in, as `radlabel.schema.Report`s.

    from radlabel.data import load_reports
    reports = load_reports("NOTEEVENTS.csv.gz")            # format detected: "mimic"
    reports = load_reports("notes.csv", id_col="accession", text_col="report")

`iter_reports` streams (nothing but the ids seen so far is kept), for files too big to hold.
Formats: csv (also .tsv), jsonl, parquet, mimic (MIMIC-III NOTEEVENTS), openi-csv
(indiana_reports.csv), openi-xml (ecgen-radiology; a file or a directory), i2b2 (2012
temporal relations; a file or a directory). .csv/.jsonl files may be gzipped.
Bad input raises one `radlabel.errors.InputError` naming the file, line and field.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from radlabel.data.common import existing_path, xml_files
from radlabel.data.csv_reports import iter_csv_reports
from radlabel.data.detect import FORMATS, detect_format
from radlabel.data.i2b2 import iter_i2b2_reports
from radlabel.data.jsonl_reports import iter_jsonl_reports
from radlabel.data.mimic import iter_mimic_reports
from radlabel.data.openi import iter_openi_csv_reports, iter_openi_xml_reports
from radlabel.data.parquet_reports import iter_parquet_reports
from radlabel.errors import InputError
from radlabel.schema import Report

__all__ = ["FORMATS", "detect_format", "iter_reports", "load_reports", "load_texts"]

DEFAULT_ID_COL, DEFAULT_TEXT_COL = "id", "text"

# Readers by format: tabular ones take id/text columns; XML ones a list of files (a directory).
_TABULAR = {"csv": iter_csv_reports, "jsonl": iter_jsonl_reports, "parquet": iter_parquet_reports}
_FIXED_FIELDS = {"mimic": iter_mimic_reports, "openi-csv": iter_openi_csv_reports}
_XML = {"openi-xml": iter_openi_xml_reports, "i2b2": iter_i2b2_reports}


def iter_reports(path: str | Path, fmt: str | None = None, id_col: str = DEFAULT_ID_COL,
                 text_col: str = DEFAULT_TEXT_COL) -> Iterator[Report]:
    """Stream the reports of `path`. The file and format are checked now; rows as you iterate.

    `id_col`/`text_col` apply to csv, jsonl and parquet; the other formats have fixed fields.
    Choosing them also makes detection read a .csv as plain CSV.
    """
    p = existing_path(path)
    if fmt is None:
        chosen = (id_col, text_col) != (DEFAULT_ID_COL, DEFAULT_TEXT_COL)
        fmt = detect_format(p, plain_columns=chosen)
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}",
                         path=str(p), field="format")
    if fmt in _XML:
        return _XML[fmt](xml_files(p) if p.is_dir() else [p])
    if p.is_dir():
        raise InputError(f"is a directory; format {fmt!r} reads one file (directories of .xml "
                         "files are read as openi-xml or i2b2)", path=str(p))
    if fmt in _TABULAR:
        return _TABULAR[fmt](p, id_col, text_col)
    return _FIXED_FIELDS[fmt](p)


def load_reports(path: str | Path, fmt: str | None = None, id_col: str = DEFAULT_ID_COL,
                 text_col: str = DEFAULT_TEXT_COL) -> list[Report]:
    """All reports of `path` as a list (see `iter_reports`). Empty text is kept as ""."""
    return list(iter_reports(path, fmt=fmt, id_col=id_col, text_col=text_col))


def load_texts(path: str | Path, fmt: str | None = None, id_col: str = DEFAULT_ID_COL,
               text_col: str = DEFAULT_TEXT_COL) -> dict[str, str]:
    """id -> report text for every report of `path` (see `iter_reports`)."""
    return {r.id: r.text for r in iter_reports(path, fmt=fmt, id_col=id_col, text_col=text_col)}
