"""Bounded HR reads: crafted XLSX and CSV bombs are refused with one clear line, quickly and in
little memory, before their cells are read (time and memory asserted loosely, in a child
process so the figures are its own)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from workbench import SourceError
from workbench.sources import DEFAULT_LIMITS, Limits, read_hr

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/content-types"><Default Extension="rels" ContentType="application/'
                 'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
                 'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
                 '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                 '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
                 'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
             'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
             'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships"><sheets><sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              'spreadsheetml/2006/main">{dimension}<sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"
HEADER_ROW = ('<row r="1"><c r="A1" t="inlineStr"><is><t>hr_id</t></is></c><c r="B1" t="inlineStr">'
              '<is><t>first_name</t></is></c><c r="C1" t="inlineStr"><is><t>last_name</t></is></c></row>')


def workbook(path: Path, rows, *, dimension: str | None = None, padding: int = 0) -> Path:
    """An .xlsx written by hand: ``rows`` is an iterable of ``<row>`` XML texts; ``padding``
    bytes of spaces make the sheet unpack big while it compresses to almost nothing."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            dim = f'<dimension ref="{dimension}"/>' if dimension else ""
            sheet.write(SHEET_HEAD.format(dimension=dim).encode())
            sheet.write(HEADER_ROW.encode())
            chunk = b" " * (1 << 20)
            for _ in range(padding // len(chunk)):
                sheet.write(chunk)
            for row in rows:
                sheet.write(row.encode())
            sheet.write(SHEET_TAIL.encode())
    return path


def xfd_rows(n: int = 20_000):
    return (f'<row r="{r}"><c r="XFD{r}" t="inlineStr"><is><t>x</t></is></c></row>'
            for r in range(2, n + 2))


def refused_in_a_child(path: Path) -> dict:
    """Read ``path`` in a fresh Python; its message, seconds and peak memory (MB)."""
    code = textwrap.dedent(f"""
        import json, resource, time
        from workbench.sources import read_hr
        from workbench.errors import SourceError
        start = time.perf_counter()
        try:
            read_hr({str(path)!r})
            message = None
        except SourceError as e:
            message = str(e)
        seconds = time.perf_counter() - start
        # VmHWM is this program's own peak; ru_maxrss also counts the forked parent's size
        # from before exec (pytest itself, past 500 MB late in a full run)
        try:
            peak = next(int(l.split()[1]) for l in open("/proc/self/status")
                        if l.startswith("VmHWM")) / 1024
        except (OSError, StopIteration):
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({{"message": message, "seconds": seconds, "peak_mb": peak}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


XFD_MESSAGE = ("{name}: sheet 'Blad1' has a value in column XFD (column 16,384), over the limit of "
               "500 columns; delete the columns after the HR data and save the file again")


@pytest.mark.parametrize("dimension", ["A1:XFD20001", None, "A1:C3"],
                         ids=["stored-size", "no-stored-size", "stored-size-lies"])
def test_one_cell_at_column_xfd_in_20000_rows_is_refused_quickly(tmp_path, dimension):
    path = workbook(tmp_path / "xfd.xlsx", xfd_rows(), dimension=dimension)
    assert path.stat().st_size < 200_000
    result = refused_in_a_child(path)
    assert result["message"] == XFD_MESSAGE.format(name="xfd.xlsx")
    assert result["seconds"] < 5 and result["peak_mb"] < 500, result


def test_a_small_workbook_that_unpacks_to_264_mb_is_refused_before_reading(tmp_path):
    path = workbook(tmp_path / "bomb.xlsx", [], padding=264 * (1 << 20))
    assert path.stat().st_size < 1_500_000
    result = refused_in_a_child(path)
    assert result["message"] == (
        "bomb.xlsx: the workbook unpacks to 264 MB, over the limit of 100 MB for an HR file; "
        "export only the columns the workbench uses, or save it as CSV UTF-8")
    assert result["seconds"] < 5 and result["peak_mb"] < 500, result


def test_a_sheet_whose_rows_jump_past_the_row_limit_is_refused_without_filling_the_gap(tmp_path):
    far = ['<row r="2"><c r="A2" t="inlineStr"><is><t>E1</t></is></c></row>',
           '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>E2</t></is></c></row>']
    path = workbook(tmp_path / "far.xlsx", far)
    result = refused_in_a_child(path)
    assert result["message"] == ("far.xlsx: sheet 'Blad1' has more than 100,000 rows, the limit "
                                 "for an HR file; split it and load the parts one after the other")
    assert result["seconds"] < 5 and result["peak_mb"] < 500, result


def test_a_stored_size_over_the_cell_limit_is_refused_before_reading(tmp_path):
    path = workbook(tmp_path / "wide.xlsx", [], dimension="A1:SF99999")  # 500 columns
    with pytest.raises(SourceError) as e:
        read_hr(path)
    assert str(e.value) == ("wide.xlsx: sheet 'Blad1' has at least 99,999 rows × 500 columns, over the "
                            "limit of 5,000,000 cells; export only the columns the workbench uses, "
                            "or split the file")


def test_a_workbook_within_the_limits_still_reads_every_row(tmp_path):
    rows = (f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>E{r}</t></is></c><c r="B{r}" '
            f't="inlineStr"><is><t>Anna</t></is></c><c r="C{r}" t="inlineStr"><is><t>Berg</t></is>'
            f'</c></row>' for r in range(2, 1002))
    hr = read_hr(workbook(tmp_path / "ok.xlsx", rows, dimension="A1:C3"))  # the stored size lies
    assert len(hr.records) == 1000 and hr.records[-1]["hr_id"] == "E1001"


# --------------------------------------------------------------------------- CSV

def test_a_csv_line_of_a_million_delimiters_is_refused_before_it_is_split(tmp_path):
    path = tmp_path / "semis.csv"
    path.write_bytes(b"hr_id;first_name;last_name\r\nE1;Anna;Berg" + b";" * 1_000_000 + b"\r\n")
    result = refused_in_a_child(path)
    assert result["message"] == ("semis.csv: line 2 has 1,000,003 values, over the limit of 500 "
                                 "columns; export only the HR columns (with quotes around values "
                                 "that hold the delimiter) and load again")
    assert result["seconds"] < 5 and result["peak_mb"] < 500, result


def test_quoted_delimiters_do_not_count_as_columns():
    text = 'hr_id;first_name;last_name;street\r\nE1;Anna;Berg;"' + ";" * 2000 + '"\r\n'
    assert read_hr(text.encode(), name="q.csv").raw.loc[2, "street"] == ";" * 2000


def test_a_csv_over_the_row_limit_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("hr_id;first_name;last_name\n" + "".join(f"E{i};A;B\n" for i in range(100_000)))
    result = refused_in_a_child(path)
    assert result["message"] == ("long.csv: the file has more than 100,000 rows, the limit for an "
                                 "HR file; split it and load the parts one after the other")
    assert result["seconds"] < 5 and result["peak_mb"] < 500, result


def test_limits_can_be_set_per_read_and_a_csv_over_the_cell_limit_is_refused():
    text = "hr_id;first_name;last_name;a;b\n" + "".join(f"E{i};A;B;1;2\n" for i in range(30))
    with pytest.raises(SourceError) as e:
        read_hr(text.encode(), name="c.csv", limits=Limits(max_cells=100))
    assert str(e.value) == ("c.csv: the file has at least 21 rows × 5 columns, over the limit of "
                            "100 cells; export only the columns the workbench uses, or split the file")
    assert len(read_hr(text.encode(), name="c.csv", limits=Limits(max_cells=200)).records) == 30
    assert DEFAULT_LIMITS.max_columns == 500 and DEFAULT_LIMITS.max_rows == 100_000
