"""Test data for the decision, plan, sync, revert and audit tests: canonical HR employees and the
Kleer JSON of the same people, and ways to put them into a workspace through the real code paths
(the field normalisers, the Kleer mapping and the workspace's own writers); and :func:`tally`,
which checks that an applied plan happened exactly once in Kleer and in the workspace."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

from workbench.fields import diff, normalize_record
from workbench.kleer.mapping import Snapshot, fingerprint, from_kleer
from workbench.normalize import make_personnummer
from workbench.store import Workspace

FIRST = ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Per", "Eva", "Nils"]
LAST = ["Andersson", "Berg", "Carlsson", "Dahl", "Ek", "Forsberg", "Gustafsson", "Holm"]


def person(i: int, **over: Any) -> dict[str, Any]:
    """A canonical HR record, different for every ``i``; ``over`` replaces raw values."""
    raw = {
        "hr_id": f"E{i:04d}",
        "first_name": FIRST[i % len(FIRST)],
        "last_name": LAST[(i // len(FIRST)) % len(LAST)],
        "ssn": make_personnummer(date(1960 + i % 40, 1 + i % 12, 1 + i % 28), 100 + i % 800),
        "private_email": f"person{i}@example.org",
        "work_email": f"p{i}@work.example.com",
        "phone": f"070-{1000000 + i}",
        "street": f"Storgatan {1 + i % 90}",
        "zip_code": f"{11120 + i % 800}",
        "city": "Stockholm",
        "country_code": "SE",
        "employment_start_date": f"20{10 + i % 14}-0{1 + i % 9}-01",
        "employee_number": 1000 + i,
        "monthly_salary": 30000 + 100 * i,
        "tax_table": 32,
        "tax_table_column": 1,
        "clearing_nr": "8327",
        "account_nr": f"{9000000000 + i}",
        "active": True,
    }
    raw.update(over)
    record, problems = normalize_record(raw)
    record["problems"] = problems
    return record


def kleer_json(record: dict[str, Any], kleer_id: int, *, foreign_id: bool = True,
               contract: bool = True, **over: Any) -> tuple[dict, dict | None]:
    """The Kleer user and payroll contract holding the same person as ``record``.
    ``over`` replaces Kleer keys on the user or the contract (whichever holds them)."""
    user = {"id": kleer_id, "name": f"{record['first_name']} {record['last_name']}",
            "email": record["private_email"], "active": True,
            "internal-id": record["employee_number"]}
    if foreign_id:
        user["foreign-id"] = record["hr_id"]
    con = {"user": {"id": kleer_id}, "ssn": record["ssn"], "address2": record["street"],
           "zip-code": record["zip_code"], "state": record["city"], "country-code": "SE",
           "phone": record["phone"], "employment-start-date": record["employment_start_date"],
           "monthly-salary": record["monthly_salary"], "tax-table": record["tax_table"],
           "tax-table-column": record["tax_table_column"], "clearing-nr": record["clearing_nr"],
           "account-nr": record["account_nr"]} if contract else None
    for key, value in over.items():
        if key in user or con is None or key in ("name", "email", "active", "foreign-id", "internal-id"):
            user[key] = value
        else:
            con[key] = value
    return user, con


def seed_hr(ws: Workspace, records: list[dict[str, Any]]) -> None:
    ws.hr.upsert(records, source="test.csv")


def seed_snapshot(ws: Workspace, pairs: list[tuple[dict, dict | None]]) -> Snapshot:
    """Store a Kleer snapshot of ``pairs`` exactly as a fetch would (the real mapping)."""
    snap = Snapshot.build([u for u, _ in pairs], [c for _, c in pairs if c is not None],
                          base_url="http://127.0.0.1:1/v1", company_id=1)
    ws.kleer.replace_snapshot(snap.records, snapshot=snap.meta())
    return snap


def kleer_seed(pairs: list[tuple[dict, dict | None]]) -> dict[str, Any]:
    """A simulator seed holding ``pairs`` (users with their contracts)."""
    return {"company": {"id": 1, "name": "Test AB"}, "users": [u for u, _ in pairs],
            "payroll-user-readables": [c for _, c in pairs if c is not None]}


def open_workbench(path, sim, hr: list[dict[str, Any]], pairs: list[tuple[dict, dict | None]],
                   *, internal_id_writes: bool = True, **client_options: Any):
    """A Workbench on a real file whose HR register holds ``hr`` and whose Kleer snapshot was
    fetched over HTTP from the simulator, reset to hold ``pairs``. The employee number is
    written to Kleer's internal-id (the setting, off in a new workspace, is on here)."""
    from workbench.api import Workbench

    sim.reset(kleer_seed(pairs))
    wb = Workbench(path, analyst="Ada", kleer_client=sim.client(**client_options))
    wb.update_settings(kleer_base_url=sim.base_url, kleer_company_id=sim.company_id,
                       internal_id_writes=internal_id_writes)
    seed_hr(wb.workspace, hr)
    wb.fetch_kleer()
    return wb


def close_workbench(wb) -> None:
    wb.kleer_client().close()
    wb.close()


def kleer_read(sim, kleer_id: int) -> tuple[dict, dict | None]:
    """One Kleer user and its contract as Kleer answers a read now (in a strict dialect every
    readable field is there, empty ones as "" / 0), over HTTP."""
    with sim.client() as client:
        return client.get_user(kleer_id), client.get_contract(kleer_id)


def kleer_record(sim, kleer_id: int, *, salary_unit: str = "kronor") -> dict[str, Any]:
    """The canonical record of one Kleer user as Kleer answers a read of it now."""
    from workbench.kleer.mapping import from_kleer

    return from_kleer(*kleer_read(sim, kleer_id), salary_unit=salary_unit)


def hr_fields(ws: Workspace, hr_id: str) -> dict[str, Any]:
    """An HR employee's field values (without bookkeeping columns)."""
    from workbench.fields import FIELDS

    row = ws.hr.get(hr_id)
    return None if row is None else {f.key: row[f.key] for f in FIELDS}


def tally(wb, plan, dump: dict, state: dict, *, seeded: int) -> dict[str, Any]:
    """Assert that every operation of ``plan`` happened exactly once, in Kleer and in the
    workspace, and return the counts. ``seeded``: Kleer users (with contracts) before."""
    ws = wb.workspace
    creates = sum(op.kind == "kleer_create" for op in plan.operations)
    hr_ids = [op.hr_id for op in plan.operations]
    users = {u["id"]: u for u in dump["users"]}
    contracts = {c["user"]["id"]: c for c in dump["payroll-user-readables"]}
    per_foreign_id = Counter(u.get("foreign-id") for u in users.values())
    assert {h: per_foreign_id[h] for h in hr_ids} == {h: 1 for h in hr_ids}  # none twice, none lost
    assert len(users) == seeded + creates and len(contracts) == seeded + creates
    assert state["writes"].get("create_user", 0) == creates
    assert state["writes"].get("create_contract", 0) == creates
    by_foreign_id = {u.get("foreign-id"): kid for kid, u in users.items()}
    links = {r["hr_id"]: r["kleer_id"] for r in wb.links().to_dict("records")}
    assert {h: links.get(h) for h in hr_ids} == {h: by_foreign_id[h] for h in hr_ids}
    read = _as_read(state)
    for h in hr_ids:  # Kleer holds what HR holds, and the snapshot what Kleer answers
        kid = links[h]
        user, contract = read(users[kid], contracts.get(kid))
        assert diff(ws.hr.get(h), from_kleer(user, contract)) == []
        assert ws.kleer.get(kid)["fingerprint"] == fingerprint(user, contract)
    journal = Counter(r["status"] for r in ws.query(
        "SELECT status FROM journal WHERE plan_id = ?", [plan.id]))
    assert journal == Counter({"done": len(plan.operations)})
    done_audit = Counter(json.loads(r["detail"])["op_id"] for r in ws.query(
        "SELECT detail FROM audit WHERE event = 'operation' AND result = 'done' AND plan_id = ?",
        [plan.id]))
    assert done_audit == Counter({op.op_id: 1 for op in plan.operations})
    return {"operations": len(plan.operations), "creates": creates,
            "updates": len(plan.operations) - creates, "kleer_users": len(users),
            "max_users_per_foreign_id": max(per_foreign_id[h] for h in hr_ids),
            "create_user_writes": state["writes"].get("create_user", 0),
            "contracts": len(contracts), "journal": dict(journal), "links": len(links),
            "audit_done_rows": sum(done_audit.values()),
            "audit_failed_rows": ws.query(
                "SELECT count(*) AS n FROM audit WHERE event = 'operation' AND result = 'failed' "
                "AND plan_id = ?", [plan.id])[0]["n"]}


def _as_read(state: dict):
    """(user, contract) as stored → as a read answers them in the simulator's dialect (a
    strict one fills every readable field)."""
    from workbench.kleer.simulator import readable_contract, readable_user

    if not (state.get("dialect") or {}).get("strict"):
        return lambda user, contract: (user, contract)
    return lambda user, contract: (readable_user(user),
                                   None if contract is None else readable_contract(contract))


def report(name: str, counts: dict[str, Any]) -> None:
    print(f"\n[fault counts] {name}: {json.dumps(counts)}")
