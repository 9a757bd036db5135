"""The HR file loader: what HR systems and Excel export, and every way such a file goes wrong."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from workbench import SourceError
from workbench.fields import FIELD, normalize_columns, normalize_record
from workbench.sources import BLANK_NAME, NO_ID, read_hr

FIRST_BLANK = BLANK_NAME.format(label="First name")
LAST_BLANK = BLANK_NAME.format(label="Last name")

SWEDISH = ["Anställd-ID", "Förnamn", "Efternamn", "Personnummer", "Privat e-post", "Gatuadress"]
PEOPLE = [
    ["E1", "Åsa", "Öberg", "850312-1231", "asa@example.se", "Storgatan 1"],
    ["E2", "Örjan", "Älvström", "19900101-0017", "orjan@example.se", "Ågatan 2"],
]


def csv_text(rows: list[list[str]], sep: str = ",") -> str:
    def cell(v: str) -> str:
        return f'"{v.replace(chr(34), 2 * chr(34))}"' if re.search(r'[",;\t|\r\n]', v) else v
    return "".join(sep.join(cell(v) for v in row) + "\r\n" for row in rows)


def xlsx_bytes(sheets: dict[str, list[list[object]]], formats: dict[str, str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for coordinate, fmt in (formats or {}).items():
            sheet[coordinate].number_format = fmt
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def tables(wb) -> dict[str, list[tuple]]:
    """Every row of every table of the workspace file, for before/after comparisons."""
    names = [r["name"] for r in wb.workspace.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {n: [tuple(r.values()) for r in wb.workspace.query(f'SELECT * FROM "{n}" ORDER BY rowid')]
            for n in names}


# --------------------------------------------------------------------------- encodings

@pytest.mark.parametrize("encoding, detected, label", [
    ("utf-8", "utf-8", "UTF-8"),
    ("utf-8-sig", "utf-8-sig", "UTF-8 with BOM"),
    ("cp1252", "cp1252", "Windows-1252"),
    ("utf-16", "utf-16", "UTF-16"),
])
def test_swedish_text_survives_every_common_encoding(encoding, detected, label):
    data = csv_text([SWEDISH, *PEOPLE], sep=";").encode(encoding)
    hr = read_hr(data, name="anställda.csv")
    assert hr.encoding == detected and hr.delimiter == ";"
    assert hr.detected == f"CSV, {label}, semicolon-separated"
    assert hr.mapping["Förnamn"] == "first_name" and hr.mapping["Anställd-ID"] == "hr_id"
    by_id = {r["hr_id"]: r for r in hr.records}
    assert by_id["E1"]["first_name"] == "Åsa" and by_id["E2"]["last_name"] == "Älvström"
    assert by_id["E1"]["ssn"] == "19850312-1231" and by_id["E2"]["street"] == "Ågatan 2"


def test_latin1_bytes_that_windows_1252_lacks_still_read():
    data = "hr_id;first_name;last_name;city\nE1;Åke;Öst;Malmö\x81\n".encode("latin-1")
    hr = read_hr(data, name="old.csv")
    assert hr.encoding == "latin-1" and hr.records[0]["first_name"] == "Åke"


def test_windows_1252_capitals_before_symbols_are_not_mistaken_for_utf8():
    data = "hr_id;first_name;last_name;city\nE1;ÅSA;ÖÖ\u2013Berg;SKÅNE\xa0LÄN\n".encode("cp1252")
    hr = read_hr(data, name="caps.csv")
    assert hr.encoding == "cp1252" and hr.records[0]["last_name"] == "ÖÖ\u2013Berg"


def test_a_file_mixing_utf8_and_windows_1252_is_refused_with_the_line():
    data = "hr_id,first_name,last_name\nE1,Åsa,Berg\n".encode() + "E2,Örjan,Ek\n".encode("cp1252")
    with pytest.raises(SourceError, match=r"mixed\.csv: line 3 is not UTF-8 but other lines are"):
        read_hr(data, name="mixed.csv")


# --------------------------------------------------------------------------- delimiters, quoting

@pytest.mark.parametrize("sep, name", [(",", "comma"), (";", "semicolon"), ("\t", "tab"),
                                       ("|", "pipe")])
def test_delimiter_is_detected_with_delimiters_quoted_in_the_first_rows(sep, name):
    others = "".join(d for d in ",;\t|" if d != sep)
    rows = [["hr_id", "first_name", "last_name", "street"],
            ["E1", "Anna", "Berg", f"Storgatan 1{sep} lgh 1101{others}"],
            ["E2", "Bo", f"Ek{sep}Lind", f"c/o Berg{sep} Box 3"]]
    hr = read_hr(csv_text(rows, sep).encode(), name="hr.csv")
    assert hr.delimiter == sep and hr.detected.endswith(f"{name}-separated")
    assert hr.raw.loc[2, "street"] == f"Storgatan 1{sep} lgh 1101{others}"
    assert hr.raw.loc[3, "last_name"] == f"Ek{sep}Lind" and hr.records[1]["first_name"] == "Bo"


def test_semicolon_file_with_decimal_commas_in_every_row_is_not_read_as_commas():
    rows = [["hr_id", "first_name", "last_name", "monthly_salary"]] + \
        [[f"E{i}", "Anna", "Berg", f"3{i} 500,00"] for i in range(5)]
    hr = read_hr(csv_text(rows, ";").encode(), name="lön.csv")
    assert hr.delimiter == ";" and [r["monthly_salary"] for r in hr.records] == \
        [30500, 31500, 32500, 33500, 34500]


def test_excels_sep_line_decides_the_delimiter():
    data = b"sep=;\r\nhr_id;first_name;last_name\r\nE1;Anna;Berg, Lind\r\n"
    hr = read_hr(data, name="excel.csv")
    assert hr.delimiter == ";" and hr.header_row == 1 and hr.records[0]["last_name"] == "Berg, Lind"


def test_quoted_values_hold_line_breaks_and_quotes_and_rows_count_records():
    text = ('hr_id,first_name,last_name,street,private_email\r\n'
            'E1,Anna,Berg,"Storgatan 1\r\nlgh 1101","anna@example.se"\r\n'
            'E2,"Bo ""Bosse""",Ek,"Box 7\nAndra raden\nTredje",bad-email\r\n')
    hr = read_hr(text.encode(), name="multi.csv")
    assert hr.records[0]["street"] == "Storgatan 1 lgh 1101"  # one line for Kleer
    assert hr.raw.loc[2, "street"] == "Storgatan 1\r\nlgh 1101"  # the file's own value kept
    assert hr.records[1]["first_name"] == 'Bo "Bosse"'
    assert [(p.row, p.column, p.message) for p in hr.problems] == \
        [(3, "private_email", "not a valid email address")]


def test_title_rows_and_blank_rows_are_passed_over_with_spreadsheet_row_numbers():
    text = ("Personalrapport 2026-11-01;;\r\n;;\r\nAnställd-ID;Förnamn;Efternamn\r\n"
            "E1;Anna;Berg\r\n;;\r\n\r\nE2;;\r\n")
    hr = read_hr(text.encode(), name="rapport.csv")
    assert hr.header_row == 3 and "header on row 3" in hr.detected
    assert [r["source_row"] for r in hr.records] == [4, 7]
    assert [(p.row, p.column, p.message) for p in hr.problems] == \
        [(7, "Förnamn", FIRST_BLANK), (7, "Efternamn", LAST_BLANK)]
    assert list(hr.raw.index) == [4, 7]


def test_a_trailing_delimiter_on_every_line_adds_no_column():
    text = "Anställd-ID;Förnamn;Efternamn;\r\nE1;Anna;Berg;\r\nE2;Bo;Ek;\r\n"
    hr = read_hr(text.encode("cp1252"), name="hr.csv")
    assert list(hr.mapping) == ["Anställd-ID", "Förnamn", "Efternamn"] and not hr.unmapped
    assert list(hr.raw.columns) == ["Anställd-ID", "Förnamn", "Efternamn"]


def test_unnamed_and_repeated_headers_get_names_the_mapping_can_use():
    text = "hr_id,first_name,last_name,E-post,E-post,\r\nE1,Anna,Berg,a@x.se,b@x.se,note\r\n"
    hr = read_hr(text.encode(), name="hr.csv")
    assert list(hr.mapping) == ["hr_id", "first_name", "last_name", "E-post", "E-post (2)",
                                "column F"]
    assert hr.mapping["E-post"] == "work_email" and hr.mapping["E-post (2)"] is None
    assert hr.unmapped == ["E-post (2)", "column F"]
    assert hr.raw.loc[2, "column F"] == "note"


# --------------------------------------------------------------------------- XLSX

def test_xlsx_date_cells_numbers_and_zero_formats_become_canonical_values():
    rows = [["Anställd-ID", "Förnamn", "Efternamn", "Personnummer", "Anställningsdatum",
             "Postnummer", "Clearingnummer", "Månadslön"],
            [1001, "Åsa", "Öberg", 8503121231, datetime(2020, 3, 1), 11416, 812, 35000.0],
            [1002, "Bo", "Ek", 198503121231, date(2021, 12, 31), 1234, 3300, 41000]]
    data = xlsx_bytes({"Personal": rows}, formats={"G2": "00000"})
    hr = read_hr(data, name="personal.xlsx")
    assert hr.format == "xlsx" and hr.sheet == "Personal" and hr.encoding is None
    assert hr.detected == "Excel workbook, sheet 'Personal'"
    first, second = hr.records
    assert first["hr_id"] == "1001" and first["ssn"] == "19850312-1231"
    assert first["employment_start_date"] == "2020-03-01" and second["employment_start_date"] == "2021-12-31"
    assert first["zip_code"] == "11416" and first["monthly_salary"] == 35000
    assert first["clearing_nr"] == "00812"  # the cell's 00000 format kept the leading zeros
    assert second["ssn"] == "19850312-1231"
    assert [(p.row, p.column, p.field) for p in hr.problems] == [(3, "Postnummer", "zip_code")]


def test_xlsx_sheet_is_chosen_by_name_or_position():
    data = xlsx_bytes({"Info": [["Exported by HR"]],
                       "Anställda": [["hr_id", "first_name", "last_name"], ["E7", "Ida", "Holm"]]})
    for sheet in ("Anställda", "anställda ", 1):
        hr = read_hr(data, name="hr.xlsx", sheet=sheet)
        assert hr.sheet == "Anställda" and hr.records[0]["hr_id"] == "E7"
    with pytest.raises(SourceError, match=r"hr\.xlsx: required columns are missing"):
        read_hr(data, name="hr.xlsx")  # the first sheet has no employees


def test_xlsx_rows_beyond_a_wrong_stored_sheet_size_are_still_read():
    data = xlsx_bytes({"Blad1": [["hr_id", "first_name", "last_name"], ["E1", "Anna", "Berg"],
                                 [], ["E2", "Bo", "Ek", "extra"]]})
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:  # some exporters store the size as just "A1"
        for item in src.infolist():
            part = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                part = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', part)
            z.writestr(item, part)
    hr = read_hr(out.getvalue(), name="hr.xlsx")
    assert [(r["hr_id"], r["last_name"], r["source_row"]) for r in hr.records] == \
        [("E1", "Berg", 2), ("E2", "Ek", 4)]
    assert hr.unmapped == ["column D"] and hr.raw.loc[4, "column D"] == "extra"


def test_xlsx_error_cells_are_reported_not_loaded_as_text():
    data = xlsx_bytes({"Blad1": [["hr_id", "first_name", "last_name", "private_email"],
                                 ["E1", "Anna", "#REF!", "#N/A"], ["#N/A", "Bo", "Ek", None]]})
    hr = read_hr(data, name="hr.xlsx")
    assert hr.records[0]["last_name"] is None and hr.records[0]["private_email"] is None
    assert hr.raw.loc[2, "private_email"] == "#N/A"
    messages = {(p.row, p.column): p.message for p in hr.problems}
    assert messages[(2, "private_email")] == "the cell shows an Excel error (#N/A), not a value"
    assert messages[(2, "last_name")] == "the cell shows an Excel error (#REF!), not a value"
    assert messages[(3, "hr_id")] == f"the cell shows an Excel error (#N/A), not a value: {NO_ID}"


# --------------------------------------------------------------------------- mapping

def test_an_explicit_mapping_reads_headers_no_alias_knows():
    text = "Emp#,Given,Family,Mobile no\r\nX1,Anna,Berg,070-123 45 67\r\n"
    with pytest.raises(SourceError, match="required columns are missing"):
        read_hr(text.encode(), name="hr.csv")
    hr = read_hr(text.encode(), name="hr.csv",
                 mapping={"Emp#": "hr_id", "Given": "first_name", "Family": "last_name",
                          "Mobile no": "phone"})
    assert hr.records[0]["hr_id"] == "X1" and hr.records[0]["phone"] == "+46701234567"


def test_an_explicit_mapping_overrides_only_the_headers_it_names():
    text = "hr_id,first_name,last_name,Privat e-post,Jobb\r\nE1,Anna,Berg,a@x.se,b@x.se\r\n"
    hr = read_hr(text.encode(), name="hr.csv",
                 mapping={"Jobb": "private_email", "last_name": None, "Privat e-post": "last_name"})
    assert hr.mapping == {"hr_id": "hr_id", "first_name": "first_name", "last_name": None,
                          "Privat e-post": "last_name", "Jobb": "private_email"}
    assert hr.records[0]["private_email"] == "b@x.se"


@pytest.mark.parametrize("mapping, message", [
    ({"Telefon": "phone"}, r"the column mapping names columns the file does not have: 'Telefon'; "
                           r"the file's columns are: hr_id, first_name, last_name"),
    ({"hr_id": "employee_id"}, r"the column mapping names unknown fields: employee_id"),
    ({"first_name": "last_name"}, r"more than one column is mapped to the same field "
                                  r"\(Last name: first_name, last_name\)"),
])
def test_a_wrong_mapping_is_refused_with_what_is_wrong(mapping, message):
    text = "hr_id,first_name,last_name\r\nE1,Anna,Berg\r\n"
    mapping = dict(mapping, **({"last_name": "last_name"} if "first_name" in mapping else {}))
    with pytest.raises(SourceError, match=message):
        read_hr(text.encode(), name="hr.csv", mapping=mapping)


# --------------------------------------------------------------------------- row problems

def test_row_problems_name_the_row_and_the_files_own_column_and_rows_stay():
    rows = [["Anställd-ID", "Förnamn", "Efternamn", "Personnummer", "Privat e-post",
             "Anställningsdatum"],
            ["E1", "Anna", "Berg", "850312-1232", "anna@example.se", "2020-01-01"],
            ["E2", "Bo", "Ek", "851312-1231", "bo(at)example.se", "2021-02-30"],
            ["E3", "", "", "", "", ""],
            ["", "Utan", "Id", "", "utan@example.se", ""],
            ["E4", "Cia", "Lind", "12345", "", "31/12/2020"]]
    hr = read_hr(csv_text(rows, ";").encode("cp1252"), name="hr.csv")
    found = [(p.row, p.hr_id, p.column, p.message) for p in hr.problems]
    assert found == [
        (5, None, "Anställd-ID", NO_ID),  # not loaded: listed first
        (2, "E1", "Personnummer", "bad checksum (the last digit does not match)"),
        (3, "E2", "Personnummer", "impossible date of birth"),
        (3, "E2", "Privat e-post", "not a valid email address"),
        (3, "E2", "Anställningsdatum", "impossible date"),
        (4, "E3", "Förnamn", FIRST_BLANK),
        (4, "E3", "Efternamn", LAST_BLANK),
        (6, "E4", "Personnummer", "wrong length (5 digits; expected 10 or 12)"),
    ]
    assert [r["hr_id"] for r in hr.records] == ["E1", "E2", "E3", "E4"]
    assert hr.records[1]["ssn"] == "851312-1231" and hr.records[1]["private_email"] == "bo(at)example.se"
    assert hr.records[3]["employment_start_date"] == "2020-12-31"
    assert [p.row for p in hr.skipped] == [5]
    assert hr.skipped_frame().loc[5, "Förnamn"] == "Utan"
    assert list(hr.problems_frame().columns) == ["row", "hr_id", "column", "field", "message",
                                                 "severity"]


def test_rows_without_an_id_are_not_loaded_and_the_result_says_so(wb):
    text = "hr_id,first_name,last_name\r\nE1,Anna,Berg\r\n,Bo,Ek\r\n  ,Cia,Lind\r\n"
    result = wb.load_hr(text.encode(), name="hr.csv")
    assert result.rows == 1 and wb.counts()["hr"] == 1
    assert "2 rows NOT loaded (no HR id): rows 3, 4" in str(result)
    detail = wb.workspace.audit_frame().iloc[0]["detail"]
    assert '"not_loaded": 2' in detail and '"detected": "CSV, UTF-8, comma-separated"' in detail
    stored = wb.workspace.hr_employee("E1")
    assert stored["source_row"] == 2 and stored["source"] == "hr.csv"


def test_normalize_columns_is_normalize_record_for_each_row():
    columns = {"hr_id": ["E1", "E2", "E3", "E1"], "first_name": ["Anna", None, " ", "Anna"],
               "ssn": ["8503121231", "850312-1232", None, "8503121231"],
               "birth_date": [None, None, "1990-01-01", None], "monthly_salary": ["35 000", 1, 1.0, True],
               "active": [1, True, "ja", "nej"], "not_a_field": [1, 2, 3, 4]}
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    assert normalize_columns(columns) == [normalize_record(r) for r in rows]
    assert normalize_columns(columns)[0][0]["birth_date"] == "1985-03-12"
    assert normalize_columns(columns)[3][1] == {"monthly_salary": FIELD["monthly_salary"].normalize(True).error}


def test_progress_is_reported_from_start_to_finish(wb):
    seen: list[tuple[float, str]] = []
    text = csv_text([SWEDISH, *PEOPLE])
    wb.load_hr(text.encode(), name="hr.csv", progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert seen[-1][1] == "2 employees loaded"
    assert any("writing 2 employees" in m for _, m in seen)


# --------------------------------------------------------------------------- whole-file errors

def _no_sheets() -> bytes:
    src = zipfile.ZipFile(io.BytesIO(xlsx_bytes({"Blad1": [["hr_id"]]})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = re.sub(rb"<sheet [^>]*/>", b"", data)
            z.writestr(item, data)
    return out.getvalue()


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


HEADER = "Anställd-ID;Förnamn;Efternamn\r\n"
#: (file name, content, what the message must say); every one must also name the file.
BAD_FILES = [
    ("empty.csv", b"", r"the file is empty"),
    ("blank.csv", b" \r\n\r\n\t\r\n", r"the file is empty"),
    ("bom-only.csv", b"\xef\xbb\xbf", r"the file is empty"),
    ("header-only.csv", HEADER.encode(), r"the file has a header \(row 1\) but no employees"),
    ("header-and-blank-rows.csv", (HEADER + ";;\r\n\r\n").encode(),
     r"the file has a header \(row 1\) but no employees"),
    ("missing.csv", b"Namn;Telefon\r\nAnna Berg;070-1234567\r\n",
     r"required columns are missing: HR id \(hr_id\), First name \(first_name\), Last name "
     r"\(last_name\)\. Map them to the file's columns in the column mapping editor, or rename the "
     r"columns\. The file's columns \(row 1\): Namn, Telefon"),
    ("duplicates.csv", (HEADER + "E1;Anna;Berg\r\nE2;Bo;Ek\r\nE1;Cia;Lind\r\nE2;Bo;Ek\r\n").encode(),
     r"duplicate HR ids in column 'Anställd-ID': 'E1' on rows 2 and 4; 'E2' on rows 3 and 5\. "
     r"Each employee needs a unique id"),
    ("junk.csv", bytes(range(256)) * 4, r"this is not a text file \(binary content\)"),
    ("report.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", r"this is a PDF document, not an HR export"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
     r"this is an Excel 97-2003 \(\.xls\) workbook or a password-protected file"),
    ("broken.xlsx", xlsx_bytes({"Blad1": [["hr_id"]]})[:400],
     r"cannot read this Excel file: it is damaged or not an \.xlsx workbook \(BadZipFile"),
    ("letter.xlsx", _docx(), r"cannot read this Excel file: it is damaged or not an \.xlsx workbook"),
    ("nosheets.xlsx", _no_sheets(), r"the workbook has no worksheets"),
    ("emptysheet.xlsx", xlsx_bytes({"Blad1": []}), r"the file is empty \(sheet 'Blad1'\)"),
    ("quote.csv", (HEADER + 'E1;"Anna;Berg\r\nE2;Bo;Ek\r\n').encode(),
     r"line 2: a quoted value is never closed"),
    ("stray-quote.csv", (HEADER + 'E1;"Anna"s;Berg\r\n').encode(),
     r"line 2: the CSV is malformed \(';' expected after '\"'\)"),
    ("shifted.csv", (HEADER + "E1;Anna;Berg\r\nE2;Bo;Ek;Lind\r\nE3;Cia;Holm;\r\n").encode(),
     r"the header has 3 columns but row 3 has 4: a value probably contains the semicolon \(';'\) "
     r"without quotes"),
    ("no-ids.csv", (HEADER + ";Anna;Berg\r\n;Bo;Ek\r\n").encode(),
     r"no row has an HR id: column 'Anställd-ID' is empty in all 2 rows\. Map the column that "
     r"holds the ids in the column mapping editor"),
    ("utf16-broken.csv", b"\xff\xfeh\x00i\x00\x00\xd8", r"the file says it is UTF-16 but is damaged"),
    ("bom-broken.csv", b"\xef\xbb\xbfhr_id;first_name\r\nE1;\xc5sa\r\n",
     r"line 2 is not UTF-8 although the file starts with a UTF-8 mark"),
]


@pytest.mark.parametrize("name, data, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_refused_with_a_message_naming_it(name, data, message):
    with pytest.raises(SourceError) as caught:
        read_hr(data, name=name)
    assert str(caught.value).startswith(f"{name}: ")
    assert re.search(message, str(caught.value)), str(caught.value)


def test_whole_file_errors_list_their_rows_and_columns():
    with pytest.raises(SourceError) as caught:
        read_hr((HEADER + "E1;Anna;Berg\r\nE1;Bo;Ek\r\n").encode(), name="d.csv")
    assert caught.value.problems == [(3, "Anställd-ID", "duplicate HR id 'E1' (also on row 2)")]
    with pytest.raises(SourceError) as caught:
        read_hr(b"hr_id;Namn\r\nE1;Anna\r\n", name="m.csv")
    assert caught.value.problems == [(1, None, "no column for First name (first_name)"),
                                     (1, None, "no column for Last name (last_name)")]


def test_the_size_limit_holds_for_paths_bytes_and_uploads(tmp_path):
    text = (HEADER + "".join(f"E{i};Anna;Berg\r\n" for i in range(100))).encode()
    path = tmp_path / "big.csv"
    path.write_bytes(text)
    size = f"{len(text) / 1024:.1f} KB"
    for source, said in ((path, f"is {size}, over"), (text, f"is {size}, over"),
                         (io.BytesIO(text), "is over")):
        with pytest.raises(SourceError) as caught:
            read_hr(source, name="big.csv", max_bytes=1000)
        assert str(caught.value).startswith(f"big.csv: the file {said} the limit of 1000 bytes")
    assert len(read_hr(path, max_bytes=len(text)).records) == 100  # within the limit: loads


def test_the_default_limit_is_50_mb_and_the_message_says_what_to_do():
    with pytest.raises(SourceError) as caught:
        read_hr(b"x" * (51 * 1024 * 1024), name="huge.csv")
    assert str(caught.value) == ("huge.csv: the file is 51 MB, over the limit of 50 MB for an HR "
                                 "file; export only the columns the workbench uses, or split the "
                                 "file and load the parts one after the other")


def test_missing_files_folders_and_missing_sheets_are_named(tmp_path):
    with pytest.raises(SourceError, match=r"nowhere\.csv: file not found"):
        read_hr(tmp_path / "nowhere.csv")
    with pytest.raises(SourceError, match=r"this is a folder, not a file"):
        read_hr(tmp_path)
    data = xlsx_bytes({"Blad1": [["hr_id"]], "Blad2": [["hr_id"]]})
    with pytest.raises(SourceError, match=r"hr\.xlsx: there is no sheet named 'Lön'; the sheets are: Blad1, Blad2"):
        read_hr(data, name="hr.xlsx", sheet="Lön")
    with pytest.raises(SourceError, match=r"there is no sheet number 3; the workbook has 2: Blad1, Blad2"):
        read_hr(data, name="hr.xlsx", sheet=2)


# --------------------------------------------------------------------------- the workspace

def test_a_failed_load_leaves_every_workspace_table_exactly_as_it_was(wb):
    wb.load_hr(csv_text([SWEDISH, *PEOPLE]).encode(), name="first.csv")
    before = tables(wb)
    assert len(before["hr_employees"]) == 2 and len(before["audit"]) == 1
    for name, data, _ in BAD_FILES:
        with pytest.raises(SourceError):
            wb.load_hr(data, name=name)
        assert tables(wb) == before, name
    with pytest.raises(SourceError):
        wb.load_hr("Anställd-ID,Förnamn\r\nE9,Anna\r\n".encode(), name="x.csv",
                   mapping={"Förnamn": "first_name", "Anställd-ID": "nope"})
    assert tables(wb) == before


def test_a_failure_while_writing_rolls_the_whole_load_back(wb, monkeypatch):
    wb.load_hr(csv_text([SWEDISH, *PEOPLE]).encode(), name="first.csv")
    before = tables(wb)

    def fail(**kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(wb.workspace, "append_audit", fail)
    update = csv_text([SWEDISH, ["E1", "Åsa", "Nyberg", "", "", ""], ["E3", "Ny", "Person", "", "", ""]])
    with pytest.raises(RuntimeError, match="disk full"):
        wb.load_hr(update.encode(), name="second.csv", confirm=True)
    assert tables(wb) == before
