"""The HR reader works a column at a time: its records, problems, refusals and matching frame
are exactly what the row-at-a-time reader (kept here as the reference) gives, on awkward files:
cell problems, rows without an id, duplicate ids, Excel error cells, warnings, personnummer
births (coordination numbers, numbers after ``today``), blank names, dates not in ISO form."""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from typing import Any

import openpyxl
import pandas as pd
import pytest

import workbench.sources as sources
from workbench import SourceError, demo
from workbench.csv_plain import plain_rows
from workbench.canonical import canonical_mask, normalize_text_columns
from workbench.fields import FIELD, normalize_columns
from workbench.hr_records import NO_ID, RowProblem, _ExcelError, _row_checks
from workbench.normalize import make_personnummer
from workbench.sources import Limits

PNR = make_personnummer(date(1985, 3, 12), 238)
COORD = make_personnummer(date(1990, 2, 28), 17, coordination=True)
LATE = make_personnummer(date(2020, 6, 1), 3)          # in the future on some `today`s below
YOUNG = make_personnummer(date(2008, 5, 20), 9)

HEADER = ["hr_id", "first_name", "last_name", "ssn", "birth_date", "private_email", "phone",
          "employee_number", "employment_start_date", "monthly_salary"]
CELLS = {
    "hr_id": ["E{}", "E{}", "E{}", "E{}", "", " ", " E{} "],
    "first_name": ["Anna", "Åsa Maria", "", " ", "123", "Zoë", "Anna  Maria"],
    "last_name": ["Berg", "Öberg", "", "  ", "O'Brien", "-"],
    "ssn": [PNR, COORD, LATE, YOUNG, PNR.replace("-", ""), PNR[2:], "19850312-2388", "",
            "20991231-0000", "19850230-1234", "١٩٨٥٠٣١٢-٢٣٨٧"],
    "birth_date": ["1985-03-12", "1985-03-13", "1990-02-28", "12/03/1985", "2008-05-20", "",
                   "2024-02-30", "19850312", "2020-06-01"],
    "private_email": ["anna@x.se", "Anna@X.se", "anna..b@x.se", "", "inte en adress"],
    "phone": ["+46701234567", "070-123 45 67", "12", ""],
    "employee_number": ["100", "0100", "x", ""],
    "employment_start_date": ["2010-01-01", "1984-01-01", "2005-06-01", "2023-08-01",
                              "01/02/2003", "", "2024-13-01", "2000-02-29", "2020-06-01"],
    "monthly_salary": ["35000", "-1", "35 000", ""],
}


class _Rows:
    """What the reference gives, in the shape ``HrFile.columns`` has."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    def records(self) -> list[dict[str, Any]]:
        return self._records


def reference_records(name: str, row_numbers: list[int], columns: dict[str, list[Any]],
                      used: dict[str, str | None], *, excel: bool, id_column: str | None = None,
                      today: date | None = None) -> tuple[_Rows, list[RowProblem]]:
    """The reader as it was row by row: normalise each row, check it, build its dict."""
    header_of = {k: h for h, k in used.items() if k}
    if id_column is not None:
        header_of["hr_id"] = id_column
    by_field: dict[str, list[Any]] = {}
    excel_errors = []
    for key, header in header_of.items():
        values = columns[header]
        if excel:
            excel_errors += [(j, key, str(v)) for j, v in enumerate(values) if isinstance(v, _ExcelError)]
            values = [None if isinstance(v, _ExcelError) else v for v in values]
        by_field[key] = values
    normalized = normalize_columns(by_field)
    for j, key, text in excel_errors:
        normalized[j][1][key] = f"the cell shows an Excel error ({text}), not a value"
    given, today = set(by_field), today or date.today()
    warnings = [_row_checks(record, problems, given, today) for record, problems in normalized]
    records, skipped, problems, first_row, duplicates = [], [], [], {}, []
    for row_no, (record, row_problems), row_warnings in zip(row_numbers, normalized, warnings):
        hr_id = record.get("hr_id")
        if not hr_id:
            message = NO_ID if "hr_id" not in row_problems else f"{row_problems['hr_id']}: {NO_ID}"
            skipped.append(RowProblem(row_no, None, header_of.get("hr_id"), "hr_id", message))
            continue
        if hr_id in first_row:
            duplicates.append((hr_id, first_row[hr_id], row_no))
            continue
        first_row[hr_id] = row_no
        for key, message in row_problems.items():
            problems.append(RowProblem(row_no, hr_id, header_of.get(key), key, message))
        for key, message in row_warnings.items():
            problems.append(RowProblem(row_no, hr_id, header_of.get(key), key, message, "warning"))
        record["problems"] = row_problems
        record["source_row"] = row_no
        records.append(record)
    column = header_of.get("hr_id")
    if not records and not duplicates:
        raise SourceError(
            f"{name}: no row has an HR id: column {column!r} is empty in all {len(skipped)} rows. "
            "Map the column that holds the ids in the column mapping editor, or fill them in.",
            problems=[(p.row, column, "no HR id") for p in skipped])
    if duplicates:
        listed = "; ".join(f"{h!r} on rows {a} and {b}" for h, a, b in duplicates[:10])
        more = f" (and {len(duplicates) - 10} more)" if len(duplicates) > 10 else ""
        raise SourceError(
            f"{name}: duplicate HR ids in column {column!r}: {listed}{more}. Each employee needs a "
            "unique id: correct the file and load it again.",
            problems=[(b, column, f"duplicate HR id {h!r} (also on row {a})") for h, a, b in duplicates])
    return _Rows(records), skipped + problems


def awkward_rows(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append([rng.choice(CELLS[k]).format(i) for k in HEADER])
    return rows


def to_csv(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    return "".join(",".join(map(str, r)) + "\n" for r in [header] + rows).encode()


def both(data: bytes, name: str, monkeypatch: pytest.MonkeyPatch, **options: Any):
    """The file read column-wise and by the reference; each a result or the refusal."""
    def read():
        try:
            return sources.read_hr(data, name=name, **options)
        except SourceError as e:
            return e
    fast = read()
    with monkeypatch.context() as m:
        m.setattr(sources, "column_records", reference_records)
        slow = read()
    return fast, slow


def assert_same(fast: Any, slow: Any) -> None:
    if isinstance(slow, SourceError):
        assert isinstance(fast, SourceError), fast
        assert (str(fast), fast.problems) == (str(slow), slow.problems)
        return
    assert fast.records == slow.records
    assert [list(r) for r in fast.records] == [list(r) for r in slow.records]  # key order
    assert [[type(v) for v in r.values()] for r in fast.records] == \
        [[type(v) for v in r.values()] for r in slow.records]
    assert fast.problems == slow.problems
    pd.testing.assert_frame_equal(fast.raw, slow.raw)
    # what matching takes: the frame the records would make, column types included
    pd.testing.assert_frame_equal(fast.frame(), pd.DataFrame(slow.records))


@pytest.mark.parametrize("today", [date(2026, 11, 1), date(2019, 1, 1), date(1985, 6, 1)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_awkward_csv_gives_what_the_row_by_row_reader_gives(monkeypatch, seed, today):
    rows = [r for r in awkward_rows(400, seed)]
    for i, r in enumerate(rows):  # unique ids where there is one, so the file loads
        if r[0].strip():
            r[0] = f"E{i}"
    fast, slow = both(to_csv(rows), "hr.csv", monkeypatch, today=today)
    assert not isinstance(slow, SourceError)
    assert_same(fast, slow)
    kinds = {(p.field, p.severity) for p in slow.problems}
    said = " | ".join(p.message for p in slow.problems)
    assert ("hr_id", "error") in kinds and NO_ID in said          # skipped rows were there
    assert ("first_name", "error") in kinds and "is blank" in said
    if today.year > 2000:
        for text in ("disagrees with the personnummer", "before the birth date", "at the age of"):
            assert text in said, text


@pytest.mark.parametrize("seed", [4, 5])
def test_duplicate_and_missing_ids_are_refused_alike(monkeypatch, seed):
    rows = awkward_rows(300, seed)
    for i in range(20, 300, 23):   # some ids again, some of them spaced as the first one was
        rows[i][0] = rows[i - 13][0].format(i - 13) if rows[i - 13][0].strip() else "E1"
    fast, slow = both(to_csv(rows), "hr.csv", monkeypatch)
    assert isinstance(slow, SourceError) and "duplicate HR ids" in str(slow)
    assert_same(fast, slow)
    no_ids = [["", "Anna", "Berg"], [" ", "Bo", "Ek"]]
    fast, slow = both(to_csv(no_ids, HEADER[:3]), "hr.csv", monkeypatch)
    assert isinstance(slow, SourceError) and "no row has an HR id" in str(slow)
    assert_same(fast, slow)


def test_a_workbook_with_typed_and_error_cells_gives_what_the_reference_gives(monkeypatch):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    rng = random.Random(7)
    for i, row in enumerate(awkward_rows(120, 7)):
        row[0] = f"E{i}" if i % 9 else "#N/A"
        row[4] = date(1985, 3, 12) if i % 5 == 0 else row[4]       # a typed date cell
        row[7] = 100 + i if i % 3 == 0 else row[7]                  # a typed number
        row[rng.randrange(1, len(row))] = rng.choice(["#REF!", "#VALUE!", row[1]])
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    fast, slow = both(out.getvalue(), "hr.xlsx", monkeypatch, today=date(2026, 1, 1))
    assert not isinstance(slow, SourceError)
    assert_same(fast, slow)
    assert any("Excel error" in p.message for p in slow.problems)


def test_the_demo_export_gives_the_same_records_and_frame(tmp_path, monkeypatch):
    path = demo.write(demo.generate(800), tmp_path)["hr"]
    fast, slow = both(path.read_bytes(), "hr.csv", monkeypatch)
    assert len(fast.records) == 800
    assert_same(fast, slow)


def test_records_are_made_once_and_are_the_loaders_own():
    data = to_csv([["E1", "Anna", "Berg", PNR, "", "", "", "", "", ""],
                   ["E2", "", "", "", "", "", "", "", "", ""]])
    hr = sources.read_hr(data, name="hr.csv")
    assert hr.records is hr.records                       # made on first use, then kept
    assert hr.records[0]["birth_date"] == "1985-03-12"    # read from the personnummer
    assert hr.records[0]["problems"] == {} and hr.records[1]["source_row"] == 3
    assert hr.records[0]["problems"] is not hr.records[1]["problems"]
    assert hr.frame()["hr_id"].tolist() == ["E1", "E2"]


# --------------------------------------------------------------------------- CSV without quotes

def _csv_module(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True,
                           skipinitialspace=True))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_a_text_without_quotes_splits_as_the_csv_module_reads_it(delimiter):
    rng = random.Random(delimiter)
    alphabet = ["a", "Å", " ", " ", ",", ";", "\t", "|", "\r", "\n", "\r\n", "\u2028", "\x0c"]
    split = 0
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        rows = plain_rows(text, delimiter)
        assert rows is not None
        assert list(rows) == _csv_module(text, delimiter), repr(text)
        assert [rows[i] for i in range(len(rows))] == rows[:] == list(rows)
        split += bool(rows)
    assert split > 2000
    assert plain_rows('a,"b"\n', ",") is None and plain_rows("a,\x00\n", ",") is None


@pytest.mark.parametrize("limits", [Limits(max_rows=3), Limits(max_columns=3),
                                    Limits(max_cells=10), Limits(max_cells=7, max_rows=2),
                                    Limits()])
def test_the_limits_of_a_text_without_quotes_are_checked_as_before(monkeypatch, limits):
    texts = ["a,b\n\nc,d,e\nf\n", "a,b,c,d\n", "a\nb\nc\nd\ne\n", "a,b\r\nc,d\r\n",
             "a,b\rc,d,e,f\r\n g, h\n"]
    refused = 0
    for text in texts:
        def read():
            try:
                return sources._csv_rows(text.encode(), "hr.csv", limits)
            except SourceError as e:
                return str(e)
        fast = read()
        with monkeypatch.context() as m:
            m.setattr(sources, "plain_rows", lambda text, delimiter: None)
            slow = read()
        assert fast == slow, text
        refused += isinstance(fast, str)
    assert refused > 0 if limits != Limits() else refused == 0


def test_ten_digit_personnummer_come_out_as_the_normaliser_has_them():
    """The century of ``YYMMDD-NNNN`` follows today: a birthday later this year is 100 years
    back, ``+`` is 100 or older; samordningsnummer, bad checksums and impossible dates too."""
    today = date.today()
    born = [date(1985, 3, 12), date(today.year - 100, 12, 31), date(today.year, 1, 1), today,
            date(1926, today.month, min(today.day, 28)), date(1990, 2, 28), date(2004, 2, 29)]
    numbers = [make_personnummer(b, 100 + i) for i, b in enumerate(born)]
    numbers.append(make_personnummer(date(1990, 2, 28), 17, coordination=True))
    ten = [x[2:] for x in numbers]
    cells = ten + [x.replace("-", "+") for x in ten] + [x.replace("-", "") for x in ten] + \
        [ten[0][:-1] + str((int(ten[0][-1]) + 1) % 10), "851345-1234", "000000-0000",
         "85031-22387", "8503122387 ", "١٩٨٥٠٣-١٢٣٤", None]
    columns = {"hr_id": [f"E{i}" for i in range(len(cells))], "ssn": cells}
    fast = normalize_text_columns(columns)
    assert fast == normalize_columns(columns)
    assert sum(bool(r["birth_date"]) for r, _ in fast) >= 2 * len(ten)   # most are valid
    assert canonical_mask(FIELD["ssn"], ten).all()                        # decided vectorised


@pytest.mark.parametrize("seed", range(4))
def test_columns_taken_from_the_text_are_the_grid_the_rows_give(seed):
    """Rectangular files take their columns from the text; any other goes row by row; both
    give the same header, row numbers and columns."""
    rng = random.Random(seed)
    taken = 0
    for _ in range(300):
        width = rng.randrange(1, 5)
        cells = ["a", "b c", "", " ", "Å", "\t"]
        lines = [",".join(rng.choice(["hr_id", "first_name", "x", ""]) for _ in range(width))]
        for _ in range(rng.randrange(0, 6)):
            n = width if rng.random() < 0.8 else rng.randrange(0, width + 2)
            lines.append(",".join(rng.choice(cells) for _ in range(n)))
        text = "\n".join(lines) + rng.choice(["", "\n"])
        rows = plain_rows(text, ",")
        lazy, eager = (sources._Table(r, "csv", delimiter=",") for r in (rows, list(rows)))
        try:
            expected = sources._grid(eager, "hr.csv", None)
        except SourceError as e:
            with pytest.raises(SourceError) as got:
                sources._grid(lazy, "hr.csv", None)
            assert str(got.value) == str(e)
            continue
        assert sources._grid(lazy, "hr.csv", None) == expected
        taken += rows.columns(expected.header_row, len(rows[expected.header_row - 1])) is not None
    assert taken > 30
