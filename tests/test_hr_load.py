"""Loading real Swedish HR exports: work vs private email, the id fallback, --map, row checks,
and the file's shape remembered for handing changes back."""

from __future__ import annotations

from datetime import date

import pytest

from workbench import SourceError
from workbench.fields import header_signature
from workbench.sources import peek_headers, parse_mapping, read_hr

TODAY = date(2026, 1, 15)


def load(text: str, **kwargs):
    return read_hr(text.encode("utf-8"), name="hr.csv", today=TODAY, **kwargs)


# --------------------------------------------------------------------------- work vs private email

def test_e_post_beside_privat_e_post_is_the_work_address():
    hr = load("Anställd-ID;Förnamn;Efternamn;E-post;Privat e-post\n"
              "E1;Anna;Berg;anna.berg@firma.se;anna@gmail.com\n")
    assert hr.mapping == {"Anställd-ID": "hr_id", "Förnamn": "first_name", "Efternamn": "last_name",
                          "E-post": "work_email", "Privat e-post": "private_email"}
    record = hr.records[0]
    assert record["work_email"] == "anna.berg@firma.se" and record["private_email"] == "anna@gmail.com"
    assert hr.notes == [] and hr.assumed == {}


@pytest.mark.parametrize("header, key", [
    ("E-post", "work_email"), ("Arbetsmail", "work_email"), ("Jobbmejl", "work_email"),
    ("Work email", "work_email"), ("Privat e-post", "private_email"),
    ("Privat mejl", "private_email"), ("Personal email", "private_email"),
])
def test_each_email_header_lands_in_its_field(header, key):
    hr = load(f"hr_id;first_name;last_name;{header}\nE1;Anna;Berg;anna@firma.se\n")
    assert hr.records[0][key] == "anna@firma.se"
    other = "private_email" if key == "work_email" else "work_email"
    assert hr.records[0][other] is None


def test_one_generic_email_column_on_a_company_domain_is_assumed_work_and_said():
    hr = load("hr_id;first_name;last_name;E-post\nE1;Anna;Berg;anna@firma.se\nE2;Bo;Ek;bo@firma.se\n")
    assert hr.mapping["E-post"] == "work_email" and hr.assumed == {"E-post": "work_email"}
    assert hr.notes == [
        "Column 'E-post' does not say whether it holds work or private addresses and is the "
        "file's only email column: it is read as the work email (its addresses are not on "
        "personal mail services). If that is wrong, map it to Private email (CLI: --map "
        "private_email=E-post)."]


def test_one_generic_email_column_of_personal_mailboxes_is_assumed_private_and_said():
    hr = load("hr_id;first_name;last_name;Email\nE1;Anna;Berg;anna@gmail.com\n"
              "E2;Bo;Ek;bo@hotmail.se\nE3;Cia;Lind;cia@firma.se\n")
    assert hr.assumed == {"Email": "private_email"}
    assert [r["private_email"] for r in hr.records] == ["anna@gmail.com", "bo@hotmail.se", "cia@firma.se"]
    assert "read as the private email (2 of its 3 addresses are on personal mail services)" in hr.notes[0]
    assert "--map work_email=Email" in hr.notes[0]


def test_a_mapping_that_names_the_email_column_is_not_second_guessed():
    hr = load("hr_id;first_name;last_name;E-post\nE1;Anna;Berg;anna@gmail.com\n",
              mapping={"E-post": "work_email"})
    assert hr.mapping["E-post"] == "work_email" and hr.notes == [] and hr.assumed == {}


# --------------------------------------------------------------------------- id fallback

def test_without_an_id_column_the_employee_number_is_the_hr_id_and_it_is_said():
    hr = load("Anställningsnummer;Förnamn;Efternamn\n00123;Anna;Berg\n00124;Bo;Ek\n")
    assert [r["hr_id"] for r in hr.records] == ["00123", "00124"]  # the id keeps its zeros
    assert [r["employee_number"] for r in hr.records] == [123, 124]  # Kleer's whole number
    assert hr.id_column == "Anställningsnummer" and "hr_id" in hr.fields
    assert hr.notes == ["The file has no HR id column: the employee number (column "
                        "'Anställningsnummer') is used as the HR id, and becomes Kleer's "
                        "foreign-id. To use another column, map it to HR id."]
    assert hr.shape.id_header == "Anställningsnummer"


def test_the_fallback_names_the_id_column_in_row_problems_and_skipped_rows():
    hr = load("Anställningsnummer;Förnamn;Efternamn\n;Anna;Berg\n7;Bo;Ek\n")
    assert [(p.row, p.column) for p in hr.skipped] == [(2, "Anställningsnummer")]


def test_a_file_with_neither_id_nor_employee_number_is_still_refused():
    with pytest.raises(SourceError, match=r"required columns are missing: HR id \(hr_id\)"):
        load("Förnamn;Efternamn\nAnna;Berg\n")


# --------------------------------------------------------------------------- --map

COLUMNS = ["Anst nr", "Namn", "Familjenamn", "E-post", "Privat e-post"]


def test_parse_mapping_reads_field_equals_column_by_key_or_label_and_forgives_case():
    assert parse_mapping(["hr_id=Anst nr", "First name=Namn", "last_name=familjenamn",
                          "none=E-post"], COLUMNS) == \
        {"Anst nr": "hr_id", "Namn": "first_name", "Familjenamn": "last_name", "E-post": None}


def test_a_parsed_mapping_loads_a_file_no_alias_can_read():
    text = "Anst nr;Namn;Familjenamn;E-post;Privat e-post\nA7;Anna;Berg;a@firma.se;a@gmail.com\n"
    mapping = parse_mapping(["hr_id=Anst nr", "first_name=Namn", "last_name=Familjenamn"],
                            peek_headers(text.encode(), name="hr.csv"))
    hr = load(text, mapping=mapping)
    assert hr.records[0]["hr_id"] == "A7" and hr.records[0]["last_name"] == "Berg"
    assert hr.records[0]["work_email"] == "a@firma.se"


@pytest.mark.parametrize("pairs, message", [
    (["hr_id=Personalnummer"], "--map: the column mapping names columns the file does not have: "
     "'Personalnummer'; the file's columns are: Anst nr, Namn, Familjenamn, E-post, Privat e-post"),
    (["shoe_size=Namn"], "--map: the column mapping names unknown fields: shoe_size; known fields: "),
    (["first_name=Namn", "first_name=Familjenamn"],
     "--map: more than one column is mapped to the same field (First name: Namn, Familjenamn); "
     "map one of them to nothing"),
    (["hr_id"], "--map: 'hr_id' is not FIELD=COLUMN; write e.g. --map hr_id=Anställningsnummer"),
    (["=Namn"], "--map: '=Namn' is not FIELD=COLUMN"),
])
def test_a_bad_map_is_refused_with_the_mapping_editors_message(pairs, message):
    with pytest.raises(SourceError) as e:
        parse_mapping(pairs, COLUMNS)
    assert str(e.value).startswith(message) and e.value.headers == COLUMNS


def test_the_page_and_the_cli_refuse_a_bad_mapping_with_the_same_words():
    text = "Anst nr;Namn;Familjenamn;E-post;Privat e-post\nA7;Anna;Berg;a@x.se;b@x.se\n"
    with pytest.raises(SourceError) as page:
        read_hr(text.encode(), name="--map", mapping={"Personalnummer": "hr_id"})
    with pytest.raises(SourceError) as cli:
        parse_mapping(["hr_id=Personalnummer"], COLUMNS)
    assert str(page.value) == str(cli.value)


def test_the_header_signature_finds_a_remembered_mapping_for_the_next_export():
    first = load("Anställd-ID;Förnamn;Efternamn\nE1;Anna;Berg\n")
    moved = load("Efternamn;Förnamn;Anställd-ID\nEk;Bo;E2\n")
    other = load("Anställd-ID;Förnamn;Efternamn;Ort\nE1;Anna;Berg;Lund\n")
    assert first.signature == moved.signature == header_signature(["Anställd-ID", "Förnamn", "Efternamn"])
    assert other.signature != first.signature


# --------------------------------------------------------------------------- row checks

def rows_problems(hr):
    return [(p.row, p.hr_id, p.column, p.severity, p.message) for p in hr.problems]


@pytest.mark.parametrize("first", ["", "   ", "\t"])
def test_a_blank_or_whitespace_first_name_is_reported_and_the_row_loaded(first):
    hr = load(f"hr_id;Förnamn;Efternamn\nE1;{first};Berg\n")
    assert rows_problems(hr) == [(2, "E1", "Förnamn", "error",
                                  "First name is blank (or only spaces): fill it in in the HR "
                                  "system and load again; the row is loaded without it")]
    assert hr.records[0]["last_name"] == "Berg" and hr.records[0]["first_name"] is None


def test_a_birth_date_that_disagrees_with_the_personnummer_is_reported():
    hr = load("hr_id;Förnamn;Efternamn;Personnummer;Födelsedatum\n"
              "E1;Anna;Berg;19850312-1231;1985-03-13\nE2;Bo;Ek;19850312-1231;1985-03-12\n")
    assert rows_problems(hr) == [(2, "E1", "Födelsedatum", "error",
                                  "birth date 1985-03-13 disagrees with the personnummer, which "
                                  "says 1985-03-12: correct the one that is wrong in the HR system")]
    assert hr.records[0]["birth_date"] == "1985-03-13" and hr.records[0]["ssn"] == "19850312-1231"


def test_a_samordningsnummer_agrees_with_its_real_birth_date():
    hr = load("hr_id;Förnamn;Efternamn;Personnummer;Födelsedatum\n"
              "E1;Anna;Berg;19850372-1238;1985-03-12\n")
    assert hr.records[0]["ssn"] == "19850372-1238" and rows_problems(hr) == []


def test_an_employment_start_before_birth_is_an_error_and_before_16_a_warning():
    hr = load("hr_id;Förnamn;Efternamn;Personnummer;Anställningsdatum\n"
              "E1;Anna;Berg;19850312-1231;1980-01-01\n"
              "E2;Bo;Ek;19850312-1231;1999-06-01\n"
              "E3;Cia;Lind;19850312-1231;2001-03-12\n")
    assert rows_problems(hr) == [
        (2, "E1", "Anställningsdatum", "error", "employment starts 1980-01-01, before the birth "
         "date 1985-03-12: correct the start date (or the birth date) in the HR system"),
        (3, "E2", "Anställningsdatum", "warning", "employment starts 1999-06-01, at the age of 14 "
         "(born 1985-03-12): check the start date and the birth date"),
    ]
    assert [r["employment_start_date"] for r in hr.records] == ["1980-01-01", "1999-06-01", "2001-03-12"]
    assert "employment_start_date" not in hr.records[1]["problems"]  # a warning: the value is used
    assert str(hr.problems[1]).startswith("row 3, column 'Anställningsdatum': warning: employment")


def test_a_start_date_is_checked_against_a_given_birth_date_without_a_personnummer():
    hr = load("hr_id;Förnamn;Efternamn;Födelsedatum;Startdatum\nE1;Anna;Berg;2000-05-05;1999-01-01\n")
    assert [(p.column, p.severity) for p in hr.problems] == [("Startdatum", "error")]


@pytest.mark.parametrize("ssn, digits", [("850312-123", 9), ("19850312", 8), ("8503121", 7),
                                         ("19850312-123", 11), ("8503", 4)])
def test_a_personnummer_of_the_wrong_length_is_named_as_such(ssn, digits):
    hr = load(f"hr_id;Förnamn;Efternamn;Personnummer\nE1;Anna;Berg;{ssn}\n")
    assert rows_problems(hr) == [(2, "E1", "Personnummer", "error",
                                  f"wrong length ({digits} digits; expected 10 or 12)")]


# --------------------------------------------------------------------------- the file's shape

def test_the_shape_of_a_csv_export_is_remembered_as_json():
    text = "\ufeffAnställd-ID;Förnamn;Efternamn;Skonummer;Telefon\r\nE1;Anna;Berg;38;070-123 45 67\r\n"
    hr = read_hr(text.encode("utf-8"), name="hr.csv")
    shape = hr.shape.to_dict()
    assert shape == {"format": "csv", "headers": ["Anställd-ID", "Förnamn", "Efternamn", "Skonummer",
                                                  "Telefon"],
                     "fields": ["hr_id", "first_name", "last_name", None, "phone"],
                     "id_header": "Anställd-ID", "encoding": "utf-8-sig", "delimiter": ";",
                     "newline": "\r\n", "sheet": None, "version": 1, "extra": {}}
    assert type(hr.shape).from_dict(shape) == hr.shape
