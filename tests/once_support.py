"""The exactly-once scenarios, scripted against the Kleer simulator over real HTTP: shared by
tests/test_once_*.py (which assert on what each returns) and bench/bench_once.py (which runs
each a few rounds and prints the counts).

Each scenario takes a running simulator (:class:`workbench.kleer.simulator.RunningSimulator`)
and a fresh folder, builds its workspace file there, runs the interleaving and returns a
:class:`Outcome`: the census of Kleer afterwards (users per foreign-id and per personnummer,
active users only: a deactivated extra user is a resolved duplicate), what was lost (an HR
employee a plan created that Kleer does not hold exactly once, or an operation left without a
final state or reason), the conflicts, and the scenario's own figures and checks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from workbench.api import Workbench
from workbench.duplicates import ssn_key

from .sync_support import close_workbench, kleer_json, open_workbench, person, seed_hr

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Outcome:
    """What one run of a scenario left. ``checks``: named booleans the scenario expects true."""

    duplicates: int = 0
    lost: int = 0
    conflicts: int = 0
    figures: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    results: list[Any] = field(default_factory=list, repr=False)

    def failed_checks(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]


# --------------------------------------------------------------------------- census

def census(sim) -> tuple[Counter, Counter, list[dict]]:
    """(active users per foreign-id, active users per personnummer, every user) in Kleer now."""
    dump = sim.dump()
    active = {u["id"]: u for u in dump["users"] if u.get("active", True) is not False}
    per_fid = Counter(str(u["foreign-id"]) for u in active.values() if u.get("foreign-id"))
    per_ssn = Counter(key for c in dump["payroll-user-readables"]
                      if c["user"]["id"] in active and (key := ssn_key(c.get("ssn"))))
    return per_fid, per_ssn, dump["users"]


def duplicates(sim) -> int:
    """Extra active Kleer users: per foreign-id and per personnummer, beyond the first."""
    per_fid, per_ssn, _ = census(sim)
    return sum(n - 1 for n in per_fid.values() if n > 1) + sum(n - 1 for n in per_ssn.values() if n > 1)


def journal_rows(ws, plan) -> dict[str, dict]:
    return {r["op_id"]: r for r in ws.query("SELECT * FROM journal WHERE plan_id = ?", [plan.id])}


def unsettled(ws, plans) -> int:
    """Operations of ``plans`` that are not blocked and ended without a final state and reason:
    missing from the journal, pending, or failed/conflict/skipped with no reason."""
    n = 0
    for plan in plans:
        rows = journal_rows(ws, plan)
        for op in plan.operations:
            r = rows.get(op.op_id)
            if r is None or r["status"] == "pending" or (r["status"] != "done" and not r["error"]):
                n += 1
    return n


def lost_creates(sim, hr_ids) -> int:
    """HR employees meant to be in Kleer that no active Kleer user carries."""
    per_fid, _, _ = census(sim)
    return sum(per_fid[h] == 0 for h in hr_ids)


def conflicts(ws, plans) -> int:
    return sum(r["status"] == "conflict" for p in plans for r in journal_rows(ws, p).values())


def _env(sim, analyst: str) -> dict[str, str]:
    return {**os.environ, "KLEER_TOKEN": sim.token, "WORKBENCH_ANALYST": analyst,
            "PYTHONPATH": str(ROOT)}


def apply_process(plan_path: Path, workspace: Path, sim, *, analyst: str,
                  extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """``workbench apply PLAN --workspace WS`` in a process of its own (token from the env)."""
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", "apply", str(plan_path),
                             "--workspace", str(workspace), *extra],
                            env=_env(sim, analyst), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


class SpikeBeforeFirstCreate:
    """The real client; just before the first create is sent, Kleer turns slow (``latency_ms``
    for every request that arrives in the next ``seconds``): the create's answer comes after
    the client's timeout, but the write lands."""

    def __init__(self, client, sim, *, latency_ms: float, seconds: float):
        self._client, self._sim = client, sim
        self._latency, self._seconds = latency_ms, seconds
        self._fired = False
        self._lock = threading.Lock()
        self.timer: threading.Timer | None = None
        self.fired_at: float | None = None  # monotonic

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_user(self, user):
        with self._lock:
            if not self._fired:
                self._fired = True
                self.fired_at = time.monotonic()
                self._sim.set_faults(latency_ms=self._latency)
                self.timer = threading.Timer(self._seconds, self._sim.clear_faults)
                self.timer.start()
        return self._client.create_user(user)


def _until_landed(since: float | None, latency_ms: float) -> None:
    """Wait until a write sent at ``since`` (monotonic) with ``latency_ms`` has landed."""
    if since is not None:
        time.sleep(max(0.0, since + latency_ms / 1000 + 0.5 - time.monotonic()))


# --------------------------------------------------------------------------- scenarios

def overlapping_plans(sim, folder: Path, *, n: int = 20, latency_ms: float = 40) -> Outcome:
    """Plan A creates ``n`` HR-only employees, plan B every second of them, both built from one
    snapshot, applied at once by two ``workbench apply`` processes (simulator at ``latency_ms``)."""
    path = folder / "ws.db"
    hr = [person(i) for i in range(n)]
    wb = open_workbench(path, sim, hr, [])
    ids = [r["hr_id"] for r in hr]
    wb.decide([{"hr_id": h, "action": "export"} for h in ids])
    plan_a, plan_b = wb.plan("export"), wb.plan("export", ids[::2])
    (folder / "a.json").write_text(plan_a.to_json(), encoding="utf-8")
    (folder / "b.json").write_text(plan_b.to_json(), encoding="utf-8")
    sim.set_faults(latency_ms=latency_ms)
    procs = [apply_process(folder / f"{x}.json", path, sim, analyst=x) for x in ("a", "b")]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    sim.clear_faults()
    ws = wb.workspace
    statuses = Counter(r["status"] for p in (plan_a, plan_b) for r in journal_rows(ws, p).values())
    per_hr = Counter(r["hr_id"] for p in (plan_a, plan_b) for r in journal_rows(ws, p).values()
                     if r["status"] == "done")
    skipped = [r["error"] for p in (plan_a, plan_b) for r in journal_rows(ws, p).values()
               if r["status"] == "skipped"]
    out = Outcome(duplicates(sim), lost_creates(sim, ids) + unsettled(ws, (plan_a, plan_b)),
                  conflicts(ws, (plan_a, plan_b)))
    links = {r["hr_id"]: r["kleer_id"] for r in wb.links().to_dict("records")}
    per_fid, _, users = census(sim)
    out.figures = {"statuses": dict(statuses), "create_user_writes": sim.state()["writes"].get("create_user", 0),
                   "exit_codes": [p.returncode for p in procs]}
    out.checks = {
        "both exit 0": [p.returncode for p in procs] == [0, 0],
        "each employee done once": per_hr == Counter({h: 1 for h in ids}),
        "one create per employee": out.figures["create_user_writes"] == n,
        "the rest skipped as done by the other": all(s.startswith("already done by batch") for s in skipped)
        and len(skipped) == len(plan_b.operations),
        "links are Kleer's users": links == {str(u["foreign-id"]): u["id"] for u in users},
    }
    out.figures["outputs"] = outputs
    close_workbench(wb)
    return out


def latency_spike(sim, folder: Path, *, n: int = 8, timeout: float = 1.0, spike_ms: float = 3000,
                  spike_seconds: float = 0.15) -> Outcome:
    """``n`` creates; as the first is sent Kleer turns ``spike_ms`` slow for the requests that
    arrive in the next ``spike_seconds`` (past the client's ``timeout``): the creates in flight
    time out on the client and land in Kleer after it stopped waiting, while the lookups that
    follow are answered at once (so only waiting for the slow write keeps it from being sent
    twice)."""
    path = folder / "ws.db"
    hr = [person(i) for i in range(n)]
    wb = open_workbench(path, sim, hr, [])
    ids = [r["hr_id"] for r in hr]
    wb.decide([{"hr_id": h, "action": "export"} for h in ids])
    plan = wb.plan("export")
    with sim.client(timeout=httpx.Timeout(timeout, connect=2.0)) as real:
        client = SpikeBeforeFirstCreate(real, sim, latency_ms=spike_ms, seconds=spike_seconds)
        first = wb.apply(plan, client=client, settle_seconds=timeout + 4)
        if client.timer is not None:
            client.timer.join()
    sim.clear_faults()
    _until_landed(client.fired_at, spike_ms)  # count only once every slow write is in
    results = [first]
    if not first.ok:
        results.append(wb.apply(plan))
    ws = wb.workspace
    answers = [json.loads(r["answer"] or "{}") for r in journal_rows(ws, plan).values()]
    out = Outcome(duplicates(sim), lost_creates(sim, ids) + unsettled(ws, [plan]),
                  conflicts(ws, [plan]), results=results)
    out.figures = {"first": first.counts_dict, "recovered": sum(bool(a.get("recovered")) for a in answers),
                   "create_user_writes": sim.state()["writes"].get("create_user", 0),
                   "reruns": len(results) - 1}
    out.checks = {"all done in the end": results[-1].counts_dict == {"done": n},
                  "no create sent twice": out.figures["create_user_writes"] == n}
    close_workbench(wb)
    return out


def slow_write_kill_rerun(sim, folder: Path, *, n: int = 4, latency_ms: float = 3000,
                          settle_seconds: float = 6.0) -> Outcome:
    """``workbench apply`` of ``n`` creates while every request takes ``latency_ms``; killed
    (SIGKILL) once its creates were sent, and run again at once in this process: the rerun
    takes the dead apply's rows over and waits for the slow writes instead of creating again."""
    path = folder / "ws.db"
    hr = [person(i) for i in range(n)]
    wb = open_workbench(path, sim, hr, [])
    ids = [r["hr_id"] for r in hr]
    wb.decide([{"hr_id": h, "action": "export"} for h in ids])
    plan = wb.plan("export")
    (folder / "plan.json").write_text(plan.to_json(), encoding="utf-8")
    sim.set_faults(latency_ms=latency_ms)
    proc = apply_process(folder / "plan.json", path, sim, analyst="killed")
    deadline, first = time.monotonic() + 60, None
    sent = 0
    while time.monotonic() < deadline and proc.poll() is None:
        sent = wb.workspace.query("SELECT count(*) AS n FROM journal WHERE status = 'pending' "
                                  "AND write_started IS NOT NULL")[0]["n"]
        first = first or (time.monotonic() if sent else None)
        if sent >= n or (first and time.monotonic() - first > 0.5):
            break
        time.sleep(0.02)
    time.sleep(0.5)  # the PUTs have reached Kleer, which takes latency_ms to store them
    proc.send_signal(signal.SIGKILL)
    early = proc.communicate()[0] if proc.returncode is not None else ""
    proc.wait()
    sim.clear_faults()  # the writes already in Kleer keep their delay; new requests are fast
    killed_at = time.monotonic()
    rerun = wb.apply(plan, settle_seconds=settle_seconds)
    _until_landed(killed_at, latency_ms)  # count only once every slow write is in
    ws = wb.workspace
    rows = journal_rows(ws, plan)
    out = Outcome(duplicates(sim), lost_creates(sim, ids) + unsettled(ws, [plan]),
                  conflicts(ws, [plan]), results=[rerun])
    writes = sim.state()["writes"].get("create_user", 0)
    out.figures = {"in_flight_at_kill": sent, "rerun": rerun.counts_dict, "create_user_writes": writes,
                   "ended_before_kill": early[-500:],
                   "recovered": sum('"recovered": true' in (r["answer"] or "") for r in rows.values())}
    out.checks = {"killed in flight": sent >= 1, "all done": rerun.counts_dict == {"done": n},
                  "no create sent twice": writes == n}
    close_workbench(wb)
    return out


def ssn_already_in_kleer(sim, folder: Path) -> Outcome:
    """E0003's person is Kleer user 1 (no foreign-id, a 10-digit personnummer): its export is
    blocked in the plan. E0004's person is created in Kleer by someone else after the plan was
    built: the apply's fresh read finds it (a conflict, nothing created). A select-all export
    creates only the people Kleer does not hold."""
    path = folder / "ws.db"
    hr = [person(i) for i in range(6)]
    ten_digit = hr[3]["ssn"][2:]  # YYMMDD-NNNN
    wb = open_workbench(path, sim, hr, [kleer_json(hr[3], 1, foreign_id=False, ssn=ten_digit)])
    ids = [r["hr_id"] for r in hr]
    wb.decide([{"hr_id": h, "action": "export"} for h in ids])  # "select all" on the HR tab
    plan = wb.plan("export")
    blocked = {op.hr_id: op.blockers for op in plan.operations if op.blocked}
    with sim.client() as outsider:  # a colleague adds E0004's person to Kleer by hand
        user, contract = kleer_json(hr[4], 0, foreign_id=False)
        new_id = outsider.create_user({k: v for k, v in user.items() if k != "id"})
        outsider.upsert_contract(new_id, {k: v for k, v in contract.items() if k != "user"})
    result = wb.apply(plan)
    ws = wb.workspace
    rows = journal_rows(ws, plan)
    out = Outcome(duplicates(sim), lost_creates(sim, ["E0000", "E0001", "E0002", "E0005"])
                  + unsettled(ws, [plan]), conflicts(ws, [plan]), results=[result])
    out.figures = {"blocked": sorted(blocked), "apply": result.counts_dict}
    out.checks = {
        "blocked in the plan": list(blocked) == ["E0003"] and blocked["E0003"][0].startswith(
            "already in Kleer as user 1 (") and blocked["E0003"][0].endswith(
            "match them on Import instead"),
        "re-checked at apply": rows["export:E0004:kleer_create"]["status"] == "conflict"
        and f"already in Kleer as user {new_id}" in rows["export:E0004:kleer_create"]["error"],
        "the others created": result.counts_dict == {"done": 4, "skipped": 1, "conflict": 1},
    }
    close_workbench(wb)
    return out


def revert_after_later_change(sim, folder: Path) -> Outcome:
    """B2 changes E0000's phone X→Y in Kleer, B3 Y→Z; reverting B2 conflicts on the phone
    (before X, written Y, now Z) and leaves Z; reverting B3 then restores Y."""
    path = folder / "ws.db"
    hr = [person(0)]
    wb = open_workbench(path, sim, hr, [kleer_json(hr[0], 1)])
    wb.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
    x, y, z = hr[0]["phone"], "+46701111111", "+46702222222"
    batches = []
    for phone in (y, z):
        wb.workspace.hr.update("E0000", {"phone": phone})
        wb.decide(hr_id="E0000", action="export")
        batches.append(wb.apply(wb.plan("export", ["E0000"])))
    revert_b2 = wb.revert(batches[0].batch_id)
    now_after_b2 = _phone(sim, 1)
    revert_b3 = wb.revert(batches[1].batch_id)
    now_after_b3 = _phone(sim, 1)
    [problem] = revert_b2.problems
    out = Outcome(duplicates(sim), 0, 1 + conflicts(wb.workspace, []), results=[revert_b2, revert_b3])
    out.figures = {"revert_b2": revert_b2.counts_dict, "revert_b3": revert_b3.counts_dict,
                   "reason": problem.reason}
    out.checks = {
        "batches done": [b.counts_dict for b in batches] == [{"done": 1}] * 2,
        "B2's revert is a conflict": revert_b2.counts_dict == {"conflict": 1},
        "the three values shown": f"before {x}, the batch wrote {y}, now {z}" in problem.reason,
        "B3's value kept": now_after_b2 == z,
        "B3's revert restores Y": revert_b3.counts_dict == {"done": 1} and now_after_b3 == y,
    }
    out.figures["overwritten"] = int(now_after_b2 != z)
    close_workbench(wb)
    return out


def _phone(sim, kleer_id: int) -> str | None:
    return next(c for c in sim.dump()["payroll-user-readables"] if c["user"]["id"] == kleer_id).get("phone")


def hr_reloaded(sim, folder: Path, *, changed: int = 4) -> Outcome:
    """An export plan (3 updates of linked pairs, 3 creates), then the HR register loaded again
    with a new phone for ``changed`` of them, then the apply: those are conflicts naming the
    plan's phone and the register's, nothing stale is written; the rest is done."""
    path = folder / "ws.db"
    hr = [person(i) for i in range(6)]
    pairs = [kleer_json(hr[i], i + 1, **{"monthly-salary": 99000}) for i in range(3)]
    wb = open_workbench(path, sim, hr, pairs)
    for i in range(3):
        wb.workspace.links.add(hr[i]["hr_id"], i + 1, analyst="Ada", method="manual")
    ids = [r["hr_id"] for r in hr]
    wb.decide([{"hr_id": h, "action": "export"} for h in ids])
    for i in range(3):  # the updates write the phone too
        wb.workspace.hr.update(ids[i], {"phone": f"+4670900000{i}"})
    plan = wb.plan("export")
    moved = ids[:changed // 2] + ids[3:3 + changed - changed // 2]
    reloaded = [person(i, phone=f"+4670555000{i}") if ids[i] in moved
                else person(i, phone=f"+4670900000{i}") if i < 3 else person(i) for i in range(6)]
    seed_hr(wb.workspace, reloaded)  # the HR file loaded again
    result = wb.apply(plan)
    ws = wb.workspace
    rows = journal_rows(ws, plan)
    per_fid, _, users = census(sim)
    phones = {str(u.get("foreign-id")): _phone(sim, u["id"]) for u in users if u.get("foreign-id")}
    stale = sum(phones.get(h) == op.after.get("phone") for op in plan.operations
                if (h := op.hr_id) in moved and "phone" in op.after)
    conflict_rows = [r for r in rows.values() if r["status"] == "conflict"]
    out = Outcome(duplicates(sim), lost_creates(sim, [h for h in ids if h not in moved])
                  + unsettled(ws, [plan]), len(conflict_rows), results=[result])
    out.figures = {"apply": result.counts_dict, "stale_written": stale}
    out.checks = {
        "the moved ones conflict": sorted(r["hr_id"] for r in conflict_rows) == sorted(moved),
        "values named": all("Phone: plan " in r["error"] and ", now +4670555000" in r["error"]
                            for r in conflict_rows),
        "nothing stale written": stale == 0,
        "the rest done": result.counts_dict == {"done": 6 - changed, "conflict": changed},
    }
    close_workbench(wb)
    return out


def workspace_deleted_relink(sim, folder: Path) -> Outcome:
    """Links made by export creates and by import matches (written to Kleer's foreign-id);
    the workspace file is deleted; a new one with the HR file loaded and Kleer fetched gets
    every link back from ``relink``, which also names a foreign-id that is no HR employee."""
    path = folder / "ws.db"
    hr = [person(i) for i in range(6)]
    pairs = [kleer_json(hr[0], 1, foreign_id=False), kleer_json(hr[1], 2, foreign_id=False),
             kleer_json(person(50), 3)]  # 3 carries E0050, which the HR file does not have
    wb = open_workbench(path, sim, hr, pairs)
    wb.decide([{"kleer_id": 1, "action": "prefer_hr", "hr_id": "E0000"},
               {"kleer_id": 2, "action": "match_manually", "hr_id": "E0001", "prefer": "hr"}])
    imported = wb.apply(wb.plan("import", [1, 2]))
    wb.decide([{"hr_id": h, "action": "export"} for h in ("E0002", "E0003", "E0004")])
    exported = wb.apply(wb.plan("export", ["E0002", "E0003", "E0004"]))
    before = {r["hr_id"]: r["kleer_id"] for r in wb.links().to_dict("records")}
    close_workbench(wb)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    fresh = Workbench(path, analyst="Ada", kleer_client=sim.client())
    fresh.update_settings(kleer_base_url=sim.base_url, kleer_company_id=sim.company_id)
    seed_hr(fresh.workspace, hr)
    fresh.fetch_kleer()
    relinked = fresh.relink()
    after = {r["hr_id"]: r["kleer_id"] for r in fresh.links().to_dict("records")}
    again = fresh.relink()
    out = Outcome(duplicates(sim), sum(after.get(h) != k for h, k in before.items()), 0)
    out.figures = {"links_before": len(before), "found": len(relinked.found),
                   "unmatched": list(relinked.unmatched), "disagreeing": len(relinked.disagreeing)}
    out.checks = {
        "applies done": imported.ok and exported.ok,
        "every link back": after == before and len(before) == 5,
        "the stranger named": relinked.unmatched == ((3, "E0050"),),
        "a second relink finds them linked": len(again.already) == 5 and not again.found,
    }
    close_workbench(fresh)
    return out


def duplicate_swept(sim, folder: Path) -> Outcome:
    """An outside writer creates E0001's person in Kleer (same foreign-id) right after the
    workbench's create: the sweep after the apply reports it with both ids and what to do; a
    deactivate plan for the extra user, applied, leaves one active user."""
    path = folder / "ws.db"
    hr = [person(i) for i in range(3)]
    wb = open_workbench(path, sim, hr, [])
    wb.decide([{"hr_id": r["hr_id"], "action": "export"} for r in hr])
    plan = wb.plan("export")

    class Outsider:
        def __init__(self, client):
            self._client, self.extra = client, None

        def __getattr__(self, name):
            return getattr(self._client, name)

        def create_user(self, user):
            new_id = self._client.create_user(user)
            if user.get("foreign-id") == "E0001" and self.extra is None:
                self.extra = self._client.create_user({**user, "name": user["name"] + " (by hand)"})
            return new_id

    with sim.client() as real:
        outsider = Outsider(real)
        result = wb.apply(plan, client=outsider)
    found = len(result.duplicates)
    linked = wb.workspace.links.of(hr_id="E0001")["kleer_id"]
    wb.fetch_kleer()
    deactivate = wb.plan_deactivate([outsider.extra])
    cleaned = wb.apply(deactivate)
    audit = wb.audit()
    out = Outcome(duplicates(sim), lost_creates(sim, ["E0000", "E0001", "E0002"]), 0,
                  results=[result, cleaned])
    out.figures = {"reported": found, "message": result.duplicates[0] if found else None}
    out.checks = {
        "reported once": found == 1 and not result.ok,
        "both ids named": found == 1 and f"Kleer user {linked} (linked)" in result.duplicates[0]
        and f"also user {outsider.extra}" in result.duplicates[0],
        "in the problems": [p.status for p in result.problems] == ["duplicate"],
        "audited": int((audit["event"] == "duplicate").sum()) == 1,
        "deactivated through a plan": cleaned.counts_dict == {"done": 1}
        and next(u for u in sim.dump()["users"] if u["id"] == outsider.extra)["active"] is False,
    }
    close_workbench(wb)
    return out


SCENARIOS = {
    "overlapping plans, two processes": overlapping_plans,
    "latency spike past the client timeout": latency_spike,
    "slow write, kill, immediate rerun": slow_write_kill_rerun,
    "personnummer already in Kleer": ssn_already_in_kleer,
    "revert after a later change": revert_after_later_change,
    "HR reloaded between plan and apply": hr_reloaded,
    "workspace deleted, relink": workspace_deleted_relink,
    "outside writer duplicate, swept": duplicate_swept,
}
