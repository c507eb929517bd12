"""Guess a file's format from its extension and first bytes, so users rarely pass --format."""
from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

from radlabel.data.common import existing_path, xml_files
from radlabel.data.csvrows import delimiter_for
from radlabel.errors import InputError

FORMATS = ("csv", "jsonl", "parquet", "mimic", "openi-csv", "openi-xml", "i2b2")

MIMIC_COLUMNS = {"row_id", "category", "text"}
OPENI_COLUMNS = {"uid", "findings", "impression"}
_XML_PROLOG = re.compile(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", re.S)
_FIRST_TAG = re.compile(r"<\s*([A-Za-z_][\w.:-]*)")
_SNIFF_BYTES = 64 * 1024


def _head(path: Path, n: int = _SNIFF_BYTES) -> bytes:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read(n)
    except (gzip.BadGzipFile, EOFError, OSError) as e:
        raise InputError(f"cannot read: {e}", path=str(path)) from None


def xml_kind(path: Path) -> str:
    """openi-xml or i2b2, decided by the root element (and, for wrappers, its children)."""
    head = _head(path).decode("utf-8", "replace")
    body = _XML_PROLOG.sub("", head)
    m = _FIRST_TAG.search(body)
    root = m.group(1) if m else ""
    if root == "ClinicalNarrativeTemporalAnnotation":
        return "i2b2"
    if root == "eCitation" or "<eCitation" in body:  # also a wrapper holding several
        return "openi-xml"
    if "<TEXT>" in body:  # i2b2 layout (TEXT + TAGS children) under another root name
        return "i2b2"
    raise InputError(f"unrecognised XML (root <{root or '?'}>): expected <eCitation> (Open-i "
                     "ecgen-radiology) or <ClinicalNarrativeTemporalAnnotation> (i2b2 2012)",
                     path=str(path))


def csv_kind(path: Path) -> str:
    """mimic, openi-csv or csv, decided by the header row."""
    first = _head(path, 1 << 16).decode("utf-8-sig", "replace").splitlines()[:1]
    header = next(csv.reader(first, delimiter=delimiter_for(path)), [])
    columns = {h.strip().lower() for h in header}
    if MIMIC_COLUMNS <= columns:
        return "mimic"
    if OPENI_COLUMNS <= columns:
        return "openi-csv"
    return "csv"


def detect_format(path: str | Path, *, plain_columns: bool = False) -> str:
    """One of FORMATS. `plain_columns` (the caller chose id/text columns) forces plain CSV
    over the MIMIC/Open-i readings of a header."""
    p = existing_path(path)
    if p.is_dir():
        return xml_kind(xml_files(p)[0])
    name = p.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".xml"):
        return xml_kind(p)
    if name.endswith((".csv", ".tsv", ".tab")):
        return "csv" if plain_columns else csv_kind(p)
    head = _head(p, 4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    start = head.lstrip()[:1]
    if start == b"{":
        return "jsonl"
    if start == b"<":
        return xml_kind(p)
    return "csv" if plain_columns else csv_kind(p)
