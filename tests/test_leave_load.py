"""Reading absence exports: conventions of the HR file, and every bad input named per row."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest

from workbench.errors import SourceError
from workbench.leave import read_leave
from workbench.leave.demo import DEMO_DIR, demo_rows, render

HEAD = "Frånvaro-ID;Anställd-ID;Frånvarotyp;Från och med;Till och med;Omfattning;Status;Barn;Kommentar\n"
HR = {"E1", "E2", "E3"}


def read(text, encoding="utf-8", **kw):
    return read_leave(text.encode(encoding), hr_ids=kw.pop("hr_ids", HR), name="leave.csv", **kw)


def messages(f, field):
    return [(p.row, p.column, p.message) for p in f.problems if p.field == field]


def test_swedish_headers_in_windows_1252_with_semicolons():
    f = read(HEAD + "L1;E1;Sjuk;2026-11-02;2026-11-03;;;;Förkyld\n", encoding="cp1252")
    (leave,) = f.leaves
    assert (f.encoding, f.delimiter) == ("cp1252", ";")
    assert (leave.kleer_type, leave.activity, leave.percent, leave.status, leave.comment) == (
        "Sick", "Sjuk", Decimal(100), "approved", "Förkyld")
    assert f.ready == [leave] and not f.problems


def test_english_headers_xlsx_with_excel_percent_and_dates():
    from datetime import datetime
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Absence export November"])
    sheet.append(["Leave ID", "Employee number", "Leave type", "Start date", "End date", "Extent",
                  "Status", "Child", "Updated at"])
    sheet.append(["A-1", "2001", "Parental leave", datetime(2026, 11, 2), datetime(2026, 11, 30),
                  0.5, "Approved", "Alva", "2026-10-20T10:00"])
    buffer = io.BytesIO()
    book.save(buffer)
    f = read_leave(buffer.getvalue(), hr_ids=HR, employee_numbers={"2001": "E2"}, name="x.xlsx")
    (leave,) = f.leaves
    assert (f.format, f.header_row) == ("xlsx", 2)
    assert (leave.hr_id, leave.kleer_type, leave.percent, leave.child, leave.version) == (
        "E2", "ParentalLeave", Decimal(50), "Alva", "2026-10-20T10:00")


def test_hours_per_day_and_status_words():
    f = read(HEAD + "L1;E1;Tjänstledig;2026-11-04;2026-11-04;4,5 h;Beviljad;;\n"
                    "L2;E2;Semester;2026-11-09;2026-11-13;;Makulerad;;\n")
    a, b = f.leaves
    assert (a.percent, a.hours_per_day, a.status) == (None, Decimal("4.5"), "approved")
    assert b.status == "cancelled"


def test_unknown_type_offers_the_mapping():
    f = read(HEAD + "L1;E1;Friskvård;2026-11-04;2026-11-04;;;;\n")
    ((row, column, message),) = messages(f, "leave_type")
    assert (row, column) == (2, "Frånvarotyp") and "add 'Friskvård' to the leave-type mapping" in message
    assert f.ready == [] and f.unknown_types == ["Friskvård"]


def test_end_before_start_extent_outside_range_and_unknown_employee():
    f = read(HEAD + "L1;E1;Sjuk;2026-11-04;2026-11-03;;;;\n"
                    "L2;E2;Sjuk;2026-11-04;2026-11-04;120;;;\n"
                    "L3;E2;Sjuk;2026-11-05;2026-11-05;0 %;;;\n"
                    "L4;E99;Sjuk;2026-11-04;2026-11-04;;;;\n")
    assert messages(f, "end_date")[0][:2] == (2, "Till och med")
    assert "before the start date" in messages(f, "end_date")[0][2]
    assert [(r, "outside 1–100 %" in m) for r, _, m in messages(f, "extent")] == [(3, True), (4, True)]
    assert messages(f, "hr_id") == [(5, "Anställd-ID", "HR id 'E99' is not in the HR register: load "
                                     "the HR file that has this employee first, or correct the id")]
    assert f.ready == []


def test_overlapping_leaves_of_one_employee_flag_both_rows_but_two_halves_may_overlap():
    f = read(HEAD + "L1;E1;Sjuk;2026-11-02;2026-11-06;;;;\n"
                    "L2;E1;Semester;2026-11-06;2026-11-10;;;;\n"
                    "L3;E2;Föräldraledighet;2026-11-02;2026-11-30;50;;Alva;\n"
                    "L4;E2;Sjuk;2026-11-03;2026-11-03;50;;;\n"
                    "L5;E3;Sjuk;2026-11-02;2026-11-06;;Makulerad;;\n"
                    "L6;E3;Sjuk;2026-11-03;2026-11-03;;;;\n")
    overlaps = [(p.row, p.leave_id) for p in f.problems if "overlaps" in p.message]
    assert overlaps == [(2, "L1"), (3, "L2")]
    assert sorted(l.leave_id for l in f.ready) == ["L3", "L4", "L5", "L6"]


def test_rows_that_cannot_be_read_are_not_loaded_and_say_so():
    f = read(HEAD + ";E1;Sjuk;2026-11-02;2026-11-02;;;;\n"
                    "L2;E1;Sjuk;2026-13-40;2026-11-02;;;;\n"
                    "L3;E1;Sjuk;2026-11-02;2026-11-02;mycket;;;\n"
                    "L4;E1;VAB;2026-11-09;2026-11-09;;;;\n")
    assert [l.leave_id for l in f.leaves] == ["L4"]
    assert [(p.row, p.field) for p in f.skipped] == [(2, "leave_id"), (3, "start_date"), (4, "extent")]
    assert all("NOT loaded" in p.message for p in f.skipped)
    (child,) = messages(f, "child")
    assert child[0] == 5 and [l.leave_id for l in f.ready] == ["L4"]  # a warning only


def test_files_refused_as_a_whole():
    with pytest.raises(SourceError, match="required columns are missing: Leave type.*HR id or Employee number"):
        read("Frånvaro-ID;Från och med;Till och med\nL1;2026-11-02;2026-11-02\n")
    with pytest.raises(SourceError, match="same leave id .*'L1' on rows 2 and 3"):
        read(HEAD + "L1;E1;Sjuk;2026-11-02;2026-11-02;;;;\nL1;E2;Sjuk;2026-11-02;2026-11-02;;;;\n")
    with pytest.raises(SourceError, match="no leaves"):
        read(HEAD)


def test_committed_demo_file_is_a_fresh_generation_and_loads_with_one_unknown_type():
    path = DEMO_DIR / "leave.csv"
    assert path.read_bytes() == render(demo_rows())
    with (DEMO_DIR / "hr_employees.csv").open(encoding="utf-8-sig") as fh:
        hr = {r["Anställd-ID"] for r in csv.DictReader(fh)}
    f = read_leave(path, hr_ids=hr)
    assert f.unknown_types == ["Friskvårdstimme"]
    assert {l.status for l in f.leaves} == {"approved", "cancelled"}
    assert {l.kleer_type for l in f.ready} >= {"Sick", "Vacation", "ParentalLeave", "Childcare"}
    assert len(f.ready) == len(f.leaves) - 1
