"""Matching v2: every comparison level, EM on a known case, term frequencies, match weights that
add up, waterfall data, Swedish short forms, opaque ids offline and blocking that stays linear."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from workbench import nicknames
from workbench.cli import main
from workbench.matching import FSModel, candidates, suggest, train, waterfall, waterfall_chart
from workbench.matching.comparisons import COMPARISONS, compare
from workbench.matching.fs import em, tf_adjustments
from workbench.matching.prepare import prepare_hr, prepare_kleer
from workbench.normalize import make_personnummer

PNR = make_personnummer(date(1985, 3, 12), 238)


def _level(comparison: str, hr: dict, kleer: dict) -> str:
    """The level name one HR record and one Kleer record land on for ``comparison``."""
    h = prepare_hr(pd.DataFrame([{"hr_id": "E1", "first_name": "Anna", "last_name": "Berg", **hr}]))
    k = prepare_kleer(pd.DataFrame([{"kleer_id": 1, "name": "Anna Berg", **kleer}]))
    li = int(compare(h, k, np.array([0]), np.array([0]), [comparison])[0, 0])
    return "missing" if li == 0 else COMPARISONS[comparison].levels[li - 1]


def _digit(p: str, i: int) -> str:
    d = p.replace("-", "")
    d = d[:i] + str((int(d[i]) + 1) % 10) + d[i + 1:]
    return d[:8] + "-" + d[8:]


@pytest.mark.parametrize("comparison, hr, kleer, level", [
    ("ssn", {"ssn": PNR}, {"ssn": PNR}, "exact"),
    ("ssn", {"ssn": PNR}, {"ssn": PNR.replace("-", "")[2:]}, "10 vs 12 digits"),
    ("ssn", {"ssn": PNR}, {"ssn": _digit(PNR, 9)}, "one digit off"),
    ("ssn", {"ssn": PNR}, {"ssn": PNR[:10] + PNR[11] + PNR[10] + PNR[12:]}, "two digits transposed"),
    ("ssn", {"ssn": PNR}, {"ssn": make_personnummer(date(1990, 1, 2), 17)}, "differs"),
    ("ssn", {"ssn": PNR}, {"ssn": None}, "missing"),
    ("birth_date", {"birth_date": "1985-03-12"}, {"birth_date": "1985-03-12"}, "exact"),
    ("birth_date", {"birth_date": "1985-03-12"}, {"ssn": PNR}, "from personnummer"),
    ("birth_date", {"birth_date": "1985-03-12"}, {"birth_date": "1985-03-13"}, "one component off"),
    ("birth_date", {"birth_date": "1985-03-12"}, {"birth_date": "1985-12-03"}, "one component off"),
    ("birth_date", {"birth_date": "1985-03-12"}, {"birth_date": "1979-08-30"}, "differs"),
    ("birth_date", {"ssn": PNR}, {"ssn": PNR}, "missing"),  # the personnummer already holds it
    ("email", {"private_email": "a@x.se"}, {"email": "a@x.se"}, "exact"),
    ("email", {"work_email": "skogsmus7@x.se"}, {"email": "skogsmus7@y.se"}, "same local part"),
    # married: HR has the new name, Kleer the maiden name its old address is made of
    ("email", {"last_name": "Lund", "private_email": "anna.berg@x.se"}, {"email": "anna.berg@y.se"},
     "local part is only the name"),
    # made of both names, it repeats the names' own comparison: neutral
    ("email", {"private_email": "anna.berg@x.se"}, {"email": "anna.berg@y.se"}, "missing"),
    ("email", {"private_email": "a@x.se"}, {"email": "b@x.se"}, "differs"),
    ("phone", {"phone": "+46701234567"}, {"phone": "+46701234567"}, "exact"),
    ("phone", {"phone": "+46701234567"}, {"phone": "+46701234568"}, "differs"),
    ("street", {"street": "Storgatan 12"}, {"street": "storgatan 12"}, "exact"),
    ("street", {"street": "Storgatan 12"}, {"street": "Storgtan 12"},
     "same house number, similar street"),
    ("street", {"street": "Storgatan 12"}, {"street": "Storgatan 14"}, "differs"),
    ("zip_code", {"zip_code": "11122"}, {"zip_code": "11122"}, "exact"),
    ("zip_code", {"zip_code": "11122"}, {"zip_code": "11135"}, "same first three digits"),
    ("zip_code", {"zip_code": "11122"}, {"zip_code": "41122"}, "differs"),
    ("city", {"city": "Göteborg"}, {"city": "Goteborg"}, "exact"),
    ("city", {"city": "Stockholm"}, {"city": "Stokholm"}, "similar"),
    ("city", {"city": "Stockholm"}, {"city": "Malmö"}, "differs"),
    ("employee_number", {"employee_number": "10234"}, {"employee_number": "10234"}, "exact"),
    ("employee_number", {"employee_number": "10234"}, {"employee_number": "10284"}, "one digit off"),
    ("employee_number", {"employee_number": "10234"}, {"employee_number": "99"}, "differs"),
    ("employment_start_date", {"employment_start_date": "2020-01-01"},
     {"employment_start_date": "2020-01-01"}, "exact"),
    ("employment_start_date", {"employment_start_date": "2020-01-01"},
     {"employment_start_date": "2021-01-01"}, "one component off"),
    ("employment_start_date", {"employment_start_date": "2020-01-01"},
     {"employment_start_date": "2011-06-15"}, "differs"),
    ("foreign_id", {}, {"hr_id": "E1"}, "exact"),
    ("foreign_id", {}, {"hr_id": "E9"}, "differs"),
])
def test_each_comparison_level(comparison, hr, kleer, level):
    assert _level(comparison, hr, kleer) == level


@pytest.mark.parametrize("hr_first, kleer_first, level", [
    ("Anna", "Anna", "exact"), ("Karl", "Kalle", "nickname"), ("Jessica", "Jessan", "nickname"),
    ("Viktoria", "Vickan", "nickname"), ("Matilda", "Tilda", "nickname"),
    ("Karin", "Kajsa", "nickname"), ("Anna Maria", "Anna", "one of the first names"),
    ("Anna", "A.", "initial"), ("Johanna", "Johnana", "jaro-winkler ≥ 0.92"),
    ("Anna", "Eva", "differs"),
])
def test_first_name_levels(hr_first, kleer_first, level):
    h = prepare_hr(pd.DataFrame([{"hr_id": "E1", "first_name": hr_first, "last_name": "Berg"}]))
    k = prepare_kleer(pd.DataFrame([{"kleer_id": 1, "name": f"{kleer_first} Berg"}]))
    li = int(compare(h, k, np.array([0]), np.array([0]), ["first_name"])[0, 0])
    assert COMPARISONS["first_name"].levels[li - 1] == level


def test_hypocoristic_rule_knows_swedish_short_forms_and_not_other_names():
    for formal, short in [("jessica", "jessan"), ("viktoria", "vickan"), ("matilda", "tilda"),
                          ("madeleine", "madde"), ("tobias", "tobbe"), ("fredrik", "fredde")]:
        assert nicknames.hypocoristic(formal, short), (formal, short)
    for a, b in [("annika", "anna"), ("annika", "anne"), ("karl", "karin"), ("johan", "johanna"),
                 ("jessica", "jessica")]:
        assert not nicknames.hypocoristic(a, b), (a, b)
    assert nicknames.relation("karin", "kajsa") == "nickname"
    assert len(nicknames.GROUPS) >= 130


def test_em_recovers_known_parameters():
    rng = np.random.default_rng(3)
    comps = ["phone", "street", "zip_code", "employee_number"]
    true_m = {"phone": [0.85, 0.15], "street": [0.8, 0.1, 0.1], "zip_code": [0.9, 0.05, 0.05],
              "employee_number": [0.7, 0.1, 0.2]}
    true_u = {"phone": [0.02, 0.98], "street": [0.03, 0.02, 0.95], "zip_code": [0.1, 0.2, 0.7],
              "employee_number": [0.01, 0.04, 0.95]}
    n, lam = 30000, 0.2
    match = rng.random(n) < lam
    gamma = np.zeros((n, len(comps)), dtype=np.int8)
    for j, c in enumerate(comps):
        for is_match, table in ((True, true_m), (False, true_u)):
            rows = np.flatnonzero(match == is_match)
            gamma[rows, j] = rng.choice(len(table[c]), size=len(rows), p=table[c]) + 1
    model = em(gamma, comps, prior=0.05)
    assert model.converged and model.iterations < 200
    assert model.prior == pytest.approx(lam, abs=0.01)
    for c in comps:
        assert np.allclose(model.m[c], true_m[c], atol=0.02), (c, model.m[c])
        assert np.allclose(model.u[c], true_u[c], atol=0.02), (c, model.u[c])
    again = FSModel.from_json(model.to_json())
    assert again.m == model.m and again.prior == model.prior
    assert {"comparison", "level", "m", "u", "weight"} <= set(model.summary()[0])


def test_term_frequency_a_common_surname_weighs_less_than_a_rare_one():
    names = np.array(["andersson"] * 300 + [f"rare{i}" for i in range(700)], dtype=object)
    h_adj, _ = tf_adjustments(names, names)
    assert h_adj[0] < 0 < h_adj[-1]


def _people(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    firsts = ["Anna", "Eva", "Karl", "Lars", "Maria", "Per", "Sara", "Johan", "Lena", "Erik"]
    letters = np.array(list("abdefghijklmnoprstuvy"))
    lasts = ["".join(rng.choice(letters, 8)).title() for _ in range(n // 5 + 2)] \
        + ["Andersson"] * (n // 5)
    hr = pd.DataFrame({"hr_id": [f"H{i}" for i in range(n)],
                       "first_name": rng.choice(firsts, n), "last_name": rng.choice(lasts, n),
                       "birth_date": rng.choice(["1980-01-01", "1990-06-15", "1975-12-24"], n),
                       "phone": [f"+4670{i:07d}" for i in range(n)]})
    kleer = pd.DataFrame({"kleer_id": [f"k-{i}" for i in range(n)],
                          "name": hr["first_name"] + " " + hr["last_name"],
                          "birth_date": hr["birth_date"], "phone": hr["phone"]})
    return hr, kleer


def test_explanation_weights_add_up_to_the_score():
    hr, kleer = _people(400)
    s = suggest(hr, kleer)
    assert len(s) >= 390
    for ev, score in zip(s["evidence"].head(50), s["score"].head(50)):
        total = sum(e["weight"] for e in ev)
        assert ev[0]["signal"] == "prior"
        assert 100 / (1 + 2 ** -total) == pytest.approx(score, abs=0.006)
        rows = waterfall(ev)
        assert rows["end"].iloc[-1] == pytest.approx(total)
        assert rows["probability"].iloc[-1] * 100 == pytest.approx(score, abs=0.006)
        assert (rows["end"].iloc[:-1].to_numpy() == rows["start"].iloc[1:-1].tolist()
                + [rows["end"].iloc[-2]]).all()
    chart = waterfall_chart(s["evidence"].iloc[0]).to_dict()
    assert chart["layer"][0]["mark"]["type"] == "bar"


def test_confirmed_and_rejected_pairs_refine_the_model():
    hr, kleer = _people(300)
    plain = train(hr, kleer)
    labels = pd.DataFrame({"hr_id": ["H1", "H2", "H3"], "kleer_id": ["k-1", "k-2", "k-4"],
                           "match": [True, True, False]})
    refined = train(hr, kleer, labels=labels)
    assert refined.labelled == 3 and plain.labelled == 0
    assert refined.m != plain.m


def test_opaque_string_ids_offline(tmp_path, capsys):
    hr = tmp_path / "hr.csv"
    kleer = tmp_path / "kleer.csv"
    hr.write_text("hr_id,first_name,last_name,phone\nrec-1-org,Anna,Berg,0701234567\n"
                  "rec-2-org,Bo,Ek,0707654321\n", encoding="utf-8")
    kleer.write_text("kleer_id,name,phone\nrec-1-dup-0,Anna Berg,070-123 45 67\n"
                     "rec-2-dup-0,Bo Ek,070-765 43 21\n", encoding="utf-8")
    out = tmp_path / "s.csv"
    assert main(["match", "--hr", str(hr), "--kleer", str(kleer), "--out", str(out)]) == 0
    got = pd.read_csv(out, dtype=str)
    pairs = set(zip(got.loc[got["assigned"] == "True", "hr_id"],
                    got.loc[got["assigned"] == "True", "kleer_id"]))
    assert pairs == {("rec-1-org", "rec-1-dup-0"), ("rec-2-org", "rec-2-dup-0")}
    truth = tmp_path / "truth.csv"
    truth.write_text("hr_id,kleer_id\nrec-1-org,rec-1-dup-0\nrec-2-org,rec-2-dup-0\n")
    assert main(["evaluate", "--truth", str(truth), "--hr", str(hr), "--kleer", str(kleer)]) == 0
    assert "F1        1.0000" in capsys.readouterr().out


def test_shared_birth_dates_do_not_make_blocking_quadratic():
    """Everyone is born on one of three days: birth date alone would give N²/3 pairs."""
    sizes, pairs = [1000, 4000], []
    for n in sizes:
        hr, kleer = _people(n, seed=n)
        kleer = kleer.drop(columns=["phone"])  # no phone: only names and birth dates block
        pairs.append(len(candidates(hr, kleer)))
    growth = pairs[1] / pairs[0]
    assert growth < 4 * 1.6, (pairs, "candidate pairs must grow about linearly with N")
    assert pairs[1] < 4000 * 40
