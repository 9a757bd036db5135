"""The prepare step's fast paths give what their plain definitions give, on awkward data.

Each fast path (names worked out column by column, text read through pyarrow, numbers shared
between columns) is held equal to the definition it replaces: the per-record name functions,
plain Python string methods, pandas.factorize over the records.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

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


def _sample(values: list, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [values[i] for i in rng.integers(0, len(values), n)]


def _keys(p: nm.NameParts) -> tuple:
    """The side's name keys by their plain definitions (as prepare once spread them)."""
    return (p.folded, p.sorted_key, p.ordered_key, p.initials_key, p.first_key, p.last_key,
            1 in map(len, p.tokens), len(set(p.canon)), " ".join(p.first_tokens),
            " ".join(p.last_tokens))


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


def test_many_word_names_split_at_the_first_particle_as_split_name_does():
    from workbench.fields import split_name

    full = ["Anna Maria von der Berg", "Carl Gustaf af Klercker", "Jan de la Motte Berg",
            "Anna von", "von Anna Berg", "A B C D E F"]
    table = name_table.kleer_table(full, [""] * len(full), [""] * len(full))
    for p, name in zip(table.uniq, full):
        first, last = split_name(name)
        assert p.first_tokens == nm.folded_tokens(first or "")
        assert p.last_display == (last or "")
