"""The normalisers (workbench.normalize): every accepted spelling, every refusal with its reason,
and the properties that must hold for any input (hypothesis)."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from workbench import normalize as n
from workbench.fields import FIELDS

TODAY = date(2025, 6, 1)
CANONICAL_PNR = re.compile(r"\d{8}-\d{4}")


def check_digit(nine: str) -> str:
    """Textbook Luhn for a personnummer (weights 2,1,2,… from the left): the test's own oracle."""
    total = sum(sum(divmod(int(d) * (2 - i % 2), 10)) for i, d in enumerate(nine))
    return str((10 - total % 10) % 10)


def pnr(yyyymmdd: str, serial: str = "123") -> str:
    """A checksum-valid canonical number built with the oracle, not with the code under test."""
    return f"{yyyymmdd}-{serial}{check_digit(yyyymmdd[2:] + serial)}"


def age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# --------------------------------------------------------------------------- personnummer

def test_published_example_numbers_are_valid():
    # Skatteverket's/Wikipedia's example and "Tolvan Tolvansson", the classic test person
    assert n.personnummer("811218-9876", today=TODAY).value == "19811218-9876"
    assert n.personnummer("121212-1212", today=TODAY).value == "20121212-1212"
    assert n.luhn_ok("8112189876") and not n.luhn_ok("8112189875")


@pytest.mark.parametrize("raw", [
    "19850312-1231", "198503121231", "850312-1231", "8503121231", " 850312 - 1231 ",
    "19850312 1231", 8503121231, 198503121231, 8503121231.0,
])
def test_every_spelling_gives_the_canonical_form(raw):
    assert pnr("19850312", "123") == "19850312-1231"
    p = n.personnummer(raw, today=TODAY)
    assert (p.value, p.error, p.ok) == ("19850312-1231", None, True)
    assert p.birth_date == date(1985, 3, 12)
    assert p.coordination is False
    assert p.raw == raw


@pytest.mark.parametrize("ten, born", [
    ("250301-", date(2025, 3, 1)),   # born this year, before today
    ("250601-", date(2025, 6, 1)),   # born today
    ("251201-", date(1925, 12, 1)),  # the birthday this year is still to come: 99 years old
    ("250301+", date(1925, 3, 1)),   # '+': 100 years old
    ("250601+", date(1925, 6, 1)),   # '+': 100 today
    ("251201+", date(1825, 12, 1)),  # '+': not 99 but 199
    ("991231-", date(1999, 12, 31)),
    ("991231+", date(1899, 12, 31)),
])
def test_ten_digits_take_their_century_from_today(ten, born):
    number = ten + pnr(born.strftime("%Y%m%d"))[-4:]
    p = n.personnummer(number, today=TODAY)
    assert p.ok, p.error
    assert p.birth_date == born
    assert p.value == pnr(born.strftime("%Y%m%d"))


def test_the_same_ten_digits_mean_another_century_on_another_day():
    number = "991231-" + pnr("19991231")[-4:]
    assert n.personnummer(number, today=date(2025, 1, 1)).birth_date == date(1999, 12, 31)
    assert n.personnummer(number, today=date(1999, 12, 30)).birth_date == date(1899, 12, 31)


def test_a_separator_free_ten_digit_number_means_under_100():
    number = pnr("19251201")
    assert n.personnummer(number[2:].replace("-", ""), today=TODAY).value == number


@pytest.mark.parametrize("day, ok", [
    ("20000229", True),   # divisible by 400: leap
    ("20240229", True),
    ("19000229", False),  # divisible by 100: not leap
    ("20230229", False),
])
def test_29_february_only_in_leap_years(day, ok):
    p = n.personnummer(pnr(day), today=TODAY)
    assert p.ok is ok
    if ok:
        assert p.birth_date.isoformat() == f"{day[:4]}-02-29"
    else:
        assert p.value is None and "impossible date" in p.error


def test_29_february_of_a_ten_digit_number_resolves_the_century_first():
    number = pnr("20000229")[2:]
    assert n.personnummer(number, today=TODAY).birth_date == date(2000, 2, 29)
    # before 29 February 2000 the number can only mean 1900, which had no 29 February
    early = n.personnummer(number, today=date(2000, 1, 15))
    assert early.value is None and "impossible date" in early.error


def test_samordningsnummer_has_sixty_added_to_the_day():
    number = pnr("19850372")
    p = n.personnummer(number, today=TODAY)
    assert p.ok and p.coordination
    assert p.value == number  # the canonical form keeps day + 60
    assert p.birth_date == date(1985, 3, 12)
    assert n.personnummer(number[2:], today=TODAY).value == number


@pytest.mark.parametrize("digits", ["19850360", "19850392", "19850289", "19850229"])
def test_samordningsnummer_day_must_be_a_real_day_too(digits):
    p = n.personnummer(pnr(digits), today=TODAY)
    assert p.value is None and "impossible date" in p.error


def _bad_checksum():
    good = pnr("19850312")
    return good[:-1] + str((int(good[-1]) + 1) % 10)


@pytest.mark.parametrize("raw, reason", [
    (_bad_checksum(), "bad checksum"),
    (_bad_checksum()[2:], "bad checksum"),
    (pnr("19851312"), "impossible date"),
    (pnr("19850332"), "impossible date"),
    (pnr("19850012"), "impossible date"),
    (pnr("19850300"), "impossible date"),
    ("850312123", "wrong length"),
    ("85031212312", "wrong length"),
    ("1985031212311", "wrong length"),
    ("--", "wrong length"),
    ("85O312-1231", "unexpected characters"),
    ("19850312/1231", "unexpected characters"),
    ("١٩٨٥٠٣١٢١٢٣١", "unexpected characters"),  # Arabic-Indic digits
    ("8503121231.5", "unexpected characters"),
    (pnr("20990101"), "future"),
    (pnr("20250602"), "future"),
])
def test_each_invalid_number_carries_its_reason(raw, reason):
    p = n.personnummer(raw, today=TODAY)
    assert p.value is None and not p.ok and not p.missing
    assert reason in p.error
    assert p.raw == raw


@pytest.mark.parametrize("raw", [None, "", "   ", float("nan"), pd.NA, pd.NaT])
def test_a_missing_number_is_not_an_error(raw):
    p = n.personnummer(raw, today=TODAY)
    assert p.missing and p.ok and p.value is None and p.error is None


def test_the_checksum_failure_still_tells_the_readable_birth_date():
    p = n.personnummer(_bad_checksum(), today=TODAY)
    assert p.birth_date == date(1985, 3, 12) and p.value is None


def test_today_defaults_to_the_real_today():
    tomorrow = date.today() + timedelta(days=1)
    assert "future" in n.personnummer(pnr(tomorrow.strftime("%Y%m%d"))).error
    assert n.personnummer(pnr(date.today().strftime("%Y%m%d"))).ok


births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
serials = st.integers(min_value=0, max_value=999)


@given(born=births, serial=serials, coordination=st.booleans())
def test_every_made_number_parses_valid_with_its_birth_date(born, serial, coordination):
    made = n.make_personnummer(born, serial, coordination=coordination)
    assert made == pnr(f"{born:%Y%m}{born.day + 60 * coordination:02d}", f"{serial:03d}")
    p = n.personnummer(made, today=TODAY)
    assert p.ok, p.error
    assert (p.value, p.birth_date, p.coordination) == (made, born, coordination)
    assert n.birth_date_from_personnummer(made, today=TODAY).value == born.isoformat()


@given(born=births, serial=serials, position=st.integers(min_value=2, max_value=11),
       delta=st.integers(min_value=1, max_value=9))
def test_changing_any_one_checked_digit_makes_the_number_invalid(born, serial, position, delta):
    digits = n.make_personnummer(born, serial).replace("-", "")
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1:]
    p = n.personnummer(changed, today=TODAY)
    assert not p.ok and p.value is None
    if p.birth_date is not None:  # the date still reads: only Luhn can catch it
        assert "bad checksum" in p.error


@st.composite
def day_and_birth(draw):
    """A day and a birth date at most 199 years before it (what ten digits can express),
    drawn year by year so that hypothesis reaches both ends of the range."""
    today = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31)))
    year = today.year - draw(st.integers(min_value=0, max_value=200))
    born = draw(st.dates(min_value=date(year, 1, 1), max_value=min(date(year, 12, 31), today)))
    assume(age(born, today) < 200)
    return today, born


@given(day_and_birth(), serials, st.booleans())
@example((date(2025, 6, 1), date(1825, 12, 1)), 123, False)  # '+', 199, birthday still to come
@example((date(2025, 6, 1), date(1925, 12, 1)), 123, False)  # '-', 99, birthday still to come
def test_ten_and_twelve_digit_forms_agree(today_born, serial, coordination):
    today, born = today_born
    twelve = n.make_personnummer(born, serial, coordination=coordination)
    separator = "+" if age(born, today) >= 100 else "-"
    ten = twelve[2:].replace("-", separator)
    assert n.personnummer(ten, today=today).value == twelve
    assert n.personnummer(twelve.replace("-", ""), today=today).value == twelve


@settings(max_examples=300)
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", errors="replace")),
                 st.text(alphabet="0123456789-+ ", max_size=16)))
def test_parsing_arbitrary_text_never_raises(raw):
    p = n.personnummer(raw, today=TODAY)
    assert isinstance(p, n.Personnummer)
    if p.ok and not p.missing:
        assert CANONICAL_PNR.fullmatch(p.value) and p.birth_date <= TODAY
    else:
        assert p.value is None and (p.missing or p.error)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_completes_nine_digits(nine):
    assert [d for d in "0123456789" if n.luhn_ok(nine + d)] == [check_digit(nine)]


# --------------------------------------------------------------------------- birth date

def test_birth_date_from_a_personnummer():
    assert n.birth_date_from_personnummer(pnr("19850312"), today=TODAY).value == "1985-03-12"
    assert n.birth_date_from_personnummer(pnr("19850372")[2:], today=TODAY).value == "1985-03-12"
    parsed = n.personnummer(pnr("19700101"), today=TODAY)
    assert n.birth_date_from_personnummer(parsed).value == "1970-01-01"


def test_no_birth_date_from_an_invalid_personnummer():
    bad = n.birth_date_from_personnummer(_bad_checksum(), today=TODAY)
    assert bad.value is None and "bad checksum" in bad.error
    assert "impossible date" in n.birth_date_from_personnummer(pnr("19851312")).error
    assert n.birth_date_from_personnummer(None).missing


# --------------------------------------------------------------------------- email

@pytest.mark.parametrize("raw, canonical", [
    ("  Anna.Svensson@Example.SE  ", "anna.svensson@example.se"),
    ("ANNA@FORETAG-AB.SE", "anna@foretag-ab.se"),
    ("mailto:Anna@example.se", "anna@example.se"),
    ("<anna@example.se>", "anna@example.se"),
    ("anna+hr@mail.example.co.uk", "anna+hr@mail.example.co.uk"),
    ("o'brien@example.ie", "o'brien@example.ie"),
])
def test_email_is_trimmed_and_lower_cased(raw, canonical):
    result = n.email(raw)
    assert (result.value, result.error, result.raw) == (canonical, None, raw)


@pytest.mark.parametrize("raw, reason", [
    ("anna", "not a valid email"),
    ("anna@", "not a valid email"),
    ("@example.se", "not a valid email"),
    ("anna@example", "not a valid email"),
    ("anna svensson@example.se", "not a valid email"),
    ("anna@@example.se", "not a valid email"),
    ("anna..svensson@example.se", "not a valid email"),
    (".anna@example.se", "not a valid email"),
    ("anna.@example.se", "not a valid email"),
    ("anna@example..se", "not a valid email"),
    ("anna@-example.se", "not a valid email"),
    ("Anna <anna@example.se>", "not a valid email"),
    ("a" * 65 + "@example.se", "too long"),
    ("anna@" + "a" * 250 + ".se", "too long"),
])
def test_bad_email_carries_its_reason(raw, reason):
    result = n.email(raw)
    assert result.value is None and reason in result.error


@given(st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10})?@[a-z0-9]{1,10}\.(se|com|nu)", fullmatch=True))
def test_email_is_idempotent_and_case_blind(address):
    assert n.email(address).value == address
    assert n.email(f"  {address.upper()} ").value == address


# --------------------------------------------------------------------------- phone

@pytest.mark.parametrize("raw, e164", [
    ("070-123 45 67", "+46701234567"),
    ("0701234567", "+46701234567"),
    ("070 - 123 45 67", "+46701234567"),
    ("+46 70 123 45 67", "+46701234567"),
    ("+46 (0)70-123 45 67", "+46701234567"),
    ("+46(0)701234567", "+46701234567"),
    ("0046 70 123 45 67", "+46701234567"),
    ("0046 (0)70 123 45 67", "+46701234567"),
    ("08-123 456 78", "+46812345678"),
    ("(08) 12 34 56", "+468123456"),
    ("031-12 34 56", "+4631123456"),
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    ("+47 22 12 34 56", "+4722123456"),
])
def test_phone_numbers_become_e164(raw, e164):
    result = n.phone(raw)
    assert (result.value, result.error) == (e164, None)


@pytest.mark.parametrize("raw, reason", [
    ("call me", "unexpected characters"),
    ("070-123 45 67 ext. 12", "unexpected characters"),
    ("701234567", "add the area code"),
    ("070-12", "digits"),
    ("+", "digits"),
    ("0", "digits"),
    ("+46 70 123 45 67 89 01", "not a Swedish phone number"),
    ("+1 234 567 890 123 456", "digits"),
])
def test_junk_phone_numbers_carry_their_reason(raw, reason):
    result = n.phone(raw)
    assert result.value is None and reason in result.error


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_every_swedish_spelling_of_a_mobile_number_agrees(rest):
    national = "07" + rest
    expected = "+467" + rest
    for spelling in (national, f"{national[:3]}-{national[3:]}", "+46" + national[1:],
                     "+46 (0)" + national[1:], "0046" + national[1:]):
        assert n.phone(spelling).value == expected


# --------------------------------------------------------------------------- names

def test_name_display_is_nfc_with_single_spaces():
    decomposed = unicodedata.normalize("NFD", "Åsa  Öberg")
    assert decomposed != "Åsa  Öberg"
    assert n.name_display(f"  {decomposed}\t") == "Åsa Öberg"
    assert n.name_display("Anna\u00a0 Maria\nSvensson") == "Anna Maria Svensson"
    assert n.name_display("   ") is None and n.name_display(None) is None


@pytest.mark.parametrize("raw, key", [
    ("Åsa Öberg", "asa oberg"),
    ("ÄNGLA", "angla"),
    ("José Núñez", "jose nunez"),
    ("Müller", "muller"),
    ("Søren Ærø", "soren aero"),
    ("Jørgen Bækgaard", "jorgen baekgaard"),
    ("Anna-Karin  O'Neil", "anna karin o neil"),
    ("Straße", "strasse"),
    ("Łukasz Đorđević", "lukasz dordevic"),
    ("Guðrún Þórsdóttir", "gudrun thorsdottir"),
])
def test_name_key_folds_case_and_diacritics(raw, key):
    assert n.name_key(raw) == key
    assert n.name_key(unicodedata.normalize("NFD", raw)) == key


def test_name_key_of_nothing_is_empty():
    assert n.name_key(None) == "" and n.name_key("  ") == "" and n.name_key(float("nan")) == ""


@given(st.text())
def test_name_key_is_idempotent(raw):
    key = n.name_key(raw)
    assert n.name_key(key) == key


# Basic Latin, Latin-1 Supplement and Latin Extended-A: the letters of European names
LATIN = "".join(chr(c) for c in range(0x20, 0x180)
                if unicodedata.category(chr(c)) != "Cc" and chr(c) != "\u00b5")  # µ is Greek


@given(st.text(alphabet=LATIN))
def test_name_key_of_latin_text_is_ascii(raw):
    assert n.name_key(raw).isascii()


@pytest.mark.parametrize("raw, value, error", [
    ("  Anna   Maria ", "Anna Maria", None),
    ("Ö", "Ö", None),
    ("123", None, "at least one letter"),
    ("--", None, "at least one letter"),
    ("", None, None),
])
def test_name_needs_a_letter(raw, value, error):
    result = n.name(raw)
    assert result.value == value
    assert (error is None and result.error is None) or error in result.error


def test_text_and_identifier():
    assert n.text("  Box   12 ").value == "Box 12" and n.text(" ").missing
    assert n.identifier(12.0).value == "12"
    assert n.identifier(" A-17 ").value == "A-17"
    assert n.identifier(None).missing


# --------------------------------------------------------------------------- dates

@pytest.mark.parametrize("raw", [
    "2024-01-31", "2024-1-31", "2024/01/31", "2024.01.31", "31/01/2024", "31.01.2024", "31-01-2024",
    "20240131", " 2024-01-31 ", "2024-01-31T08:30:00", "2024-01-31 08:30", "2024-01-31T08:30:00Z",
    "2024-01-31T08:30:00+01:00", 45322, 45322.0, 45322.75, "45322",
    datetime(2024, 1, 31, 8, 30), date(2024, 1, 31), pd.Timestamp("2024-01-31 08:30"),
])
def test_every_date_spelling_gives_iso(raw):
    result = n.parse_date(raw)
    assert (result.value, result.error) == ("2024-01-31", None)


def test_excel_serials_count_from_excels_epoch():
    assert n.parse_date(45000).value == "2023-03-15"
    assert n.parse_date("45000").value == "2023-03-15"


@pytest.mark.parametrize("raw, reason", [
    ("2023-02-29", "impossible date"),
    ("2024-02-30", "impossible date"),
    ("31/02/2024", "impossible date"),
    ("31.02.2024", "impossible date"),
    ("2024/13/01", "impossible date"),
    ("20241301", "impossible date"),
    ("20240132", "impossible date"),
    ("tomorrow", "not a date"),
    ("31 jan 2024", "not a date"),
    (True, "not a date"),
    (0, "out of range"),
    (-1, "out of range"),
    (3_000_000, "out of range"),
    (float("inf"), "out of range"),
])
def test_bad_dates_carry_their_reason(raw, reason):
    result = n.parse_date(raw)
    assert result.value is None and reason in result.error


def test_29_february_in_a_leap_year_is_a_date():
    assert n.parse_date("2024-02-29").value == "2024-02-29"
    assert n.parse_date("29/02/2000").value == "2000-02-29"


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2150, 12, 31)))
def test_iso_day_first_compact_and_excel_forms_agree(day):
    serial = (day - date(1899, 12, 30)).days
    spellings = [day.isoformat(), f"{day:%d/%m/%Y}", f"{day:%Y%m%d}", f"{day:%d.%m.%Y}", serial,
                 datetime.combine(day, datetime.min.time())]
    if serial >= 10000:  # Excel serials as text only from 1927 on (five digits); "2024" is a year
        spellings.append(str(serial))
    for spelling in spellings:
        assert n.parse_date(spelling).value == day.isoformat()


@pytest.mark.parametrize("raw", ["2024", "12", "999"])
def test_a_short_number_as_text_is_not_an_excel_date(raw):
    assert n.parse_date(raw).value is None and "not a date" in n.parse_date(raw).error


# --------------------------------------------------------------------------- postal codes

@pytest.mark.parametrize("raw", ["12345", "123 45", " 123  45 ", "123-45", "SE-123 45", "SE12345",
                                 "S-123 45", "se 123 45", 12345, 12345.0])
def test_swedish_postal_codes_are_five_digits(raw):
    assert n.postal_code(raw).value == "12345"


def test_foreign_postal_codes_are_kept_as_text():
    assert n.postal_code("sw1a 1aa").value == "SW1A 1AA"
    assert n.postal_code("D-10115").value == "D-10115"


@pytest.mark.parametrize("raw, reason", [
    ("1234", "5 digits (has 4)"),
    ("123 456", "5 digits (has 6)"),
    ("!!", "not a postal code"),
    ("a very long postal code", "not a postal code"),
])
def test_bad_postal_codes_carry_their_reason(raw, reason):
    result = n.postal_code(raw)
    assert result.value is None and reason in result.error


@given(st.integers(min_value=10000, max_value=99999))
def test_postal_code_with_and_without_space_agree(code):
    s = str(code)
    assert n.postal_code(f"{s[:3]} {s[3:]}").value == n.postal_code(s).value == s


# --------------------------------------------------------------------------- numbers and codes

@pytest.mark.parametrize("raw", [
    "35000", 35000, 35000.0, "35 000", "35 000 kr", "35000 SEK", "35000:-", "35.000", "35.000,00",
    "35000,00", "35,000", "35,000.00", "35\u00a0000", "35\u202f000 kr",
])
def test_monthly_salary_in_whole_kronor(raw):
    assert n.monthly_salary(raw).value == 35000


@pytest.mark.parametrize("raw, reason", [
    ("35000,50", "whole number"),
    (35000.5, "whole number"),
    ("-1", "between 0 and"),
    ("lots", "not a monthly salary"),
    (True, "not a monthly salary"),
    (float("inf"), "not a monthly salary"),
])
def test_bad_salaries_carry_their_reason(raw, reason):
    result = n.monthly_salary(raw)
    assert result.value is None and reason in result.error


@pytest.mark.parametrize("fn, low, high", [(n.tax_table, 29, 42), (n.tax_table_column, 1, 6)])
def test_tax_table_and_column_ranges(fn, low, high):
    assert fn(str(low)).value == low and fn(float(high)).value == high
    for outside in (low - 1, high + 1):
        assert fn(outside).value is None and f"between {low} and {high}" in fn(outside).error


@pytest.mark.parametrize("raw, value, reason", [
    ("00123", 123, None),
    (123.0, 123, None),
    ("E123", None, "digits only"),
    ("12 345", None, "digits only"),
    ("²", None, "digits only"),
    ("١٢٣", None, "digits only"),
])
def test_employee_number(raw, value, reason):
    result = n.employee_number(raw)
    assert result.value == value
    assert result.error is None if reason is None else reason in result.error


@pytest.mark.parametrize("raw, value, reason", [
    ("8327-9", "83279", None),
    ("6000", "6000", None),
    (3300, "3300", None),
    ("123", None, "4 or 5 digits (has 3)"),
    ("12ab", None, "must be digits"),
])
def test_clearing_number(raw, value, reason):
    result = n.clearing_nr(raw)
    assert result.value == value
    assert result.error is None if reason is None else reason in result.error


@pytest.mark.parametrize("raw, value, reason", [
    ("123 456 789-0", "1234567890", None),
    ("12.345.678", "12345678", None),
    ("1", None, "2 to 15 digits (has 1)"),
    ("1234567890123456", None, "2 to 15 digits (has 16)"),
    ("konto 12", None, "must be digits"),
])
def test_account_number(raw, value, reason):
    result = n.account_nr(raw)
    assert result.value == value
    assert result.error is None if reason is None else reason in result.error


@pytest.mark.parametrize("raw, code", [
    ("SE", "SE"), ("se", "SE"), (" Sverige ", "SE"), ("Sweden", "SE"), ("SWE", "SE"),
    ("Norge", "NO"), ("danmark", "DK"), ("Suomi", "FI"), ("United Kingdom", "GB"),
])
def test_country_codes(raw, code):
    assert n.country_code(raw).value == code


@pytest.mark.parametrize("raw", ["Narnia", "S", "123", "XYZ"])
def test_unknown_countries_are_refused(raw):
    result = n.country_code(raw)
    assert result.value is None and "two-letter code" in result.error


@pytest.mark.parametrize("raw, value", [
    (True, True), (False, False), ("Ja", True), ("nej", False), ("yes", True), ("NO", False),
    ("1", True), ("0", False), (1, True), (0, False), (1.0, True), ("x", True), ("Aktiv", True),
    ("inaktiv", False), ("Slutat", False), ("TRUE", True), ("falskt", False),
])
def test_booleans_in_swedish_and_english(raw, value):
    assert n.boolean(raw).value is value


def test_unknown_boolean_is_refused():
    result = n.boolean("kanske")
    assert result.value is None and "yes/no" in result.error


# --------------------------------------------------------------------------- missing values and robustness

@pytest.mark.parametrize("raw, missing", [
    (None, True), ("", True), (" \t\n", True), ("\u00a0", True), (float("nan"), True),
    (pd.NA, True), (pd.NaT, True), (math.nan, True),
    (0, False), ("0", False), (False, False), ("x", False), ([], False),
])
def test_is_missing(raw, missing):
    assert n.is_missing(raw) is missing


NORMALISERS = [n.personnummer, n.birth_date_from_personnummer, n.email, n.phone, n.name, n.text,
               n.identifier, n.parse_date, n.postal_code, n.employee_number, n.monthly_salary,
               n.tax_table, n.tax_table_column, n.clearing_nr, n.account_nr, n.country_code,
               n.boolean]


@pytest.mark.parametrize("fn", NORMALISERS, ids=lambda f: f.__name__)
def test_a_missing_value_is_missing_for_every_normaliser(fn):
    for raw in (None, "", "  ", float("nan")):
        result = fn(raw)
        assert result.missing and result.ok, (fn.__name__, raw)


anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
                     st.binary().map(lambda b: b.decode("utf-8", errors="replace")),
                     st.dates(), st.datetimes())


#: Every normaliser of workbench.normalize: the public functions that return a result value.
EVERY_NORMALISER = [getattr(n, name) for name in n.__all__
                    if getattr(getattr(n, name), "__annotations__", {}).get("return")
                    in ("Normalized", "Personnummer")]


def test_the_normaliser_lists_are_complete():
    names = {f.__name__ for f in EVERY_NORMALISER}
    assert {"personnummer", "email", "phone", "parse_date", "postal_code", "boolean"} <= names
    assert {f.normalize.__name__ for f in FIELDS} <= names
    assert {f.__name__ for f in NORMALISERS} <= names


@settings(max_examples=150)
@given(raw=st.one_of(anything, st.decimals(allow_nan=False, allow_infinity=True),
                     st.just(Decimal("NaN")), st.binary(max_size=24),
                     st.from_regex(r"\A(19|20)?\d{6}[-+ ]?\d{4}\Z"),
                     st.from_regex(r"\A\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\Z")))
def test_no_normaliser_raises_and_every_refusal_says_why(raw):
    for fn in EVERY_NORMALISER:
        result = fn(raw)
        assert isinstance(result, (n.Normalized, n.Personnummer)), fn.__name__
        assert result.raw is raw
        if result.error is not None:
            assert result.value is None and result.error.strip(), fn.__name__
    assert isinstance(n.name_key(raw), str)
    shown, key = n.name_display(raw), n.name_key(raw)
    assert shown is None or (isinstance(shown, str) and shown == shown.strip() and shown)
    assert key == key.strip()
