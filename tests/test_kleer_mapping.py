"""The record mapping: canonical employee ⇄ Kleer user + payroll contract, derived from the
field table. Every field Kleer stores round-trips (canonical → Kleer → canonical), through the
simulator's write rules and over real HTTP."""

from __future__ import annotations

import hashlib
import json

import pytest

from workbench.errors import InputError
from workbench.fields import FIELD, FIELDS, normalize_record
from workbench.kleer.mapping import (
    RECORD_COLUMNS,
    Snapshot,
    end_date_payload,
    fingerprint,
    from_kleer,
    records_from_kleer,
    snapshot_fingerprint,
    to_kleer,
)
from workbench.kleer.simulator import apply_contract_write, apply_user_write
from workbench.store import Workspace, to_json

#: A raw HR row with a value for every field of the table (checked below, so a new field
#: without a value here fails loudly instead of going untested).
RAW = {
    "hr_id": "HR-0042", "first_name": "Carl", "last_name": "von Essen",
    "ssn": "198503121231", "birth_date": "1985-03-12",
    "private_email": "Carl.vonEssen@Example.se", "work_email": "carl@firma.se",
    "phone": "070-123 45 67", "address_co": "c/o Berg", "street": "Storgatan 1",
    "zip_code": "111 22", "city": "Stockholm", "country_code": "Sverige",
    "employment_start_date": "2020-01-15", "employment_end_date": "31/12/2026",
    "employee_number": "00123", "monthly_salary": "42 500 kr", "tax_table": 33,
    "tax_table_column": 1, "clearing_nr": "8327-9", "account_nr": "123 456 789",
    "active": "ja",
}


def canonical() -> dict:
    record, problems = normalize_record(RAW)
    assert problems == {}
    return record


def through_kleer(user_fields: dict, contract_fields: dict, user_id: int = 7
                  ) -> tuple[dict, dict]:
    """What Kleer stores and reads back after a create with these fields (the simulator's
    write rules: the wrapper in, a plain end date out)."""
    user = apply_user_write(None, user_fields, user_id=user_id)
    return user, apply_contract_write(None, contract_fields, user_id=user_id)


def test_the_sample_covers_every_field_of_the_table():
    record = canonical()
    assert [f.key for f in FIELDS if record.get(f.key) is None] == []


@pytest.mark.parametrize("preference", ["private", "work"])
def test_every_kleer_field_round_trips(preference):
    record = canonical()
    back = from_kleer(*through_kleer(*to_kleer(record, email_preference=preference)))
    other = {"private": "work_email", "work": "private_email"}[preference]
    checked = []
    for f in FIELDS:
        if f.kleer is None or f.key == other:
            continue
        assert back[f.kleer_side_key] == record[f.key], f.key
        checked.append(f.key)
    assert len(checked) == sum(1 for f in FIELDS if f.kleer) - 1
    assert back["birth_date"] == record["birth_date"] == "1985-03-12"  # derived from the ssn


def test_round_trip_over_http_through_the_simulator(kleer_sim):
    record = canonical()
    user_fields, contract_fields = to_kleer(record)
    with kleer_sim.client() as client:
        kleer_id = client.create_user(user_fields)
        client.upsert_contract(kleer_id, contract_fields)
        back = from_kleer(client.get_user(kleer_id), client.get_contract(kleer_id))
    for f in FIELDS:
        if f.kleer is not None and f.key != "work_email":
            assert back[f.kleer_side_key] == record[f.key], f.key


def test_the_kleer_json_keys_come_from_the_field_table():
    user, contract = to_kleer(canonical())
    assert set(user) == {f.kleer.key for f in FIELDS if f.kleer and f.kleer.obj == "user"}
    assert set(contract) == {f.kleer.key for f in FIELDS if f.kleer and f.kleer.obj == "contract"}
    assert user["name"] == "Carl von Essen" and user["foreign-id"] == "HR-0042"
    assert user["internal-id"] == 123 and user["active"] is True
    assert user["email"] == "carl.vonessen@example.se"
    assert contract["employment-end-date"] == {"employment-end-date": "2026-12-31"}
    assert contract["monthly-salary"] == 42500 and contract["ssn"] == "19850312-1231"


def test_the_work_email_is_exported_by_setting():
    user, _ = to_kleer(canonical(), email_preference="work")
    assert user["email"] == "carl@firma.se"


def test_a_full_payload_leaves_out_what_hr_lacks():
    record = {**canonical(), "phone": None, "employment_end_date": None, "address_co": ""}
    user, contract = to_kleer(record)
    assert "phone" not in contract and "address1" not in contract
    assert "employment-end-date" not in contract


def test_only_sends_exactly_the_changed_fields():
    record = canonical()
    user, contract = to_kleer(record, only=["last_name", "city"])
    assert user == {"name": "Carl von Essen"} and contract == {"state": "Stockholm"}
    user, contract = to_kleer({**record, "phone": None}, only=["phone", "birth_date"])
    # never null (Kleer ignores it): the explicit empty value; birth_date is not in Kleer
    assert user == {} and contract == {"phone": ""}


def test_the_end_date_wrapper_sets_clears_and_leaves():
    record = canonical()
    _, set_ = to_kleer(record, only=["employment_end_date"])
    _, clear = to_kleer({**record, "employment_end_date": None}, only=["employment_end_date"])
    _, leave = to_kleer(record, only=["monthly_salary"])
    assert set_ == {"employment-end-date": {"employment-end-date": "2026-12-31"}}
    assert clear == {"employment-end-date": {}}
    assert "employment-end-date" not in leave
    stored = apply_contract_write(None, {"ssn": "19850312-1231",
                                         "employment-start-date": "2020-01-15", **set_}, user_id=1)
    assert stored["employment-end-date"] == "2026-12-31"
    assert "employment-end-date" not in apply_contract_write(stored, clear, user_id=1)
    assert apply_contract_write(stored, leave, user_id=1)["employment-end-date"] == "2026-12-31"


def test_end_date_payload_refuses_a_non_date():
    assert end_date_payload("2026-01-31") == {"employment-end-date": "2026-01-31"}
    assert end_date_payload(float("nan")) == {}
    with pytest.raises(InputError, match="employment end date"):
        end_date_payload("someday")


def test_the_email_not_exported_and_unknown_keys():
    assert to_kleer(canonical(), only=["work_email"]) == ({}, {})  # private is the preference
    with pytest.raises(ValueError, match="unknown fields: salary"):
        to_kleer(canonical(), only=["salary"])
    with pytest.raises(InputError, match="Monthly salary"):
        to_kleer({**canonical(), "monthly_salary": "lots"}, only=["monthly_salary"])


# --------------------------------------------------------------------------- Kleer → canonical

USER = {"id": 9, "foreign-id": "HR-9", "internal-id": 77, "name": "Anna Maria  Svensson",
        "email": " Anna@Example.SE", "active": False, "dimensions": [{"id": 3}],
        "favourite-colour": "green"}
CONTRACT = {"user": {"id": 9}, "ssn": "8503121231", "phone": "070-1234567",
            "zip-code": "111 22", "employment-start-date": "2019-05-01",
            "monthly-salary": 38000, "vacation-days": 25}


def test_from_kleer_gives_a_canonical_record():
    record = from_kleer(USER, CONTRACT)
    assert list(record) == list(RECORD_COLUMNS)
    assert record["kleer_id"] == 9 and record["hr_id"] == "HR-9"
    assert record["employee_number"] == 77 and record["active"] is False
    assert record["name"] == "Anna Maria  Svensson"  # as Kleer has it
    assert (record["first_name"], record["last_name"]) == ("Anna Maria", "Svensson")
    assert record["email"] == "anna@example.se"
    assert record["ssn"] == "19850312-1231" and record["birth_date"] == "1985-03-12"
    assert record["phone"] == "+46701234567" and record["zip_code"] == "11122"
    assert record["has_contract"] is True and record["street"] is None


def test_unknown_fields_are_ignored_but_kept_in_raw():
    record = from_kleer(USER, CONTRACT)
    assert "favourite-colour" not in record and "vacation-days" not in record
    raw = json.loads(record["raw"])
    assert raw == {"user": USER, "contract": CONTRACT}


def test_an_invalid_kleer_value_is_kept_as_kleer_has_it():
    record = from_kleer(USER, {**CONTRACT, "ssn": "19850312-1230", "tax-table": 99})
    assert record["ssn"] == "19850312-1230" and record["birth_date"] is None
    assert record["tax_table"] == 99


def test_a_user_without_contract():
    record = from_kleer(USER, None)
    assert record["has_contract"] is False and record["ssn"] is None
    assert json.loads(record["raw"])["contract"] is None


def test_fingerprint_is_stable_and_sees_every_field():
    base = fingerprint(USER, CONTRACT)
    assert base == fingerprint(dict(reversed(USER.items())), dict(reversed(CONTRACT.items())))
    assert base == from_kleer(USER, CONTRACT)["fingerprint"]
    changed = {fingerprint({**USER, key: "x"}, CONTRACT) for key in USER}
    changed |= {fingerprint(USER, {**CONTRACT, key: "x"}) for key in CONTRACT}
    assert len(changed) == len(USER) + len(CONTRACT) and base not in changed
    assert fingerprint(USER, None) != base


def test_records_join_users_with_their_contracts_and_store_in_the_workspace():
    users = [USER, {"id": 10, "name": "Bo Ek", "active": True}]
    contracts = [CONTRACT, {"user": {"id": 404}, "ssn": "x"}]  # an orphan contract is ignored
    snap = Snapshot.build(users, contracts, base_url="http://127.0.0.1:1/v1", company_id=1)
    assert [r["has_contract"] for r in snap.records] == [True, False]
    assert (snap.users, snap.contracts) == (2, 1)
    assert snap.fingerprint == snapshot_fingerprint(reversed(records_from_kleer(users, contracts)))
    with Workspace.memory() as ws:
        ws.kleer.replace_snapshot(snap.records, snapshot=snap.meta())
        stored = ws.kleer.get(9)
        assert stored["ssn"] == "19850312-1231" and stored["fingerprint"] == snap.records[0]["fingerprint"]
        assert ws.kleer.last_snapshot()["fingerprint"] == snap.fingerprint


def test_canonical_columns_exist_in_the_workspace_table():
    with Workspace.memory() as ws:
        columns = set(ws.db["kleer_users"].columns_dict)
    # the record's foreign-id (field key hr_id) is stored as foreign_id
    assert {"foreign_id" if c == "hr_id" else c for c in RECORD_COLUMNS} <= columns
    assert FIELD["private_email"].kleer_side_key == FIELD["work_email"].kleer_side_key == "email"


def test_records_built_a_column_at_a_time_equal_from_kleer_one_by_one():
    """records_from_kleer normalises each distinct value of a column once: the records must be
    exactly from_kleer's, also where values repeat, where True and 1 share a column, where a
    value cannot be a dictionary key and where the same invalid value comes twice."""
    users = [USER, {**USER, "id": 10, "active": 1, "internal-id": True},
             {**USER, "id": 11, "active": True, "internal-id": 1, "foreign-id": None},
             {**USER, "id": 12, "name": None, "email": ["not", "hashable"], "active": "nej"},
             {"id": "13", "name": "Bo Ek"}]
    contracts = [CONTRACT, {**CONTRACT, "user": {"id": 10}},
                 {**CONTRACT, "user": {"id": 11}, "ssn": "19850312-1230", "tax-table": 99},
                 {**CONTRACT, "user": {"id": 12}, "ssn": "19850312-1230", "tax-table": 99,
                  "zip-code": {"odd": 1}, "employment-start-date": 43000.0}]
    by_user = {int(c["user"]["id"]): c for c in contracts}
    assert records_from_kleer(users, contracts) == [from_kleer(u, by_user.get(int(u["id"])))
                                                    for u in users]
    assert records_from_kleer([], contracts) == []


def test_the_raw_column_is_exactly_the_stores_json_so_fingerprints_do_not_move():
    """The raw text (and so every fingerprint, which earlier snapshots and plans hold) is what
    ``to_json`` writes, also for non-ASCII text, floats, nesting and a missing contract."""
    odd_user = {**USER, "name": "Åsa Öberg-Ñúñez \u2028", "score": 1.5e-7, "big": 2**70,
                "dimension-entry": [{"id": 1, "value": None}], "flag": False}
    odd_contract = {**CONTRACT, "monthly-salary": 42500.25, "note": 'quote " and \\ and \n'}
    for user, contract in [(USER, CONTRACT), (odd_user, odd_contract), (odd_user, None)]:
        record = from_kleer(user, contract)
        assert record["raw"] == to_json({"user": user, "contract": contract})
        assert record["fingerprint"] == hashlib.sha256(record["raw"].encode()).hexdigest()
    assert [r["raw"] for r in records_from_kleer([odd_user], [odd_contract])] == [
        to_json({"user": odd_user, "contract": odd_contract})]


def test_a_snapshot_stored_a_column_at_a_time_holds_the_rows_a_record_at_a_time_would():
    users = [USER, {"id": 10, "name": "Bo Ek", "active": True},
             {**USER, "id": 11, "foreign-id": "HR-7", "email": "x@firma.se", "active": True}]
    contracts = [CONTRACT, {**CONTRACT, "user": {"id": 11}, "monthly-salary": 4250050}]
    snap = Snapshot.build(users, contracts, base_url="http://127.0.0.1:1/v1", company_id=1,
                          salary_unit="öre")
    assert list(snap.columns) == list(RECORD_COLUMNS)
    assert snap.records == records_from_kleer(users, contracts, salary_unit="öre")
    assert (snap.users, snap.contracts, snap.active) == (3, 2, 2)
    assert snap.fingerprint == snapshot_fingerprint(snap.records)
    with Workspace.memory() as by_columns, Workspace.memory() as by_records:
        by_columns.kleer.replace_snapshot_columns(snap.columns, snapshot=snap.meta())
        by_records.kleer.replace_snapshot(snap.records, snapshot=snap.meta())
        assert by_columns.kleer.by_id() == by_records.kleer.by_id()
        assert by_columns.kleer.get(11)["monthly_salary"] == 42500.5
        assert by_columns.kleer.get(11)["foreign_id"] == "HR-7"
        by_columns.kleer.replace_snapshot_columns({"kleer_id": [], "raw": []},
                                                  snapshot={**snap.meta(), "id": "empty"})
        assert by_columns.kleer.ids() == set()
        with pytest.raises(ValueError, match="differ in length"):
            by_columns.kleer.replace_snapshot_columns({"kleer_id": [1, 2], "raw": ["{}"]},
                                                      snapshot=snap.meta())
