"""Fuzzing (hypothesis): normalising a table column-wise is normalising it row by row, and the HR
loader gives a clean load or a SourceError — never another exception, never a half-written
workspace. (That the normalisers themselves never raise is tests/test_normalize.py's.)"""

from __future__ import annotations

import csv
import io
import string
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import SourceError, Workbench
from workbench.fields import FIELD, FIELDS, normalize_columns, normalize_record
from workbench.sources import HrFile

FUZZ = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

SWEDISH_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "åäöÅÄÖéüÉ -+.,;:/@()'\"\t",
                       max_size=24)
RAW_VALUES = st.one_of(
    st.none(), st.text(max_size=40), SWEDISH_TEXT, st.binary(max_size=24), st.booleans(),
    st.integers(), st.integers(min_value=10**9, max_value=10**12 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.just(Decimal("NaN")), st.just(Decimal("sNaN")),
    st.decimals(allow_nan=False, allow_infinity=True),
    st.dates(), st.datetimes(),
    st.from_regex(r"\A(19|20)?\d{6}[-+ ]?\d{4}\Z"),  # personnummer-shaped
    st.from_regex(r"\A\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\Z"),  # date-shaped
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=st.lists(st.fixed_dictionaries({}, optional={f.key: RAW_VALUES for f in FIELDS}),
                     min_size=1, max_size=6))
def test_column_wise_normalising_is_row_wise_normalising(rows):
    columns = {f.key: [r.get(f.key) for r in rows] for f in FIELDS}
    assert normalize_columns(columns) == [normalize_record(r) for r in rows]


# --------------------------------------------------------------------------- the loader

@pytest.fixture(scope="module")
def fuzz_wb(tmp_path_factory):
    """One real workspace file for the module; every example checks it before and after."""
    with Workbench(tmp_path_factory.mktemp("fuzz") / "workspace.db", analyst="Fuzz") as w:
        w.load_hr(b"hr_id,first_name,last_name\nSEED,Anna,Berg\n", name="seed.csv")
        yield w


def _tables(wb: Workbench) -> dict[str, list[tuple]]:
    names = [r["name"] for r in wb.workspace.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: [tuple(r.values()) for r in wb.workspace.query(f'SELECT * FROM "{t}" ORDER BY rowid')]
            for t in names}


def _load_or_refuse(wb: Workbench, data: bytes, name: str) -> HrFile | None:
    """Load ``data``: either it loads (and the workspace holds every record read) or it raises
    SourceError and the workspace is exactly as it was. Anything else fails the test."""
    before = _tables(wb)
    try:
        result = wb.load_hr(data, name=name, confirm=True)
    except SourceError as e:
        assert str(e).startswith(f"{name}: ") and "Traceback" not in str(e)
        assert _tables(wb) == before
        return None
    for record in result.file.records:
        assert wb.workspace.hr.get(record["hr_id"])["source"] == name
    assert all(p.row >= 1 and p.message for p in result.file.problems)
    return result.file


def _xlsx_seed() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Anställd-ID", "Förnamn", "Efternamn", "Personnummer"])
    book.active.append(["E1", "Åsa", "Öberg", 8503121231])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = _xlsx_seed()
PREFIXES = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"PK\x03\x04", b"%PDF-1.4\n", b"sep=;\n",
            "Anställd-ID;Förnamn;Efternamn\n".encode("cp1252"), b"hr_id,first_name,last_name\n"]


@FUZZ
@given(prefix=st.sampled_from(PREFIXES), junk=st.binary(max_size=600))
def test_random_bytes_load_cleanly_or_are_refused(fuzz_wb, prefix, junk):
    _load_or_refuse(fuzz_wb, prefix + junk, "fuzz.csv")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cuts=st.lists(st.tuples(st.integers(0, len(XLSX) - 1), st.integers(0, 255)),
                     min_size=1, max_size=8), truncate=st.booleans())
def test_damaged_workbooks_load_cleanly_or_are_refused(fuzz_wb, cuts, truncate):
    data = bytearray(XLSX)
    for at, byte in cuts:
        data[at] = byte
    if truncate:
        data = data[: cuts[0][0]]
    _load_or_refuse(fuzz_wb, bytes(data), "damaged.xlsx")


@FUZZ
@given(text=st.text(max_size=300), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16",
                                                             "cp1252", "latin-1"]))
def test_random_text_in_any_encoding_loads_cleanly_or_is_refused(fuzz_wb, text, encoding):
    data = text.encode(encoding, errors="replace")
    _load_or_refuse(fuzz_wb, data, "text.csv")


HEADER_CHOICES = {key: [FIELD[key].key, FIELD[key].label, *FIELD[key].aliases[1:4]]
                  for key in ("hr_id", "first_name", "last_name", "ssn", "private_email", "city",
                              "monthly_salary")}
# "¶" stands for a Windows line break inside a value (a lone CR is a line end to every reader)
CELL = st.text(alphabet="abcåäöÅÄÖé EÉ0123456789-,;|\t\"'\n¶@.", max_size=16).map(
    lambda s: s.replace("¶", "\r\n"))


@st.composite
def hr_files(draw):
    """A well-formed HR export: random header spellings and order, random Swedish values with
    delimiters, quotes and line breaks inside, a random delimiter, quoting and encoding."""
    optional = draw(st.lists(st.sampled_from(["ssn", "private_email", "city", "monthly_salary"]),
                             unique=True))
    keys = draw(st.permutations(["hr_id", "first_name", "last_name", *optional]))
    headers = [draw(st.sampled_from(HEADER_CHOICES[k])) for k in keys]
    n_rows = draw(st.integers(1, 8))
    rows = [[f"E{i}-{draw(CELL)}" if k == "hr_id" else draw(CELL) for k in keys]
            for i in range(n_rows)]
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting,
                        lineterminator=draw(st.sampled_from(["\r\n", "\n"])))
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding), keys, rows, delimiter, encoding


@FUZZ
@given(file=hr_files())
def test_well_formed_exports_always_load_with_their_values_intact(fuzz_wb, file):
    data, keys, rows, delimiter, encoding = file
    hr = _load_or_refuse(fuzz_wb, data, "export.csv")
    assert hr is not None, "a well-formed export was refused"
    assert hr.delimiter == delimiter
    assert data.decode(hr.encoding) == data.decode(encoding)  # plain ASCII is UTF-8 as well
    assert list(hr.mapping.values()) == keys
    read = [[str(v).strip() for v in row] for row in hr.raw.itertuples(index=False)]
    assert read == [[v.strip() for v in row] for row in rows]
    ids = [row[keys.index("hr_id")].strip() for row in rows]
    assert [r["hr_id"] for r in hr.records] == ids
