"""Reading label files: pseudo-labels from `radlabel label`/`predict`, and gold sets.

Gold comes in two shapes: four-state labels (``present|absent|uncertain|not_mentioned``) or
positives-only 0/1 like the IU gold, where 0 means "not coded", not "stated absent". Both are
read into ``{class: state}`` with the class names resolved against an ontology.
"""
from __future__ import annotations

from pathlib import Path

from radlabel.errors import InputError
from radlabel.jsonl import iter_jsonl
from radlabel.ontology import Ontology
from radlabel.schema import STATES, LabelRecord

VALUE_MAP = {
    "present": "present", "positive": "present", "1": "present", "true": "present",
    "absent": "absent", "negative": "absent", "0": "absent", "false": "absent",
    "uncertain": "uncertain", "-1": "uncertain",
    "not_mentioned": "not_mentioned", "": "not_mentioned", "none": "not_mentioned",
    "null": "not_mentioned",
}


def parse_state(value, *, path=None, line=None, field=None) -> str:
    """Map 1/0/-1/True/"present"/... to one of the four states, or raise InputError."""
    if value is None:
        return "not_mentioned"
    if isinstance(value, bool):
        key = "true" if value else "false"
    elif isinstance(value, (int, float)):
        key = {1: "1", 0: "0", -1: "-1"}.get(value)
        if key is None:
            raise InputError(f"label value {value!r} is not 1, 0 or -1", path=path, line=line,
                             field=field)
    else:
        key = str(value).strip().lower()
    state = VALUE_MAP.get(key)
    if state is None:
        raise InputError(f"unknown state {value!r} (expected one of {', '.join(STATES)})",
                         path=path, line=line, field=field)
    return state


def resolve_labels(labels, ontology: Ontology | None, *, path=None, line=None) -> dict[str, str]:
    """A record's ``labels`` object -> {canonical class: state}; errors name file, line, field.

    With no ontology, class names are kept as written.
    """
    if not isinstance(labels, dict):
        raise InputError("'labels' must be an object of class: state", path=path, line=line,
                         field="labels")
    out = {}
    for cls, val in labels.items():
        name = cls
        if ontology is not None:
            name = ontology.resolve(cls)
            if name is None:
                raise InputError(f"unknown class {cls!r} (not in {ontology.source})", path=path,
                                 line=line, field=f"labels.{cls}")
        out[name] = parse_state(val, path=path, line=line, field=f"labels.{cls}")
    return out


def read_label_records(path: str | Path, ontology: Ontology | None = None,
                       *, keep_failed: bool = False) -> dict[str, LabelRecord]:
    """Read a labels JSONL; a later line for the same id wins (resumed runs append)."""
    out: dict[str, LabelRecord] = {}
    for no, obj in iter_jsonl(path, skip_torn_tail=True):
        if "id" not in obj:
            raise InputError("missing 'id'", path=str(path), line=no, field="id")
        norm = resolve_labels(obj.get("labels") or {}, ontology, path=str(path), line=no)
        obj = dict(obj, id=str(obj["id"]), labels=norm)
        try:
            rec = LabelRecord.model_validate(obj)
        except Exception as e:  # pydantic error -> one clear line
            raise InputError(f"invalid record: {e.errors()[0]['msg'] if hasattr(e, 'errors') else e}",
                             path=str(path), line=no) from None
        if rec.ok or keep_failed:
            out[rec.id] = rec
        else:
            out.pop(rec.id, None)
    return out


def read_gold(path: str | Path, ontology: Ontology) -> dict[str, dict]:
    """Gold JSONL -> {id: {"text": str|None, "labels": {class: state}, "terms": [...]}}."""
    out: dict[str, dict] = {}
    for no, obj in iter_jsonl(path):
        if "id" not in obj:
            raise InputError("missing 'id'", path=str(path), line=no, field="id")
        gid = str(obj["id"])
        if gid in out:
            raise InputError(f"duplicate id {gid!r}", path=str(path), line=no, field="id")
        norm = resolve_labels(obj.get("labels"), ontology, path=str(path), line=no)
        out[gid] = {"text": obj.get("text"), "labels": norm, "terms": obj.get("terms"),
                    "split": obj.get("split")}
    return out
