"""Downloads: CSV and XLSX bytes that a spreadsheet opens as text, never as a formula."""

from __future__ import annotations

import csv
import doctest
import io

import openpyxl
import pandas as pd
import pytest

import workbench.export
import workbench.cells
from workbench.cells import is_formula, xlsx_cell
from workbench.export import safe_cell, to_csv_bytes, to_xlsx_bytes

#: What Excel or LibreOffice would evaluate when it opens a CSV.
DANGEROUS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "=SUM(A1)", "=1+1", "+SUM(1)",
             "-2+3", "@cmd", "@SUM(A1:A9)", "\t=1+1", "\r=cmd|' /C calc'!A0", "\n+SUM(1)",
             "=cmd|' /C calc'!A0", "+46-70-123", "-A1", "--1"]
#: Data that only looks like it: a phone number, amounts, text. Kept exactly as it was.
HARMLESS = ["Anna", "Åsa Öberg", " =leading space", "a=b", "19850312-1231", "+46701234567",
            "+46 70 123 45 67", "-1500", "-1 500,50", "-1\u00a0500,50", "-15%", "+", "-", "=",
            "\tTAB", "\rCR", ""]


def _frame() -> pd.DataFrame:
    cells = DANGEROUS + HARMLESS
    return pd.DataFrame({
        "name": cells,
        "=HEADER()": ["x"] * len(cells),
        "salary": list(range(-3, len(cells) - 3)),
        "when": pd.to_datetime(["2024-05-01"] * len(cells)),
        "active": [True] * len(cells),
    })


@pytest.mark.parametrize("value", DANGEROUS)
def test_safe_cell_guards_what_a_spreadsheet_would_evaluate(value):
    assert is_formula(value) and safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_safe_cell_keeps_phone_numbers_amounts_and_text_exactly(value):
    assert not is_formula(value) and safe_cell(value) == value


def test_safe_cell_never_touches_numbers_or_missing_values():
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
    assert not [cell for row in rows for cell in row if is_formula(cell)]


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
    assert header == ["name", "=HEADER()", "salary", "when", "active"]  # a string cell: exact text
    names = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    # XML turns a stored carriage return into a line feed on reading; nothing else changes
    assert names == [v.replace("\r", "\n") for v in DANGEROUS + HARMLESS[:-1]] + [None]
    assert {c.data_type for c in cells if isinstance(c.value, str)} == {"s"}
    second = next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
    assert second[2] == -3 and second[3].year == 2024 and second[4] is True


def test_xlsx_download_writes_timezone_aware_times_as_utc():
    frame = pd.DataFrame({"at": pd.to_datetime(["2024-05-01T12:00:00+02:00"])})
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame))).active
    assert sheet["A2"].value.hour == 10


@pytest.mark.parametrize("module", [workbench.export, workbench.cells])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_xlsx_cell_writes_formula_text_as_a_string_cell():
    book = openpyxl.Workbook()
    cell = xlsx_cell(book.active["A1"], "=1+1")
    out = io.BytesIO()
    book.save(out)
    again = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["Sheet"]["A1"]
    assert cell.data_type == "s" and again.data_type == "s" and again.value == "=1+1"


@pytest.mark.parametrize("writer", [to_csv_bytes, to_xlsx_bytes])
def test_downloads_do_not_change_the_frame_they_are_given(writer):
    frame = _frame()
    before = frame.copy()
    writer(frame)
    pd.testing.assert_frame_equal(frame, before)
