"""The demo data generator: deterministic, realistic, loadable, and true to its own ground truth."""

from __future__ import annotations

import doctest
import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from workbench import Workbench
from workbench import demo as demo_module
from workbench.demo import (COMBINED_SITUATIONS, FILES, HR_COLUMNS, HR_HEADERS, NICKNAME_FORMS,
                            PAIR_SITUATIONS, SITUATIONS, generate, write)
from workbench.fields import diff, resolve_header
from workbench.nicknames import relation
from workbench.normalize import name_key, personnummer
from workbench.sources import read_hr

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
TODAY = date(2026, 11, 1)
NAME_KEYS = {"first_name", "last_name"}


@pytest.fixture(scope="module")
def demo():
    return generate()


def rows(demo, situation: str) -> pd.DataFrame:
    return demo.situations[demo.situations["situation"] == situation]


def kleer_record(seed: dict, kleer_id: int) -> dict:
    """A Kleer user + contract as canonical fields (what the workspace's Kleer side holds)."""
    user = next(u for u in seed["users"] if u["id"] == kleer_id)
    c = next((c for c in seed["payroll-user-readables"] if c["user"]["id"] == kleer_id), {})
    return {"name": user["name"], "email": user["email"], "active": user["active"],
            "employee_number": user["internal-id"], "ssn": c.get("ssn"), "phone": c.get("phone"),
            "address_co": c.get("address1"), "street": c.get("address2"),
            "zip_code": c.get("zip-code"), "city": c.get("state"),
            "country_code": c.get("country-code"),
            "employment_start_date": c.get("employment-start-date"),
            "employment_end_date": c.get("employment-end-date"),
            "monthly_salary": c.get("monthly-salary"), "tax_table": c.get("tax-table"),
            "tax_table_column": c.get("tax-table-column"), "clearing_nr": c.get("clearing-nr"),
            "account_nr": c.get("account-nr")}


# --------------------------------------------------------------------------- determinism

def test_the_same_seed_gives_the_same_files(tmp_path):
    a, b = generate(120, seed=3), generate(120, seed=3)
    pd.testing.assert_frame_equal(a.hr, b.hr)
    pd.testing.assert_frame_equal(a.situations, b.situations)
    assert a.kleer_seed == b.kleer_seed
    first, second = write(a, tmp_path / "a"), write(b, tmp_path / "b")
    for role in FILES:
        assert first[role].read_bytes() == second[role].read_bytes(), role
    assert not generate(120, seed=4).hr.equals(a.hr)


def test_the_committed_files_equal_a_fresh_generation(demo, tmp_path):
    fresh = write(demo, tmp_path)
    for role, path in fresh.items():
        committed = DEMO_DIR / FILES[role]
        assert committed.read_bytes() == path.read_bytes(), \
            f"{committed} is stale: run `python data/demo/generate.py` and commit the result"


def test_the_module_docstring_example_runs():
    assert doctest.testmod(demo_module).failed == 0


# --------------------------------------------------------------------------- shape and counts

def test_hr_headers_are_the_swedish_export_and_resolve_to_their_fields(demo):
    assert tuple(demo.hr.columns) == HR_COLUMNS
    for header, key in HR_HEADERS:
        assert resolve_header(header) == key, header
    assert demo.hr.map(lambda v: isinstance(v, str)).all().all()  # raw text, blanks as ""


def test_counts_of_the_default_demo(demo):
    s = demo.summary()
    assert s["hr"] == 300 and s["true_pairs"] == 270
    assert s["situations"]["only_in_hr"] == 30 and s["situations"]["only_in_kleer"] == 50
    assert s["kleer_employees"] == 320 and s["kleer_users"] == 321
    # every Kleer employee has a payroll contract except those the situations say have none
    without = {"no_payroll_contract", "ssn_missing_in_kleer", "namesake_no_contract",
               "typos_in_both_names", "nickname_no_contract"}
    none = set(demo.situations.loc[demo.situations["situation"].isin(without), "kleer_id"])
    assert s["kleer_contracts"] == s["kleer_employees"] - len(none) > 0.75 * s["kleer_employees"]


def test_every_situation_occurs_several_times(demo):
    counts = demo.situations["situation"].value_counts()
    assert set(counts.index) == set(SITUATIONS)
    singles = {"integration_user": 1, "bad_personnummer": 2, "bad_email": 2}
    for situation in SITUATIONS:
        assert counts[situation] >= singles.get(situation, 4), situation
    assert counts["integration_user"] == 1


def test_the_truth_is_one_to_one_between_existing_ids(demo):
    hr_ids = set(demo.hr["Anställd-ID"])
    kleer_ids = {u["id"] for u in demo.kleer_seed["users"]}
    t = demo.truth
    assert list(t.columns) == ["hr_id", "kleer_id"]
    assert t["hr_id"].is_unique and t["kleer_id"].is_unique
    assert set(t["hr_id"]) <= hr_ids and set(t["kleer_id"]) <= kleer_ids - {1}
    assert set(rows(demo, "only_in_hr")["hr_id"]) == hr_ids - set(t["hr_id"])
    assert set(rows(demo, "only_in_kleer")["kleer_id"]) == kleer_ids - set(t["kleer_id"]) - {1}
    assert not t["kleer_id"].is_monotonic_increasing  # Kleer ids are not in HR order
    assert min(kleer_ids - {1}) == 1001


def test_the_kleer_seed_has_the_api_shapes(demo):
    seed = demo.kleer_seed
    assert seed["company"] == {"id": 1, "name": "Demo AB"} and seed["me"] == 1
    me = seed["users"][0]
    assert me["name"] == "Kleer Workbench Integration" and me["active"] is True
    contracts = seed["payroll-user-readables"]
    assert 1 not in {c["user"]["id"] for c in contracts}
    for u in seed["users"]:
        assert set(u) == {"id", "foreign-id", "internal-id", "name", "email", "active"}
        assert isinstance(u["id"], int) and isinstance(u["active"], bool)
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    for c in contracts:
        assert re.fullmatch(r"\+46\d{7,10}", c["phone"])
        assert re.fullmatch(r"\d{5}", c["zip-code"]) and c["country-code"] == "SE"
        assert iso.match(c["employment-start-date"]) and iso.match(c["monthly-salary-start-date"])
        assert c["employment-end-date"] is None or iso.match(c["employment-end-date"])
        assert 29 <= c["tax-table"] <= 42 and 1 <= c["tax-table-column"] <= 6
    json.dumps(seed)  # plain JSON types only


# --------------------------------------------------------------------------- validity

def test_every_personnummer_is_valid_except_the_deliberate_ones(demo):
    bad = set(rows(demo, "bad_personnummer")["hr_id"])
    coordination = set(rows(demo, "samordningsnummer")["hr_id"])
    for hr_id, raw in zip(demo.hr["Anställd-ID"], demo.hr["Personnummer"]):
        if not raw:
            continue
        p = personnummer(raw, today=TODAY)
        if hr_id in bad:
            assert p.error and "checksum" in p.error
        else:
            assert p.ok, (hr_id, raw, p.error)
            assert p.coordination == (hr_id in coordination)
    for c in demo.kleer_seed["payroll-user-readables"]:
        assert personnummer(c["ssn"], today=TODAY).value == c["ssn"]  # canonical 12 digits
    ten = demo.hr.set_index("Anställd-ID").loc[list(rows(demo, "ssn_10_digit")["hr_id"]),
                                                "Personnummer"]
    assert ten.str.fullmatch(r"\d{6}-\d{4}").all()
    missing = demo.hr["Personnummer"] == ""
    assert ((demo.hr["Födelsedatum"] != "") == missing).all()


def test_the_hr_file_loads_with_only_the_deliberate_problems(demo):
    result = Workbench(":memory:").load_hr(DEMO_DIR / FILES["hr"])
    assert result.rows == 300 and result.added == 300
    found = set(zip(result.problems["hr_id"], result.problems["field"]))
    expected = {(h, "ssn") for h in rows(demo, "bad_personnummer")["hr_id"]} | \
               {(h, "private_email") for h in rows(demo, "bad_email")["hr_id"]}
    assert found == expected


# --------------------------------------------------------------------------- situations

def primary_situations(demo) -> dict[str, str]:
    """hr_id → the one exclusive situation of each true pair."""
    exclusive = {name for name, _ in PAIR_SITUATIONS + COMBINED_SITUATIONS} | {"identical"}
    per: dict[str, set[str]] = {}
    for hr_id, situation in zip(demo.situations["hr_id"], demo.situations["situation"]):
        if situation in exclusive and hr_id is not None:
            per.setdefault(hr_id, set()).add(situation)
    out = {}
    for hr_id, found in per.items():
        if len(found) > 1:  # a namesake source keeps its own situation too
            found.discard("namesake")
        (out[hr_id],) = found
    return out


def test_each_situation_makes_the_differences_it_describes(demo):
    hr = {r["hr_id"]: r for r in read_hr(DEMO_DIR / FILES["hr"]).records}
    primary = primary_situations(demo)
    expected_exactly = {
        "identical": set(), "ssn_10_digit": set(), "samordningsnummer": set(),
        "inactive_in_kleer": set(), "namesake": set(), "name_swapped": NAME_KEYS,
        "ssn_missing_in_hr": {"ssn"},
        "private_vs_work_email": {"private_email"}, "kleer_has_work_email": {"private_email"},
        "employee_number_differs": {"employee_number"},
    }
    # Kleer's one name may split differently from HR's two ("Anna Björk Falk"), so a name change
    # can show up in either part
    expected_within = {
        "married_name": NAME_KEYS, "diacritics_dropped": NAME_KEYS, "nickname": NAME_KEYS, "name_typo": NAME_KEYS,
        "fields_differ": {"phone", "street", "zip_code", "city", "monthly_salary", "tax_table",
                          "clearing_nr", "account_nr"},
    }
    seen = Counter()
    for hr_id, kleer_id in zip(demo.truth["hr_id"], demo.truth["kleer_id"]):
        situation = primary[hr_id]
        seen[situation] += 1
        kleer = kleer_record(demo.kleer_seed, int(kleer_id))
        keys = {d.key for d in diff(hr[hr_id], kleer)}
        if situation in expected_exactly:
            assert keys == expected_exactly[situation], (hr_id, situation, keys)
        elif situation in expected_within:
            assert keys and keys <= expected_within[situation], (hr_id, situation, keys)
        elif situation == "married_no_ssn_new_email":  # contract kept, with the old home
            moved = {"ssn", "private_email", "phone", "street", "zip_code", "city", "employee_number"}
            assert moved <= keys <= NAME_KEYS | moved, keys
            assert keys & NAME_KEYS and hr[hr_id]["ssn"] is None and kleer["ssn"]
            assert int(kleer["employee_number"]) > max(int(n) for n in demo.hr["Anställningsnummer"])
        else:  # the rest have no payroll contract in Kleer
            assert situation in {"ssn_missing_in_kleer", "namesake_no_contract",
                                 "typos_in_both_names", "nickname_no_contract"}, situation
            assert kleer["ssn"] is None and "ssn" in keys
            if situation in ("typos_in_both_names", "nickname_no_contract"):
                assert keys & NAME_KEYS, (hr_id, situation, keys)
            if situation in ("namesake_no_contract", "nickname_no_contract"):
                assert "private_email" in keys  # Kleer holds an address HR does not
        if situation == "kleer_has_work_email":
            assert diff(hr[hr_id], kleer, email_preference="work") == []
    assert set(seen) == {name for name, _ in PAIR_SITUATIONS + COMBINED_SITUATIONS} | {"identical"}


def test_the_nickname_forms_are_nicknames_the_matcher_knows():
    for formal, form in NICKNAME_FORMS.items():
        assert relation(name_key(formal), name_key(form)) == "nickname", (formal, form)


def test_combined_situations_are_a_share_of_the_pairs_and_leave_the_rest_alone(demo, monkeypatch):
    counts = demo.situations["situation"].value_counts()
    for name, rate in COMBINED_SITUATIONS:
        assert counts[name] == round(rate * len(demo.truth)), name
    # applied after everything else, from their own random stream: without them, every other
    # HR row and Kleer user is exactly the same (ids, values and formatting)
    monkeypatch.setattr(demo_module, "COMBINED_SITUATIONS", ())
    plain = generate()
    combined = demo.situations[demo.situations["situation"].isin([n for n, _ in COMBINED_SITUATIONS])]
    assert set(plain.situations["situation"]) & set(combined["situation"]) == set()
    touched = set(combined["hr_id"])
    hr, before = demo.hr.set_index("Anställd-ID"), plain.hr.set_index("Anställd-ID")
    assert list(hr.index) == list(before.index)
    same = [h for h in hr.index if h not in touched]
    pd.testing.assert_frame_equal(hr.loc[same], before.loc[same])
    users = {u["id"]: u for u in demo.kleer_seed["users"]}
    plain_users = {u["id"]: u for u in plain.kleer_seed["users"]}
    assert set(users) == set(plain_users)
    kept = set(users) - set(combined["kleer_id"])
    assert all(users[k] == plain_users[k] for k in kept)
    for h, k in zip(combined["hr_id"], combined["kleer_id"]):  # and each one changed its pair
        assert not hr.loc[h].equals(before.loc[h]) or users[k] != plain_users[k], (h, k)
    pd.testing.assert_frame_equal(demo.truth, plain.truth)


def test_flags_and_side_cases_hold(demo):
    users = {u["id"]: u for u in demo.kleer_seed["users"]}
    contracts = {c["user"]["id"]: c for c in demo.kleer_seed["payroll-user-readables"]}
    hr = demo.hr.set_index("Anställd-ID")
    linked = rows(demo, "foreign_id_set")
    assert {users[k]["foreign-id"] for k in linked["kleer_id"]} == set(linked["hr_id"])
    assert sum(u["foreign-id"] is not None for u in users.values()) == len(linked)
    for k in rows(demo, "inactive_in_kleer")["kleer_id"]:
        assert users[k]["active"] is False and contracts[k]["employment-end-date"]
    for h in rows(demo, "inactive_in_kleer")["hr_id"].dropna():
        assert hr.loc[h, "Aktiv"] == "nej" and hr.loc[h, "Slutdatum"]
    for k in rows(demo, "no_payroll_contract")["kleer_id"]:
        assert k not in contracts
    for h, k in zip(*rows(demo, "employee_number_differs")[["hr_id", "kleer_id"]].T.values):
        assert users[k]["internal-id"] != int(hr.loc[h, "Anställningsnummer"])
    namesakes = rows(demo, "namesake")
    for h, detail in zip(namesakes["hr_id"], namesakes["detail"]):
        other = detail.rsplit(" ", 1)[1]
        assert tuple(hr.loc[h, ["Förnamn", "Efternamn"]]) == tuple(hr.loc[other, ["Förnamn", "Efternamn"]])
        assert hr.loc[h, "Personnummer"] != hr.loc[other, "Personnummer"]


def test_the_names_are_swedish_with_their_quirks(demo):
    names = " ".join(demo.hr["Förnamn"] + " " + demo.hr["Efternamn"])
    for pattern in (r"[åäöÅÄÖ]", r"[éü]", r"\b\w+-\w+\b", r"\bvon |\baf |\bde "):
        assert re.search(pattern, names), pattern
    assert demo.hr["Telefon"].str.contains(" ").any() and demo.hr["Telefon"].str.startswith("+46").any()
    assert demo.hr["Postnummer"].str.fullmatch(r"\d{3} \d{2}").any()
    assert demo.hr["Anställningsdatum"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").any()


def test_the_mix_holds_when_scaled():
    big = generate(3000, seed=11)
    n_pairs = len(big.truth)
    counts = big.situations["situation"].value_counts()
    assert len(big.hr) == 3000 and counts["only_in_hr"] == 300 and counts["only_in_kleer"] == 500
    for name, rate in PAIR_SITUATIONS + COMBINED_SITUATIONS:
        if name != "namesake":  # namesake rows include the other person's
            assert counts[name] >= round(rate * n_pairs) - 1, name
    assert counts["foreign_id_set"] == round(0.10 * n_pairs)
    assert big.truth["hr_id"].is_unique and big.truth["kleer_id"].is_unique


@pytest.mark.parametrize("n_people", [1, 7, 40])
def test_small_demos_are_consistent(n_people):
    small = generate(n_people)
    assert len(small.hr) == n_people and small.truth["hr_id"].is_unique
    noted = set(small.situations["hr_id"].dropna())
    assert set(small.truth["hr_id"]) <= noted  # every true pair has its situation
