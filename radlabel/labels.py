"""The label-record contract: the one reader, writer and gold loader of label JSONL files.

A label line is ``{"id", "labels": {class: state}, "evidence"?: {class: span}, "text"?,
"meta"?: {"status", "source", "round", ...}}`` (`radlabel.schema.LabelRecord`); every verb
(`label`, `train`, `index reports`, `review` import/export, `evaluate`, `analyze`, `feedback`,
`loop`, `compile`) reads and writes label files through this module, so a file means the same
to all of them. The rules, stated once:

* **Provenance.** A record's source is the role its file is given in (``source=``: a ``--gold``
  file is gold, ``index reports --source X`` is X), else ``meta.source``, else **pseudo**: a
  record without ``meta`` (or without ``meta.source``) is a pseudo-label, whatever verb reads
  it. Sources are ranked ``gold > reviewed > pseudo > classifier`` (`SOURCE_RANK`); where two
  files label the same report, the higher source wins, and among equals the later file.
* **Failed records** (``meta.status == "failed"``) carry no labels. An ok record for an id is
  never erased by a failed one, earlier or later: a failed line only stands for an id that has
  no ok line (it is retried on the next run; `evaluate` counts it as failed). Among failed lines
  the latest one is kept (its error is the newest).
* **Duplicate ids.** One ok record per id and file. A second ok record for an id is an error
  naming both lines, in every verb: two different labelings of one report in one file are
  ambiguous, and silently keeping either would hide it. `radlabel label` never writes one (a
  resumed run appends only ids not yet done, a retry of a failed id replaces the failed line);
  corrections go in their own file, which the source precedence then merges.
* **Torn tail.** A last line without its newline that does not parse is a write cut off by a
  kill: label files skip it (the id is labelled again on resume); gold files do not.

Reading is strict (the first problem raises `InputError` naming file, line and field) or
collecting (`read_label_file(strict=False)`: every problem is listed, bad lines are left out;
`review` import refuses the whole file if there is any). Writing validates every record and is
atomic (`write_labels`) or append-only with fsync (`LabelAppender`).

Gold sets are label files in the gold role: `load_gold` reads one into a `GoldSet`, with the
shape detected per file (four-state ``present|absent|uncertain|not_mentioned``, or
positives-only 0/1 like the IU gold, where 0 means "not coded", not "stated absent").
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from pydantic import ValidationError

from radlabel.errors import InputError
from radlabel.jsonl import AppendOnlyJsonl, iter_jsonl, write_jsonl_atomic
from radlabel.ontology import Ontology
from radlabel.schema import STATES, LabelRecord

# -- provenance ---------------------------------------------------------------------------------

SOURCES: tuple[str, ...] = ("gold", "reviewed", "pseudo", "classifier")
SOURCE_RANK: dict[str, int] = {"gold": 3, "reviewed": 2, "pseudo": 1, "classifier": 0}
TRUSTED_SOURCES = frozenset({"gold", "reviewed"})
DEFAULT_SOURCE = "pseudo"

# -- states -------------------------------------------------------------------------------------

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


# -- problems -----------------------------------------------------------------------------------

@dataclass
class Problem:
    """One thing wrong in an input file, where it is and what is wrong."""

    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        return where + (f" [{self.field}]" if self.field else "") + f": {self.message}"

    def error(self) -> InputError:
        return InputError(self.message, path=self.path, line=self.line, field=self.field)

    @classmethod
    def of(cls, err: InputError) -> "Problem":
        message = str(err)
        if err.path is not None or err.field is not None:
            message = message.split(": ", 1)[-1]
        return cls(str(err.path) if err.path is not None else "", err.line, err.field, message)


# -- reading ------------------------------------------------------------------------------------

@dataclass
class LabelFile:
    """What one label file holds, read by the rules above."""

    path: str
    records: dict[str, LabelRecord] = field(default_factory=dict)  # ok records, in file order
    failed: dict[str, LabelRecord] = field(default_factory=dict)   # ids with only failed lines
    lines: dict[str, int] = field(default_factory=dict)            # id -> line of the kept record
    problems: list[Problem] = field(default_factory=list)          # collecting mode only

    def all_records(self) -> dict[str, LabelRecord]:
        """Ok and failed records together (an id is in one or the other, never both)."""
        return {**self.failed, **self.records}


def record_text(rec: LabelRecord) -> str | None:
    """The report text a label line carries, if any."""
    t = (rec.model_extra or {}).get("text")
    return t if isinstance(t, str) else None


def record_texts(records: dict[str, LabelRecord]) -> dict[str, str]:
    """id -> text for the records that carry one."""
    return {rid: t for rid, rec in records.items() if (t := record_text(rec)) is not None}


def record_round(rec: LabelRecord) -> int:
    """The labelling round a record was made in (``meta.round``, 0 if unset)."""
    return int((rec.meta.model_extra or {}).get("round") or 0)


class _Line:
    """Checks of one line; each problem goes to `report`, which raises in strict mode."""

    def __init__(self, path: str, no: int, report: Callable[[Problem], None]):
        self.path, self.no, self._report, self.bad = path, no, report, False

    def problem(self, fld: str | None, message: str) -> None:
        self.bad = True
        self._report(Problem(self.path, self.no, fld, message))


def _class(name: str, ontology: Ontology | None, ln: _Line, fld: str) -> str | None:
    if ontology is None:
        return name
    resolved = ontology.resolve(name)
    if resolved is None:
        ln.problem(fld, f"unknown class {name!r} (not in {ontology.source})")
    return resolved


def _parse_line(obj: dict, ln: _Line, ontology: Ontology | None,
                source: str | None) -> LabelRecord | None:
    """One JSON object -> a LabelRecord, or None after reporting what is wrong with it."""
    rid = obj.get("id")
    if isinstance(rid, bool) or not isinstance(rid, (str, int)) or str(rid).strip() == "":
        ln.problem("id", "missing 'id' (a non-empty string is expected)")
        return None
    rid = str(rid)
    meta = obj.get("meta")
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        ln.problem("meta", "'meta' must be an object")
        return None
    meta = dict(meta)
    status = meta.get("status", "ok")
    if status not in ("ok", "failed"):
        ln.problem("meta.status", f"unknown status {status!r} (expected ok or failed)")
        return None
    src = source or meta.get("source") or DEFAULT_SOURCE
    if src not in SOURCES:
        ln.problem("meta.source", f"unknown source {src!r} (expected {', '.join(SOURCES)})")
        return None
    meta["source"] = src
    if meta.get("round") is not None:
        try:
            meta["round"] = int(meta["round"])
        except (TypeError, ValueError):
            ln.problem("meta.round", "'meta.round' must be an integer")
            return None
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        ln.problem("text", "'text' must be a string")
    labels: dict[str, str] = {}
    evidence: dict[str, str] = {}
    if status == "ok":
        raw = obj.get("labels")
        if not isinstance(raw, dict):
            ln.problem("labels", "'labels' must be an object of class: state")
            return None
        for cls, value in raw.items():
            name = _class(cls, ontology, ln, f"labels.{cls}")
            try:
                state = parse_state(value, path=ln.path, line=ln.no, field=f"labels.{cls}")
            except InputError as e:
                ln.problem(f"labels.{cls}", str(e).split(": ", 1)[-1])
                continue
            if name is not None:
                labels[name] = state
        ev = obj.get("evidence")
        ev = {} if ev is None else ev
        if not isinstance(ev, dict):
            ln.problem("evidence", "'evidence' must be an object of class: span")
        else:
            for cls, span in ev.items():
                name = _class(cls, ontology, ln, f"evidence.{cls}")
                if span is not None and not isinstance(span, str):
                    ln.problem(f"evidence.{cls}", "evidence must be a string")
                elif name is not None and span:
                    evidence[name] = span
    if ln.bad:
        return None
    try:
        return LabelRecord.model_validate(dict(obj, id=rid, labels=labels, evidence=evidence, meta=meta))
    except ValidationError as e:
        err = e.errors()[0]
        ln.problem(".".join(str(x) for x in err["loc"]) or None, f"invalid record: {err['msg']}")
        return None


def _scan(path: str, ontology: Ontology | None, source: str | None, report: Callable[[Problem], None],
          skip_torn_tail: bool) -> Iterator[tuple[str, int, LabelRecord]]:
    """("ok" | "failed", line, record) for each line that counts, by the failed-record and
    duplicate-id rules; streams (only the ids seen so far are kept)."""
    if source is not None and source not in SOURCES:
        raise InputError(f"unknown source {source!r} (expected {', '.join(SOURCES)})", field="source")
    ok_line: dict[str, int] = {}
    for no, obj in iter_jsonl(path, skip_torn_tail=skip_torn_tail,
                              on_error=None if report is _raise else (lambda e: report(Problem.of(e)))):
        ln = _Line(path, no, report)
        rec = _parse_line(obj, ln, ontology, source)
        if rec is None:
            continue
        if not rec.ok:
            if rec.id not in ok_line:  # an ok record is never erased by a failed one
                yield "failed", no, rec
        elif rec.id in ok_line:
            ln.problem("id", f"duplicate id {rec.id!r} (first at line {ok_line[rec.id]}); one "
                             "record per id: put corrections in a file of their own")
        else:
            ok_line[rec.id] = no
            yield "ok", no, rec


def _raise(problem: Problem) -> None:
    raise problem.error()


def read_label_file(path: str | Path, ontology: Ontology | None = None, *, source: str | None = None,
                    strict: bool = True, skip_torn_tail: bool = True) -> LabelFile:
    """Read a label JSONL by the module's rules.

    `ontology` resolves class names (None keeps them as written); `source` is the file's role
    (overrides ``meta.source``). Strict: the first problem raises `InputError` (file:line
    [field]). Collecting (``strict=False``): every problem is in ``.problems`` and each bad line
    is left out.
    """
    out = LabelFile(str(path))
    report = _raise if strict else out.problems.append
    for kind, no, rec in _scan(out.path, ontology, source, report, skip_torn_tail):
        if kind == "failed":
            out.failed[rec.id] = rec
        else:
            out.failed.pop(rec.id, None)
            out.records[rec.id] = rec
        out.lines[rec.id] = no
    return out


def read_labels(path: str | Path, ontology: Ontology | None = None, *, source: str | None = None,
                keep_failed: bool = False, require: bool = False) -> dict[str, LabelRecord]:
    """Strict read: {id: record} of the ok records (plus failed ids with `keep_failed`).

    `require` makes a file with no ok record an error (a verb that needs labels to work on).
    """
    f = read_label_file(path, ontology, source=source)
    if require and not f.records:
        raise InputError("no usable label record (all failed or file empty)", path=str(path))
    return f.all_records() if keep_failed else f.records


def merge_labels(files: Iterable[dict[str, LabelRecord]]) -> dict[str, LabelRecord]:
    """Records of several files: per id the higher source wins (`SOURCE_RANK`), among equals
    the later file."""
    merged: dict[str, LabelRecord] = {}
    for recs in files:
        for rid, rec in recs.items():
            prev = merged.get(rid)
            if prev is None or SOURCE_RANK[rec.meta.source] >= SOURCE_RANK[prev.meta.source]:
                merged[rid] = rec
    return merged


def done_ids(path: str | Path) -> set[str]:
    """Ids with an ok record in a label output (what a resumed run skips); streams, keeping ids only."""
    if not Path(path).exists():
        return set()
    return {rec.id for kind, _, rec in _scan(str(path), None, None, _raise, True) if kind == "ok"}


# -- writing ------------------------------------------------------------------------------------

def label_line(rec: LabelRecord | dict) -> dict:
    """A record as the JSON object written for it; a dict is checked against the contract."""
    if isinstance(rec, LabelRecord):
        return rec.model_dump(mode="json")
    try:
        LabelRecord.model_validate(rec)
    except ValidationError as e:
        err = e.errors()[0]
        raise InputError(f"not a label record: {err['msg']}", field=".".join(map(str, err["loc"]))) from None
    return rec


def write_labels(path: str | Path, records: Iterable[LabelRecord | dict]) -> None:
    """Write a whole label file atomically (readers never see half of it); every record is
    checked before anything is written."""
    write_jsonl_atomic(path, [label_line(r) for r in records])


class LabelAppender(AppendOnlyJsonl):
    """Append label records durably, as the file's only writer (see `radlabel.jsonl`)."""

    def write(self, record: LabelRecord | dict) -> None:  # type: ignore[override]
        super().write(label_line(record))


# -- gold sets ----------------------------------------------------------------------------------

FOUR_STATE = "four_state"
POSITIVES_ONLY = "positives_only"
GOLD_KINDS = (FOUR_STATE, POSITIVES_ONLY)
_BINARY_STRINGS = {"0", "1", "true", "false"}


@dataclass(frozen=True)
class GoldReport:
    """One gold report; `labels` holds all classes of the ontology, as states."""

    id: str
    text: str | None
    labels: dict[str, str]


@dataclass
class GoldSet:
    """A validated gold file: its reports, its shape, and a hash that identifies it in manifests."""

    reports: list[GoldReport]
    kind: str
    hash: str
    source: str = ""
    ontology_hash: str = ""
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.reports)

    def __iter__(self):
        return iter(self.reports)

    @property
    def positives_only(self) -> bool:
        return self.kind == POSITIVES_ONLY

    def by_id(self) -> dict[str, GoldReport]:
        return {r.id: r for r in self.reports}

    def labels_by_id(self) -> dict[str, dict[str, str]]:
        return {r.id: r.labels for r in self.reports}

    def subset(self, reports: list[GoldReport], tag: str) -> "GoldSet":
        """A part of this set, hashed from the parent hash plus the ids it holds."""
        h = hashlib.sha256((self.hash + tag + "".join(r.id for r in reports)).encode()).hexdigest()
        return GoldSet(list(reports), self.kind, h[:16], f"{self.source}#{tag}",
                       self.ontology_hash, list(self.classes))

    def require_text(self) -> None:
        """Compiling or running a program needs the report text on every line."""
        for r in self.reports:
            if not r.text or not str(r.text).strip():
                raise InputError(f"gold report {r.id!r} has no text; compiling and --program "
                                 "runs need the report text", path=self.source, field="text")


def _value_kind(value) -> str:
    """Which gold shape a single raw value belongs to."""
    if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
        return POSITIVES_ONLY
    if isinstance(value, str) and value.strip().lower() in _BINARY_STRINGS:
        return POSITIVES_ONLY
    return FOUR_STATE


def gold_kind(path: str | Path) -> str:
    """positives-only when every value is 0/1; four-state otherwise; mixed files are errors."""
    kind, first_line = None, None
    for no, obj in iter_jsonl(path):
        labels = obj.get("labels")
        if not isinstance(labels, dict):
            continue  # the record reader reports this with its line number
        for cls, value in labels.items():
            k = _value_kind(value)
            if kind is None:
                kind, first_line = k, no
            elif k != kind:
                raise InputError(
                    f"mixes gold shapes: line {first_line} is {kind.replace('_', '-')} but this "
                    f"value {value!r} is {k.replace('_', '-')}; use one shape per file",
                    path=str(path), line=no, field=f"labels.{cls}")
    if kind is None:
        raise InputError("gold file has no labelled reports", path=str(path))
    return kind


def load_gold(path: str | Path, ontology: Ontology | None = None) -> GoldSet:
    """Read and validate a gold JSONL; every report gets a state for every ontology class.

    A gold file is a label file in the gold role: the same reader and rules, no torn tail
    skipped, and no failed records.
    """
    ontology = ontology if ontology is not None else Ontology.load(None)
    p = Path(path)
    kind = gold_kind(p)
    f = read_label_file(p, ontology, source="gold", skip_torn_tail=False)
    if f.failed:
        rid = next(iter(f.failed))
        raise InputError("a gold file holds no failed records", path=str(p), line=f.lines[rid],
                         field="meta.status")
    unlisted = "absent" if kind == POSITIVES_ONLY else "not_mentioned"
    reports = [GoldReport(rid, record_text(rec), {c: rec.labels.get(c, unlisted) for c in ontology.names})
               for rid, rec in f.records.items()]
    digest = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
    return GoldSet(reports, kind, digest, str(p), ontology.hash, list(ontology.names))


def split_gold(gold: GoldSet, n_compile: int, seed: int = 0) -> tuple[GoldSet, GoldSet]:
    """Deterministic split into (compile part, evaluation part); same seed, same split.

    Ids are shuffled with their own RNG so the split does not depend on file order.
    """
    if not 0 < n_compile < len(gold):
        raise InputError(f"n_compile must be between 1 and {len(gold) - 1} for a gold set of "
                         f"{len(gold)} reports", field="n_compile")
    order = sorted(gold.reports, key=lambda r: r.id)
    random.Random(seed).shuffle(order)
    chosen = {r.id for r in order[:n_compile]}
    comp = [r for r in gold.reports if r.id in chosen]
    rest = [r for r in gold.reports if r.id not in chosen]
    return gold.subset(comp, f"compile{n_compile}s{seed}"), gold.subset(rest, f"eval{n_compile}s{seed}")
