"""The matching engine on small hand-made frames: settings, every name situation with its
sentence, the personnummer/email signals, missing values, flags, the one-to-one assignment,
blocking limits, evaluation and the Kleer CSV reader."""

from __future__ import annotations

import doctest
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

import workbench.matching as matching
from workbench import nicknames
from workbench.errors import InputError
from workbench.fields import mask
from workbench.matching import MatchSettings, candidates, evaluate, read_kleer_table, suggest
from workbench.matching.assign import assign
from workbench.matching.prepare import prepare_hr
from workbench.normalize import make_personnummer

PNR = make_personnummer(date(1985, 3, 12), 238)        # 19850312-2387
PNR_OTHER = make_personnummer(date(1990, 7, 1), 412)


def hr_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{"hr_id": f"E{i + 1}", **r} for i, r in enumerate(rows)])


def kleer_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{"kleer_id": 100 + i, **r} for i, r in enumerate(rows)])


def evidence_of(frame: pd.DataFrame, kleer_id: int, hr_id: str, signal: str) -> dict:
    row = frame[(frame["kleer_id"] == kleer_id) & (frame["hr_id"] == hr_id)]
    assert len(row) == 1, f"no suggestion {kleer_id} → {hr_id}:\n{frame}"
    found = [e for e in row.iloc[0]["evidence"] if e["signal"] == signal]
    assert found, f"no {signal} evidence in {row.iloc[0]['evidence']}"
    return found[0]


def test_the_module_example_runs():
    result = doctest.testmod(matching)
    assert result.attempted >= 5 and result.failed == 0


# --------------------------------------------------------------------------- settings

def test_settings_round_trip_through_json():
    s = MatchSettings(certain=95, likely=75, possible=55, top_k=3, tie_margin=1.5,
                      weights={**MatchSettings().weights, "phone": 20})
    again = MatchSettings.from_json(s.to_json())
    assert again == s
    assert again.weights["phone"] == 20 and again.top_k == 3


@pytest.mark.parametrize("change, words", [
    ({"certain": 60, "likely": 70}, "band limits"),
    ({"top_k": 0}, "top k"),
    ({"weights": {"ssn": 60}}, "weights lacks"),
    ({"weights": {**MatchSettings().weights, "shoe_size": 3}}, "unknown signals shoe_size"),
    ({"levels": {"strong": 0.2, "partial": 0.5}}, "partial ≤ strong"),
])
def test_invalid_settings_say_what_is_wrong(change, words):
    with pytest.raises(InputError, match=words):
        MatchSettings(**change)


def test_settings_from_json_refuse_unknown_keys_and_bad_json():
    with pytest.raises(InputError, match="unknown match settings: colour"):
        MatchSettings.from_json('{"colour": "red"}')
    with pytest.raises(InputError, match="not valid JSON"):
        MatchSettings.from_json("{certain: 90")


def test_validate_names_the_missing_columns_once():
    with pytest.raises(InputError) as e:
        suggest(pd.DataFrame({"first_name": ["A"]}), pd.DataFrame({"email": ["a@b.se"]}))
    text = str(e.value)
    assert "'hr_id'" in text and "'kleer_id'" in text and "'name'" in text
    usable = MatchSettings().validate(["hr_id", "first_name", "last_name", "ssn"],
                                      ["kleer_id", "name", "ssn"])
    assert usable == ["ssn", "name", "birth_date"]


# --------------------------------------------------------------------------- names

def _name_case(hr_first, hr_last, kleer_name, signal="first_name"):
    """One HR employee and one Kleer user sharing a personnummer (so the pair is kept) and
    differing only in how the name is written."""
    hr = hr_frame({"first_name": hr_first, "last_name": hr_last, "ssn": PNR})
    kleer = kleer_frame({"name": kleer_name, "ssn": PNR})
    return evidence_of(suggest(hr, kleer), 100, "E1", signal)


@pytest.mark.parametrize("hr_first, hr_last, kleer_name, signal, level, sentence", [
    ("Anna", "Svensson", "Anna Svensson", "first_name", "exact", "First name Anna identical"),
    ("Åsa", "Öberg", "Asa Oberg", "last_name", "exact",
     "Last name identical apart from case and accents (HR Öberg, Kleer Oberg)"),
    ("Anna", "Svensson", "Svensson Anna", "first_name", "swapped",
     "First and last name swapped (HR Anna Svensson, Kleer Svensson Anna)"),
    ("Anna", "Svensson", "Svensson Anna", "last_name", "swapped",
     "First and last name swapped (HR Anna Svensson, Kleer Svensson Anna)"),
    ("Anna", "Svensson-Berg", "Anna Berg", "last_name", "part of a double surname",
     "Last name Svensson-Berg ~ Berg: part of a double surname"),
    ("Anna", "Berg", "Anna Svensson-Berg", "last_name", "part of a double surname",
     "Last name Berg ~ Svensson-Berg: part of a double surname"),
    ("Anna Maria", "Svensson", "Anna Svensson", "first_name", "one of the first names",
     "First name Anna Maria ~ Anna: one of the first names"),
    ("Anna", "Svensson", "A. Svensson", "first_name", "initial", "First name Anna ~ A: an initial"),
    ("Anna", "Svensson", "Anna Svenson", "last_name", "jaro-winkler ≥ 0.92",
     "Last name Svensson ~ Svenson: one-letter typo"),
    ("Jonas", "Lind", "Jnoas Lind", "first_name", "jaro-winkler ≥ 0.92",
     "First name Jonas ~ Jnoas: two letters swapped (typo)"),
    ("Anna", "Svensson", "Anna Lindqvist", "last_name", "differs",
     "Last name differs (HR Svensson, Kleer Lindqvist)"),
    ("Carl", "Berg", "Karl Berg", "first_name", "nickname", "First name Carl ~ Karl: spelling variant"),
    ("Kalle", "Berg", "Calle Berg", "first_name", "nickname",
     "First name Kalle ~ Calle: both short for Karl"),
    ("Sebastian", "Berg", "Sebbe Berg", "first_name", "nickname",
     "First name Sebastian ~ Sebbe: nickname"),
    ("Anna", "Svensson", "Eva Svensson", "first_name", "differs",
     "First name differs (HR Anna, Kleer Eva)"),
])
def test_name_levels_have_their_sentence(hr_first, hr_last, kleer_name, signal, level, sentence):
    e = _name_case(hr_first, hr_last, kleer_name, signal)
    assert (e["level"], e["sentence"]) == (level, sentence)


@pytest.mark.parametrize("formal, nick", [
    ("Karl", "Kalle"), ("Lars", "Lasse"), ("Per", "Pelle"), ("Jan", "Janne"), ("Mikael", "Micke"),
    ("Nils", "Nisse"), ("Olof", "Olle"), ("Bo", "Bosse"), ("Kristina", "Stina"),
    ("Charlotte", "Lotta"), ("William", "Bill"), ("Robert", "Bob"),
])
def test_nicknames_from_either_side_are_explained(formal, nick):
    kleer_nick = _name_case(formal, "Lind", f"{nick} Lind")
    hr_nick = _name_case(nick, "Lind", f"{formal} Lind")
    assert kleer_nick["sentence"] == f"First name {formal} ~ {nick}: nickname"
    assert hr_nick["sentence"] == f"First name {nick} ~ {formal}: nickname"
    for e in (kleer_nick, hr_nick):
        assert e["level"] == "nickname" and e["weight"] > 0


def test_a_nickname_is_evidence_for_but_not_against():
    nick = _name_case("Karl", "Lind", "Kalle Lind")
    other = _name_case("Karl", "Lind", "Bo Lind")
    assert nick["weight"] > 0 > other["weight"]


def test_the_nickname_table_is_one_group_per_name():
    seen: dict[str, str] = {}
    clashes = []
    for g in nicknames.GROUPS:
        for name in (g.formal, *g.variants, *g.nicknames):
            key = nicknames.canonical.__globals__["name_key"](name)
            if key in seen and seen[key] != g.formal:
                clashes.append((name, seen[key], g.formal))
            seen.setdefault(key, g.formal)
    assert not clashes, f"names listed under two formal names: {clashes}"
    assert nicknames.canonical("kalle") == nicknames.canonical("carl") == "karl"
    assert nicknames.relation("kalle", "karl") == "nickname"
    assert nicknames.relation("anna", "karl") is None


# --------------------------------------------------------------------------- other signals

def _digit_changed(pnr: str, position: int) -> str:
    digits = pnr.replace("-", "")
    changed = digits[:position] + str((int(digits[position]) + 1) % 10) + digits[position + 1:]
    return changed[:8] + "-" + changed[8:]


def _swapped(pnr: str, position: int) -> str:
    d = list(pnr.replace("-", ""))
    d[position], d[position + 1] = d[position + 1], d[position]
    return "".join(d[:8]) + "-" + "".join(d[8:])


@pytest.mark.parametrize("kleer_ssn, agreement, sentence", [
    (PNR, "exact", "Personnummer identical"),
    (PNR.replace("-", "")[2:], "exact", "Personnummer identical (10 and 12 digits)"),
    (_digit_changed(PNR, 10), "strong", "Personnummer differs in one digit (likely a typo)"),
    (_swapped(PNR, 9), "strong", "Personnummer has two digits transposed (likely a typo)"),
    (PNR_OTHER, "conflict", "Personnummer differs"),
])
def test_personnummer_evidence(kleer_ssn, agreement, sentence):
    same = {"private_email": "anna@example.se", "phone": "+46701234567",
            "employment_start_date": "2020-01-01"}
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "ssn": PNR, **same})
    kleer = kleer_frame({"name": "Anna Svensson", "ssn": kleer_ssn, "email": same["private_email"],
                         "phone": same["phone"], "employment_start_date": "2020-01-01"})
    e = evidence_of(suggest(hr, kleer), 100, "E1", "ssn")
    assert (e["agreement"], e["sentence"]) == (agreement, sentence)
    assert e["hr"] == mask("ssn", PNR) == "19850312-****"


def test_no_personnummer_is_ever_shown_in_full():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "ssn": PNR},
                  {"first_name": "Eva", "last_name": "Berg", "ssn": "19850312-99"})   # invalid
    kleer = kleer_frame({"name": "Anna Svensson", "ssn": PNR}, {"name": "Eva Berg", "ssn": PNR_OTHER})
    text = json.dumps(suggest(hr, kleer)["evidence"].tolist())
    for number in (PNR, PNR_OTHER, "19850312-99"):
        assert number not in text and number.replace("-", "") not in text
    assert "19850312-****" in text


def test_vectorised_personnummer_helpers_agree_with_normalize_and_mask():
    numbers = [make_personnummer(date(1960 + i, 1 + i % 12, 1 + i % 28), i) for i in range(50)]
    bad = [x[:-1] + str((int(x[-1]) + 1) % 10) for x in numbers[:10]]   # wrong check digit
    values = numbers + bad + ["12345"]
    side = prepare_hr(hr_frame(*[{"first_name": "A", "last_name": "B", "ssn": v} for v in values],
                               {"first_name": "A", "last_name": "B", "ssn": None}))
    assert side.pnr_valid.tolist() == [True] * 50 + [False] * 11 + [False]
    assert side.ssn_masked.tolist() == [mask("ssn", v) for v in values] + [""]


def test_email_against_either_hr_email_and_by_local_part():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "private_email": "anna@home.se",
                   "work_email": "anna.svensson@demo-ab.se"},
                  {"first_name": "Bo", "last_name": "Ek", "private_email": "skogsmus77@gmail.com",
                   "birth_date": "1970-01-01"},
                  {"first_name": "Eva", "last_name": "Lund", "private_email": "e.lund@gmail.com",
                   "birth_date": "1980-01-01"})
    kleer = kleer_frame({"name": "Anna Svensson", "email": "anna.svensson@demo-ab.se"},
                        {"name": "Bo Ek", "email": "skogsmus77@telia.com", "birth_date": "1970-01-01"},
                        {"name": "Eva Lund", "email": "e.lund@hotmail.com", "birth_date": "1980-01-01"})
    s = suggest(hr, kleer)
    work = evidence_of(s, 100, "E1", "email")
    assert (work["agreement"], work["sentence"]) == ("exact", "Email identical to the HR work email")
    assert work["hr"] == "anna.svensson@demo-ab.se"
    local = evidence_of(s, 101, "E2", "email")
    assert local["sentence"] == "Email local part matches (skogsmus77)"
    assert local["level"] == "same local part"
    # a local part that is only the name repeats the names: where first and last name already
    # agree exactly it weighs nothing (namesakes share it as often as one person does)
    counted = evidence_of(s, 102, "E3", "email")
    assert counted["sentence"] == ("Email local part matches (e.lund), but it is only the name: "
                                   "already counted in the names")
    assert (counted["weight"], counted["hr"], counted["kleer"]) == \
        (0.0, "e.lund@gmail.com", "e.lund@hotmail.com")


def test_an_email_that_is_only_the_name_weighs_where_the_names_do_not_already_agree():
    hr = hr_frame({"first_name": "Eva", "last_name": "Berg", "private_email": "e.lund@gmail.com",
                   "birth_date": "1980-01-01"},
                  {"first_name": "Eva", "last_name": "Lund", "private_email": "e.lund@gmail.com",
                   "birth_date": "1981-01-01", "hr_id": "E9"})
    kleer = kleer_frame({"name": "Eva Lund", "email": "e.lund@hotmail.com",
                         "birth_date": "1980-01-01"},
                        {"name": "Eva Lund", "email": "e.lund@hotmail.com", "birth_date": "1981-01-01"})
    s = suggest(hr, kleer)
    # married: HR has the new name, Kleer the maiden name that the old address is made of
    named = evidence_of(s, 100, "E1", "email")
    assert named["sentence"] == "Email local part matches (e.lund), but it is only the name"
    assert named["level"] == "local part is only the name" and named["weight"] > 0
    same = evidence_of(s, 101, "E9", "email")
    assert same["weight"] == 0.0 and same["sentence"].endswith("already counted in the names")


def test_missing_values_are_neutral():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "ssn": PNR,
                   "private_email": "anna@home.se", "phone": "+46701234567"})
    with_phone = kleer_frame({"name": "Anna Svensson", "email": "anna@home.se", "ssn": None,
                              "phone": "+46709999999"})
    without = kleer_frame({"name": "Anna Svensson", "email": "anna@home.se", "ssn": None,
                           "phone": None})
    a, b = suggest(hr, with_phone), suggest(hr, without)
    missing = evidence_of(b, 100, "E1", "ssn")
    assert (missing["agreement"], missing["contribution"]) == ("missing", 0.0)
    assert missing["sentence"] == "Personnummer missing in Kleer"
    # a missing value weighs nothing; a differing one is evidence against
    model = a.attrs["model"]
    assert evidence_of(a, 100, "E1", "phone")["agreement"] == "conflict"
    assert evidence_of(a, 100, "E1", "phone")["weight"] == pytest.approx(model.weights("phone")[-1])
    assert model.weights("phone")[-1] < 0
    assert evidence_of(b, 100, "E1", "phone")["agreement"] == "missing"
    assert evidence_of(b, 100, "E1", "phone")["weight"] == 0.0
    def total(frame):
        return sum(e["weight"] for e in frame.loc[0, "evidence"])
    same_model = suggest(hr, without, model=model)
    assert total(same_model) - total(a) == pytest.approx(-model.weights("phone")[-1])


def test_foreign_id_is_decisive():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson"},
                  {"first_name": "Anna", "last_name": "Svensson"})
    kleer = kleer_frame({"name": "Anna Svensson", "hr_id": "E2"})
    s = suggest(hr, kleer)
    top = s[s["rank"] == 1].iloc[0]
    assert top["hr_id"] == "E2" and top["band"] == "certain" and top["assigned"]
    e = evidence_of(s, 100, "E2", "foreign_id")
    assert e["sentence"] == "Kleer's foreign-id is this HR id (synced before)"
    other = s[s["hr_id"] == "E1"]
    assert other.empty or evidence_of(s, 100, "E1", "foreign_id")["agreement"] == "conflict"


# --------------------------------------------------------------------------- flags, k, assignment

def test_namesakes_tie_and_stay_unassigned():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "birth_date": "1985-03-12"},
                  {"first_name": "Anna", "last_name": "Svensson", "birth_date": "1985-03-12"},
                  {"first_name": "Bo", "last_name": "Ek"})
    kleer = kleer_frame({"name": "Anna Svensson", "birth_date": "1985-03-12"})
    s = suggest(hr, kleer)
    assert sorted(s["hr_id"]) == ["E1", "E2"]
    assert s["tie"].all() and s["namesake"].all()
    assert not s["assigned"].any(), "a tie between namesakes must be left to the analyst"


def test_contested_when_two_kleer_employees_want_the_same_hr_employee():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "ssn": PNR,
                   "private_email": "anna@home.se"})
    kleer = kleer_frame({"name": "Anna Svensson", "ssn": PNR, "email": "anna@home.se"},
                        {"name": "Anna Svensson", "email": "anna@home.se"})
    s = suggest(hr, kleer)
    assert len(s) == 2 and s["contested"].all()
    assert s.loc[s["assigned"], "kleer_id"].tolist() == [100], "the stronger claim wins, once"


def test_assignment_never_trades_a_sure_match_for_two_weaker_ones():
    kept = pd.DataFrame({"k": [0, 0, 1], "h": [0, 1, 0], "score": [95.0, 60.0, 60.0],
                         "tie": [False, False, False]})
    chosen = assign(kept, MatchSettings())
    assert chosen.tolist() == [True, False, False]


def test_assignment_is_one_to_one_in_a_crowded_component():
    rng = np.random.default_rng(3)
    k = np.repeat(np.arange(6), 4)
    h = np.concatenate([rng.choice(8, 4, replace=False) for _ in range(6)])
    kept = pd.DataFrame({"k": k, "h": h, "score": rng.uniform(50, 100, len(k)).round(1),
                         "tie": False})
    chosen = assign(kept, MatchSettings())
    picked = kept[chosen]
    assert picked["k"].is_unique and picked["h"].is_unique
    assert len(picked) == 6  # 8 HR employees are enough for all six


def test_top_k_and_ranks():
    hr = hr_frame(*[{"first_name": "Anna", "last_name": "Svensson", "birth_date": "1985-03-12"}
                    for _ in range(7)])
    kleer = kleer_frame({"name": "Anna Svensson", "birth_date": "1985-03-12"})
    s = suggest(hr, kleer, MatchSettings(top_k=3))
    assert s["rank"].tolist() == [1, 2, 3]
    assert s["hr_id"].tolist() == ["E1", "E2", "E3"]  # equal scores: ordered by hr_id


def test_links_are_excluded_from_both_sides():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "ssn": PNR},
                  {"first_name": "Bo", "last_name": "Ek", "ssn": PNR_OTHER})
    kleer = kleer_frame({"name": "Anna Svensson", "ssn": PNR}, {"name": "Bo Ek", "ssn": PNR_OTHER})
    links = pd.DataFrame({"hr_id": ["E1"], "kleer_id": [101]})
    s = suggest(hr, kleer, links=links)
    assert "E1" not in set(s["hr_id"]) and 101 not in set(s["kleer_id"])
    assert s.empty  # Anna's Kleer user (100) only matched the linked E1; Bo's user is linked


def test_inactive_kleer_users_can_be_left_out():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "ssn": PNR})
    kleer = kleer_frame({"name": "Anna Svensson", "ssn": PNR, "active": False})
    assert len(suggest(hr, kleer)) == 1
    assert suggest(hr, kleer, MatchSettings(include_inactive=False)).empty


def test_an_empty_side_gives_an_empty_frame_with_the_columns():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson"})
    kleer = kleer_frame({"name": "Anna Svensson"})
    for a, b in ((hr.iloc[:0], kleer), (hr, kleer.iloc[:0])):
        out = suggest(a, b)
        assert out.empty and list(out.columns) == matching.COLUMNS


def test_progress_is_reported_for_every_step():
    calls = []
    suggest(hr_frame({"first_name": "Anna", "last_name": "Svensson"}),
            kleer_frame({"name": "Anna Svensson"}), on_progress=lambda *a: calls.append(a))
    assert [c[:2] for c in calls] == [(i, matching.STEPS) for i in range(1, matching.STEPS + 1)]
    assert all(isinstance(c[2], str) and c[2] for c in calls)


# --------------------------------------------------------------------------- blocking

@pytest.mark.parametrize("hr_first, hr_last, kleer_name", [
    ("Anna", "Svensson", "Svensson Anna"),
    ("Karl", "Lindqvist", "Kalle Lindqvist"),
    ("Anna", "Svensson", "Anna Svenson"),
    ("Anna Maria", "Svensson-Berg", "Anna Berg"),
    ("Anna", "Svensson", "A. Svensson"),
])
def test_names_alone_make_candidates(hr_first, hr_last, kleer_name):
    hr = hr_frame({"first_name": hr_first, "last_name": hr_last},
                  {"first_name": "Bo", "last_name": "Ek"})
    kleer = kleer_frame({"name": kleer_name})
    assert candidates(hr, kleer)["hr_id"].tolist() == ["E1"]


def test_a_key_shared_by_too_many_records_is_not_a_block():
    many = [{"first_name": f"Person{i}", "last_name": "X", "phone": "+46701234567"}
            for i in range(30)]
    kleer = kleer_frame({"name": "Nobody Known", "phone": "+46701234567"})
    assert len(candidates(hr_frame(*many), kleer)) == 30
    assert candidates(hr_frame(*many), kleer, MatchSettings(max_block=20)).empty


def test_a_typo_in_the_personnummer_still_makes_a_candidate():
    hr = hr_frame({"first_name": "Anna", "last_name": "Svensson", "ssn": _swapped(PNR, 4)})
    kleer = kleer_frame({"name": "Eva Berg", "ssn": PNR})
    assert candidates(hr, kleer)["hr_id"].tolist() == ["E1"]


# --------------------------------------------------------------------------- output, evaluation

def test_as_table_flattens_the_evidence():
    hr = hr_frame({"first_name": "Karl", "last_name": "Berg", "ssn": PNR},
                  {"first_name": "Anna", "last_name": "Svensson", "birth_date": "1985-03-12"},
                  {"first_name": "Anna", "last_name": "Svensson", "birth_date": "1985-03-12"})
    kleer = kleer_frame({"name": "Kalle Berg", "ssn": PNR},
                        {"name": "Anna Svensson", "birth_date": "1985-03-12"})
    s = suggest(hr, kleer)
    table = matching.as_table(s)
    assert len(table) == 3 and "evidence" in table
    first = table[table["kleer_id"] == 100].iloc[0]
    weights = [e["weight"] for e in s[s["kleer_id"] == 100].iloc[0]["evidence"]]
    assert first["evidence"].startswith(f"Personnummer identical ({weights[1]:+.1f} bits); "
                                        f"First name Karl ~ Kalle: nickname ({weights[2]:+.1f} bits)")
    assert matching.as_table(s, assigned_only=True)["kleer_id"].tolist() == [100]


def test_evaluate_counts_right_wrong_and_missed():
    suggestions = pd.DataFrame({"kleer_id": [1, 2, 3], "hr_id": ["A", "B", "X"],
                                "assigned": [True, True, False],
                                "band": ["certain", "likely", "possible"]})
    truth = pd.DataFrame({"hr_id": ["A", "C", "X"], "kleer_id": [1, 2, 3]})
    ev = evaluate(suggestions, truth)
    assert (ev.true_positives, ev.false_positives, ev.false_negatives) == (1, 1, 2)
    assert ev.precision == 0.5 and ev.recall == pytest.approx(1 / 3)
    assert ev.f1 == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    assert ev.wrong_by_band == {"likely": 1}
    with pytest.raises(InputError, match="hr_id and kleer_id"):
        evaluate(suggestions, pd.DataFrame({"hr": ["A"]}))


def test_read_kleer_table_normalises_and_names_bad_rows(tmp_path):
    good = tmp_path / "kleer.csv"
    good.write_text("kleer_id,name,email,ssn,phone,active,employee_number\n"
                    f"7,Kalle Berg, Kalle@Example.se ,{PNR.replace('-', '')},070-123 45 67,true,00123\n"
                    "8,Eva Ek,,,,false,\n", encoding="utf-8")
    k = read_kleer_table(good)
    assert k.loc[0, "kleer_id"] == 7 and k.loc[0, "email"] == "kalle@example.se"
    assert k.loc[0, "ssn"] == PNR and k.loc[0, "phone"] == "+46701234567"
    assert k.loc[0, "employee_number"] == 123 and k.loc[1, "active"] is False
    assert k.loc[1, "email"] is None and k.loc[1, "ssn"] is None
    opaque = tmp_path / "opaque.csv"
    opaque.write_text("kleer_id,name\nrec-1-dup-0,Kalle\n7,Eva\n", encoding="utf-8")
    assert read_kleer_table(opaque)["kleer_id"].tolist() == ["rec-1-dup-0", "7"]
    bad = tmp_path / "bad.csv"
    bad.write_text("kleer_id,name\n7,Kalle\n ,Eva\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3, column kleer_id: the id is empty"):
        read_kleer_table(bad)
    with pytest.raises(InputError, match="needs the columns kleer_id and name"):
        (tmp_path / "none.csv").write_text("id,full\n1,A\n", encoding="utf-8")
        read_kleer_table(tmp_path / "none.csv")
