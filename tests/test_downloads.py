"""Downloads: CSV and XLSX bytes that a spreadsheet opens as text, never as a formula."""

from __future__ import annotations

import csv
import doctest
import io

import openpyxl
import pandas as pd
import pytest

import workbench.downloads
from workbench.downloads import FORMULA_PREFIXES, safe_cell, to_csv_bytes, to_xlsx_bytes

DANGEROUS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+46701234567", "-2+3",
             "@SUM(A1:A9)", "\tTAB", "\rCR", "=cmd|' /C calc'!A0"]
HARMLESS = ["Anna", "Åsa Öberg", " =leading space", "a=b", "19850312-1231", ""]


def _frame() -> pd.DataFrame:
    cells = DANGEROUS + HARMLESS
    return pd.DataFrame({
        "name": cells,
        "=HEADER()": ["x"] * len(cells),
        "salary": list(range(-3, len(cells) - 3)),
        "when": pd.to_datetime(["2024-05-01"] * len(cells)),
        "active": [True] * len(cells),
    })


def test_safe_cell_prefixes_every_formula_start_and_nothing_else():
    for value in DANGEROUS:
        assert value[0] in FORMULA_PREFIXES
        assert safe_cell(value) == "'" + value
    for value in HARMLESS:
        assert safe_cell(value) == value
    assert safe_cell(-5) == -5 and safe_cell(None) is None and safe_cell(2.5) == 2.5


def test_safe_cell_turns_containers_into_json_and_still_guards_them():
    assert safe_cell({"b": "=x", "a": 1}) == '{"a": 1, "b": "=x"}'
    assert safe_cell(["a", 1]) == '["a", 1]'


def test_csv_download_reads_back_with_every_formula_neutralised():
    data = to_csv_bytes(_frame())
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["name", "'=HEADER()", "salary", "when", "active"]
    names = [r[0] for r in rows[1:]]
    assert names == ["'" + v for v in DANGEROUS] + HARMLESS
    assert [r[2] for r in rows[1:]] == [str(i) for i in range(-3, len(names) - 3)]  # numbers stay numbers
    assert all(not cell.startswith(FORMULA_PREFIXES) for row in rows for cell in row
               if not cell.lstrip("-").isdigit())


def test_csv_download_takes_a_delimiter_for_swedish_excel():
    data = to_csv_bytes(pd.DataFrame({"a": ["=1"], "b": ["x;y"]}), sep=";")
    assert data.decode("utf-8-sig").splitlines() == ["a;b", "'=1;\"x;y\""]


def test_xlsx_download_has_no_formula_cells_and_keeps_types():
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(_frame(), sheet_name="Audit: 2024/05")))
    assert book.sheetnames == ["Audit  2024 05"]  # Excel forbids : and / in sheet names
    sheet = book.active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header == ["name", "'=HEADER()", "salary", "when", "active"]
    names = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    # XML turns a stored carriage return into a line feed on reading; the prefix is what matters
    assert names == ["'" + v.replace("\r", "\n") for v in DANGEROUS] + HARMLESS[:-1] + [None]
    second = next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
    assert second[2] == -3 and second[3].year == 2024 and second[4] is True


def test_xlsx_download_writes_timezone_aware_times_as_utc():
    frame = pd.DataFrame({"at": pd.to_datetime(["2024-05-01T12:00:00+02:00"])})
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame))).active
    assert sheet["A2"].value.hour == 10


def test_docstring_examples_run():
    result = doctest.testmod(workbench.downloads)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("writer", [to_csv_bytes, to_xlsx_bytes])
def test_downloads_do_not_change_the_frame_they_are_given(writer):
    frame = _frame()
    before = frame.copy()
    writer(frame)
    pd.testing.assert_frame_equal(frame, before)
