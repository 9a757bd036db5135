"""A property-based variant (hypothesis): random small export plans over a few shared HR
employees, applied at once from threads (each with its own workspace connection and claim
owner), under drawn faults (latency, writes stored but answered 500 or dropped), then each run
once more with Kleer healthy. Whatever the interleaving: at most one active Kleer user per
foreign-id and per personnummer, every employee any plan exports in Kleer exactly once, and
every operation done, skipped as done by another apply, or failed with a reason (then done by
the re-run)."""

from __future__ import annotations

import itertools
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import apply as applying
from workbench.store import Workspace

from . import once_support as once
from .sync_support import close_workbench, open_workbench, person

N = 6
_counter = itertools.count()

plans_strategy = st.lists(st.sets(st.integers(0, N - 1), min_size=1, max_size=N), min_size=2,
                          max_size=3)
faults_strategy = st.fixed_dictionaries({
    "latency_ms": st.sampled_from([0, 15]),
    "write_then_fail": st.sampled_from([0.0, 0.3]),
    "write_fail_mode": st.sampled_from(["500", "drop"]),
    "seed": st.integers(0, 1000)})


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(subsets=plans_strategy, faults=faults_strategy)
def test_random_overlapping_plans_under_faults_create_each_employee_once(kleer_sim, tmp_path,
                                                                           subsets, faults):
    path = tmp_path / f"ws-{next(_counter)}.db"
    hr = [person(i) for i in range(N)]
    kleer_sim.clear_faults()
    wb = open_workbench(path, kleer_sim, hr, [])
    try:
        ids = [r["hr_id"] for r in hr]
        wb.decide([{"hr_id": h, "action": "export"} for h in ids])
        plans = [wb.plan("export", [ids[i] for i in sorted(s)]) for s in subsets]
        kleer_sim.set_faults(**faults)
        errors: list[BaseException] = []

        def run(plan) -> None:
            try:
                with Workspace(path) as ws, kleer_sim.client() as client:
                    applying.apply(plan, ws, client, "thread", settle_seconds=1.0)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(p,)) for p in plans]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == [] and not any(t.is_alive() for t in threads)
        first = {p.id: once.journal_rows(wb.workspace, p) for p in plans}
        for rows in first.values():  # every operation ended with a state and, if not done, a reason
            assert all(r["status"] == "done" or r["error"] for r in rows.values())
        kleer_sim.clear_faults()
        for plan in plans:
            wb.apply(plan)
        exported = {ids[i] for s in subsets for i in s}
        per_fid, per_ssn, _ = once.census(kleer_sim)
        assert max(per_fid.values()) == 1 and max(per_ssn.values()) == 1
        assert {h: per_fid[h] for h in exported} == {h: 1 for h in exported}
        assert kleer_sim.state()["writes"]["create_user"] == len(exported)
        for plan in plans:
            for r in once.journal_rows(wb.workspace, plan).values():
                assert r["status"] == "done" or (r["status"] == "skipped"
                                                 and r["error"].startswith("already done by batch"))
    finally:
        close_workbench(wb)
