"""The prepare step's fast paths give what their plain definitions give, on awkward data.

Each fast path (names worked out column by column, text read through pyarrow, numbers shared
between columns) is held equal to the definition it replaces: the per-record name functions,
plain Python string methods, pandas.factorize over the records.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from tests.test_matching_prepare import _keys, _sample  # the plain name keys, a sample
from workbench.matching import name_table
from workbench.matching import names as nm

FIRST = ["Anna", "anna", " Anna ", "Kalle", "Karl", "Anna-Maria", "Anna Maria", "", None, "Åsa",
         unicodedata.normalize("NFD", "Åsa"), "A.", "Sebbe", "O'Brien", "Jean  Luc", "Ölof",
         "Lisa", "-", "E", "42", "Zoë", "  ", "Lars\tErik", 42, 3.0, float("nan"), "Bo Bo",
         "Svensson", "karl kalle", "İlkay", "ß", "\u2003Anna"]
LAST = ["Svensson", "svensson-Berg", "von Essen", "", None, "Andersson", "Øster", "de la Cruz",
        "Anna", ".", "Bo", "Åkesson", "Svensson Berg", "X", "Lindqvist  ", "Nilsson", 7, "Karl",
        "b a", "a"]
FULL = ["Anna Svensson", "Carl von Essen", "Anna Maria Svensson", "Madonna", "", None,
        "Karl Kalle", "Bo Bo", "-", "- x", "  Kalle   Karlsson ",
        unicodedata.normalize("NFD", "Åsa Öberg"), "A. Svensson", "Lisa Berg", "E Berg",
        "Jean-Luc de la Cruz", "Sebbe Lind", "anna svensson", "Bo", "\u2003Anna\u2003", "x von",
        "de Gaulle", "e\u0301mile zola", "a\tb c", "Jean de la Fontaine", "Von", "A. B.",
        "anna\u00a0berg", "Anna von der Berg", "a b c d e", "Anna Svensson\n"]


def _assert_table(table: name_table.NameTable, expected: list[nm.NameParts]) -> None:
    got = [table.uniq[c] for c in table.codes.tolist()]
    assert got == expected
    assert all(type(p) is nm.NameParts for p in table.uniq)
    rows = list(zip(*[table.keys[k][table.codes].tolist() for k in name_table.KEYS]))
    assert rows == [_keys(p) for p in expected]
    assert table.keys["has_initial"].dtype == bool
    assert table.keys["n_tokens"].dtype == np.int16
    # one entry per distinct name, and the same object for every record of it
    assert len({id(p) for p in table.uniq}) == len(table.uniq)


@pytest.mark.parametrize("seed", range(4))
def test_hr_table_equals_hr_name_parts_of_every_record(seed):
    first, last = _sample(FIRST, 600, seed), _sample(LAST, 600, seed + 10)
    table = name_table.hr_table(first, last)
    _assert_table(table, [nm.hr_name_parts(f, l) for f, l in zip(first, last)])
    assert len(table.uniq) < 600  # repeated names are worked out once
    # first seen first: the distinct names in the order the records first have them
    assert table.codes[0] == 0 and np.all(np.diff(np.maximum.accumulate(table.codes)) <= 1)


@pytest.mark.parametrize("seed", range(4))
def test_kleer_table_equals_kleer_name_parts_also_from_first_and_last(seed):
    full = _sample(FULL + [12, float("nan")], 600, seed)
    first, last = _sample(FIRST, 600, seed + 20), _sample(LAST, 600, seed + 30)
    _assert_table(name_table.kleer_table(full, first, last),
                  [nm.kleer_name_parts(a, b, c) for a, b, c in zip(full, first, last)])


def test_kleer_table_of_stripped_text_as_prepare_passes_it():
    full = [v.strip() if isinstance(v, str) else "" for v in _sample(FULL, 500, 7)]
    first = ["" if v is None or not isinstance(v, str) else v.strip()
             for v in _sample(FIRST, 500, 8)]
    last = ["" if not isinstance(v, str) else v.strip() for v in _sample(LAST, 500, 9)]
    _assert_table(name_table.kleer_table(np.array(full, dtype=object), first, last),
                  [nm.kleer_name_parts(a or None, b, c) for a, b, c in zip(full, first, last)])


def test_name_tables_of_nothing_and_of_only_missing_names():
    for table in (name_table.hr_table([], []), name_table.kleer_table([], [], [])):
        _assert_table(table, [])
    _assert_table(name_table.hr_table(["", None], [None, " "]),
                  [nm.hr_name_parts("", None), nm.hr_name_parts(None, " ")])
    _assert_table(name_table.kleer_table(["", None, "  "], ["", "Anna", None], ["", "", "Berg"]),
                  [nm.kleer_name_parts(None, "", ""), nm.kleer_name_parts(None, "Anna", ""),
                   nm.kleer_name_parts("  ", None, "Berg")])


def test_the_piece_memory_starts_afresh_when_full_and_still_gives_every_piece(monkeypatch):
    monkeypatch.setattr(name_table, "_CAP", 8)
    name_table._ROWS.clear()
    first, last = _sample(FIRST, 200, 11), _sample(LAST, 200, 12)
    _assert_table(name_table.hr_table(first[:100], last[:100]),
                  [nm.hr_name_parts(f, l) for f, l in zip(first[:100], last[:100])])
    _assert_table(name_table.hr_table(first, last),
                  [nm.hr_name_parts(f, l) for f, l in zip(first, last)])
    assert len(name_table._ROWS) <= len(set(map(str, first + last)))


def test_many_word_names_split_at_the_first_particle_as_split_name_does():
    from workbench.fields import split_name

    full = ["Anna Maria von der Berg", "Carl Gustaf af Klercker", "Jan de la Motte Berg",
            "Anna von", "von Anna Berg", "A B C D E F"]
    table = name_table.kleer_table(full, [""] * len(full), [""] * len(full))
    for p, name in zip(table.uniq, full):
        first, last = split_name(name)
        assert p.first_tokens == nm.folded_tokens(first or "")
        assert p.last_display == (last or "")


# --------------------------------------------------------------------------- text columns

import pandas as pd  # noqa: E402

from workbench.matching import prepare_text as pt  # noqa: E402
from workbench.normalize import name_key  # noqa: E402

TEXT = ["Anna", " Anna ", "\tBo\n", "", "  ", None, "Åsa", unicodedata.normalize("NFD", "Åsa"),
        "\u2003Öst\u2003", "\u00a0x\u00a0", "a  b", "Storgatan 12 B", "storgatan 12b", "İlkay",
        "\u200bzero", "x\u3000", "Väg ٣٤ 5", "Box 1-2", "gatan_7", "¨ 9", "ﬁsk 10", "Ω"]


def _plain_text(values: list) -> list[str]:
    """text_column's definition: pandas' strip (pyarrow's trim for arrow strings), "" missing."""
    s = pd.Series(values, dtype=object)
    return s.astype("string").fillna("").str.strip().to_numpy(dtype=object, na_value="").tolist()


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]"])
def test_text_column_of_arrow_strings_equals_pandas_strip(dtype):
    values = _sample(TEXT, 300, 1)
    frame = pd.DataFrame({"a": pd.Series(values, dtype=dtype)})
    got = pt.text_column(frame, "a")
    assert got.dtype == object and got.flags.writeable
    assert got.tolist() == _plain_text(values)
    # several chunks read as one column
    chunked = pd.concat([frame.iloc[:100], frame.iloc[100:]], ignore_index=True)
    assert pt.text_column(chunked, "a").tolist() == _plain_text(values)


def test_text_column_of_object_columns_strips_and_writes_numbers_as_text():
    values = _sample([v for v in TEXT if v is not None], 200, 2)
    frame = pd.DataFrame({"a": pd.Series(values, dtype=object),
                          "b": pd.Series(values[:-3] + [None, 12, float("nan")], dtype=object),
                          "n": np.arange(200, dtype=np.int64) * 7 - 50,
                          "f": [1.0, None] * 100})
    assert pt.text_column(frame, "a").tolist() == [v.strip() for v in values]
    assert pt.text_column(frame, "b").tolist() == [v.strip() for v in values[:-3]] + ["", "12", ""]
    assert pt.text_column(frame, "n").tolist() == [str(v) for v in frame["n"]]
    assert pt.text_column(frame, "f").tolist() == ["1", ""] * 100
    assert pt.text_column(frame, "absent").tolist() == [""] * 200
    for key in ("a", "n", "absent"):
        assert pt.text_column(frame.iloc[:0], key).tolist() == []


@pytest.mark.parametrize("dtype", ["str", object])
def test_text_codes_number_the_text_as_factorize_does(dtype):
    values = _sample(TEXT, 300, 3)
    frame = pd.DataFrame({"a": pd.Series(values, dtype=dtype)})
    codes, uniques = pt.text_codes(frame, "a")
    want_codes, want_uniques = pd.factorize(np.array(_plain_text(values), dtype=object))
    assert codes.tolist() == want_codes.tolist() and uniques == want_uniques.tolist()
    assert pt.text_codes(frame.iloc[:0], "a")[0].tolist() == []


def test_name_keys_equal_name_key_on_every_character_and_in_context():
    chars = [chr(c) for c in range(0x20, 0x30000, 3) if not 0xD800 <= c < 0xE000]
    values = chars + ["A" + c + "b " + c + "_" for c in chars[::11]] + [
        "Anna", " Åsa ", "Øster-Berg", "e\u0301mile", "O'Brien", "a_b", "", "  ", "ß", "İlkay",
        "Σίσυφος", "ǅ", "\u00a8x", "１２ab", "x\u0301\u0316", "Lars\tErik", "٣٤", "Łódź-Ñ"]
    assert pt.name_keys(values) == [name_key(v) for v in values]


@pytest.mark.parametrize("dtype", ["str", object])
def test_folded_codes_equal_folding_numbering_and_house_numbers_by_definition(dtype):
    values = _sample(TEXT, 400, 4)
    frame = pd.DataFrame({"street": pd.Series(values, dtype=dtype)})
    folded, (codes, uniques), numbers = pt.folded_codes(frame, "street", numbers=True)
    text = _plain_text(values)
    assert folded.tolist() == [name_key(v) for v in text]
    assert numbers.tolist() == [m.group(0) if (m := pt._HOUSE_NUMBER.search(name_key(v))) else ""
                                for v in text]
    want_codes, want_uniques = pd.factorize(np.array([name_key(v) for v in text], dtype=object))
    assert codes.dtype == np.int64 and codes.tolist() == want_codes.tolist()
    assert uniques.tolist() == want_uniques.tolist()
    assert pt.folded_column(np.array(text, dtype=object)).tolist() == folded.tolist()
    assert pt.house_number(folded).tolist() == numbers.tolist()
    empty = pt.folded_codes(frame.iloc[:0], "street", numbers=True)
    assert empty[0].tolist() == [] and empty[1][0].tolist() == [] and empty[2].tolist() == []


def test_lower_and_local_parts_equal_their_definitions():
    emails = np.array(["Anna.Berg@X.se", "ab@x.se", "abc@x.se", "", "no-at", "a@b@c.se", "@x",
                       "ÅSA@Ö.SE", "İ@x.se", "Σ@x"], dtype=object)
    assert pt.lower(emails).tolist() == [e.lower() for e in emails]
    assert pt.local_parts(emails).tolist() == [
        p if len(p := e.rpartition("@")[0]) >= 3 else "" for e in emails]
    assert pt.lower(emails[:0]).tolist() == [] and pt.local_parts(emails[:0]).tolist() == []


# --------------------------------------------------------------------------- prepared sides

SSN = ["19850312-2387", "198503122387", "8503122387", "850312-2387", "", "19850312+2387",
       "1985031\u0662-2387", "19850312-238", "abcdefgh-ijkl", "19850312-23877", "1985-03-12-23",
       "19850372-2381", "19850312-2388", "\uff119850312-2387", "20000229-1234", "19121212-1212"]


def test_personnummer_parts_equal_their_plain_definitions():
    import re

    from workbench.matching.prepare import _personnummer, digit_matrix, luhn_valid

    ssn = np.array(_sample(SSN, 300, 5), dtype=object)
    pnr, count, digits, written, codes = _personnummer(ssn)
    plain = [re.sub(r"[^0-9]", "", v) for v in ssn]
    assert pnr.tolist() == [d[-10:] if len(d) in (10, 12) else "" for d in plain]
    assert count.tolist() == [len(d) for d in plain]
    assert np.array_equal(digits, digit_matrix(pnr))
    canonical = [bool(re.fullmatch(r"[0-9]{8}-[0-9]{4}", v)) for v in ssn]
    assert written.tolist() == canonical
    assert [v for v in codes.view("U13").reshape(-1).tolist()] == \
        [v for v, ok in zip(ssn, canonical) if ok]
    assert luhn_valid(digits).tolist() == luhn_valid(digit_matrix(pnr)).tolist()
    empty = _personnummer(np.zeros(0, dtype=object))
    assert [len(x) for x in empty] == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("dtype", ["str", object])
def test_a_prepared_side_numbers_street_and_city_as_value_codes_would(dtype):
    from workbench.matching.prepare import prepare_hr

    n = 300
    frame = pd.DataFrame({
        "hr_id": [f"H{i}" for i in range(n)], "first_name": _sample(FIRST[:20], n, 6),
        "last_name": _sample(LAST[:8], n, 7), "street": _sample(TEXT, n, 8),
        "city": _sample(["Malmö", "malmo", " Umeå", None, "", "Göteborg"], n, 9),
        "ssn": _sample(SSN, n, 10)}).astype({"street": dtype, "city": dtype})
    side = prepare_hr(frame)
    for name in ("street", "city"):
        codes, uniques = side.memo[("codes", name)]
        want_codes, want_uniques = pd.factorize(np.asarray(getattr(side, name), dtype=object))
        assert codes.tolist() == want_codes.tolist()
        assert uniques.tolist() == want_uniques.tolist()
    assert side.street.tolist() == [name_key(v) for v in _plain_text(frame["street"].tolist())]
    assert side.street_no.tolist() == pt.house_number(side.street).tolist()
