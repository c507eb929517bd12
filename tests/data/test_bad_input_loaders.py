"""Bad input to the report loaders: one InputError naming the file, the line and the field."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from radlabel.data import load_reports
from radlabel.errors import InputError
from support.paths import FIXTURES

FIX = FIXTURES / "reports"
MIMIC_HEADER = '"ROW_ID","SUBJECT_ID","HADM_ID","CHARTDATE","CATEGORY","DESCRIPTION","ISERROR","TEXT"\n'


def fails(path, **kwargs) -> InputError:
    with pytest.raises(InputError) as e:
        load_reports(path, **kwargs)
    return e.value


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- missing things -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", [None, "csv", "jsonl", "parquet", "mimic", "openi-csv",
                                 "openi-xml", "i2b2"])
def test_missing_file(tmp_path, fmt):
    err = fails(tmp_path / "nope.csv", fmt=fmt)
    assert err.path == str(tmp_path / "nope.csv") and "file not found" in str(err)


def test_csv_missing_id_column_names_the_columns_that_exist(tmp_path):
    p = write(tmp_path / "a.csv", "accession,report\n1,Clear lungs.\n")
    err = fails(p)
    assert (err.path, err.line, err.field) == (str(p), 1, "id")
    assert "'accession', 'report'" in str(err)


def test_csv_missing_text_column(tmp_path):
    p = write(tmp_path / "a.csv", "id,report\n1,Clear lungs.\n")
    err = fails(p)
    assert (err.line, err.field) == (1, "text") and "'id', 'report'" in str(err)


def test_jsonl_missing_text_key_names_the_line_and_keys(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"id": "1", "text": "ok"}\n{"id": "2", "body": "x"}\n')
    err = fails(p)
    assert (err.line, err.field) == (2, "text") and "'id', 'body'" in str(err)


def test_parquet_missing_columns_names_the_columns_that_exist():
    err = fails(FIX / "reports.parquet")
    assert err.field == "id"
    assert "'accession', 'report', 'site', 'study_date'" in str(err)


def test_mimic_missing_text_column(tmp_path):
    p = write(tmp_path / "NOTEEVENTS.csv", '"ROW_ID","CATEGORY","DESCRIPTION"\n1,"Radiology","CXR"\n')
    err = fails(p, fmt="mimic")
    assert (err.line, err.field) == (1, "TEXT") and "'ROW_ID', 'CATEGORY', 'DESCRIPTION'" in str(err)


def test_openi_csv_missing_findings_column(tmp_path):
    p = write(tmp_path / "indiana_reports.csv", "uid,impression\n1,Normal.\n")
    err = fails(p, fmt="openi-csv")
    assert (err.line, err.field) == (1, "findings")


def test_empty_csv_file(tmp_path):
    err = fails(write(tmp_path / "empty.csv", ""))
    assert "empty file" in str(err) and err.line == 1


def test_blank_id_is_refused(tmp_path):
    p = write(tmp_path / "a.csv", "id,text\n1,one\n  ,two\n")
    err = fails(p)
    assert (err.line, err.field) == (3, "id") and "empty id" in str(err)


# --- encoding and syntax ------------------------------------------------------------------------

def test_csv_invalid_utf8_names_the_line(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes("id,text\n1,Normal.\n2,Small effusion \u00e0 droite.\n".encode("latin-1"))
    err = fails(p)
    assert err.line == 3 and "invalid UTF-8" in str(err) and "iconv" in str(err)


def test_invalid_utf8_deep_in_a_big_file_is_located(tmp_path):
    """The fast path decodes in chunks; the error must still carry the exact line."""
    p = tmp_path / "big.csv"
    good = "".join(f"{i},Lungs are clear. Heart size is normal.\n" for i in range(20000))
    p.write_bytes(b"id,text\n" + good.encode() + b"20000,bad \xff byte\n")
    assert fails(p).line == 20002


def test_jsonl_invalid_utf8(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"id": "1", "text": "ok"}\n{"id": "2", "text": "caf\xe9"}\n')
    assert fails(p).line == 2


def test_mimic_gz_invalid_utf8(tmp_path):
    p = tmp_path / "NOTEEVENTS.csv.gz"
    p.write_bytes(gzip.compress(MIMIC_HEADER.encode() + b'1,2,3,"2100-01-01","Radiology","CXR",,"ok"\n'
                                b'2,2,3,"2100-01-01","Radiology","CXR",,"bad \xc3("\n'))
    assert fails(p).line == 3


def test_xml_invalid_utf8(tmp_path):
    p = tmp_path / "5.xml"
    p.write_bytes(b'<?xml version="1.0"?>\n<ClinicalNarrativeTemporalAnnotation>\n'
                  b"<TEXT><![CDATA[\nfever \xff\n]]></TEXT>\n</ClinicalNarrativeTemporalAnnotation>\n")
    err = fails(p)
    assert (err.path, err.line) == (str(p), 4)


def test_malformed_jsonl_line(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"id": "1", "text": "ok"}\n\n{"id": "2", "text": "unterminated}\n')
    err = fails(p)
    assert err.line == 3 and "malformed JSON" in str(err)


def test_jsonl_line_that_is_not_an_object(tmp_path):
    p = write(tmp_path / "a.jsonl", '["1", "text"]\n')
    assert fails(p).line == 1


def test_jsonl_text_that_is_not_a_string(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"id": "1", "text": 42}\n')
    err = fails(p)
    assert (err.line, err.field) == (1, "text")


def test_csv_stray_quote(tmp_path):
    p = write(tmp_path / "a.csv", 'id,text\n1,ok\n2,"quoted"tail\n')
    err = fails(p)
    assert err.line == 3 and "malformed CSV" in str(err)


def test_csv_unclosed_quote_names_the_record_where_it_opens(tmp_path):
    p = write(tmp_path / "a.csv", 'id,text\n1,ok\n2,"never closed\n3,more\n4,and more\n')
    assert fails(p).line == 3


def test_csv_record_with_too_many_fields(tmp_path):
    p = write(tmp_path / "a.csv", "id,text\n1,Heart normal, lungs clear.\n")
    err = fails(p)
    assert err.line == 2 and "3 fields but the header has 2" in str(err)


def test_csv_duplicate_header_column(tmp_path):
    p = write(tmp_path / "a.csv", "id,text,text\n1,a,b\n")
    err = fails(p)
    assert (err.line, err.field) == (1, "text")


def test_broken_gzip(tmp_path):
    p = tmp_path / "a.jsonl.gz"
    p.write_bytes(gzip.compress(b'{"id": "1", "text": "ok"}\n' * 50)[:40])
    assert "gzip" in str(fails(p))


def test_not_a_parquet_file(tmp_path):
    p = tmp_path / "a.parquet"
    p.write_bytes(b"PAR1 this is not really parquet")
    assert "Parquet" in str(fails(p))


# --- duplicate ids: the line of the second, and where the first was ------------------------------

def test_csv_duplicate_id_after_a_multiline_record(tmp_path):
    p = write(tmp_path / "a.csv", 'id,text\nx1,"line one\nline two\nline three"\nx2,ok\nx1,again\n')
    err = fails(p)
    assert (err.line, err.field) == (6, "id") and "first seen at line 2" in str(err)


def test_jsonl_duplicate_id(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"id": 7, "text": "a"}\n{"id": "8", "text": "b"}\n{"id": "7", "text": "c"}\n')
    err = fails(p)
    assert err.line == 3 and "first seen at line 1" in str(err)


def test_parquet_duplicate_id_names_the_row(tmp_path):
    p = tmp_path / "a.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "a"], "text": ["x", "y", "z"]}), p)
    err = fails(p)
    assert (err.line, err.field) == (3, "id") and "first seen at line 1" in str(err)


def test_mimic_duplicate_row_id(tmp_path):
    p = write(tmp_path / "NOTEEVENTS.csv", MIMIC_HEADER
              + '10,1,1,"2100-01-01","Radiology","CXR",,"one"\n'
              + '10,1,1,"2100-01-01","Radiology","CXR",,"two"\n')
    err = fails(p)
    assert (err.line, err.field) == (3, "ROW_ID")


def test_openi_xml_duplicate_uid_across_files(tmp_path):
    shutil.copy(FIX / "ecgen-radiology" / "2.xml", tmp_path / "2.xml")
    shutil.copy(FIX / "ecgen-radiology" / "2.xml", tmp_path / "2b.xml")
    err = fails(tmp_path)
    assert err.path == str(tmp_path / "2b.xml") and "first seen in 2.xml" in str(err)


# --- format-specific refusals -------------------------------------------------------------------

def test_mimic_file_without_radiology_rows(tmp_path):
    p = write(tmp_path / "NOTEEVENTS.csv", MIMIC_HEADER
              + '1,1,1,"2100-01-01","Nursing/other","Report",,"Resting."\n'
              + '2,1,1,"2100-01-01","Discharge summary","Report",,"Home."\n')
    err = fails(p)
    assert err.field == "CATEGORY" and "no Radiology notes" in str(err)
    assert "Nursing/other (1)" in str(err) and "Discharge summary (1)" in str(err)


def test_mimic_file_whose_radiology_rows_are_all_errors(tmp_path):
    p = write(tmp_path / "NOTEEVENTS.csv", MIMIC_HEADER
              + '1,1,1,"2100-01-01","Radiology","CXR",1,"Wrong patient."\n')
    err = fails(p)
    assert err.field == "ISERROR" and "ISERROR" in str(err)


def test_unknown_format(tmp_path):
    err = fails(FIX / "reports.csv", fmt="dicom")
    assert err.field == "format" and "openi-xml" in str(err)


def test_directory_for_a_single_file_format():
    err = fails(FIX / "ecgen-radiology", fmt="csv")
    assert "is a directory" in str(err)


def test_directory_without_xml_files(tmp_path):
    write(tmp_path / "notes.txt", "hello")
    assert "no .xml files" in str(fails(tmp_path))


def test_unrecognised_xml_root(tmp_path):
    p = write(tmp_path / "x.xml", '<?xml version="1.0"?>\n<Patient><Name>XXXX</Name></Patient>\n')
    err = fails(p)
    assert "<Patient>" in str(err) and err.path == str(p)


def test_malformed_openi_xml_names_the_line(tmp_path):
    p = write(tmp_path / "3.xml", '<?xml version="1.0"?>\n<eCitation>\n<uId id="CXR3"/>\n'
                                  '<Abstract><AbstractText Label="FINDINGS">Clear.</Abstract>\n</eCitation>\n')
    err = fails(p)
    assert err.line == 4 and "malformed XML" in str(err)


def test_openi_xml_without_uid(tmp_path):
    p = write(tmp_path / "3.xml", '<eCitation><Abstract><AbstractText Label="FINDINGS">Clear.'
                                  "</AbstractText></Abstract></eCitation>")
    assert fails(p).field == "uId"


def test_openi_xml_forced_on_a_file_without_citations(tmp_path):
    p = write(tmp_path / "3.xml", "<records><record/></records>")
    assert "no <eCitation>" in str(fails(p, fmt="openi-xml"))


def test_i2b2_without_text(tmp_path):
    p = write(tmp_path / "9.xml", "<ClinicalNarrativeTemporalAnnotation><TAGS/></ClinicalNarrativeTemporalAnnotation>")
    err = fails(p)
    assert err.field == "TEXT" and err.path == str(p)


def test_i2b2_event_with_bad_offset_names_its_line(tmp_path):
    p = write(tmp_path / "9.xml", "<ClinicalNarrativeTemporalAnnotation>\n<TEXT><![CDATA[\nfever\n]]></TEXT>\n"
                                  '<TAGS>\n<EVENT id="E0" start="1" end="6" text="fever" type="PROBLEM" />\n'
                                  '<EVENT id="E1" start="one" end="6" text="fever" type="PROBLEM" />\n'
                                  "</TAGS>\n</ClinicalNarrativeTemporalAnnotation>\n")
    err = fails(p)
    assert (err.line, err.field) == (7, "start") and "E1" in str(err)


def test_i2b2_event_without_offsets(tmp_path):
    p = write(tmp_path / "9.xml", "<ClinicalNarrativeTemporalAnnotation>\n<TEXT><![CDATA[\nfever\n]]></TEXT>\n"
                                  '<TAGS>\n<EVENT id="E0" text="fever" />\n</TAGS>\n</ClinicalNarrativeTemporalAnnotation>\n')
    err = fails(p)
    assert (err.line, err.field) == (6, "start")
