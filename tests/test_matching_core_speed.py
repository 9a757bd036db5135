"""Blocking and comparison fast paths (second round) give what the plain definitions give."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.matching import blocking, comparisons, word_sets
from workbench.matching.prepare import prepare_hr, prepare_kleer


def _date_sides(seed: int):
    """Two prepared sides whose birth dates and start dates are awkward: equal, one component
    off, day and month swapped, two components off, non-ISO text, short and long text,
    non-ASCII digits, missing."""
    rng = np.random.default_rng(seed)
    dates = ["1985-03-12", "1985-12-03", "1985-03-13", "1986-03-12", "1985-04-12", "1986-04-12",
             "1985-3-12", "12/03/1985", "1985", "", "1985-03-12T00", "١٩٨٥-03-12",
             "2001-01-01", "2001-01-10", "2010-01-01"]
    n_h, n_k = int(rng.integers(1, 40)), int(rng.integers(1, 40))

    def pick(n):
        return [dates[i] for i in rng.integers(0, len(dates), n)]

    hr = pd.DataFrame({"hr_id": [f"E{i}" for i in range(n_h)], "first_name": ["Anna"] * n_h,
                       "last_name": ["Berg"] * n_h, "birth_date": pick(n_h),
                       "employment_start_date": pick(n_h)})
    kleer = pd.DataFrame({"kleer_id": np.arange(n_k), "name": ["Anna Berg"] * n_k,
                          "birth_date": pick(n_k), "employment_start_date": pick(n_k)})
    return prepare_hr(hr), prepare_kleer(kleer)


def test_date_levels_from_components_read_once_per_side_equal_the_pairs_own_components():
    for seed in range(10):
        hr, kleer = _date_sides(seed)
        h, k = np.divmod(np.arange(len(hr) * len(kleer)), len(kleer))
        for name in ("birth_date", "start"):
            got = comparisons._date_levels_at(hr, kleer, name, h, k)
            a, b = getattr(hr, name)[h], getattr(kleer, name)[k]
            exact, near = comparisons._dates(a, b)
            want = np.where((a != "") & (b != ""), np.where(exact, 1, np.where(near, 2, 3)), 0)
            assert got.tolist() == want.tolist(), (seed, name)
            assert {1, 2, 3} <= set(got.tolist()) or len(h) < 20  # the levels are all met


def test_nonzero_eight_cells_at_a_time_equals_numpy_nonzero():
    rng = np.random.default_rng(3)
    shapes = [(0, 0), (0, 5), (5, 0), (1, 1), (1, 7), (3, 9), (17, 13), (64, 64), (200, 333)]
    for rows, cols in shapes:
        for density in (0.0, 0.001, 0.05, 1.0):
            block = np.where(rng.random((rows, cols)) < density,
                             rng.integers(1, 256, (rows, cols)), 0).astype(np.uint8)
            got, want = blocking._nonzero(block), np.nonzero(block)
            assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


def test_one_name_containing_the_other_by_word_sets_equals_token_set_ratio():
    from types import SimpleNamespace

    from rapidfuzz import fuzz

    words = ["berg", "lind", "svensson", "af", "b"]
    rng = np.random.default_rng(11)
    values = sorted({" ".join(rng.choice(words, n)) for n in (1, 1, 2, 2, 3) for _ in range(12)}
                    | {"", "berg  lind", " berg", "berg\u00a0lind", "lind\tberg", "berg berg"})
    hr = SimpleNamespace(last=np.array(values, dtype=object), memo={})
    kleer = SimpleNamespace(last=np.array(values[::-1], dtype=object), memo={})
    h, k = np.divmod(np.arange(len(values) ** 2), len(values))
    got = word_sets._one_contains_the_other(hr, kleer, "last", h, k)
    several = np.array([len(hr.last[i].split()) > 1 or len(kleer.last[j].split()) > 1
                        for i, j in zip(h, k)])
    want = np.array([fuzz.token_set_ratio(hr.last[i], kleer.last[j]) == 100
                     for i, j in zip(h, k)]) & several
    assert got.tolist() == want.tolist()
    assert got.sum() > 20 and (want & ~np.array([hr.last[i] == kleer.last[j]
                                                 for i, j in zip(h, k)])).any()


def test_emails_of_both_sides_in_one_numbering_are_equal_exactly_where_the_texts_are():
    from workbench.matching.joint_codes import joint_codes

    emails = ["anna@x.se", "", "Anna@x.se", "bo@firma.se", "anna@y.se", "bo@firma.se "]
    rng = np.random.default_rng(2)
    n_h, n_k = 30, 25
    hr = prepare_hr(pd.DataFrame({
        "hr_id": [f"E{i}" for i in range(n_h)], "first_name": ["Anna"] * n_h,
        "last_name": ["Berg"] * n_h, "private_email": rng.choice(emails, n_h),
        "work_email": rng.choice(emails, n_h)}))
    kleer = prepare_kleer(pd.DataFrame({"kleer_id": np.arange(n_k), "name": ["Anna Berg"] * n_k,
                                        "email": rng.choice(emails, n_k)}))
    for source in ("emails", "locals"):
        h_codes, k_codes = joint_codes(hr, kleer, source)
        assert joint_codes(hr, kleer, source)[1] is k_codes  # kept for the run
        texts = [getattr(hr, source)[c] for c in ("private_email", "work_email")] + \
            [getattr(kleer, source)["email"]]
        codes = [h_codes["private_email"], h_codes["work_email"], k_codes]
        flat_t = [t for col in texts for t in col.tolist()]
        flat_c = [c for col in codes for c in col.tolist()]
        assert [(c == -1) for c in flat_c] == [(t == "") for t in flat_t]
        assert [(a == b) for a in flat_c for b in flat_c if a >= 0 and b >= 0] == \
            [(a == b) for a in flat_t for b in flat_t if a and b]
