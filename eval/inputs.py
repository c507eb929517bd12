"""Reading what analyze and loop take: label records, report texts and gold, with located errors."""
from __future__ import annotations

from pathlib import Path

from radlabel.errors import InputError
from radlabel.labelsets import read_gold, read_label_records
from radlabel.ontology import Ontology
from radlabel.schema import LabelRecord


def load_texts(reports: str | Path | None, records: dict[str, LabelRecord] | None = None) -> dict[str, str]:
    """id -> text from a reports file (any loader format), else from the records' 'text' field."""
    texts: dict[str, str] = {}
    for rid, rec in (records or {}).items():
        t = (rec.model_extra or {}).get("text")
        if isinstance(t, str):
            texts[rid] = t
    if reports is not None:
        if not Path(reports).exists():
            raise InputError("reports file not found", path=str(reports))
        from radlabel.training.data import load_report_texts

        texts.update(load_report_texts(reports))
    return texts


def load_labels(path: str | Path, ontology: Ontology) -> dict[str, LabelRecord]:
    if not Path(path).exists():
        raise InputError("labels file not found", path=str(path))
    records = read_label_records(path, ontology)
    if not records:
        raise InputError("no usable label record (all failed or file empty)", path=str(path))
    return records


def load_gold(path: str | Path | None, ontology: Ontology) -> dict[str, dict]:
    if path is None:
        return {}
    if not Path(path).exists():
        raise InputError("gold file not found", path=str(path))
    return read_gold(path, ontology)


def gold_as_records(gold: dict[str, dict], *, source: str = "gold", round: int = 0) -> dict[str, LabelRecord]:
    """Gold entries as label records with provenance (text kept when the gold line has it)."""
    from radlabel.schema import LabelMeta

    out = {}
    for rid, g in gold.items():
        extra = {"text": g["text"]} if g.get("text") else {}
        out[rid] = LabelRecord(id=rid, labels=dict(g["labels"]),
                               meta=LabelMeta(model="", program="", source=source, round=round), **extra)
    return out
