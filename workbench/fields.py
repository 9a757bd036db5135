"""THE field table: every canonical employee field, defined once.

Each :class:`Field` says what the field is called (key, label), where it comes from in an HR
file (aliases in English and Swedish), where it lives in Kleer (user or payroll contract, and
the kebab-case key), how raw values are normalised and compared, and how personal it is.
Mapping (``workbench.kleer.mapping``), diffs (:func:`diff`), masking (:func:`mask`), the
workspace columns (``workbench.store``) and the UI's column configuration all derive from
:data:`FIELDS`. Nothing else in the code base lists fields.

Kleer's user has ONE ``name``: :func:`join_name` and :func:`split_name` translate between it and
``first_name`` + ``last_name``. Kleer has ONE ``email``: the email preference (private, the
default, or work) picks which HR email it mirrors.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

from . import normalize as n

__all__ = [
    "Field",
    "KleerPath",
    "FieldDiff",
    "FIELDS",
    "FIELD",
    "GROUPS",
    "PII_NONE",
    "PII_PERSONAL",
    "PII_SENSITIVE",
    "EMAIL_PREFERENCES",
    "field",
    "resolve_header",
    "is_generic_header",
    "suggest_mapping",
    "header_signature",
    "normalize_record",
    "normalize_columns",
    "kleer_fields",
    "email_field",
    "join_name",
    "split_name",
    "split_words",
    "kleer_name_parts",
    "diff",
    "mask",
    "mask_record",
    "blank",
]

PII_NONE, PII_PERSONAL, PII_SENSITIVE = "none", "personal", "sensitive"
GROUPS = ("identity", "contact", "employment", "pay", "bank")
EMAIL_PREFERENCES = ("private", "work")
Kind = Literal["text", "name", "id", "ssn", "date", "email", "phone", "int", "bool", "code"]


@dataclass(frozen=True, slots=True)
class KleerPath:
    """Where a field lives in Kleer: on the ``user`` object or the payroll ``contract``."""

    obj: Literal["user", "contract"]
    key: str

    def __str__(self) -> str:
        return f"{self.obj}.{self.key}"


_PLAIN = (str, int, float, bool)


def _equal(a: Any, b: Any) -> bool:
    if a is b or (type(a) is type(b) and type(a) in _PLAIN and a == b):
        return True  # the common case, without normalising
    if n.is_missing(a) and n.is_missing(b):
        return True
    if n.is_missing(a) or n.is_missing(b):
        return False
    return a == b


def _equal_text(a: Any, b: Any) -> bool:
    """Text compared after whitespace folding (case matters: it is what Kleer will show)."""
    if type(a) is str and a == b and a.strip():
        return True
    return _equal(n.name_display(a), n.name_display(b))


def _equal_number(a: Any, b: Any) -> bool:
    if n.is_missing(a) or n.is_missing(b):
        return _equal(a, b)
    try:
        return int(a) == int(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _equal_bool(a: Any, b: Any) -> bool:
    if n.is_missing(a) or n.is_missing(b):
        return _equal(a, b)
    return bool(a) == bool(b)


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    label: str
    group: str
    kind: Kind
    aliases: tuple[str, ...]
    normalize: Callable[[Any], Any]
    compare: Callable[[Any, Any], bool] = _equal
    kleer: KleerPath | None = None
    pii: str = PII_NONE
    required: bool = False  # must be present in an HR file
    help: str = ""
    #: headers that resolve to this field without naming it ("E-post" for the work email): they
    #: yield to a header that names the field, see :func:`suggest_mapping`
    generic_aliases: tuple[str, ...] = ()

    @property
    def sqlite_type(self) -> type:
        return int if self.kind in ("int", "bool") else str

    @property
    def kleer_side_key(self) -> str:
        """The column that holds this field in a canonical Kleer record."""
        if self.kleer and self.kleer.obj == "user" and self.kleer.key == "email":
            return "email"
        return self.key

    @property
    def masked(self) -> bool:
        return self.pii == PII_SENSITIVE


def _aliases(*names: str) -> tuple[str, ...]:
    return tuple(names)


U = lambda key: KleerPath("user", key)  # noqa: E731
C = lambda key: KleerPath("contract", key)  # noqa: E731

FIELDS: tuple[Field, ...] = (
    Field("hr_id", "HR id", "identity", "id",
          _aliases("hr_id", "hr id", "employee id", "employeeid", "person id", "personid", "id",
                   "anställd-id", "anställd id", "medarbetar-id", "medarbetare id", "person-id",
                   "anställningsid", "anställnings-id"),
          n.identifier, _equal, U("foreign-id"), PII_NONE, required=True,
          help="The HR system's stable id; stored as foreign-id in Kleer."),
    Field("first_name", "First name", "identity", "name",
          _aliases("first_name", "first name", "firstname", "given name", "given_name", "förnamn",
                   "fornamn", "tilltalsnamn"),
          n.name, _equal_text, U("name"), PII_PERSONAL, required=True),
    Field("last_name", "Last name", "identity", "name",
          _aliases("last_name", "last name", "lastname", "surname", "family name", "family_name",
                   "efternamn"),
          n.name, _equal_text, U("name"), PII_PERSONAL, required=True),
    Field("ssn", "Personnummer", "identity", "ssn",
          _aliases("ssn", "personnummer", "personal number", "personal identity number",
                   "personal id", "pnr", "person nr", "personnr", "samordningsnummer",
                   "social security number", "national id"),
          n.personnummer, _equal, C("ssn"), PII_SENSITIVE,
          help="Personnummer or samordningsnummer, stored as YYYYMMDD-NNNN."),
    Field("birth_date", "Birth date", "identity", "date",
          _aliases("birth_date", "birth date", "birthdate", "date of birth", "dob", "födelsedatum",
                   "fodelsedatum"),
          n.parse_date, _equal, None, PII_PERSONAL,
          help="Derived from the personnummer when not given; Kleer has no field of its own."),
    Field("private_email", "Private email", "contact", "email",
          _aliases("private_email", "private email", "personal email", "home email",
                   "private e-mail", "personal e-mail", "privat e-post", "privat epost",
                   "e-post privat", "privat e-mail", "privat mejl", "privat mail", "hemmejl",
                   "e-post hem", "personlig e-post"),
          n.email, _equal, U("email"), PII_PERSONAL),
    Field("work_email", "Work email", "contact", "email",
          _aliases("work_email", "work email", "work e-mail", "business email", "company email",
                   "office email", "arbets-e-post", "arbetsmail", "arbetsmejl", "e-post arbete",
                   "jobbmejl", "jobbmail", "e-post jobb", "arbete e-post", "tjänste-e-post",
                   "företagsmail"),
          n.email, _equal, U("email"), PII_PERSONAL,
          generic_aliases=_aliases("e-post", "epost", "email", "e-mail", "mejl", "mail",
                                   "e-postadress", "epostadress", "email address",
                                   "e-mail address", "mejladress"),
          help="A header that says only \"E-post\" or \"Email\" is the work address (HR "
               "exports name the private one); with no other email column the loader says "
               "which it assumed."),
    Field("phone", "Phone", "contact", "phone",
          _aliases("phone", "phone number", "mobile", "mobile phone", "cell phone", "telephone",
                   "telefon", "telefonnummer", "mobil", "mobilnummer", "mobiltelefon"),
          n.phone, _equal, C("phone"), PII_PERSONAL),
    Field("address_co", "c/o", "contact", "text",
          _aliases("address_co", "c/o", "co", "care of", "address line 2", "adress c/o",
                   "c/o-adress", "co-adress"),
          n.text, _equal_text, C("address1"), PII_PERSONAL),
    Field("street", "Street address", "contact", "text",
          _aliases("street", "street address", "address", "address line 1", "gatuadress",
                   "adress", "utdelningsadress"),
          n.text, _equal_text, C("address2"), PII_PERSONAL),
    Field("zip_code", "Postal code", "contact", "code",
          _aliases("zip_code", "zip", "zip code", "postal code", "postcode", "post code",
                   "postnummer", "postnr"),
          n.postal_code, _equal, C("zip-code"), PII_PERSONAL),
    Field("city", "City", "contact", "text",
          _aliases("city", "town", "ort", "postort", "stad"),
          n.text, _equal_text, C("state"), PII_PERSONAL),
    Field("country_code", "Country", "contact", "code",
          _aliases("country_code", "country", "country code", "land", "landskod"),
          n.country_code, _equal, C("country-code"), PII_NONE),
    Field("employment_start_date", "Employment start", "employment", "date",
          _aliases("employment_start_date", "start date", "employment start date",
                   "employment start", "hire date", "hired", "anställningsdatum",
                   "anstallningsdatum", "startdatum", "anställd från", "anställningens början"),
          n.parse_date, _equal, C("employment-start-date"), PII_NONE),
    Field("employment_end_date", "Employment end", "employment", "date",
          _aliases("employment_end_date", "end date", "employment end date", "employment end",
                   "termination date", "slutdatum", "anställd till", "avgångsdatum",
                   "anställningens slut"),
          n.parse_date, _equal, C("employment-end-date"), PII_NONE),
    Field("employee_number", "Employee number", "employment", "int",
          _aliases("employee_number", "employee number", "employee no", "emp no", "staff number",
                   "anställningsnummer", "anstallningsnummer", "anst.nr", "anstnr",
                   "anställningsnr"),
          n.employee_number, _equal_number, U("internal-id"), PII_NONE),
    Field("monthly_salary", "Monthly salary", "pay", "int",
          _aliases("monthly_salary", "monthly salary", "salary", "base salary", "månadslön",
                   "manadslon", "lön", "grundlön"),
          n.monthly_salary, _equal_number, C("monthly-salary"), PII_PERSONAL),
    Field("tax_table", "Tax table", "pay", "int",
          _aliases("tax_table", "tax table", "skattetabell"),
          n.tax_table, _equal_number, C("tax-table"), PII_NONE),
    Field("tax_table_column", "Tax column", "pay", "int",
          _aliases("tax_table_column", "tax table column", "tax column", "kolumn",
                   "skattekolumn", "skattetabellkolumn"),
          n.tax_table_column, _equal_number, C("tax-table-column"), PII_NONE),
    Field("clearing_nr", "Clearing number", "bank", "code",
          _aliases("clearing_nr", "clearing number", "clearing", "clearing no", "clearingnummer",
                   "clearingnr"),
          n.clearing_nr, _equal, C("clearing-nr"), PII_SENSITIVE),
    Field("account_nr", "Account number", "bank", "code",
          _aliases("account_nr", "account number", "bank account", "account no",
                   "kontonummer", "kontonr", "bankkonto"),
          n.account_nr, _equal, C("account-nr"), PII_SENSITIVE),
    Field("active", "Active", "employment", "bool",
          _aliases("active", "is active", "status", "aktiv"),
          n.boolean, _equal_bool, U("active"), PII_NONE),
)

FIELD: dict[str, Field] = {f.key: f for f in FIELDS}


def field(key: str) -> Field:
    try:
        return FIELD[key]
    except KeyError:
        raise KeyError(f"unknown field {key!r}; known fields: {', '.join(FIELD)}") from None


# --------------------------------------------------------------------------- HR headers

def _header_key(header: str) -> str:
    """Headers compare without BOM, case, underscores, extra spaces or Unicode form (a file
    written on macOS may spell "Förnamn" with a combining diaeresis)."""
    s = unicodedata.normalize("NFC", str(header).replace("\ufeff", ""))
    return " ".join(s.replace("_", " ").casefold().split())


_ALIAS_INDEX: dict[str, str] = {}
_GENERIC_INDEX: dict[str, str] = {}
for _f in FIELDS:
    for _a in (_f.key, _f.label, *_f.aliases):
        _ALIAS_INDEX.setdefault(_header_key(_a), _f.key)
    for _a in _f.generic_aliases:
        _GENERIC_INDEX.setdefault(_header_key(_a), _f.key)

#: Where a generic email header goes when the field it names is taken by a header naming it.
_GENERIC_FALLBACK = {"work_email": "private_email", "private_email": "work_email"}


def resolve_header(header: str) -> str | None:
    """The canonical field key an HR column header stands for, or None."""
    key = _header_key(header)
    return _ALIAS_INDEX.get(key) or _GENERIC_INDEX.get(key)


def is_generic_header(header: str) -> bool:
    """True for a header that does not say which field it is ("E-post", "Email"): see
    :attr:`Field.generic_aliases`."""
    key = _header_key(header)
    return key not in _ALIAS_INDEX and key in _GENERIC_INDEX


def suggest_mapping(headers: Iterable[str]) -> dict[str, str | None]:
    """Map each header to a field key (first header wins when two resolve to the same field).

    A generic header ("E-post", "Email") yields to one that names its field: beside
    "Privat e-post" it is the work email, beside "Arbetsmail" the private one, beside both it
    is left unmapped.
    """
    headers = list(headers)
    taken: set[str] = set()
    out: dict[str, str | None] = {}
    for h in headers:  # headers that say what they are first
        key = None if is_generic_header(h) else resolve_header(h)
        if key in taken:
            key = None
        if key:
            taken.add(key)
        out[h] = key
    for h in headers:
        if not is_generic_header(h):
            continue
        key = resolve_header(h)
        if key in taken:
            key = _GENERIC_FALLBACK.get(key)
        if key in taken:
            key = None
        if key:
            taken.add(key)
        out[h] = key
    return {h: out[h] for h in headers}


def header_signature(headers: Iterable[str]) -> str:
    """A stable fingerprint of a file's header, to find the mapping remembered for it.

    Headers compare as the aliases do (case, spacing, BOM, Unicode form folded), and their order
    and blank headers do not matter: a re-export with the columns moved finds the same mapping.
    ``hdr1:`` and 16 hex digits of a SHA-256.
    """
    keys = sorted({_header_key(h) for h in headers if _header_key(h)})
    digest = hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()
    return f"hdr1:{digest[:16]}"


def normalize_record(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalise one HR record keyed by field key.

    Returns ``(record, problems)``: every field key present with its canonical value — or, when
    the value is invalid, the raw text kept as it was so nothing is lost — and a problem text per
    field that was refused. ``birth_date`` is filled in from a valid personnummer when missing.
    """
    return normalize_columns({key: [value] for key, value in raw.items()})[0]


def normalize_columns(columns: Mapping[str, Sequence[Any]]) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """:func:`normalize_record` for many records given column-wise (field key → equally long
    value sequences), one ``(record, problems)`` per row.

    Each distinct value of a column is normalised once: HR columns repeat (cities, dates,
    salaries, tax tables), which makes loading a large file fast. Keys that are not fields are
    ignored, as :func:`normalize_record` ignores them.
    """
    lengths = {len(values) for key, values in columns.items() if key in FIELD}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    rows = lengths.pop() if lengths else 1
    keys = [f.key for f in FIELDS]
    values: list[list[Any]] = []
    errors: dict[str, list[str | None]] = {}
    ssn_results: list[Any] = []
    for f in FIELDS:
        column = columns.get(f.key)
        column_values, column_errors, results = _normalize_column(f, [None] * rows if column is None
                                                                  else column)
        values.append(column_values)
        if any(column_errors):
            errors[f.key] = column_errors
        if f.key == "ssn":
            ssn_results = results
    row_problems: list[dict[str, str] | None] = [None] * rows
    for key, column_errors in errors.items():
        for i, error in enumerate(column_errors):
            if error:
                if row_problems[i] is None:
                    row_problems[i] = {}
                row_problems[i][key] = error
    out = []
    for i, row in enumerate(zip(*values)):
        record = dict(zip(keys, row))
        problems = row_problems[i] or {}
        if record["birth_date"] is None and "ssn" not in problems and record["ssn"]:
            parsed = ssn_results[i]  # the parsed number: no second parse
            record["birth_date"] = n.birth_date_from_personnummer(
                parsed if isinstance(parsed, n.Personnummer) else record["ssn"]).value
        if "first_name" not in problems and record["first_name"] is None \
                and record["last_name"] is None:
            problems["first_name"] = "empty name"
        out.append((record, problems))
    return out


def _normalize_column(f: Field, column: Sequence[Any]) -> tuple[list[Any], list[str | None], list[Any]]:
    """Values, errors and normaliser results of one column, each distinct cell normalised once;
    a refused value is kept as its raw text."""
    def one(value: Any) -> tuple[Any, str | None, Any]:
        result = f.normalize(value)
        if result.error:
            return (None if n.is_missing(value) else str(value).strip()), result.error, result
        return result.value, None, result

    try:
        if set(map(type, column)) <= {str, type(None)}:  # text from a CSV: the value is the key
            cache = {value: one(value) for value in dict.fromkeys(column)}
            cells = list(map(cache.__getitem__, column))
        else:  # 1, 1.0 and True are equal keys, but not equal cells
            keys = list(zip(map(type, column), column))
            cache = {key: one(key[1]) for key in dict.fromkeys(keys)}
            cells = list(map(cache.__getitem__, keys))
    except TypeError:  # an unhashable cell: normalise every cell on its own
        cells = [one(value) for value in column]
    if not cells:
        return [], [], []
    values, errors, results = zip(*cells)
    return list(values), list(errors), list(results)


# --------------------------------------------------------------------------- Kleer side

def email_field(preference: str = "private") -> str:
    if preference not in EMAIL_PREFERENCES:
        raise ValueError(f"email preference must be one of {EMAIL_PREFERENCES}, not {preference!r}")
    return f"{preference}_email"


def kleer_fields(email_preference: str = "private", *, include_id: bool = False) -> list[Field]:
    """The fields written to Kleer, in table order; the other HR email is left out."""
    skip = {"private_email", "work_email"} - {email_field(email_preference)}
    if not include_id:
        skip.add("hr_id")
    return [f for f in FIELDS if f.kleer is not None and f.key not in skip]


PARTICLES = frozenset({"von", "af", "av", "de", "van", "der", "den", "la", "le", "du", "da", "di",
                       "del", "della", "dos", "das", "ten", "ter", "zu", "op"})


def join_name(first: Any, last: Any) -> str | None:
    """Kleer's one ``name`` from first and last name."""
    parts = [p for p in (n.name_display(first), n.name_display(last)) if p]
    return " ".join(parts) or None


def split_name(full: Any) -> tuple[str | None, str | None]:
    """Split Kleer's ``name`` into (first, last).

    The last word is the last name, together with any particle before it ("von", "af", "de",
    "van", …): "Carl von Essen" → ("Carl", "von Essen"). Double first names stay first names:
    "Anna Maria Svensson" → ("Anna Maria", "Svensson"). A single word is a first name.
    """
    shown = n.name_display(full)
    if not shown:
        return None, None
    words = shown.split(" ")
    if len(words) == 1:
        return words[0], None
    return split_words(words)


def split_words(words: list[str]) -> tuple[str, str]:
    """:func:`split_name` of a displayed name's words (two or more): the last word, with the
    first particle after the first word and what follows it, is the last name."""
    cut = len(words) - 1
    for i in range(1, len(words) - 1):
        if words[i].casefold() in PARTICLES:
            cut = i
            break
    return " ".join(words[:cut]), " ".join(words[cut:])


def kleer_name_parts(kleer_name: Any, hr_first: Any = None, hr_last: Any = None
                     ) -> tuple[str | None, str | None]:
    """Split Kleer's name, guided by the HR names when the full names agree (so a double surname
    in HR is not re-split differently)."""
    if join_name(hr_first, hr_last) == n.name_display(kleer_name):
        return n.name_display(hr_first), n.name_display(hr_last)
    return split_name(kleer_name)


@dataclass(frozen=True, slots=True)
class FieldDiff:
    key: str
    label: str
    hr: Any
    kleer: Any

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "hr": self.hr, "kleer": self.kleer}


def diff(hr: Mapping[str, Any], kleer: Mapping[str, Any], *,
         email_preference: str = "private") -> list[FieldDiff]:
    """The fields that differ between an HR record and a canonical Kleer record.

    THE diff: "affected fields", plan payloads and the UI's detail view all come from here.
    Only fields Kleer holds are compared; a name that reads the same in full is not a difference
    even when Kleer's one name splits differently.
    """
    out: list[FieldDiff] = []
    first, last = kleer_name_parts(kleer.get("name"), hr.get("first_name"), hr.get("last_name")) \
        if "name" in kleer else (kleer.get("first_name"), kleer.get("last_name"))
    split = {"first_name": first, "last_name": last}
    for f in kleer_fields(email_preference):
        hv = hr.get(f.key)
        kv = split[f.key] if f.key in split else kleer.get(f.kleer_side_key)
        if not f.compare(hv, kv):
            out.append(FieldDiff(f.key, f.label, blank(hv), blank(kv)))
    return out


def blank(value: Any) -> Any:
    """Missing values (NaN, NA, blank text) as None, everything else unchanged."""
    return None if n.is_missing(value) else value


# --------------------------------------------------------------------------- masking

def mask(key: str, value: Any) -> Any:
    """Mask a sensitive value for display: personnummer keeps its birth date
    (``19850312-****``), bank numbers keep their last four digits (``****1234``)."""
    f = FIELD.get(key)
    if f is None or not f.masked or n.is_missing(value):
        return value
    s = str(value)
    if key == "ssn":
        p = n.personnummer(s)
        if p.value:
            return p.value[:9] + "****"
        return "****"
    if key == "clearing_nr":
        return "****"
    digits = "".join(ch for ch in s if ch.isdigit())
    return "****" + digits[-4:] if len(digits) > 4 else "****"


def mask_record(record: Mapping[str, Any], *, reveal: bool = False) -> dict[str, Any]:
    if reveal:
        return dict(record)
    return {k: mask(k, v) for k, v in record.items()}
