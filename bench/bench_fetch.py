"""Benchmark: fetch a 10,000-employee Kleer company from the simulator into a workspace.

Seeds the simulator (over real HTTP on 127.0.0.1, in a background thread) with the demo
generator's Kleer company cut to 10,000 employees, then times ``Workbench.fetch_kleer`` into a
fresh SQLite workspace (users and contracts: two list requests, the mapping, one transaction).
Also times where the time goes: the two list endpoints alone, the mapping
(``Snapshot.build``: records_from_kleer + the snapshot fingerprint) and the storing
(``replace_snapshot`` in one transaction). Prints one JSON object; target: fetch in at most 1 s
(wall, median of the runs). ``cpu_seconds`` (this process, simulator thread included) and the
load average tell a slow machine from a slow fetch. Exit code 1 when the workspace did
not receive every user.

    .venv/bin/python bench/bench_fetch.py [--employees 10000] [--runs 3] [--dialect lenient]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from workbench.api import Workbench
from workbench.demo import generate
from workbench.kleer.mapping import Snapshot
from workbench.kleer.simulator import RunningSimulator
from workbench.store import Workspace

TARGET_SECONDS = 1.0
DEMO_KLEER_PER_PERSON = 1.07  # the demo puts ~1.07 Kleer users in Kleer per person it invents


def seed_with(employees: int) -> dict:
    """The demo's Kleer seed with exactly ``employees`` users besides the integration user."""
    seed = generate(int(employees / DEMO_KLEER_PER_PERSON) + 50).kleer_seed
    others = [u for u in seed["users"] if u["id"] != seed["me"]]
    if len(others) < employees:
        raise SystemExit(f"the demo generated only {len(others)} Kleer employees")
    users = [u for u in seed["users"] if u["id"] == seed["me"]] + others[:employees]
    kept = {u["id"] for u in users}
    contracts = [c for c in seed["payroll-user-readables"] if c["user"]["id"] in kept]
    return {**seed, "users": users, "payroll-user-readables": contracts}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def timed_cpu(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process)."""
    cpu = time.process_time()
    wall = timed(fn)
    return wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dialect", default=None,
                        help="the simulator's dialect (default: its default, strict: every "
                             "readable field in every answer, as Kleer's XSD has it)")
    args = parser.parse_args(argv)
    seed = seed_with(args.employees)
    with tempfile.TemporaryDirectory() as tmp:
        with RunningSimulator(Path(tmp) / "kleer-sim.db", seed=seed, token="bench-token",
                              dialect=args.dialect) as sim:
            with sim.client() as client:
                list_users = min(timed(client.list_users) for _ in range(args.runs))
                list_contracts = min(timed(client.list_contracts) for _ in range(args.runs))
                fetches = []
                for run in range(args.runs):
                    with Workbench(Path(tmp) / f"workspace-{run}.db", analyst="bench",
                                   kleer_client=client) as wb:
                        fetches.append(timed_cpu(wb.fetch_kleer))
                        stored = wb.counts()["kleer"]
                users, contracts = client.list_users(), client.list_contracts()
                build = lambda: Snapshot.build(users, contracts, base_url=client.base_url,  # noqa: E731
                                               company_id=client.company_id)
                gc.disable()  # as in a fetch (Workbench.fetch_kleer pauses the collector)
                try:
                    mapping = min(timed(build) for _ in range(args.runs))
                    snap = build()
                    storing = []
                    for run in range(args.runs):
                        with Workspace(Path(tmp) / f"store-{run}.db") as ws:
                            storing.append(timed(lambda: ws.kleer.replace_snapshot(
                                snap.records, snapshot=snap.meta())))
                finally:
                    gc.enable()
    seconds = statistics.median(wall for wall, _ in fetches)
    dialect = args.dialect or "default (strict)"
    print(json.dumps({
        "benchmark": "fetch_kleer", "dialect": dialect, "employees": args.employees,
        "users": len(seed["users"]),
        "contracts": len(seed["payroll-user-readables"]), "stored": stored,
        "seconds": round(seconds, 3), "runs": [round(wall, 3) for wall, _ in fetches],
        "cpu_seconds": round(statistics.median(cpu for _, cpu in fetches), 3),
        "load_average": round(os.getloadavg()[0], 2),
        "get_user_list_seconds": round(list_users, 3),
        "get_payroll_user_list_seconds": round(list_contracts, 3),
        "mapping_seconds": round(mapping, 3), "storing_seconds": round(min(storing), 3),
        "target_seconds": TARGET_SECONDS, "under_target": seconds <= TARGET_SECONDS,
        "ok": stored == len(seed["users"])}))
    return 0 if stored == len(seed["users"]) else 1  # a slow machine is reported, not failed


if __name__ == "__main__":
    sys.exit(main())
