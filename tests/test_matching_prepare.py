"""The prepare step works each name out once per distinct name; the result is the per-row one."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from workbench.matching import names as nm
from workbench.matching.prepare import prepare_hr, prepare_kleer

FIRST = ["Anna", "anna", " Anna ", "Kalle", "Karl", "Anna-Maria", "Anna Maria", "", None, "Åsa",
         unicodedata.normalize("NFD", "Åsa"), "A.", "Sebbe", "O'Brien", "Jean  Luc", "Ölof",
         "42", "Zoë", "  ", "Lars\tErik"]
LAST = ["Svensson", "svensson-Berg", "von Essen", "", None, "Andersson", "Øster", "de la Cruz",
        "Åkesson", "Svensson Berg", "X", "Lindqvist  ", "Nilsson"]
FULL = ["Anna Svensson", "Carl von Essen", "Anna Maria Svensson", "Madonna", "", None,
        "  Kalle   Karlsson ", unicodedata.normalize("NFD", "Åsa Öberg"), "A. Svensson",
        "Jean-Luc de la Cruz", "Sebbe Lind", "anna svensson", "Bo"]


def _sample(values: list, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [values[i] for i in rng.integers(0, len(values), n)]


def _keys(p: nm.NameParts) -> tuple:
    return (p.folded, p.sorted_key, p.ordered_key, p.initials_key, p.first_key, p.last_key,
            1 in map(len, p.tokens), len(set(p.canon)), " ".join(p.first_tokens),
            " ".join(p.last_tokens))


SIDE_KEYS = ("folded", "sorted_key", "ordered_key", "initials_key", "first_key", "last_key",
             "has_initial", "n_tokens", "first", "last")


def _side_rows(side) -> list[tuple]:
    return list(zip(*[getattr(side, k).tolist() for k in SIDE_KEYS]))


def test_hr_names_once_per_distinct_name_equal_the_per_row_names():
    first, last = _sample(FIRST, 400, 1), _sample(LAST, 400, 2)
    uniq, codes = nm.hr_names(first, last)
    assert len(uniq) < 400  # repeated names are worked out once
    assert [uniq[c] for c in codes] == [nm.hr_name_parts(f, l) for f, l in zip(first, last)]


def test_kleer_names_equal_the_per_row_names_also_from_first_and_last():
    full = _sample(FULL, 300, 3)
    first, last = _sample(FIRST, 300, 4), _sample(LAST, 300, 5)
    uniq, codes = nm.kleer_names(full, first, last)
    assert [uniq[c] for c in codes] == [nm.kleer_name_parts(a, b, c)
                                        for a, b, c in zip(full, first, last)]


def test_a_piece_of_a_displayed_name_is_that_names_own():
    # hr_name_parts reads each part as displayed; the display then joins them unchanged
    parts = nm.hr_name_parts(" Anna  Maria ", unicodedata.normalize("NFD", "Öberg"))
    assert parts.display == "Anna Maria Öberg"
    assert parts.tokens == ("anna", "maria", "oberg")
    assert parts.last_display == "Öberg"
    assert nm.hr_name_parts(None, "  ").display == ""


def test_prepared_sides_carry_every_records_own_name_keys():
    first, last = _sample(FIRST, 200, 6), _sample(LAST, 200, 7)
    hr = pd.DataFrame({"hr_id": [f"H{i}" for i in range(200)], "first_name": first,
                       "last_name": last})
    side = prepare_hr(hr)
    expected = [nm.hr_name_parts(f, l) for f, l in zip(side_text(first), side_text(last))]
    assert side.names == expected
    assert _side_rows(side) == [_keys(p) for p in expected]
    assert side.n_tokens.dtype == np.int16 and side.has_initial.dtype == bool

    full = _sample(FULL, 150, 8)
    kleer = pd.DataFrame({"kleer_id": range(150), "name": full})
    k_side = prepare_kleer(kleer)
    k_expected = [nm.kleer_name_parts(v or None, "", "") for v in side_text(full)]
    assert k_side.names == k_expected
    assert _side_rows(k_side) == [_keys(p) for p in k_expected]


def test_an_empty_side_has_empty_name_arrays():
    side = prepare_hr(pd.DataFrame({"hr_id": [], "first_name": [], "last_name": []}))
    assert len(side) == 0 and side.names == [] and len(side.sorted_key) == 0


def side_text(values: list) -> list[str]:
    """What prepare reads a name cell as: stripped text, "" for missing."""
    return ["" if v is None else v.strip() for v in values]


# --------------------------------------------------------------------------- name folding
# The folding functions take fast paths (ASCII text, str.split for whitespace); these are the
# plain definitions they must agree with.

def _display_by_definition(value):
    import re

    from workbench import normalize as n
    if n.is_missing(value):
        return None
    s = unicodedata.normalize("NFC", n._text(value))
    return re.sub(r"\s+", " ", s).strip() or None


def _key_by_definition(value):
    import re

    from workbench import normalize as n
    if n.is_missing(value):
        return ""
    s = unicodedata.normalize("NFKD", n._text(value).translate(n._FOLD))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold().translate(n._FOLD)
    s = re.sub(r"[^\w]+", " ", s).replace("_", " ")
    return re.sub(r"\s+", " ", s).strip()


def test_name_display_and_key_equal_their_definitions_on_hostile_text():
    from workbench.normalize import name_display, name_key
    rng = np.random.default_rng(11)
    alphabet = list("aAbZ åÅöÖäæÆøßﬁ\u0301\u00a0\u2003\t\n\x1c\x1f\x85_-.'’1²Ⅻ\u200b\u3000İıǅ")
    values = [None, float("nan"), 3.0, 12, "", "  ", "Anna  Maria", "ANNA", "O'Brien"] + [
        "".join(rng.choice(alphabet, rng.integers(0, 12))) for _ in range(20000)]
    assert [name_display(v) for v in values] == [_display_by_definition(v) for v in values]
    assert [name_key(v) for v in values] == [_key_by_definition(v) for v in values]
    assert name_key(" Åsa-Britt  Öberg ") == "asa britt oberg"
    assert name_display(" Anna \u2003 Maria ") == "Anna Maria"


# --------------------------------------------------------------------------- personnummer

def _luhn_digit(nine: str) -> str:
    total = sum(int(d) * (2 - i % 2) // 10 + int(d) * (2 - i % 2) % 10 for i, d in enumerate(nine))
    return str((10 - total % 10) % 10)


def _pnr(date12: str, serial: str = "238") -> str:
    nine = date12[2:8] + serial
    return f"{date12[:8]}-{serial}{_luhn_digit(nine)}"


SSNS = [_pnr("19850312"), _pnr("19850372"), _pnr("20010229"), _pnr("19991231", "001"),
        _pnr("19850312")[:-1] + "0", _pnr("19850312").replace("-", ""), _pnr("19850312")[2:],
        "８５0312-2387", "19850312-23８7", "abc", "", None, "1985-03-12", "19850312 - 2387",
        _pnr("19700101", "999"), "19850312-2387 ", "000000-0000"]


def test_masks_and_birth_dates_from_the_personnummer_equal_the_per_row_rules():
    from workbench.fields import mask
    from workbench.normalize import birth_date_from_personnummer
    ssn, birth = _sample(SSNS, 300, 12), _sample(["", None, "1990-01-01"], 300, 13)
    hr = pd.DataFrame({"hr_id": [f"H{i}" for i in range(300)], "first_name": "Anna",
                       "last_name": "Berg", "ssn": ssn, "birth_date": birth})
    side = prepare_hr(hr)
    text = side_text(ssn)
    # a canonical number that passes the Luhn check is shown and dated by slicing (its date is
    # not parsed again: 20010229 stays as it is); anything else by the field's own rules
    sliced = [ok and len(v) == 13 and v[8] == "-" for v, ok in zip(text, side.pnr_valid)]
    assert side.ssn_masked.tolist() == [v[:9] + "****" if s else (mask("ssn", v) if v else "")
                                        for v, s in zip(text, sliced)]
    expected = []
    for v, b, s in zip(text, side_text(birth), sliced):
        day = int(v[6:8]) if s else 0
        expected.append(b or (f"{v[:4]}-{v[4:6]}-{day - 60 if day > 60 else day:02d}" if s
                              else (birth_date_from_personnummer(v).value or "" if v else "")))
    assert side.birth_date.tolist() == expected
    assert side.birth_from_pnr.tolist() == [not b and bool(e) for b, e in
                                            zip(side_text(birth), expected)]
    assert any(sliced) and not all(sliced)
    assert "1985-03-12" in side.birth_date.tolist()  # a samordningsnummer's day − 60
    k_side = prepare_kleer(pd.DataFrame({"kleer_id": [1, 2], "name": ["A B", "C D"],
                                         "ssn": [_pnr("19850372"), None]}))
    assert k_side.birth_date.tolist() == ["1985-03-12", ""]
    assert k_side.ssn_masked.tolist() == ["19850372-****", ""]
