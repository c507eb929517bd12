"""Open-i / Indiana University chest X-ray reports, in both forms they are shared in.

(a) `indiana_reports.csv`: uid, MeSH, Problems, image, indication, comparison, findings,
    impression. id = uid.
(b) NLM's `ecgen-radiology` XML: one <eCitation> per file (a file wrapping several is read
    too); id = <uId id="CXR1">, sections from <AbstractText Label="...">.

Both build the same text, "INDICATION: ...\\nCOMPARISON: ...\\nFINDINGS: ...\\nIMPRESSION: ...",
leaving out empty parts, so one report reads the same whichever form it came from. `XXXX`
de-identification placeholders are kept verbatim.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable, Iterator

from radlabel.data.common import UniqueIds, clean_id, find_column, read_text
from radlabel.data.csvrows import CsvTable
from radlabel.data.report import make_report
from radlabel.errors import InputError
from radlabel.schema import Report

PARTS = ("INDICATION", "COMPARISON", "FINDINGS", "IMPRESSION")


def build_text(parts: dict[str, str]) -> str:
    """Join the non-empty parts in a fixed order under upper-case headers."""
    lines = []
    for name in PARTS:
        value = " ".join((parts.get(name) or "").split())
        if value:
            lines.append(f"{name}: {value}")
    return "\n".join(lines)


def iter_openi_csv_reports(path: Path) -> Iterator[Report]:
    """meta: exam (the `image` column), MeSH, Problems."""
    table = CsvTable(path)
    uid_i = find_column(table.header, "uid", path=path, line=table.header_line)
    part_i = {name: find_column(table.header, name.lower(), path=path, line=table.header_line)
              for name in ("FINDINGS", "IMPRESSION")}
    index = table.column_index()
    part_i.update({name: index[name.lower()] for name in ("INDICATION", "COMPARISON")
                   if name.lower() in index})
    meta_i = {key: index[key.lower()] for key in ("MeSH", "Problems") if key.lower() in index}
    image_i = index.get("image")
    ids = UniqueIds(table.header[uid_i])
    for line, row in table:
        rid = clean_id(row[uid_i], path=path, line=line, field=table.header[uid_i])
        ids.add(rid, path=path, line=line)
        meta = {"exam": row[image_i].strip() if image_i is not None else ""}
        meta.update((key, row[i]) for key, i in meta_i.items())
        text = build_text({name: row[i] for name, i in part_i.items()})
        yield make_report(rid, text, meta, "openi-csv")


def _citations(root: ET.Element) -> list[ET.Element]:
    if root.tag == "eCitation":
        return [root]
    return root.findall(".//eCitation")


def _citation_report(cit: ET.Element, path: Path) -> tuple[str, Report]:
    uid = cit.find("uId")
    if uid is None or not (uid.get("id") or "").strip():
        raise InputError("<eCitation> has no <uId id=...>", path=str(path), field="uId")
    rid = clean_id(uid.get("id"), path=path, line=None, field="uId")
    parts: dict[str, str] = {}
    for node in cit.iter("AbstractText"):
        label = (node.get("Label") or "").strip().upper()
        if label in PARTS:
            parts[label] = "".join(node.itertext())
    images = cit.findall("parentImage")
    captions = [" ".join((img.findtext("caption") or "").split()) for img in images]
    meta = {
        "exam": next((c for c in captions if c), ""),
        "images": [img.get("id", "") for img in images],
        "mesh_major": [" ".join(m.itertext()).strip() for m in cit.findall("MeSH/major")],
        "mesh_automatic": [" ".join(m.itertext()).strip() for m in cit.findall("MeSH/automatic")],
    }
    return rid, make_report(rid, build_text(parts), meta, "openi-xml")


def iter_openi_xml_reports(files: Iterable[Path]) -> Iterator[Report]:
    """meta: exam (first image caption), images (parentImage ids), mesh_major, mesh_automatic."""
    ids = UniqueIds("uId")
    for path in files:
        text = read_text(path)
        try:
            root = ET.fromstring(text)
        except ET.ParseError as e:
            line = e.position[0] if e.position else None
            raise InputError(f"malformed XML: {e}", path=str(path), line=line) from None
        citations = _citations(root)
        if not citations:
            raise InputError(f"no <eCitation> element (root is <{root.tag}>); not an Open-i "
                             "ecgen-radiology file", path=str(path))
        for cit in citations:
            rid, report = _citation_report(cit, path)
            ids.add(rid, path=path, line=None)
            yield report
