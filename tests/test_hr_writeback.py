"""Handing HR changes back in the HR export's own shape, and the round trip through the loader."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from workbench.errors import InputError
from workbench.fields import FIELD
from workbench.hr_writeback import FileShape, columns_missing, write_hr_changes
from workbench.sources import read_hr

EXPORT = ("Anställd-ID;Förnamn;Efternamn;Personnummer;Privat e-post;E-post;Telefon;Skonummer;"
          "Anställningsdatum;Månadslön;Aktiv\r\n"
          "E1;Åsa;Öberg;19850312-1231;asa@gmail.com;asa@firma.se;070-111 11 11;38;2020-01-01;35000;ja\r\n"
          "E2;Bo;Ek;19900101-0017;bo@gmail.com;bo@firma.se;070-222 22 22;44;2021-02-01;41000;ja\r\n"
          "E3;Cia;Lind;19880808-8888;cia@gmail.com;cia@firma.se;;39;2019-05-05;38000;ja\r\n")

VALUES = [k for k in FIELD if k not in ("birth_date",)]  # derived from the personnummer on load


def loaded(data: bytes, name: str):
    hr = read_hr(data, name=name)
    return hr, {r["hr_id"]: {k: r.get(k) for k in FIELD} for r in hr.records}


def import_from_kleer(records: dict) -> tuple[list[dict], dict[str, list[str]]]:
    """What Import does to the HR register: Prefer Kleer overwrites E2's phone and private
    email with Kleer's values; Create new user adds E9 from a Kleer employee."""
    e2 = {**records["E2"], "phone": "+46709999999", "private_email": "bo.ek@outlook.com"}
    e9 = {k: None for k in FIELD} | {"hr_id": "E9", "first_name": "Nils", "last_name": "Ny",
                                     "ssn": "19850312-1231", "private_email": "nils@gmail.com",
                                     "phone": "+46701234567", "employment_start_date": "2026-01-01",
                                     "monthly_salary": 30000, "active": True}
    return [e2, e9], {"E2": ["phone", "private_email"], "E9": [k for k, v in e9.items() if v is not None]}


def changed_values(before: dict, after: dict) -> dict:
    return {hr_id: {k: v for k, v in rec.items() if k in VALUES and before.get(hr_id, {}).get(k) != v}
            for hr_id, rec in after.items()}


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig"])
def test_round_trip_csv_the_loader_reads_back_exactly_the_changed_values(encoding):
    hr, before = loaded(EXPORT.encode(encoding), "export.csv")
    changes, changed = import_from_kleer(before)
    data = write_hr_changes(changes, hr.shape, changed=changed)
    assert data.decode(encoding).startswith("Anställd-ID;Förnamn;Efternamn;Personnummer;Privat e-post;"
                                            "E-post;Telefon;Anställningsdatum;Månadslön;Aktiv\r\n")
    back, after = loaded(data, "hr-changes.csv")
    assert back.encoding == encoding and back.delimiter == ";" and list(after) == ["E2", "E9"]
    assert changed_values(before, after) == {
        "E2": {"phone": "+46709999999", "private_email": "bo.ek@outlook.com"},
        "E9": {k: v for k, v in changes[1].items() if k in VALUES and v is not None}}
    assert after["E2"] == {**before["E2"], "phone": "+46709999999", "private_email": "bo.ek@outlook.com"}


def test_round_trip_xlsx_keeps_sheet_headers_order_and_values():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Personal"
    for row in csv.reader(io.StringIO(EXPORT), delimiter=";"):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    hr, before = loaded(buffer.getvalue(), "export.xlsx")
    changes, changed = import_from_kleer(before)
    data = write_hr_changes(changes, hr.shape, changed=changed)
    back, after = loaded(data, "hr-changes.xlsx")
    assert back.format == "xlsx" and back.sheet == "Personal"
    assert list(back.mapping) == [h for h, k in hr.mapping.items() if k]
    assert changed_values(before, after)["E2"] == {"phone": "+46709999999",
                                                  "private_email": "bo.ek@outlook.com"}
    assert after["E9"]["employment_start_date"] == "2026-01-01" and after["E9"]["active"] is True


def test_only_changed_columns_plus_the_id():
    hr, before = loaded(EXPORT.encode("cp1252"), "export.csv")
    changes, changed = import_from_kleer(before)
    data = write_hr_changes(changes[:1], hr.shape, only_changed_columns=True, changed=changed)
    assert data.decode("cp1252").split("\r\n") == \
        ["Anställd-ID;Privat e-post;Telefon", "E2;bo.ek@outlook.com;+46709999999", ""]


def test_the_employee_number_column_is_the_id_when_the_file_had_no_id():
    hr, before = loaded(b"Anst\xe4llningsnummer;F\xf6rnamn;Efternamn;Telefon\r\n00123;Anna;Berg;\r\n",
                        "nr.csv")
    record = {**before["00123"], "phone": "+46701234567"}
    data = write_hr_changes([record], hr.shape, only_changed_columns=True, changed={"00123": ["phone"]})
    assert data == "Anställningsnummer;Telefon\r\n00123;+46701234567\r\n".encode("cp1252")


def test_csv_guards_only_real_formulas_and_keeps_phone_numbers_and_amounts():
    shape = FileShape("csv", ("id", "Gata", "Telefon", "Ort"), ("hr_id", "street", "phone", "city"),
                      id_header="id", encoding="utf-8", delimiter=",", newline="\n")
    record = {"hr_id": "E1", "street": "=HYPERLINK(\"http://x\")", "phone": "+46701234567",
              "city": "-1 500,50"}
    text = write_hr_changes([record], shape).decode("utf-8")
    assert list(csv.reader(io.StringIO(text))) == \
        [["id", "Gata", "Telefon", "Ort"], ["E1", "'=HYPERLINK(\"http://x\")", "+46701234567", "-1 500,50"]]


def test_xlsx_text_is_never_a_formula_and_keeps_its_exact_text():
    shape = FileShape("xlsx", ("id", "Gata", "Telefon"), ("hr_id", "street", "phone"), id_header="id",
                      sheet="Blad1")
    data = write_hr_changes([{"hr_id": "E1", "street": "=1+1", "phone": "+46701234567"}], shape)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Blad1"]
    assert [(c.value, c.data_type) for c in sheet[2]] == [("E1", "s"), ("=1+1", "s"), ("+46701234567", "s")]


def test_a_letter_the_files_encoding_cannot_hold_is_refused_not_replaced():
    hr, before = loaded(EXPORT.encode("cp1252"), "export.csv")
    record = {**before["E1"], "last_name": "Łukasiewicz"}
    with pytest.raises(InputError, match=r"'Ł' in the row of HR id 'E1' cannot be written in cp1252"):
        write_hr_changes([record], hr.shape)
    assert "Łukasiewicz" in write_hr_changes([record], hr.shape, encoding="utf-8-sig").decode("utf-8-sig")
    assert write_hr_changes([record], hr.shape, format="xlsx").startswith(b"PK")


def test_fields_the_file_has_no_column_for_are_named():
    hr, _ = loaded(EXPORT.encode("cp1252"), "export.csv")
    assert columns_missing(hr.shape, {"E2": ["phone", "account_nr", "city"]}) == ["city", "account_nr"]


def test_only_changed_columns_needs_what_changed():
    hr, before = loaded(EXPORT.encode("cp1252"), "export.csv")
    with pytest.raises(InputError, match="only_changed_columns needs `changed`"):
        write_hr_changes([before["E1"]], hr.shape, only_changed_columns=True)
