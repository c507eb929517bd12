"""Parquet reports, read in record batches so big files stream.

Errors name the data row (1-based) where other formats name the line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from radlabel.data.common import UniqueIds, clean_id, clean_text, find_column, jsonable
from radlabel.data.report import make_report
from radlabel.errors import InputError
from radlabel.schema import Report

BATCH_ROWS = 4096


def iter_parquet_reports(path: Path, id_col: str = "id", text_col: str = "text") -> Iterator[Report]:
    """Other columns go into `Report.meta`; dates and decimals become JSON-friendly values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"not a readable Parquet file: {e}", path=str(path)) from None
    names = pf.schema_arrow.names
    id_name = names[find_column(names, id_col, path=path, line=None)]
    text_name = names[find_column(names, text_col, path=path, line=None)]
    ids = UniqueIds(id_name)
    row = 0
    try:
        batches = pf.iter_batches(batch_size=BATCH_ROWS)
        for batch in batches:
            for rec in batch.to_pylist():
                row += 1
                rid = clean_id(rec.pop(id_name), path=path, line=row, field=id_name)
                ids.add(rid, path=path, line=row)
                text = clean_text(rec.pop(text_name), path=path, line=row, field=text_name)
                yield make_report(rid, text, {k: jsonable(v) for k, v in rec.items()}, "parquet")
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"cannot read Parquet data after row {row}: {e}", path=str(path),
                         line=row + 1) from None
