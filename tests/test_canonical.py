"""The vectorised text-column path gives exactly what the normalisers give: values, messages,
birth dates from the personnummer, row checks — on hostile input and on the demo HR export."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench.hr_records as hr_records
import workbench.sources as sources
from workbench import demo
from workbench.canonical import canonical_mask, normalize_text_columns
from workbench.fields import FIELD, FIELDS, normalize_columns
from workbench.normalize import make_personnummer

PNR = make_personnummer(date(1985, 3, 12), 238)                       # 19850312-2387
COORDINATION = make_personnummer(date(1990, 2, 28), 17, coordination=True)
FUTURE = make_personnummer(date(2099, 1, 1), 5)

#: Cells at the edge of each canonical rule: some are canonical, most only look it.
EDGES = {
    "hr_id": ["E1", " E1", "E1 ", "E 1", "", " ", "\u00a0E1", "12.0"],
    "first_name": ["Anna", "Anna Maria", "Anna  Maria", " Anna", "A\u030asa", "Åsa", "123",
                   "O'Brien", "Anna\u00a0Maria", "Anna\tMaria", "Zoë", "Łukasz", "-", "Émile"],
    "street": ["Storgatan 12", "Storgatan  12", "12", "Box 7\u00a0B", "c/o Berg", "Ågatan 3"],
    "ssn": [PNR, PNR[:-1] + str((int(PNR[-1]) + 1) % 10), COORDINATION, FUTURE,
            "19850230-1234", "20000229-0002", "19000229-0000", PNR.replace("-", ""),
            PNR[2:], "19850312+2387", "198503122387", "198503122388", "20991231-0000", "١٩٨٥٠٣١٢-٢٣٨٧", "18850312-2387", " " + PNR],
    "birth_date": ["1985-03-12", "2000-02-29", "1900-02-29", "2023-02-29", "2024-13-01",
                   "2024-00-10", "2024-01-00", "2024-01-32", "1985-3-12", "12/03/1985",
                   "19850312", "٢٠٢٤-٠١-٠١", "1799-01-01", "2024-04-31", "2024-04-30",
                   "31/01/2024", "31.01.2024", "31-01-2024", "31/01.2024", "29/02/2023",
                   "29/02/2024", "1/2/2024", "01/13/2024", "2024/01/31", "31/01/1799"],
    "private_email": ["anna@x.se", "Anna@x.se", "anna..b@x.se", ".anna@x.se", "anna.@x.se",
                      "a" * 64 + "@x.se", "a" * 65 + "@x.se", "åsa@x.se", "anna@x", "anna@-x.se",
                      "mailto:anna@x.se", "<anna@x.se>", "anna+tag@sub.x-y.se", "a@b.c",
                      "a@" + "b" * 250 + ".se", "anna @x.se", "anna@x.se ", "ANNA@X.SE",
                      "Åsa@x.se", "\u212aalle@x.se", "Anna..B@x.se", "MAILTO:anna@x.se"],
    "phone": ["+46701234567", "+4670123456", "+46012345678", "+467012345", "+46701234567890",
              "0701234567", "+46 70 123 45 67", "+4670١٢٣٤٥٦٧", "+4512345678", "+46123456",
              "070-123 45 67", "08-634 04 62", "0012345678", "00467012345", "070--1", "0701",
              "07012345678901", "+46-70-123", "+46 070 123 45 67", "070 123 45 67 ", "+46 7",
              "(070) 123 45", "070/1234567", "0 70 123 45 67"],
    "zip_code": ["11122", "111 22", "1112", "٠١٢٣٤", "SE-11122", "111222", "111-22", "111  22",
                 "S-111 22"],
    "employee_number": ["123", "00123", "0", "1" * 18, "1" * 19, "12a", " 12", "١٢٣", "-5"],
    "monthly_salary": ["35000", "0", "10000000", "10000001", "035000", "35 000", "35000 kr",
                       "99999999", "-1"],
    "tax_table": ["30", "29", "28", "42", "43", "033", "3"],
    "tax_table_column": ["1", "6", "0", "7", "01"],
    "clearing_nr": ["1234", "12345", "123", "123456", "1234-5"],
    "account_nr": ["12", "1" * 15, "1", "1" * 16, "123 456", "12-34"],
}


def _same(columns: dict[str, list]) -> None:
    fast = normalize_text_columns(columns)
    assert fast is not None
    assert fast == normalize_columns(columns)
    # and the same types: an employee number is an int both ways, a kept raw text a str
    for (a, _), (b, _) in zip(fast, normalize_columns(columns)):
        assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}


@pytest.mark.parametrize("key", sorted(EDGES))
def test_cells_at_the_edge_of_each_rule_come_out_as_the_normaliser_has_them(key):
    cells = EDGES[key] + [None]
    _same({key: cells})
    # the rules recognise at least the plainly canonical cell, so the fast path is taken
    assert canonical_mask(FIELD[key], EDGES[key][:1])[0]


def test_derived_birth_dates_and_empty_names_as_the_normaliser_has_them():
    columns = {"hr_id": ["E1", "E2", "E3", "E4", "E5"],
               "first_name": ["Anna", None, None, "Bo", "Eva"],
               "last_name": ["Berg", None, "Ek", None, "Lind"],
               "ssn": [PNR, COORDINATION, FUTURE, None, PNR.replace("-", "")],
               "birth_date": [None, None, None, "1990-01-01", "not a date"]}
    _same(columns)
    records = normalize_text_columns(columns)
    assert records[0][0]["birth_date"] == "1985-03-12"
    assert records[1][0]["birth_date"] == "1990-02-28"   # samordningsnummer: day − 60
    assert records[1][1] == {"first_name": "empty name"}
    assert records[2][0]["birth_date"] is None and "ssn" in records[2][1]


def test_typed_cells_are_left_to_the_normalisers():
    assert normalize_text_columns({"hr_id": ["E1"], "employee_number": [12]}) is None


TEXTS = st.text(alphabet=string.ascii_letters + string.digits + "åäöÅÄÖéü -+.@_'\u00a0\t",
                max_size=20)
SHAPED = {
    "ssn": st.from_regex(r"\A(19|20)\d{6}-?\d{4}\Z"),
    "birth_date": st.from_regex(r"\A((19|20)\d\d-[01]\d-[0-3]\d|[0-3]\d[/.-][01]\d[/.-](19|20)\d\d)\Z"),
    "employment_start_date": st.from_regex(r"\A(19|20)\d\d-[01]\d-[0-3]\d\Z"),
    "private_email": st.from_regex(r"\A[a-z0-9._+-]{1,8}@[a-z0-9-]{1,5}(\.[a-z]{1,3}){1,2}\Z"),
    "work_email": st.from_regex(r"\A[a-zA-Z0-9.-]{1,8}@[a-z0-9.-]{1,6}\Z"),
    "phone": st.from_regex(r"\A(\+46|0)[ -]?\d[\d -]{4,12}\Z"),
    "zip_code": st.from_regex(r"\A\d{3}[ -]?\d{1,3}\Z"),
    "monthly_salary": st.from_regex(r"\A\d{1,9}\Z"),
    "tax_table": st.from_regex(r"\A\d{1,3}\Z"),
    "account_nr": st.from_regex(r"\A\d{1,17}\Z"),
    "employee_number": st.from_regex(r"\A\d{1,20}\Z"),
}


def _cells(key: str):
    return st.one_of(st.none(), TEXTS, SHAPED.get(key, TEXTS), st.sampled_from(EDGES.get(key, [""])))


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rows=st.integers(min_value=1, max_value=6))
def test_any_text_table_comes_out_as_the_normalisers_have_it(data, rows):
    keys = ["hr_id", "first_name", "last_name", "ssn", "birth_date", "private_email",
            "work_email", "phone", "street", "zip_code", "employee_number",
            "employment_start_date", "monthly_salary", "tax_table", "account_nr"]
    columns = {k: data.draw(st.lists(_cells(k), min_size=rows, max_size=rows)) for k in keys}
    _same(columns)


@pytest.mark.parametrize("today", [date(2026, 11, 1), date(1985, 6, 1)])
def test_reading_the_demo_export_gives_the_same_records_and_problems(tmp_path, monkeypatch, today):
    """The whole reader, row checks included (birth date against personnummer, start before
    birth or at 15), with the vectorised path and without it; also on a day before which many
    personnummer lie in the future (the shortcut for their birth dates must not hide that)."""
    path = demo.write(demo.generate(600), tmp_path)["hr"]
    with path.open("a", encoding="utf-8") as fh:   # rows for every row check
        fh.write(f"X1,Anna,Berg,{PNR},1985-03-13,,,,,,,,,2010-01-01,,,,,,,,ja\n"   # disagrees
                 f"X2,Bo,Ek,{PNR},,,,,,,,,,1984-01-01,,,,,,,,ja\n"                # before birth
                 f"X3,Eva,Lind,{COORDINATION},,,,,,,,,,2005-06-01,,,,,,,,ja\n"    # at 15
                 f"X4,,,{PNR},1985-03-12,,,,,,,,,2001-03-12,,,,,,,,ja\n")          # no name
    fast = sources.read_hr(path, today=today)
    calls = []
    with monkeypatch.context() as m:
        m.setattr(hr_records, "text_columns", lambda c, text=False: calls.append(1))
        slow = sources.read_hr(path, today=today)
    assert calls  # the slow read really went the other way
    assert fast.records == slow.records
    assert fast.problems == slow.problems
    messages = " | ".join(p.message for p in fast.problems)
    for said in ("disagrees with the personnummer", "before the birth date", "at the age of 15",
                 "not a valid email address", "is blank"):
        assert said in messages or today.year < 2000, said


def test_every_field_normaliser_is_covered_or_left_to_python():
    """A field whose normaliser has no rule is still normalised (by the normaliser itself)."""
    cells = {f.key: ["x"] for f in FIELDS}
    _same(cells)
