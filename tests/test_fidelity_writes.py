"""Writes Kleer's XSD accepts, through the real apply against the simulator over HTTP (every
dialect where the dialect matters): whole users on update (A), explicit empty values, never
null, and a plan blocker for what cannot be cleared (B), Kleer's empty reads as no value (C),
creates with active and an email (D), the salary unit (H), the salary start date (I) and
internal-id only when allowed (J)."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from workbench.kleer.mapping import CLEAR_VALUES, cannot_clear, from_kleer, to_kleer
from workbench.planning import Scope, build, default_salary_start

from .sync_support import (close_workbench, kleer_json, kleer_read, kleer_record, open_workbench,
                           person, seed_hr, seed_snapshot)


class Recording(httpx.BaseTransport):
    """The real HTTP transport, keeping every write's method, path and JSON body."""

    def __init__(self) -> None:
        self._real = httpx.HTTPTransport()
        self.writes: list[tuple[str, str, dict]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            body = json.loads(request.content) if request.content else None
            self.writes.append((request.method, request.url.path.split("/company/1", 1)[1], body))
        return self._real.handle_request(request)

    def close(self) -> None:
        self._real.close()

    def bodies(self, method: str, path: str) -> list[dict]:
        return [b for m, p, b in self.writes if (m, p) == (method, path)]


def _nulls(value) -> bool:
    if isinstance(value, dict):
        return any(v is None or _nulls(v) for v in value.values())
    return False


@pytest.fixture
def recorded(workspace_path, kleer_sim):
    """HR E0000..E0003; Kleer 1 = E0000 (linked; Kleer has a c/o address, a phone HR lacks),
    2 = E0001 (linked, as in HR). The transport records every write."""
    hr = [person(0, phone=None, last_name="Nyström"), person(1), person(2), person(3)]
    pairs = [kleer_json(person(0), 1, address1="c/o Berg"), kleer_json(hr[1], 2)]
    transport = Recording()
    w = open_workbench(workspace_path, kleer_sim, hr, pairs, transport=transport)
    w.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
    w.workspace.links.add("E0001", 2, analyst="Ada", method="manual")
    w.transport = transport
    yield w
    close_workbench(w)


# --------------------------------------------------------------------------- A, B

@pytest.mark.every_dialect
def test_a_user_update_sends_the_whole_user_and_a_cleared_field_its_empty_value(recorded, kleer_sim):
    wb = recorded
    wb.decide(hr_id="E0000", action="export")
    plan = wb.plan("export", ["E0000"])
    [op] = plan.operations
    assert op.after == {"last_name": "Nyström", "phone": None, "address_co": None}
    before_user, _ = kleer_read(kleer_sim, 1)
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 1}, result.problems
    [user_body] = wb.transport.bodies("POST", "/user/1")
    assert user_body == {**before_user, "name": f"{person(0)['first_name']} Nyström"}
    assert {"id", "name", "email", "active"} <= set(user_body)  # the XSD's required fields
    [contract_body] = wb.transport.bodies("POST", "/payroll/user/1")
    assert contract_body == {"phone": "", "address1": ""}  # explicit empties, no null
    assert not any(_nulls(body) for _, _, body in wb.transport.writes)
    user, contract = kleer_read(kleer_sim, 1)
    assert contract.get("phone", "") == "" and contract.get("address1", "") == ""
    record = kleer_record(kleer_sim, 1)
    assert (record["phone"], record["address_co"]) == (None, None)
    wb.decide(hr_id="E0000", action="export")
    assert wb.plan("export", ["E0000"]).operations == ()  # the diff went away


def test_a_field_kleer_cannot_clear_blocks_the_operation_saying_so(recorded, kleer_sim):
    wb = recorded
    wb.workspace.hr.update("E0001", {"employee_number": None, "phone": "+46700000001"})
    wb.decide(hr_id="E0001", action="export")
    [op] = wb.plan("export", ["E0001"]).operations
    assert op.blocked and op.after == {"phone": "+46700000001", "employee_number": None}
    [reason] = op.blockers
    assert reason == cannot_clear("employee_number")
    assert "internal-id cannot be cleared through the API" in reason
    result = wb.apply(wb.plan("export", ["E0001"]))
    assert result.counts_dict == {"skipped": 1} and wb.transport.writes == []


@pytest.mark.every_dialect
def test_a_revert_that_would_need_a_null_is_blocked_not_reported_done(workspace_path, kleer_sim):
    user, contract = kleer_json(person(0), 1)
    del user["internal-id"]  # Kleer's user has none; HR has an employee number
    wb = open_workbench(workspace_path, kleer_sim, [person(0, employee_number=4242)],
                        [(user, contract)])
    try:
        wb.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
        wb.decide(hr_id="E0000", action="export")
        applied = wb.apply(wb.plan("export"))
        assert applied.ok and kleer_read(kleer_sim, 1)[0]["internal-id"] == 4242
        [undo] = wb.revert_plan(applied.batch_id).operations
        assert undo.after == {"employee_number": None}
        assert undo.blockers == (cannot_clear("employee_number"),)
        reverted = wb.revert(applied.batch_id)
        assert reverted.counts_dict == {"skipped": 1}  # listed, never sent as a null
        assert kleer_read(kleer_sim, 1)[0]["internal-id"] == 4242
    finally:
        close_workbench(wb)


def test_every_field_is_either_clearable_or_named_as_not():
    assert CLEAR_VALUES["phone"] == "" and CLEAR_VALUES["tax-table"] == 0
    assert CLEAR_VALUES["employment-end-date"] == {}
    assert None not in CLEAR_VALUES.values()
    for key in ("first_name", "private_email", "active", "ssn", "employment_start_date",
                "employee_number"):
        assert "cannot be cleared" in cannot_clear(key), key
    for key in ("phone", "street", "monthly_salary", "tax_table", "employment_end_date"):
        assert cannot_clear(key) is None, key
    with pytest.raises(Exception, match="cannot be cleared"):
        to_kleer({"ssn": None}, only=["ssn"])


# --------------------------------------------------------------------------- C

@pytest.mark.every_dialect
def test_kleers_empty_values_are_not_differences(workspace_path, kleer_sim):
    hr = [person(0, tax_table=None, tax_table_column=None, monthly_salary=None, phone=None)]
    pairs = [kleer_json(hr[0], 1, **{"tax-table": 0, "tax-table-column": 0, "monthly-salary": 0,
                                     "phone": ""})]
    wb = open_workbench(workspace_path, kleer_sim, hr, pairs)
    try:
        wb.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
        stored = wb.workspace.kleer.get(1)
        assert (stored["tax_table"], stored["tax_table_column"], stored["monthly_salary"],
                stored["phone"]) == (None, None, None, None)
        wb.decide(hr_id="E0000", action="export")
        assert wb.plan("export", ["E0000"]).operations == ()
    finally:
        close_workbench(wb)


def test_a_strict_read_of_an_empty_contract_maps_to_no_values():
    user = {"id": 3, "name": "A B", "email": "a@example.se", "active": True}
    contract = {"user": {"id": 3}, "ssn": "", "phone": "", "tax-table": 0, "tax-table-column": 0,
                "monthly-salary": 0, "employment-start-date": "", "provision": False}
    record = from_kleer(user, contract)
    assert {k: record[k] for k in ("ssn", "phone", "tax_table", "tax_table_column",
                                   "monthly_salary", "employment_start_date")} == dict.fromkeys(
        ("ssn", "phone", "tax_table", "tax_table_column", "monthly_salary",
         "employment_start_date"))
    assert record["active"] is True  # false is a value, not an empty one


# --------------------------------------------------------------------------- D

@pytest.mark.every_dialect
def test_a_create_sends_active_true_and_one_without_email_is_blocked_in_the_plan(recorded, kleer_sim):
    wb = recorded
    wb.workspace.hr.update("E0002", {"active": None})
    wb.workspace.hr.update("E0003", {"private_email": None})
    wb.decide([{"hr_id": h, "action": "export"} for h in ("E0002", "E0003")])
    plan = wb.plan("export", ["E0002", "E0003"])
    create, no_email = plan.operations
    assert create.after["active"] is True and not create.blocked
    assert no_email.blockers == ("no valid private email (the email preference is private)",)
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 1, "skipped": 1}
    [body] = wb.transport.bodies("PUT", "/user")
    assert body["active"] is True and body["email"] == person(2)["private_email"]
    assert [u.get("foreign-id") for u in kleer_sim.dump()["users"]].count("E0003") == 0


# --------------------------------------------------------------------------- H

def _remote_workspace(ws, base_url: str = "https://test-api.kleer.se/v1"):
    """A linked pair whose salary and phone differ, snapshot taken from ``base_url``."""
    hr = person(0)
    seed_hr(ws, [hr])
    user, contract = kleer_json(hr, 1, phone="+46709999999", **{"monthly-salary": 99000})
    from workbench.kleer.mapping import Snapshot

    snap = Snapshot.build([user], [contract], base_url=base_url, company_id=1)
    ws.kleer.replace_snapshot(snap.records, snapshot=snap.meta())
    ws.links.add("E0000", 1, analyst="Ada", method="manual")


def test_salary_writes_to_a_real_kleer_wait_for_the_unit_to_be_confirmed(wb):
    _remote_workspace(wb.workspace)
    wb.update_settings(kleer_base_url="https://test-api.kleer.se/v1")
    wb.decide(hr_id="E0000", action="export")
    [op] = wb.plan("export").operations
    assert set(op.after) == {"phone", "monthly_salary"}
    [reason] = op.blockers
    assert reason.startswith("the unit of Kleer's monthly-salary at test-api.kleer.se is not "
                             "confirmed") and "workbench probe" in reason
    wb.update_settings(salary_unit="kronor", salary_unit_confirmed=True)
    assert not wb.plan("export").operations[0].blocked
    wb.update_settings(salary_unit="öre")  # a confirmation is of one unit
    assert wb.settings.salary_unit_confirmed is False
    assert wb.plan("export").operations[0].blocked
    wb.workspace.hr.update("E0000", {"monthly_salary": 99000})  # no salary change: not blocked
    [op] = wb.plan("export").operations
    assert op.after == {"phone": person(0)["phone"]} and not op.blocked


def test_a_local_kleer_needs_no_confirmation(wb):
    _remote_workspace(wb.workspace, base_url="http://127.0.0.1:8765/v1")
    wb.decide(hr_id="E0000", action="export")
    [op] = wb.plan("export").operations
    assert "monthly_salary" in op.after and not op.blocked


@pytest.mark.every_dialect
def test_salaries_in_ore_are_written_and_read_in_hundredths(workspace_path, kleer_sim):
    hr = [person(0)]
    pairs = [kleer_json(hr[0], 1, **{"monthly-salary": 2_950_000})]  # 29 500 kr in öre
    kleer_sim.reset({"company": {"id": 1}, "users": [pairs[0][0]],
                     "payroll-user-readables": [pairs[0][1]]})
    from workbench.api import Workbench

    with Workbench(workspace_path, analyst="Ada", kleer_client=kleer_sim.client()) as wb:
        wb.update_settings(kleer_base_url=kleer_sim.base_url, salary_unit="öre")
        seed_hr(wb.workspace, hr)
        wb.fetch_kleer()
        assert wb.workspace.kleer.get(1)["monthly_salary"] == 29_500
        wb.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
        wb.decide(hr_id="E0000", action="export")
        plan = wb.plan("export")
        [op] = plan.operations
        assert op.after == {"monthly_salary": hr[0]["monthly_salary"]} and plan.salary_unit == "öre"
        assert wb.apply(plan).ok
        assert kleer_read(kleer_sim, 1)[1]["monthly-salary"] == hr[0]["monthly_salary"] * 100
        assert wb.workspace.kleer.get(1)["monthly_salary"] == hr[0]["monthly_salary"]
        wb.update_settings(salary_unit="kronor")  # the snapshot was read in öre
        wb.workspace.hr.update("E0000", {"monthly_salary": 31_000})
        wb.decide(hr_id="E0000", action="export")  # the applied decision is settled: decide anew
        [op] = wb.plan("export").operations
        assert op.blockers == ("the salary unit changed to kronor after Kleer was fetched in öre: "
                               "fetch Kleer again before planning salaries",)


# --------------------------------------------------------------------------- I

def test_the_salary_start_defaults_to_the_first_of_next_month():
    assert default_salary_start(date(2026, 12, 1)) == "2027-01-01"
    assert default_salary_start(date(2026, 3, 31)) == "2026-04-01"


@pytest.mark.every_dialect
def test_a_salary_change_carries_the_start_date_the_plan_shows(recorded, kleer_sim):
    wb = recorded
    wb.workspace.hr.update("E0001", {"monthly_salary": 45_000})
    wb.decide(hr_id="E0001", action="export")
    plan = build(wb.workspace, Scope("export", ("E0001",)), today=lambda: date(2026, 5, 17))
    [op] = plan.operations
    assert plan.salary_start == "2026-06-01"
    assert [c.label for c in op.changes] == ["Monthly salary (from 2026-06-01)"]
    assert "salary changes take effect on 2026-06-01 (sent to Kleer as " \
           "monthly-salary-start-date)" in plan.warnings
    assert "Monthly salary (from 2026-06-01): 30100 → 45000" in plan.operations_frame()["changes"][0]
    assert wb.apply(plan).ok
    [body] = wb.transport.bodies("POST", "/payroll/user/2")
    assert body == {"monthly-salary": 45_000, "monthly-salary-start-date": "2026-06-01"}
    chosen = wb.plan("export", ["E0001"], salary_start="2027-03-01")
    assert chosen.salary_start == "2027-03-01"


# --------------------------------------------------------------------------- J

@pytest.mark.every_dialect
def test_internal_id_is_written_only_when_the_settings_allow_it(recorded, kleer_sim):
    wb = recorded
    wb.update_settings(internal_id_writes=False)
    wb.workspace.hr.update("E0001", {"employee_number": 7777})
    wb.decide([{"hr_id": h, "action": "export"} for h in ("E0001", "E0002")])
    plan = wb.plan("export", ["E0001", "E0002"])
    [create] = plan.operations  # E0001's only difference was its employee number
    assert create.kind == "kleer_create" and "employee_number" not in create.after
    assert any(w.startswith("2 employee number(s) are not written to Kleer's internal-id")
               for w in plan.warnings)
    assert wb.apply(plan).ok
    [body] = wb.transport.bodies("PUT", "/user")
    assert "internal-id" not in body
    wb.update_settings(internal_id_writes=True)
    wb.decide(hr_id="E0001", action="export")
    [op] = wb.plan("export", ["E0001"]).operations
    assert op.after == {"employee_number": 7777}
    assert wb.apply(wb.plan("export", ["E0001"])).ok
    assert kleer_read(kleer_sim, 2)[0]["internal-id"] == 7777
