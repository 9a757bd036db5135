"""The field table (workbench.fields): its shape, HR header aliases, Kleer's one name, the diff,
masking and record normalisation."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from workbench import fields as F
from workbench import normalize as n

# One HR row as an HR system exports it, with one raw value per field; a test below keeps it
# covering the whole table, so a new field cannot slip past these tests.
SAMPLE = {
    "hr_id": " E-1001 ",
    "first_name": "Anna  Maria",
    "last_name": "von Essen",
    "ssn": n.make_personnummer(date(1985, 3, 12), 123)[2:],
    "birth_date": None,
    "private_email": " Anna.von.Essen@Example.SE ",
    "work_email": "anna.vonessen@foretag.se",
    "phone": "070-123 45 67",
    "address_co": "c/o Berg",
    "street": "Storgatan  1",
    "zip_code": "123 45",
    "city": "Malmö",
    "country_code": "Sverige",
    "employment_start_date": "31/01/2024",
    "employment_end_date": None,
    "employee_number": "00042",
    "monthly_salary": "35 000 kr",
    "tax_table": "33",
    "tax_table_column": 1,
    "clearing_nr": "8327-9",
    "account_nr": "123 456 789-0",
    "active": "Ja",
}

# a second, different valid raw value per Kleer-held field
OTHER = {
    "first_name": "Anna", "last_name": "Berg", "ssn": n.make_personnummer(date(1990, 1, 2), 456),
    "private_email": "anna@home.se", "work_email": "anna@work.se", "phone": "08-123 456 78",
    "address_co": "c/o Lind", "street": "Lillgatan 2", "zip_code": "54321", "city": "Lund",
    "country_code": "NO", "employment_start_date": "2020-01-01",
    "employment_end_date": "2026-01-31", "employee_number": "43", "monthly_salary": "36000",
    "tax_table": "34", "tax_table_column": "2", "clearing_nr": "6000", "account_nr": "98765432",
    "active": "nej", "hr_id": "E-2", "birth_date": "1990-01-02",
}


def hr_record(**raw):
    record, problems = F.normalize_record({**SAMPLE, **raw})
    assert problems == {}
    return record


def kleer_record(hr, email_preference="private"):
    """The canonical Kleer record that holds exactly the HR values (built from the table)."""
    kleer = {f.kleer_side_key: hr[f.key] for f in F.kleer_fields(email_preference)
             if f.kleer.key != "name"}
    return {**kleer, "name": F.join_name(hr["first_name"], hr["last_name"])}


# --------------------------------------------------------------------------- the table

def test_the_samples_cover_every_field():
    assert set(SAMPLE) == set(F.FIELD) == set(OTHER)


def test_every_field_is_fully_described():
    assert len({f.key for f in F.FIELDS}) == len(F.FIELDS)
    assert len({f.label.casefold() for f in F.FIELDS}) == len(F.FIELDS)
    for f in F.FIELDS:
        assert re.fullmatch(r"[a-z][a-z_]*", f.key), f.key
        assert f.label.strip() and f.label == f.label.strip(), f.key
        assert f.group in F.GROUPS, f.key
        assert f.pii in (F.PII_NONE, F.PII_PERSONAL, F.PII_SENSITIVE), f.key
        assert f.aliases and callable(f.normalize) and callable(f.compare), f.key
        assert f.sqlite_type in (int, str)
        if f.kleer is not None:
            assert f.kleer.obj in ("user", "contract"), f.key
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", f.kleer.key), f.key
            assert str(f.kleer) == f"{f.kleer.obj}.{f.kleer.key}"


def test_the_table_holds_the_fields_the_issue_asks_for():
    wanted = {"hr_id", "first_name", "last_name", "private_email", "work_email", "ssn",
              "birth_date", "phone", "address_co", "street", "zip_code", "city", "country_code",
              "employment_start_date", "employment_end_date", "employee_number",
              "monthly_salary", "tax_table", "tax_table_column", "clearing_nr", "account_nr",
              "active"}
    assert wanted <= set(F.FIELD)
    assert set(F.GROUPS) == {f.group for f in F.FIELDS}


def test_personnummer_and_bank_details_are_sensitive_and_masked():
    sensitive = {f.key for f in F.FIELDS if f.pii == F.PII_SENSITIVE}
    assert {"ssn", "clearing_nr", "account_nr"} <= sensitive
    assert all(f.masked == (f.key in sensitive) for f in F.FIELDS)


@pytest.mark.parametrize("f", F.FIELDS, ids=lambda f: f.key)
def test_every_normaliser_treats_missing_as_missing(f):
    assert f.normalize(None).missing and f.normalize("  ").missing


def test_field_lookup_names_the_known_fields():
    assert F.field("ssn") is F.FIELD["ssn"]
    with pytest.raises(KeyError, match="unknown field 'salary'.*monthly_salary"):
        F.field("salary")


def test_both_emails_live_in_kleers_one_email():
    assert F.FIELD["private_email"].kleer_side_key == F.FIELD["work_email"].kleer_side_key == "email"
    assert F.FIELD["phone"].kleer_side_key == "phone"


@pytest.mark.parametrize("preference", F.EMAIL_PREFERENCES)
def test_kleer_fields_carry_the_preferred_email_only(preference):
    keys = [f.key for f in F.kleer_fields(preference)]
    assert F.email_field(preference) in keys
    assert {"private_email", "work_email"} - {F.email_field(preference)} & set(keys) == set()
    assert "hr_id" not in keys and "birth_date" not in keys
    assert "hr_id" in [f.key for f in F.kleer_fields(preference, include_id=True)]
    assert keys == [f.key for f in F.FIELDS if f.key in keys]  # table order


def test_an_unknown_email_preference_is_refused():
    with pytest.raises(ValueError, match="private"):
        F.email_field("home")


# --------------------------------------------------------------------------- HR headers

@pytest.mark.parametrize("header, key", [
    ("Förnamn", "first_name"), ("Efternamn", "last_name"), ("Personnummer", "ssn"),
    ("E-post", "work_email"), ("Privat e-post", "private_email"), ("Telefon", "phone"),
    ("Gatuadress", "street"), ("Postnummer", "zip_code"), ("Ort", "city"),
    ("Anställningsdatum", "employment_start_date"), ("Anställningsnummer", "employee_number"),
    ("Månadslön", "monthly_salary"), ("Skattetabell", "tax_table"), ("Clearingnummer", "clearing_nr"),
    ("Kontonummer", "account_nr"), ("Samordningsnummer", "ssn"), ("Födelsedatum", "birth_date"),
    ("First Name", "first_name"), ("Surname", "last_name"), ("Email", "work_email"),
    ("Work email", "work_email"), ("Mobile", "phone"), ("Zip code", "zip_code"),
    ("Start date", "employment_start_date"), ("Employee ID", "hr_id"), ("Country", "country_code"),
])
def test_swedish_and_english_headers_resolve(header, key):
    assert F.resolve_header(header) == key


@pytest.mark.parametrize("header", [
    "förnamn", "FÖRNAMN", "  Förnamn  ", "\ufeffFörnamn", "\ufeff Förnamn",
    unicodedata.normalize("NFD", "Förnamn"), "first_name", "FIRST_NAME", "First  Name",
    "first\tname", "First\u00a0name",
])
def test_headers_resolve_whatever_their_case_spacing_bom_or_unicode_form(header):
    assert F.resolve_header(header) == "first_name"


ALL_ALIASES = [(alias, f.key) for f in F.FIELDS
               for alias in (f.key, f.label, *f.aliases, *f.generic_aliases)]


@pytest.mark.parametrize("alias, key", ALL_ALIASES, ids=[f"{k}:{a}" for a, k in ALL_ALIASES])
def test_every_key_label_and_alias_resolves_to_its_own_field(alias, key):
    assert F.resolve_header(alias) == key
    assert F.resolve_header(alias.upper()) == key


@pytest.mark.parametrize("header, key", [
    ("E-post", "work_email"), ("Arbetsmail", "work_email"), ("Jobbmejl", "work_email"),
    ("Work email", "work_email"), ("Privat e-post", "private_email"),
    ("Privat mejl", "private_email"), ("Personal email", "private_email"),
])
def test_email_headers_tell_work_from_private(header, key):
    assert F.resolve_header(header) == key


def test_a_generic_email_header_yields_to_one_that_names_its_field():
    assert F.suggest_mapping(["E-post", "Privat e-post"]) == \
        {"E-post": "work_email", "Privat e-post": "private_email"}
    assert F.suggest_mapping(["Privat e-post", "E-post"]) == \
        {"Privat e-post": "private_email", "E-post": "work_email"}
    assert F.suggest_mapping(["Email", "Work email"]) == \
        {"Email": "private_email", "Work email": "work_email"}
    assert F.suggest_mapping(["E-post", "Arbetsmail", "Privat mejl"]) == \
        {"E-post": None, "Arbetsmail": "work_email", "Privat mejl": "private_email"}
    assert F.is_generic_header("e-post") and not F.is_generic_header("Privat e-post")


def test_header_signature_is_stable_across_order_case_and_spacing_only():
    base = F.header_signature(["Anställd-ID", "Förnamn", "Efternamn"])
    assert base.startswith("hdr1:") and len(base) == 21
    assert F.header_signature(["efternamn", " Förnamn ", "\ufeffANSTÄLLD-ID", ""]) == base
    assert F.header_signature([unicodedata.normalize("NFD", "Förnamn"), "Efternamn",
                               "Anställd-ID"]) == base
    assert F.header_signature(["Anställd-ID", "Förnamn", "Efternamn", "Ort"]) != base
    assert F.header_signature(["Anställd-ID", "Förnamn"]) != base


def test_no_alias_belongs_to_two_fields():
    owners: dict[str, set[str]] = {}
    for f in F.FIELDS:
        for alias in (f.key, f.label, *f.aliases, *f.generic_aliases):
            owners.setdefault(F._header_key(alias), set()).add(f.key)
    assert {a: keys for a, keys in owners.items() if len(keys) > 1} == {}


@pytest.mark.parametrize("header", ["Favourite colour", "", "   ", "namn x"])
def test_unknown_headers_resolve_to_none(header):
    assert F.resolve_header(header) is None


def test_suggest_mapping_gives_each_field_to_the_first_header_only():
    mapping = F.suggest_mapping(["Förnamn", "First name", "Efternamn", "Shoe size", "E-post",
                                 "Arbets-e-post"])
    assert mapping == {"Förnamn": "first_name", "First name": None, "Efternamn": "last_name",
                       "Shoe size": None, "E-post": "private_email",  # the work one is named
                       "Arbets-e-post": "work_email"}


# --------------------------------------------------------------------------- Kleer's one name

@pytest.mark.parametrize("full, first, last", [
    ("Anna Svensson", "Anna", "Svensson"),
    ("Carl von Essen", "Carl", "von Essen"),
    ("Hilma af Klint", "Hilma", "af Klint"),
    ("Louis de Geer", "Louis", "de Geer"),
    ("Anna van der Berg", "Anna", "van der Berg"),
    ("Carl Von Essen", "Carl", "Von Essen"),
    ("Anna Maria Svensson", "Anna Maria", "Svensson"),
    ("Anna Maria von Essen", "Anna Maria", "von Essen"),
    ("Per-Olof Åström", "Per-Olof", "Åström"),
    ("Madonna", "Madonna", None),
    ("  Anna \t  Svensson \n", "Anna", "Svensson"),
    ("", None, None),
    ("   ", None, None),
    (None, None, None),
])
def test_split_name(full, first, last):
    assert F.split_name(full) == (first, last)


@pytest.mark.parametrize("first, last, full", [
    ("Anna", "Svensson", "Anna Svensson"),
    ("Carl", "von Essen", "Carl von Essen"),
    (" Anna  Maria ", " Svensson", "Anna Maria Svensson"),
    ("Madonna", None, "Madonna"),
    (None, "Svensson", "Svensson"),
    ("", "  ", None),
    (None, None, None),
])
def test_join_name(first, last, full):
    assert F.join_name(first, last) == full


def test_join_name_is_nfc():
    assert F.join_name(unicodedata.normalize("NFD", "Åsa"), "Öberg") == "Åsa Öberg"


LETTERS = "abcdefghijklmnopqrstuvwxyzåäöéüøæABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖÉÜØÆ"
word = st.builds(str.__add__, st.sampled_from(LETTERS), st.text(alphabet=LETTERS + "-'", max_size=11))


@given(first_words=st.lists(word, min_size=1, max_size=3), last=word)
def test_split_undoes_join_for_a_one_word_last_name(first_words, last):
    assume(not any(w.casefold() in F.PARTICLES for w in first_words[1:]))
    first = " ".join(first_words)
    assert F.split_name(F.join_name(first, last)) == (first, last)


@given(st.text())
def test_join_undoes_split_for_any_text(full):
    assert F.join_name(*F.split_name(full)) == n.name_display(full)


def test_kleer_name_parts_follow_hr_when_the_full_name_agrees():
    assert F.kleer_name_parts("Anna Maria Svensson", "Anna", "Maria Svensson") == \
        ("Anna", "Maria Svensson")
    assert F.kleer_name_parts("Anna Maria Svensson", "Anna", "Berg") == ("Anna Maria", "Svensson")
    assert F.kleer_name_parts("Anna Svensson") == ("Anna", "Svensson")


# --------------------------------------------------------------------------- diff

@pytest.mark.parametrize("preference", F.EMAIL_PREFERENCES)
def test_equal_records_have_no_diff(preference):
    hr = hr_record()
    assert F.diff(hr, kleer_record(hr, preference), email_preference=preference) == []


@given(first_words=st.lists(word, min_size=1, max_size=3),
       last_words=st.lists(word, min_size=1, max_size=3))
def test_any_hr_name_equals_its_own_kleer_name(first_words, last_words):
    hr = hr_record(first_name=" ".join(first_words), last_name=" ".join(last_words))
    assert F.diff(hr, kleer_record(hr)) == []


@pytest.mark.parametrize("f", F.kleer_fields(), ids=lambda f: f.key)
def test_a_changed_field_is_the_only_diff(f):
    hr = hr_record()
    kleer = kleer_record(hr_record(**{f.key: OTHER[f.key]}))
    diffs = F.diff(hr, kleer)
    assert [d.key for d in diffs] == [f.key]
    assert diffs[0].label == f.label
    assert diffs[0].hr == hr[f.key]
    assert diffs[0].as_dict() == {"key": f.key, "label": f.label, "hr": hr[f.key],
                                  "kleer": diffs[0].kleer}


def test_a_name_that_reads_the_same_in_full_is_not_a_diff():
    hr = hr_record(first_name="Anna", last_name="Maria Svensson")
    assert F.diff(hr, {**kleer_record(hr), "name": "Anna  Maria Svensson"}) == []
    other = hr_record(first_name="Anna Maria", last_name="Svensson")
    assert F.diff(other, {**kleer_record(other), "name": "Anna Maria Svensson"}) == []


def test_a_different_first_name_shows_as_the_first_name():
    hr = hr_record(first_name="Anna Maria", last_name="Svensson")
    diffs = F.diff(hr, {**kleer_record(hr), "name": "Anna Svensson"})
    assert [(d.key, d.hr, d.kleer) for d in diffs] == [("first_name", "Anna Maria", "Anna")]


def test_name_case_is_a_diff():
    hr = hr_record(first_name="Anna", last_name="Svensson")
    diffs = F.diff(hr, {**kleer_record(hr), "name": "anna svensson"})
    assert {d.key for d in diffs} == {"first_name", "last_name"}


def test_a_kleer_record_without_name_compares_first_and_last_name():
    hr = hr_record()
    kleer = {k: v for k, v in kleer_record(hr).items() if k != "name"}
    kleer.update(first_name=hr["first_name"], last_name="Berg")
    assert [(d.key, d.kleer) for d in F.diff(hr, kleer)] == [("last_name", "Berg")]


def test_the_email_preference_picks_the_hr_email_compared():
    hr = hr_record(private_email="anna@home.se", work_email="anna@work.se")
    kleer = {**kleer_record(hr), "email": "anna@work.se"}
    assert F.diff(hr, kleer, email_preference="work") == []
    diffs = F.diff(hr, kleer, email_preference="private")
    assert [(d.key, d.hr, d.kleer) for d in diffs] == \
        [("private_email", "anna@home.se", "anna@work.se")]


@pytest.mark.parametrize("missing", [None, "", "  ", float("nan")])
def test_missing_against_missing_is_equal(missing):
    hr = hr_record(phone=None, address_co=None)
    kleer = {**kleer_record(hr), "phone": missing, "address_co": missing}
    assert F.diff(hr, kleer) == []
    assert F.diff(hr, {k: v for k, v in kleer.items() if k not in ("phone", "address_co")}) == []


def test_missing_against_present_is_a_diff_shown_as_none():
    hr = hr_record(phone=None)
    diffs = F.diff(hr, {**kleer_record(hr), "phone": "+46701234567"})
    assert [(d.key, d.hr, d.kleer) for d in diffs] == [("phone", None, "+46701234567")]
    nan_side = F.diff({**hr, "phone": float("nan")}, {**kleer_record(hr), "phone": "+46701234567"})
    assert nan_side[0].hr is None


def test_numbers_and_booleans_compare_by_value_not_type():
    hr = hr_record()
    kleer = {**kleer_record(hr), "monthly_salary": str(hr["monthly_salary"]), "active": 1,
             "employee_number": "42"}
    assert F.diff(hr, kleer) == []


def test_text_compares_after_whitespace_folding():
    hr = hr_record(street="Storgatan 1")
    assert F.diff(hr, {**kleer_record(hr), "street": " Storgatan   1 "}) == []
    assert [d.key for d in F.diff(hr, {**kleer_record(hr), "street": "storgatan 1"})] == ["street"]


# --------------------------------------------------------------------------- masking

def test_mask_keeps_the_birth_date_of_a_personnummer():
    number = n.make_personnummer(date(1985, 3, 12), 123)
    assert F.mask("ssn", number) == "19850312-****"
    assert F.mask("ssn", number[2:].replace("-", "")) == "19850312-****"
    assert F.mask("ssn", n.make_personnummer(date(1985, 3, 12), 7, coordination=True)) == \
        "19850372-****"
    bad_checksum = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert F.mask("ssn", bad_checksum) == "****"  # invalid: nothing of it is shown


def test_mask_keeps_the_last_four_digits_of_an_account():
    assert F.mask("account_nr", "123 456 789-0") == "****7890"
    assert F.mask("account_nr", 98765432) == "****5432"
    assert F.mask("account_nr", "1234") == "****"
    assert F.mask("clearing_nr", "8327-9") == "****"


@pytest.mark.parametrize("key", ["ssn", "account_nr", "clearing_nr"])
def test_mask_leaves_missing_values_missing(key):
    assert F.mask(key, None) is None
    assert F.mask(key, "") == ""


def test_mask_leaves_other_fields_and_unknown_keys_alone():
    assert F.mask("first_name", "Anna") == "Anna"
    assert F.mask("kleer_id", 17) == 17


def test_mask_record_masks_only_sensitive_fields_unless_revealed():
    record = hr_record()
    masked = F.mask_record(record)
    for f in F.FIELDS:
        if f.masked:
            assert masked[f.key] != record[f.key] and "****" in masked[f.key], f.key
        else:
            assert masked[f.key] == record[f.key], f.key
    assert record["account_nr"] == "1234567890"  # the input is not changed
    revealed = F.mask_record(record, reveal=True)
    assert revealed == record and revealed is not record


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)),
       st.integers(min_value=0, max_value=999))
def test_a_masked_personnummer_never_shows_its_last_four_digits(born, serial):
    number = n.make_personnummer(born, serial)
    assert F.mask("ssn", number) == number[:9] + "****"


# --------------------------------------------------------------------------- normalize_record

def test_normalize_record_gives_every_field_in_canonical_form():
    record, problems = F.normalize_record(SAMPLE)
    assert problems == {}
    assert set(record) == set(F.FIELD)
    assert record["hr_id"] == "E-1001"
    assert (record["first_name"], record["last_name"]) == ("Anna Maria", "von Essen")
    assert record["ssn"] == "19850312-1231"
    assert record["private_email"] == "anna.von.essen@example.se"
    assert record["phone"] == "+46701234567"
    assert record["zip_code"] == "12345"
    assert record["country_code"] == "SE"
    assert record["employment_start_date"] == "2024-01-31"
    assert (record["employee_number"], record["monthly_salary"]) == (42, 35000)
    assert (record["clearing_nr"], record["account_nr"], record["active"]) == \
        ("83279", "1234567890", True)
    assert record["employment_end_date"] is None


def test_normalize_record_fills_the_birth_date_from_the_personnummer():
    assert F.normalize_record(SAMPLE)[0]["birth_date"] == "1985-03-12"
    coordination = n.make_personnummer(date(1990, 7, 1), 5, coordination=True)
    assert F.normalize_record({**SAMPLE, "ssn": coordination})[0]["birth_date"] == "1990-07-01"
    given_date = F.normalize_record({**SAMPLE, "birth_date": "1985-03-13"})[0]
    assert given_date["birth_date"] == "1985-03-13"


def test_normalize_record_keeps_invalid_raw_text_and_reports_it():
    bad_ssn = SAMPLE["ssn"][:-1] + str((int(SAMPLE["ssn"][-1]) + 1) % 10)
    record, problems = F.normalize_record({**SAMPLE, "ssn": f" {bad_ssn} ",
                                           "private_email": " anna(at)example.se ",
                                           "zip_code": "1234", "tax_table": 99})
    assert record["ssn"] == bad_ssn and "bad checksum" in problems["ssn"]
    assert record["birth_date"] is None  # not taken from an invalid number
    assert record["private_email"] == "anna(at)example.se" and "email" in problems["private_email"]
    assert record["zip_code"] == "1234" and "5 digits" in problems["zip_code"]
    assert record["tax_table"] == "99" and "between 29 and 42" in problems["tax_table"]
    assert set(problems) == {"ssn", "private_email", "zip_code", "tax_table"}


def test_normalize_record_with_only_some_fields_leaves_the_rest_missing():
    record, problems = F.normalize_record({"hr_id": "7", "last_name": "Svensson"})
    assert problems == {}
    assert record["last_name"] == "Svensson" and record["first_name"] is None
    assert all(record[k] is None for k in F.FIELD if k not in ("hr_id", "last_name"))


def test_normalize_record_needs_a_name():
    record, problems = F.normalize_record({"hr_id": "7", "first_name": " ", "last_name": None})
    assert "name" in problems["first_name"]
    assert record["first_name"] is None
