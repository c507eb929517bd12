"""Report loaders: every format reads its fixture (tests/support/fixtures/reports, written for radlabel)."""
from __future__ import annotations

import gzip
import itertools
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from radlabel.data import FORMATS, detect_format, iter_reports, load_reports
from radlabel.data.cli import register
from radlabel.errors import InputError
from radlabel.schema import Report
from support.paths import FIXTURES

FIX = FIXTURES / "reports"


def by_id(reports: list[Report]) -> dict[str, Report]:
    return {r.id: r for r in reports}


# --- plain CSV / JSONL / Parquet ---------------------------------------------------------------

def test_csv_reads_ids_text_and_other_columns_as_meta():
    reports = load_reports(FIX / "reports.csv")
    assert [r.id for r in reports] == ["acc-1001", "acc-1002", "acc-1003", "acc-1004", "acc-1005"]
    r2 = reports[1]
    assert r2.meta["site"] == "north" and r2.meta["modality"] == "CR"
    assert r2.meta["format"] == "csv"
    assert r2.meta["sections"] == ["INDICATION", "FINDINGS", "IMPRESSION"]
    # a quoted multi-line field keeps its newlines, including the blank line
    assert "Small right pleural effusion.\n\nIMPRESSION: Right lower lobe" in r2.text
    # doubled quotes inside a quoted field are unescaped
    assert 'congestion, "possibly" early edema' in reports[2].text
    assert reports[4].meta["sections"] == ["BODY"]


def test_csv_empty_text_is_kept_as_empty_report():
    r = by_id(load_reports(FIX / "reports.csv"))["acc-1004"]
    assert r.text == "" and r.meta["sections"] == []


def test_csv_custom_columns_tsv_and_gzip(tmp_path):
    tsv = tmp_path / "notes.tsv.gz"
    with gzip.open(tsv, "wt", encoding="utf-8", newline="") as f:
        f.write("Accession\tReport\tward\nA1\tFINDINGS: Clear lungs.\t4B\nA2\tIMPRESSION: Small effusion.\t5C\n")
    reports = load_reports(tsv, id_col="Accession", text_col="Report")
    assert [(r.id, r.text, r.meta["ward"]) for r in reports] == [
        ("A1", "FINDINGS: Clear lungs.", "4B"), ("A2", "IMPRESSION: Small effusion.", "5C")]


def test_csv_columns_match_case_insensitively_when_unambiguous(tmp_path):
    p = tmp_path / "upper.csv"
    p.write_text("ID,TEXT\nx1,No acute disease.\n", encoding="utf-8")
    assert [(r.id, r.text) for r in load_reports(p)] == [("x1", "No acute disease.")]


def test_csv_with_byte_order_mark_and_crlf(tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes("\ufeffid,text\r\nb1,\"Line one.\r\nLine two.\"\r\n".encode("utf-8"))
    [r] = load_reports(p)
    assert r.id == "b1" and r.text == "Line one.\r\nLine two."


def test_jsonl_reads_ids_text_meta_and_skips_blank_lines():
    reports = load_reports(FIX / "reports.jsonl")
    assert [r.id for r in reports] == ["r-01", "2", "r-03", "r-04"]  # numeric id -> "2"
    r1, _, r3, r4 = reports
    assert r1.meta["views"] == ["PA", "LAT"] and r1.meta["format"] == "jsonl"
    assert r3.meta["urgent"] is True and "thoracic spine — stable" in r3.text
    assert r4.text == ""  # null text kept as an empty report


def test_jsonl_gz_matches_plain(tmp_path):
    gz = tmp_path / "reports.jsonl.gz"
    gz.write_bytes(gzip.compress((FIX / "reports.jsonl").read_bytes()))
    assert load_reports(gz) == load_reports(FIX / "reports.jsonl")


def test_parquet_with_configured_columns_and_json_friendly_meta():
    reports = load_reports(FIX / "reports.parquet", id_col="accession", text_col="report")
    assert [r.id for r in reports] == ["7001", "7002", "7003", "7004"]
    assert reports[0].meta["study_date"] == "2021-05-03"
    assert reports[0].meta["site"] == "north" and "accession" not in reports[0].meta
    assert reports[3].text == "" and reports[3].meta["study_date"] is None
    json.dumps([r.model_dump() for r in reports])  # meta survives JSON output


def test_plain_formats_round_trip_the_same_reports(tmp_path):
    """The same reports written as JSONL and Parquet (by other tools) load identically."""
    original = load_reports(FIX / "reports.csv")
    rows = [{"id": r.id, "text": r.text, "site": r.meta["site"], "modality": r.meta["modality"]}
            for r in original]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "r.parquet")
    for name in ("r.jsonl", "r.parquet"):
        got = load_reports(tmp_path / name)
        assert [(r.id, r.text, r.meta["site"], r.meta["sections"]) for r in got] == \
            [(r.id, r.text, r.meta["site"], r.meta["sections"]) for r in original]


# --- MIMIC-III NOTEEVENTS -----------------------------------------------------------------------

def test_mimic_keeps_radiology_rows_only_and_skips_iserror():
    reports = load_reports(FIX / "NOTEEVENTS.csv")
    # 502 nursing and 505 discharge are other categories; 504 is ISERROR=1; 506's category is
    # " radiology " (case and spaces differ) and still counts.
    assert [r.id for r in reports] == ["501", "503", "506"]


def test_mimic_meta_and_verbatim_text():
    r = by_id(load_reports(FIX / "NOTEEVENTS.csv"))["501"]
    assert r.meta["exam"] == "CHEST (PORTABLE AP)"
    assert (r.meta["SUBJECT_ID"], r.meta["HADM_ID"], r.meta["CHARTDATE"]) == ("9001", "170001", "2150-03-02")
    assert r.meta["format"] == "mimic"
    assert r.text.startswith("[**2150-3-2**] 8:14 AM\n CHEST (PORTABLE AP)")
    assert "Clip # [**Clip Number (Radiology) 40112**]" in r.text
    assert "Dr. [**Last Name (STitle) 3321**]" in r.text
    assert {"INDICATION", "FINDINGS", "IMPRESSION"} <= set(r.meta["sections"])
    r503 = by_id(load_reports(FIX / "NOTEEVENTS.csv"))["503"]
    assert 'abdominal pain, "rule out abscess".' in r503.text


def test_mimic_lower_case_header_and_gzip(tmp_path):
    """The MIMIC-III demo ships lower-case column names; NOTEEVENTS is distributed gzipped."""
    text = (FIX / "NOTEEVENTS.csv").read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    gz = tmp_path / "noteevents.csv.gz"
    gz.write_bytes(gzip.compress((header.lower() + "\n" + rest).encode("utf-8")))
    assert detect_format(gz) == "mimic"
    assert [r.id for r in load_reports(gz)] == ["501", "503", "506"]


# --- Open-i -------------------------------------------------------------------------------------

def test_openi_csv_builds_sectioned_text_without_empty_parts():
    reports = by_id(load_reports(FIX / "indiana_reports.csv"))
    assert list(reports) == ["1", "2", "3", "4"]
    assert reports["1"].text == (
        "INDICATION: XXXX-year-old male with chest pain.\nCOMPARISON: None.\n"
        "FINDINGS: The heart size is normal. The mediastinal contours are within normal limits. "
        "The lungs are clear without focal airspace disease, effusion, or pneumothorax. "
        "No acute bony abnormality.\nIMPRESSION: No acute cardiopulmonary abnormality.")
    assert reports["3"].meta["sections"] == ["FINDINGS", "IMPRESSION"]  # no indication/comparison
    assert reports["4"].meta["sections"] == ["INDICATION", "COMPARISON", "IMPRESSION"]  # no findings
    assert reports["2"].meta["MeSH"] == "Cardiomegaly/mild;Pulmonary Congestion"
    assert reports["2"].meta["Problems"] == "Cardiomegaly;Pulmonary Congestion"
    assert reports["2"].meta["exam"] == "Chest, 2 views, frontal and lateral"


def test_openi_xml_directory_in_natural_order_with_meta():
    reports = load_reports(FIX / "ecgen-radiology")
    assert [r.id for r in reports] == ["CXR1", "CXR2", "CXR10"]
    cxr1, cxr2, cxr10 = reports
    assert cxr1.meta["images"] == ["CXR1_1_IM-0001-1001", "CXR1_1_IM-0001-2001"]
    assert cxr1.meta["exam"] == "Xray Chest PA and Lateral"
    assert cxr2.meta["mesh_major"] == ["Cardiomegaly/mild", "Pulmonary Congestion"]
    assert cxr2.meta["mesh_automatic"] == ["Heart Failure"]
    # empty <AbstractText/> parts are left out; XML entities are decoded
    assert cxr10.text == ("INDICATION: Preoperative evaluation & history of smoking.\n"
                          "IMPRESSION: 1. No active disease. 2. Emphysematous changes <stable>.")


def test_openi_csv_and_xml_forms_give_the_same_text():
    from_csv = by_id(load_reports(FIX / "indiana_reports.csv"))
    from_xml = by_id(load_reports(FIX / "ecgen-radiology"))
    assert from_csv["1"].text == from_xml["CXR1"].text
    assert from_csv["2"].text == from_xml["CXR2"].text


def test_openi_xml_single_file_and_wrapper_of_several(tmp_path):
    assert [r.id for r in load_reports(FIX / "ecgen-radiology" / "2.xml")] == ["CXR2"]
    bodies = [(FIX / "ecgen-radiology" / n).read_text(encoding="utf-8").split("?>", 1)[1]
              for n in ("1.xml", "2.xml")]
    wrapper = tmp_path / "all.xml"
    wrapper.write_text("<?xml version='1.0'?>\n<collection>" + "".join(bodies) + "</collection>",
                       encoding="utf-8")
    assert detect_format(wrapper) == "openi-xml"
    assert [r.id for r in load_reports(wrapper)] == ["CXR1", "CXR2"]


# --- i2b2 2012 ----------------------------------------------------------------------------------

def test_i2b2_fixture_is_not_well_formed_xml():
    """Like the real files: a bare '&' in an attribute, so a strict parser refuses it."""
    with pytest.raises(ET.ParseError):
        ET.parse(FIX / "i2b2" / "101.xml")


def test_i2b2_reads_text_and_events_with_offsets_into_the_text():
    reports = load_reports(FIX / "i2b2")
    assert [r.id for r in reports] == ["101", "102"]
    r = reports[0]
    assert r.text.startswith("\nAdmission Date :\n2014-03-10\n")  # CDATA content verbatim
    assert "COPD & CHF" in r.text and "O2 sat < 90 %" in r.text
    events = r.meta["events"]
    assert len(events) == 13 and events[0] == {
        "id": "E0", "start": 1, "end": 10, "text": "Admission", "type": "OCCURRENCE",
        "polarity": "POS", "modality": "FACTUAL"}
    for report in reports:
        for e in report.meta["events"]:
            assert report.text[e["start"]:e["end"]] == e["text"]
        assert report.meta["offset_mismatches"] == []
    copd = next(e for e in events if e["type"] == "PROBLEM" and "COPD" in e["text"])
    assert copd["text"] == "COPD & CHF"
    assert next(e for e in events if e["text"] == "pneumothorax")["polarity"] == "NEG"
    modalities = {e["text"]: e["modality"] for e in reports[1].meta["events"]}
    assert modalities["atelectasis"] == "POSSIBLE" and modalities["chest radiograph"] == "HYPOTHETICAL"


def test_i2b2_text_without_cdata_and_mismatched_offsets(tmp_path):
    p = tmp_path / "plain.xml"
    p.write_text('<?xml version="1.0" ?>\n<ClinicalNarrativeTemporalAnnotation>\n'
                 "<TEXT>Pain &amp; fever ; O2 sat < 90 .</TEXT>\n<TAGS>\n"
                 '<EVENT id="E0" start="0" end="4" text="Pain" modality="FACTUAL" polarity="POS" type="PROBLEM" />\n'
                 '<EVENT id="E1" start="8" end="14" text="fever" modality="FACTUAL" polarity="POS" type="PROBLEM" />\n'
                 "</TAGS>\n</ClinicalNarrativeTemporalAnnotation>\n", encoding="utf-8")
    [r] = load_reports(p)
    assert r.id == "plain" and r.text == "Pain & fever ; O2 sat < 90 ."
    assert r.text[0:4] == "Pain"
    assert r.meta["offset_mismatches"] == ["E1"]  # text[8:14] is "ever ;"


# --- detection, streaming, CLI ------------------------------------------------------------------

@pytest.mark.parametrize("name, fmt", [
    ("reports.csv", "csv"), ("reports.jsonl", "jsonl"), ("reports.parquet", "parquet"),
    ("NOTEEVENTS.csv", "mimic"), ("indiana_reports.csv", "openi-csv"),
    ("ecgen-radiology", "openi-xml"), ("ecgen-radiology/1.xml", "openi-xml"),
    ("i2b2", "i2b2"), ("i2b2/102.xml", "i2b2")])
def test_detect_format_for_every_fixture(name, fmt):
    assert fmt in FORMATS
    assert detect_format(FIX / name) == fmt


@pytest.mark.parametrize("name, fmt", [
    ("reports.jsonl", "jsonl"), ("reports.parquet", "parquet"), ("NOTEEVENTS.csv", "mimic"),
    ("ecgen-radiology/1.xml", "openi-xml"), ("i2b2/101.xml", "i2b2"), ("reports.csv", "csv")])
def test_detect_format_by_content_when_the_extension_says_nothing(tmp_path, name, fmt):
    copy = tmp_path / "export.dat"
    shutil.copy(FIX / name, copy)
    assert detect_format(copy) == fmt


def test_choosing_columns_reads_a_special_csv_as_plain(tmp_path):
    reports = load_reports(FIX / "indiana_reports.csv", id_col="uid", text_col="findings")
    assert reports[0].meta["format"] == "csv" and reports[0].text.startswith("The heart size")
    assert reports[3].text == ""  # empty findings cell


def test_explicit_format_overrides_detection():
    reports = load_reports(FIX / "NOTEEVENTS.csv", fmt="csv", id_col="ROW_ID", text_col="TEXT")
    assert len(reports) == 6 and reports[1].meta["CATEGORY"] == "Nursing/other"


def test_iter_reports_streams_and_fails_only_when_it_reaches_the_bad_record(tmp_path):
    p = tmp_path / "late_error.csv"
    p.write_text('id,text\n1,"first"\n2,second\n3,"bad"quote\n', encoding="utf-8")
    stream = iter_reports(p)
    assert [r.id for r in itertools.islice(stream, 2)] == ["1", "2"]
    with pytest.raises(InputError) as e:
        next(stream)
    assert e.value.line == 4


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test host for the data verbs only (other areas' verbs are not needed here)."""

    register(app)
    return app


def test_cli_reports_prints_table_and_count():
    result = CliRunner().invoke(_cli(), ["reports", str(FIX / "NOTEEVENTS.csv")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "3 reports loaded" in result.output and "as mimic" in result.output
    for rid in ("501", "503", "506"):
        assert rid in result.output
    assert "CT ABDOMEN W/CONTRAST" in result.output
    assert "[**2150-3-2**] 8:14 AM CHEST (PORTABLE AP)" in result.output  # not eaten as markup


def test_cli_reports_limit_columns_and_empty_count():
    result = CliRunner().invoke(
        _cli(), ["reports", str(FIX / "reports.parquet"), "--id-col", "accession",
                 "--text-col", "report", "--limit", "4", "--show", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "4 reports loaded" in result.output and "table shows the first 1" in result.output
    assert "7001" in result.output and "7002" not in result.output
    assert "1 with empty text" in result.output


def test_cli_reports_bad_input_raises_input_error():
    result = CliRunner().invoke(_cli(), ["reports", str(FIX / "reports.parquet")])
    assert isinstance(result.exception, InputError)
    assert "'accession'" in str(result.exception)
