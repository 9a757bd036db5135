"""Benchmark: fetch a 10,000-employee Kleer company from the simulator into a workspace.

Seeds the simulator (over real HTTP on 127.0.0.1, in a background thread) with the demo
generator's Kleer company cut to 10,000 employees, then times ``Workbench.fetch_kleer`` into a
fresh SQLite workspace (users and contracts: two list requests, the mapping, one transaction).
Each run's time is split at the fetch's own progress reports (``split_median``: the users
list, the payroll list with ``/user/me``, the mapping, the storing), each step in wall seconds,
CPU seconds of this process (``cpu``: the simulator's thread included) and of the fetching
thread alone (``client_cpu``; the difference is the simulator's). ``parse_seconds`` is the
client's reading of each list answer alone (JSON, depth and item checks);
``mapping_seconds_best`` / ``storing_seconds_best`` the fastest mapping (``Snapshot.build``)
and storing (``replace_snapshot_columns``, one transaction) on their own. Prints one JSON
object; target: fetch in at most 1 s (wall, median of the runs; min and max beside it). CPU
seconds and the load average (before, after) tell a slow machine from a slow fetch. Exit
code 1 when the workspace did not receive every user.

    .venv/bin/python bench/bench_fetch.py [--employees 10000] [--runs 5] [--dialect lenient] [--latency-ms 150]
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


STEPS = ("get_user_list", "get_payroll_user_list", "mapping", "storing")


def fetch_once(wb: Workbench) -> dict:
    """One ``fetch_kleer``, with wall and CPU seconds of each of its steps, read at its
    progress reports: the users list (request and parse), the payroll list (and ``/user/me``),
    the mapping, the storing (one transaction). ``cpu`` is this process (the simulator's
    thread included), ``client_cpu`` the fetching thread alone."""
    marks: list[tuple[float, float, float]] = []

    def mark(*_: object) -> None:
        marks.append((time.perf_counter(), time.process_time(), time.thread_time()))

    mark()
    wb.fetch_kleer(on_progress=mark)
    mark()
    out = {"seconds": marks[-1][0] - marks[0][0], "cpu": marks[-1][1] - marks[0][1],
           "client_cpu": marks[-1][2] - marks[0][2]}
    for step, (before, after) in zip(STEPS, zip(marks[1:5], marks[2:6])):
        out[step] = {"seconds": after[0] - before[0], "cpu": after[1] - before[1],
                     "client_cpu": after[2] - before[2]}
    return out


def parse_seconds(client, path: str, runs: int) -> tuple[float, int]:
    """The client's reading of one list answer alone (JSON, depth check, item checks): the
    fastest of ``runs``, and the answer's size in bytes."""
    response = client.send_raw("GET", path)
    return min(timed(lambda: client._read_list(path, client._body(response, "GET", path, False)))
               for _ in range(runs)), len(response.content)


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dialect", default=None,
                        help="the simulator's dialect (default: its default, strict: every "
                             "readable field in every answer, as Kleer's XSD has it)")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="the simulator's added latency per request: what a remote Kleer "
                             "costs (the fetch's three reads run at once)")
    args = parser.parse_args(argv)
    seed = seed_with(args.employees)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        with RunningSimulator(Path(tmp) / "kleer-sim.db", seed=seed, token="bench-token",
                              dialect=args.dialect) as sim:
            if args.latency_ms:
                sim.set_faults(latency_ms=args.latency_ms)
            with sim.client() as client:
                fetches = []
                for run in range(args.runs):
                    with Workbench(Path(tmp) / f"workspace-{run}.db", analyst="bench",
                                   kleer_client=client) as wb:
                        fetches.append(fetch_once(wb))
                        stored = wb.counts()["kleer"]
                parse_users, users_bytes = parse_seconds(client, "/user", args.runs)
                parse_contracts, contracts_bytes = parse_seconds(client, "/payroll/user",
                                                                 args.runs)
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
                            storing.append(timed(lambda: ws.kleer.replace_snapshot_columns(
                                snap.columns, snapshot=snap.meta())))
                finally:
                    gc.enable()
    walls = [f["seconds"] for f in fetches]
    seconds = statistics.median(walls)
    dialect = args.dialect or "default (strict)"
    print(json.dumps({
        "benchmark": "fetch_kleer", "dialect": dialect, "employees": args.employees,
        "latency_ms": args.latency_ms,
        "users": len(seed["users"]),
        "contracts": len(seed["payroll-user-readables"]), "stored": stored,
        "seconds": round(seconds, 3), "runs": [round(wall, 3) for wall in walls],
        "wall": spread(walls), "cpu_seconds": spread([f["cpu"] for f in fetches]),
        "client_cpu_seconds": spread([f["client_cpu"] for f in fetches]),
        "split_median": {step: {k: round(statistics.median(f[step][k] for f in fetches), 3)
                                for k in ("seconds", "cpu", "client_cpu")} for step in STEPS},
        "answer_bytes": {"users": users_bytes, "payroll_users": contracts_bytes},
        "parse_seconds": {"users": round(parse_users, 3),
                          "payroll_users": round(parse_contracts, 3)},
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "mapping_seconds_best": round(mapping, 3), "storing_seconds_best": round(min(storing), 3),
        "target_seconds": TARGET_SECONDS, "under_target": seconds <= TARGET_SECONDS,
        "ok": stored == len(seed["users"])}))
    return 0 if stored == len(seed["users"]) else 1  # a slow machine is reported, not failed


if __name__ == "__main__":
    sys.exit(main())
