"""Normalisers: raw values from HR files and Kleer into canonical values.

Every normaliser is a pure function that never raises on bad input. It returns a
:class:`Normalized` (or :class:`Personnummer`) carrying the canonical value, or ``None`` and the
reason the value was refused, so a bad cell can be reported per row instead of crashing a load.

A missing value (``None``, NaN or blank text) is not an error: ``value`` is ``None`` and ``error``
is ``None``. Only something present and wrong carries an ``error``.

Canonical forms:
  personnummer   ``YYYYMMDD-NNNN`` (samordningsnummer keep their day + 60)
  date           ISO ``YYYY-MM-DD`` text
  email          trimmed, lower-case
  phone          E.164, Swedish numbers as ``+46…``
  postal code    Swedish codes as five digits ``12345``
  name           Unicode NFC with single spaces (display); :func:`name_key` for comparison
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "Normalized",
    "Personnummer",
    "is_missing",
    "personnummer",
    "birth_date_from_personnummer",
    "luhn_ok",
    "make_personnummer",
    "monthly_salary",
    "email",
    "phone",
    "name_display",
    "name_key",
    "name",
    "parse_date",
    "postal_code",
    "text",
    "identifier",
    "employee_number",
    "whole_number",
    "tax_table",
    "tax_table_column",
    "clearing_nr",
    "account_nr",
    "country_code",
    "boolean",
]


@dataclass(frozen=True, slots=True)
class Normalized:
    """The result of normalising one value: the canonical ``value`` or an ``error``."""

    value: Any
    error: str | None = None
    raw: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def missing(self) -> bool:
        return self.value is None and self.error is None


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA and blank text count as missing."""
    if value is None:
        return True
    kind = type(value)
    if kind is str:
        return value.strip() == ""
    if kind is int or kind is bool:  # the common cases first: this runs for every compared value
        return False
    if kind is float:
        return math.isnan(value)
    try:  # pandas.NA, numpy.nan, NaT
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, dict, tuple)) else False
    except (TypeError, ValueError, ArithmeticError):  # e.g. Decimal("sNaN") refuses comparison
        return False


def _plain_digits(s: str) -> bool:
    """Only the ASCII digits 0-9, at least one (what the regexes below call ``[0-9]+``)."""
    return s.isascii() and s.isdigit()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --------------------------------------------------------------------------- personnummer

@dataclass(frozen=True, slots=True)
class Personnummer:
    """A parsed Swedish personnummer or samordningsnummer.

    ``value`` is the canonical ``YYYYMMDD-NNNN`` form when valid, else ``None``; ``error`` says why
    (wrong length, bad checksum, impossible date, unexpected characters).
    """

    value: str | None
    error: str | None = None
    raw: Any = None
    birth_date: date | None = None
    coordination: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def missing(self) -> bool:
        return self.value is None and self.error is None


_PNR_CHARS = re.compile(r"^[0-9\s\-+]+$")


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # 2d, less 9 above 9


def luhn_ok(digits: str) -> bool:
    """Luhn check over a string of digits (the last digit is the check digit)."""
    backwards = digits[::-1]
    total = sum(map(int, backwards[0::2])) + sum(_LUHN_DOUBLED[int(ch)] for ch in backwards[1::2])
    return total % 10 == 0


def _luhn_digit(nine: str) -> int:
    """The check digit that makes ``nine + digit`` pass :func:`luhn_ok`."""
    total = 0
    for i, ch in enumerate(reversed(nine)):  # the digit next to the check digit is doubled
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def personnummer(value: Any, *, today: date | None = None) -> Personnummer:
    """Parse a personnummer/samordningsnummer: 10 or 12 digits, with or without ``-`` or ``+``.

    With 10 digits the century is inferred: ``-`` (or no separator) means under 100 years old,
    ``+`` means 100 or older. The Luhn check covers the last ten digits. A samordningsnummer has
    60 added to the day of birth.
    """
    if is_missing(value):
        return Personnummer(None, None, value)
    raw = value
    s = _text(value)
    if not _PNR_CHARS.match(s):
        return Personnummer(None, "unexpected characters (only digits, '-' and '+' are allowed)", raw)
    plus = "+" in s
    digits = re.sub(r"\D", "", s)
    if len(digits) not in (10, 12):
        return Personnummer(None, f"wrong length ({len(digits)} digits; expected 10 or 12)", raw)
    today = today or date.today()
    rest = digits[-10:]  # YYMMDDNNNC: what the checksum covers
    month, day = int(rest[2:4]), int(rest[4:6])
    coordination = day > 60
    real_day = day - 60 if coordination else day
    if len(digits) == 12:
        year = int(digits[:4])
    else:
        year = _birth_year(int(digits[:2]), month, real_day, today, over_100=plus)
    try:
        born = date(year, month, real_day)
    except ValueError:
        return Personnummer(None, "impossible date of birth", raw, coordination=coordination)
    if born > today:
        return Personnummer(None, "date of birth is in the future", raw, coordination=coordination)
    if not luhn_ok(rest):
        return Personnummer(None, "bad checksum (the last digit does not match)", raw,
                            born, coordination)
    canonical = f"{year:04d}{rest[2:6]}-{rest[6:]}"
    return Personnummer(canonical, None, raw, born, coordination)


def _birth_year(yy: int, month: int, day: int, today: date, *, over_100: bool) -> int:
    """The century of a 10-digit number: the latest year ending in ``yy`` whose birthday is not
    after ``today`` (under 100 years old), or 100 years before that with ``+`` (100 or older)."""
    year = today.year - ((today.year - yy) % 100)
    if year == today.year and (month, day) > (today.month, today.day):
        year -= 100
    return year - 100 if over_100 else year


def birth_date_from_personnummer(value: Any, *, today: date | None = None) -> Normalized:
    """The ISO birth date encoded in a valid personnummer (samordningsnummer day − 60).
    An invalid number (even one with a readable date but a bad checksum) gives its error."""
    p = value if isinstance(value, Personnummer) else personnummer(value, today=today)
    if p.missing:
        return Normalized(None, None, value)
    if not p.ok:
        return Normalized(None, p.error, value)
    return Normalized(p.birth_date.isoformat(), None, value)


def make_personnummer(born: date, serial: int, *, coordination: bool = False) -> str:
    """Build a checksum-valid canonical personnummer (used by generators and tests)."""
    day = born.day + (60 if coordination else 0)
    nine = f"{born.year % 100:02d}{born.month:02d}{day:02d}{serial % 1000:03d}"
    return f"{born.year:04d}{born.month:02d}{day:02d}-{serial % 1000:03d}{_luhn_digit(nine)}"


# --------------------------------------------------------------------------- email / phone

_EMAIL = re.compile(r"^[^@\s\"(),:;<>\[\]\\]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}$")


def email(value: Any) -> Normalized:
    """Trim and lower-case an email address and check its syntax."""
    if is_missing(value):
        return Normalized(None, None, value)
    s = _text(value)
    if s.lower().startswith("mailto:"):
        s = s[7:]
    s = s.strip().strip("<>").strip().lower()
    s = unicodedata.normalize("NFC", s)
    local, _, domain = s.rpartition("@")
    if not _EMAIL.match(s) or ".." in s or local.startswith(".") or local.endswith("."):
        return Normalized(None, "not a valid email address", value)
    if len(local) > 64 or len(s) > 254:
        return Normalized(None, "email address is too long", value)
    return Normalized(s, None, value)


def phone(value: Any, *, default_country: str = "46") -> Normalized:
    """A phone number in E.164 (``070-123 45 67`` → ``+46701234567``)."""
    if is_missing(value):
        return Normalized(None, None, value)
    s = _text(value)
    plus = s.startswith("+")
    if _plain_digits(s[1:] if plus else s):  # the common case (Kleer's +46…): no regex
        digits = s[1:] if plus else s
    elif re.search(r"[^0-9\s\-+().\/]", s):
        return Normalized(None, "not a phone number (unexpected characters)", value)
    else:
        digits = re.sub(r"\D", "", s)
    if plus:
        e164 = digits
    elif digits.startswith("00"):
        e164 = digits[2:]
    elif digits.startswith("0"):
        e164 = default_country + digits[1:]
    else:
        return Normalized(None, "not a phone number (add the area code, e.g. 070…)", value)
    if e164.startswith("46") and len(e164) > 2 and e164[2] == "0":  # +46 (0)70…
        e164 = "46" + e164[3:]
    if not 8 <= len(e164) <= 15:
        return Normalized(None, f"not a phone number ({len(e164)} digits)", value)
    if e164.startswith("46") and not 9 <= len(e164) <= 12:
        return Normalized(None, "not a Swedish phone number (wrong number of digits)", value)
    return Normalized("+" + e164, None, value)


# --------------------------------------------------------------------------- names

# Latin letters that Unicode does not decompose into a base letter and a diacritic
_FOLD = str.maketrans({"æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "ß": "ss", "đ": "d", "Đ": "d",
                       "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "œ": "oe", "Œ": "oe",
                       "ð": "d", "Ð": "d", "ħ": "h", "Ħ": "h", "ı": "i", "ĸ": "k", "ŉ": "n",
                       "ŋ": "n", "Ŋ": "n", "ŧ": "t", "Ŧ": "t"})
_NOT_WORD = re.compile(r"[^\w]+")


def name_display(value: Any) -> str | None:
    """A name for display: Unicode NFC, single spaces, trimmed. Missing → None."""
    if is_missing(value):
        return None
    s = _text(value)  # str.split() splits where the regular expression \s matches
    return " ".join((s if s.isascii() else unicodedata.normalize("NFC", s)).split()) or None


def name_key(value: Any) -> str:
    """A comparison key: case and diacritics folded (å→a, ö→o, æ→ae, ø→o), punctuation to spaces."""
    if is_missing(value):
        return ""
    s = _text(value)
    if not s.isascii():  # ASCII has nothing to decompose, only case to fold
        s = "".join(ch for ch in unicodedata.normalize("NFKD", s.translate(_FOLD))
                    if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", s.casefold().translate(_FOLD)).replace("_", " ").split())


def name(value: Any) -> Normalized:
    shown = name_display(value)
    if shown is None:
        return Normalized(None, None, value)
    if not re.search(r"[^\W\d_]", shown):
        return Normalized(None, "a name needs at least one letter", value)
    return Normalized(shown, None, value)


def text(value: Any) -> Normalized:
    shown = name_display(value)
    return Normalized(shown, None, value)


def identifier(value: Any) -> Normalized:
    """An identifier such as the HR id: trimmed text; a float like 12.0 becomes ``12``."""
    if is_missing(value):
        return Normalized(None, None, value)
    return Normalized(_text(value), None, value)


# --------------------------------------------------------------------------- dates

_EXCEL_EPOCH = date(1899, 12, 30)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y%m%d")


def parse_date(value: Any) -> Normalized:
    """A date as ISO text. Accepts ISO, ``31/01/2024`` (day first), ``20240131``, Excel serials,
    and date/datetime objects (Excel date cells)."""
    if is_missing(value):
        return Normalized(None, None, value)
    if isinstance(value, datetime):
        return Normalized(value.date().isoformat(), None, value)
    if isinstance(value, date):
        return Normalized(value.isoformat(), None, value)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return Normalized(value.to_pydatetime().date().isoformat(), None, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _excel_serial(float(value), value)
    s = _text(value)
    if _ISO_DATE.fullmatch(s):  # the common case (Kleer's own form), without strptime
        try:
            return Normalized(date.fromisoformat(s).isoformat(), None, value)
        except ValueError:
            pass  # an impossible date: said below
    if re.fullmatch(r"\d{5}(\.\d+)?", s):  # an Excel serial written as text (1927–2173)
        return _excel_serial(float(s), value)
    if re.fullmatch(r"\d{1,4}", s):  # "2024" is a year, not day 2024 of Excel's calendar
        return Normalized(None, "not a date (use YYYY-MM-DD)", value)
    s = re.sub(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", "", s)
    for fmt in _DATE_FORMATS:
        try:
            return Normalized(datetime.strptime(s, fmt).date().isoformat(), None, value)
        except ValueError:
            continue
    if re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|\d{8}", s):
        return Normalized(None, "impossible date", value)
    return Normalized(None, "not a date (use YYYY-MM-DD)", value)


def _excel_serial(serial: float, raw: Any) -> Normalized:
    if not 1 <= serial < 2958466:
        return Normalized(None, "not a date (number out of range)", raw)
    return Normalized((_EXCEL_EPOCH + timedelta(days=int(serial))).isoformat(), None, raw)


# --------------------------------------------------------------------------- numbers and codes

def postal_code(value: Any) -> Normalized:
    """Swedish postal codes to five digits (``123 45`` → ``12345``); foreign codes kept as text."""
    if is_missing(value):
        return Normalized(None, None, value)
    s = _text(value).upper()
    s = re.sub(r"^(SE|S)-?\s*", "", s) if re.match(r"^(SE|S)-?\s*\d", s) else s
    compact = re.sub(r"[\s\-]", "", s)
    if compact.isdigit():
        if len(compact) == 5:
            return Normalized(compact, None, value)
        return Normalized(None, f"postal code must have 5 digits (has {len(compact)})", value)
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9 \-]{1,9}", s):
        return Normalized(None, "not a postal code", value)
    return Normalized(s, None, value)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    s = _text(value).lower()
    s = re.sub(r"\s*(kr|sek|:-)\s*$", "", s)
    s = re.sub(r"\s", "", s)  # "35 000", also with a (narrow) no-break space
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", s):  # 35.000,50
        s = s.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):  # 35,000 and 35,000.50
        s = s.replace(",", "")
    elif re.fullmatch(r"-?\d+,\d+", s):
        s = s.replace(",", ".")
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def whole_number(value: Any, *, low: int | None = None, high: int | None = None,
                 what: str = "number") -> Normalized:
    if is_missing(value):
        return Normalized(None, None, value)
    d = _decimal(value)
    if d is None or not d.is_finite():
        return Normalized(None, f"not a {what}", value)
    if d != d.to_integral_value():
        return Normalized(None, f"{what} must be a whole number", value)
    n = int(d)
    if (low is not None and n < low) or (high is not None and n > high):
        return Normalized(None, f"{what} must be between {low} and {high}", value)
    return Normalized(n, None, value)


def monthly_salary(value: Any) -> Normalized:
    return whole_number(value, low=0, high=10_000_000, what="monthly salary in whole SEK")


def tax_table(value: Any) -> Normalized:
    return whole_number(value, low=29, high=42, what="tax table")


def tax_table_column(value: Any) -> Normalized:
    return whole_number(value, low=1, high=6, what="tax table column")


def employee_number(value: Any) -> Normalized:
    """Kleer keeps the employee number as a whole number (``internal-id``): ``00123`` → ``123``."""
    if is_missing(value):
        return Normalized(None, None, value)
    s = _text(value)
    if not _plain_digits(s):
        return Normalized(None, "employee number must be digits only (Kleer stores a whole number)", value)
    return Normalized(int(s), None, value)


def clearing_nr(value: Any) -> Normalized:
    if is_missing(value):
        return Normalized(None, None, value)
    s = _text(value)
    plain = _plain_digits(s)  # the common case: no regex
    if not plain and re.search(r"[^0-9\s\-]", s):
        return Normalized(None, "clearing number must be digits", value)
    digits = s if plain else re.sub(r"\D", "", s)
    if len(digits) not in (4, 5):
        return Normalized(None, f"clearing number must have 4 or 5 digits (has {len(digits)})", value)
    return Normalized(digits, None, value)


def account_nr(value: Any) -> Normalized:
    if is_missing(value):
        return Normalized(None, None, value)
    s = _text(value)
    plain = _plain_digits(s)  # the common case: no regex
    if not plain and re.search(r"[^0-9\s\-.,]", s):
        return Normalized(None, "account number must be digits", value)
    digits = s if plain else re.sub(r"\D", "", s)
    if not 2 <= len(digits) <= 15:
        return Normalized(None, f"account number must have 2 to 15 digits (has {len(digits)})", value)
    return Normalized(digits, None, value)


_COUNTRIES = {"sverige": "SE", "sweden": "SE", "norge": "NO", "norway": "NO", "danmark": "DK",
              "denmark": "DK", "finland": "FI", "suomi": "FI", "tyskland": "DE", "germany": "DE",
              "island": "IS", "iceland": "IS", "storbritannien": "GB", "united kingdom": "GB",
              "swe": "SE", "nor": "NO", "dnk": "DK", "fin": "FI", "deu": "DE", "gbr": "GB"}


def country_code(value: Any) -> Normalized:
    if is_missing(value):
        return Normalized(None, None, value)
    s = _text(value)
    code = _COUNTRIES.get(s.casefold(), s.upper())
    if not re.fullmatch(r"[A-Z]{2}", code):
        return Normalized(None, "country must be a two-letter code such as SE", value)
    return Normalized(code, None, value)


_TRUE = {"1", "true", "yes", "y", "ja", "j", "x", "aktiv", "active", "sant"}
_FALSE = {"0", "false", "no", "n", "nej", "inaktiv", "inactive", "falskt", "slutat"}


def boolean(value: Any) -> Normalized:
    if is_missing(value):
        return Normalized(None, None, value)
    if isinstance(value, bool):
        return Normalized(value, None, value)
    s = _text(value).casefold()
    if s in _TRUE:
        return Normalized(True, None, value)
    if s in _FALSE:
        return Normalized(False, None, value)
    return Normalized(None, "expected yes/no (ja/nej, true/false, 1/0)", value)
