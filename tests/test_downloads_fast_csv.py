"""The CSV writer builds the file column by column; the bytes are exactly pandas' to_csv's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import downloads
from workbench.downloads import safe_frame, to_csv_bytes

TEXT = ["Anna", "", None, "a,b", 'say "hi"', "two\nlines", "cr\rhere", "crlf\r\n", "=1+1",
        "+46701234567", "-5", "@x", "\ttab", "Åsa Öberg", "semi;colon", " lead", "tail ",
        '"', ",", "ﬁ\u200b\u3000"]


def _by_pandas(frame: pd.DataFrame, sep: str = ",") -> bytes:
    return safe_frame(frame).to_csv(index=False, sep=sep, lineterminator="\r\n").encode("utf-8-sig")


def _frame(n: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pick = lambda values: [values[i] for i in rng.integers(0, len(values), n)]  # noqa: E731
    floats = np.array(pick([0.1, 1e-05, 1e16, 123456789.125, -0.0, np.nan, np.inf, 2.0, 1 / 3]))
    return pd.DataFrame({
        "kleer_id": rng.integers(-5, 10**12, n),
        "hr_id": pd.Series(pick(TEXT), dtype="str"),
        "score": floats,
        "assigned": rng.integers(0, 2, n).astype(bool),
        "evidence": pick(TEXT),
        "band": pd.Series(pick(["certain", None, "possible"]), dtype=object),
        "a,header": pick(TEXT),
        '=quoted "header"': pick(TEXT),
    })


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_the_fast_writer_writes_what_pandas_writes(sep):
    frame = _frame()
    assert downloads._csv_text(safe_frame(frame), sep) is not None  # the fast path is taken
    assert to_csv_bytes(frame, sep=sep) == _by_pandas(frame, sep)


def test_an_empty_table_is_its_header_line():
    frame = _frame().iloc[:0]
    assert to_csv_bytes(frame) == _by_pandas(frame)
    assert to_csv_bytes(frame).decode("utf-8-sig").count("\r\n") == 1


def test_columns_pandas_formats_itself_still_come_out_as_pandas_writes_them():
    frame = _frame(40)
    frame["mixed"] = [1, "a", 2.5, None] * 10               # numbers among text
    frame["when"] = pd.Timestamp("2024-01-31 10:00")        # a date
    frame["maybe"] = pd.array([1, None] * 20, dtype="Int64")  # whole numbers with a gap
    frame["cat"] = pd.Categorical(["x", "y"] * 20)
    assert downloads._csv_text(safe_frame(frame), ",") is None
    assert to_csv_bytes(frame) == _by_pandas(frame)
    one = pd.DataFrame({"only": ["", "a"]})                   # one column: '""' for an empty row
    assert to_csv_bytes(one) == _by_pandas(one)
    assert to_csv_bytes(one).decode("utf-8-sig").splitlines()[1] == '""'


def test_the_written_file_reads_back_cell_for_cell():
    frame = _frame(200, seed=9)
    back = pd.read_csv(__import__("io").BytesIO(to_csv_bytes(frame)), dtype=str,
                       keep_default_na=False, encoding="utf-8-sig")
    expected = safe_frame(frame)["evidence"].fillna("").tolist()
    assert back["evidence"].tolist() == expected


def test_the_evidence_column_of_the_suggestions_table_is_each_rows_own_sentences():
    from workbench.matching import _why, _why_column
    prior = {"signal": "prior", "sentence": "Starting point", "weight": -2.0}
    same = {"signal": "ssn", "sentence": "Personnummer identical", "weight": 13.157}
    rows = [[prior, same, {"signal": "email", "sentence": "Email differs", "weight": -4.04}],
            [same, {"signal": "phone", "sentence": "Phone missing", "weight": 0.0}],
            None, [],
            [{"signal": "x", "sentence": "Old style", "contribution": 2.26}],
            [{"signal": "y", "sentence": "Personnummer identical", "weight": 13.1}, same]]
    assert _why_column(rows) == [_why(r) for r in rows]
    assert _why_column(rows)[0] == "Personnummer identical (+13.2 bits); Email differs (-4.0 bits)"
    assert _why_column(rows)[1] == "Personnummer identical (+13.2 bits); Phone missing"
    assert _why_column(rows)[5] == "Personnummer identical (+13.1 bits); Personnummer identical (+13.2 bits)"
