"""Blocking and model rules learned on real data: an oversized key is split by the initials
instead of dropped, a move counts once (street and postal code both differing make postal code
and city neutral), and EM keeps a floor under m of "differs"."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.matching import MatchSettings
from workbench.matching.blocking import candidate_pairs
from workbench.matching.comparisons import COMPARISONS, compare
from workbench.matching.fs import em
from workbench.matching.prepare import prepare_hr, prepare_kleer

SWITCHBOARD = "+46850001000"
FIRSTS = ["Bo", "Carl", "Dan", "Emil", "Filip", "Gustav", "Hans", "Ivar", "Jonas", "Lars"]
LASTS = ["Berg", "Dahl", "Ek", "Fors", "Holm", "Lind", "Nord", "Sjö", "Strand", "Wall"]


def _switchboard_staff(n: int) -> pd.DataFrame:
    """``n`` HR employees who all give the company's switchboard as their phone."""
    return pd.DataFrame({"hr_id": [f"E{i}" for i in range(n)],
                         "first_name": [FIRSTS[i % len(FIRSTS)] for i in range(n)],
                         "last_name": [LASTS[(i // len(FIRSTS)) % len(LASTS)] for i in range(n)],
                         "phone": SWITCHBOARD})


def _phone_pairs(hr: pd.DataFrame, kleer: pd.DataFrame, max_block: int) -> set[tuple[str, str]]:
    h_side, k_side = prepare_hr(hr), prepare_kleer(kleer)
    h, k = candidate_pairs(h_side, k_side, MatchSettings(max_block=max_block), blocks=("phone",))
    return set(zip(h_side.ids[h].astype(str), k_side.ids[k].astype(str)))


def test_an_oversized_key_split_by_the_first_name_initial_still_pairs_the_right_person():
    hr = _switchboard_staff(40)                 # E0–E9 Berg, E10–E19 Dahl, E20–E29 Ek, E30–E39 Fors
    hr.loc[27, ["first_name", "last_name"]] = ["Anna", "Öberg"]   # the only A
    kleer = pd.DataFrame({"kleer_id": ["k1"], "name": ["Anna Dahlqvist"],  # married: new surname
                          "phone": [SWITCHBOARD]})
    assert len(_phone_pairs(hr, kleer, max_block=50)) == 40   # small enough: the whole block
    # 40 share the phone, more than 20: the key is split by the first-name initial (A: Anna
    # Öberg alone) and by the last-name initial (D: the nine Dahl), not dropped
    assert _phone_pairs(hr, kleer, max_block=20) == \
        {("E27", "k1")} | {(f"E{i}", "k1") for i in range(10, 20)}


def test_an_oversized_key_split_by_the_last_name_initial_when_the_first_names_differ():
    hr = _switchboard_staff(40)
    hr.loc[23, ["first_name", "last_name"]] = ["Maria Tove", "Öberg"]
    kleer = pd.DataFrame({"kleer_id": ["k1"], "name": ["Tove Öberg"],  # goes by her second name
                          "phone": [SWITCHBOARD]})
    # no one's first name starts with T; the last-name initial Ö finds her alone
    assert _phone_pairs(hr, kleer, max_block=20) == {("E23", "k1")}


def test_a_key_oversized_even_after_splitting_is_dropped():
    hr = _switchboard_staff(40)
    hr["first_name"], hr["last_name"] = "Bo", "Berg"   # 40 Bo Berg on one phone
    kleer = pd.DataFrame({"kleer_id": ["k1"], "name": ["Bo Berg"], "phone": [SWITCHBOARD]})
    assert _phone_pairs(hr, kleer, max_block=20) == set()


def _levels(hr: dict, kleer: dict, comparisons: list[str]) -> dict[str, str]:
    h = prepare_hr(pd.DataFrame([{"hr_id": "E1", "first_name": "Anna", "last_name": "Berg", **hr}]))
    k = prepare_kleer(pd.DataFrame([{"kleer_id": 1, "name": "Anna Berg", **kleer}]))
    row = compare(h, k, np.array([0]), np.array([0]), comparisons)[0]
    return {c: "missing" if li == 0 else COMPARISONS[c].levels[li - 1]
            for c, li in zip(comparisons, row)}


ADDRESS = ["street", "zip_code", "city"]
HOME = {"street": "Storgatan 12", "zip_code": "11122", "city": "Stockholm"}


def test_a_move_counts_once_postal_code_and_city_become_neutral():
    moved = {"street": "Kungsvägen 3", "zip_code": "41301", "city": "Göteborg"}
    assert _levels(HOME, moved, ADDRESS) == {"street": "differs", "zip_code": "missing",
                                             "city": "missing"}


def test_a_street_change_within_the_postal_code_keeps_the_postal_code_and_city():
    other_street = {"street": "Kungsvägen 3", "zip_code": "11122", "city": "Stockholm"}
    assert _levels(HOME, other_street, ADDRESS) == {"street": "differs", "zip_code": "exact",
                                                    "city": "exact"}
    typo = {"street": "Storgtan 12", "zip_code": "41301", "city": "Stockholm"}
    assert _levels(HOME, typo, ADDRESS) == {"street": "same house number, similar street",
                                            "zip_code": "differs", "city": "exact"}


def test_a_move_without_a_postal_code_column_makes_the_city_neutral():
    moved = {"street": "Kungsvägen 3", "city": "Göteborg"}
    home = {"street": "Storgatan 12", "city": "Stockholm"}
    assert _levels(home, moved, ["street", "city"]) == {"street": "differs", "city": "missing"}


def test_em_keeps_a_floor_under_m_of_differs():
    """True pairs that never disagree on the phone in training must not make a differing phone
    infinitely strong evidence against: m("differs") stays at least 1 %."""
    rng = np.random.default_rng(5)
    n, lam = 20000, 0.2
    match = rng.random(n) < lam
    comps = ["ssn", "phone"]
    gamma = np.zeros((n, 2), dtype=np.int8)
    gamma[:, 0] = np.where(match, 1, 5)                                     # ssn: exact / differs
    gamma[:, 1] = np.where(match, 1, rng.choice([1, 2], size=n, p=[0.001, 0.999]))
    model = em(gamma, comps, prior=0.1)
    assert model.converged
    # the data alone say ~0.0002 (the prior's pseudo-count over ~4,000 matches); the floor is
    # 1 % before m is normalised again
    assert model.m["phone"][-1] == pytest.approx(0.01, rel=0.02)
    differs = model.weights("phone")[-1]
    assert differs == pytest.approx(math.log2(model.m["phone"][-1] / model.u["phone"][-1]))
    assert differs > math.log2(0.0099)             # at most ~6.7 bits against
    # an identical personnummer still outweighs a differing phone by far
    assert model.weights("ssn")[1] + differs > 10


def _birth_pairs(hr: pd.DataFrame, kleer: pd.DataFrame) -> set[tuple[str, str]]:
    h_side, k_side = prepare_hr(hr), prepare_kleer(kleer)
    h, k = candidate_pairs(h_side, k_side, MatchSettings(), blocks=("birth_date",))
    return set(zip(h_side.ids[h].astype(str), k_side.ids[k].astype(str)))


@pytest.mark.parametrize("hr_first, hr_last, kleer_name", [
    ("Amber", "Webb", "Webb"),                 # the name in one part only (FEBRL4 rec-2772)
    ("", "Quast", "Quast"),                    # no first name on one side, one part on the other
    ("Zara", "George", "Alexander Georg E"),   # split elsewhere, a letter left over
    ("Anna", "Berg", "Berg Anna"),             # swapped
    ("Karl", "Berg", "Kalle Lind"),            # nickname, married
])
def test_birth_date_with_any_name_token_pairs_names_given_in_other_parts(hr_first, hr_last,
                                                                         kleer_name):
    hr = pd.DataFrame({"hr_id": ["E1", "E2"], "first_name": [hr_first, "Bo"],
                       "last_name": [hr_last, "Ek"], "birth_date": ["1947-07-15", "1947-07-15"]})
    kleer = pd.DataFrame({"kleer_id": ["k1"], "name": [kleer_name],
                          "birth_date": ["1947-07-15"]})
    assert _birth_pairs(hr, kleer) == {("E1", "k1")}   # not Bo Ek, born the same day


def test_birth_date_alone_is_no_key():
    hr = pd.DataFrame({"hr_id": ["E1"], "first_name": ["Amber"], "last_name": ["Webb"],
                       "birth_date": ["1947-07-15"]})
    kleer = pd.DataFrame({"kleer_id": ["k1"], "name": ["Joshua Berry"], "birth_date": ["1947-07-15"]})
    assert _birth_pairs(hr, kleer) == set()
