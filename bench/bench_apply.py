"""Benchmark: apply export plans of creates against the simulator, at the adaptive concurrency.

Each run loads N HR employees (a generated CSV through ``Workbench.load_hr``) into a fresh
SQLite workspace, fetches the (empty) Kleer company from a fresh simulator (``workbench
kleer-sim`` in a process of its own, as Kleer is a server of its own: real HTTP on 127.0.0.1,
``latency_ms`` before every answer), decides ``export`` for everyone, builds the plan and times
``Workbench.apply`` with the default settings (adaptive concurrency: AIMD from 8 up to the
ceiling, 32). Every create is the full safe sequence, journaled before and after: the foreign-id
guard (one ``GET /user`` for all creates, read again every ``FOREIGN_ID_MAX_AGE`` seconds), the
user, the payroll contract; then one ``GET /user`` + ``GET /payroll/user`` read the written
records back into the snapshot: 2 requests per create plus a handful per apply.

The scenarios (``--only`` picks some):

* ``default``: 1,000 creates at 50 ms a request. Target: at most 15 s.
* ``limited``: the simulator limits the company to 10 requests a second (a token bucket, burst
  20). Target: 0 failed, within 15 % of the bucket's floor ((requests that passed - burst) ÷
  rate); prints how many 429s the apply met. 200 creates by default (a floor of about 40 s);
  ``--limited`` runs it with all the employees (1,000: about 200 s).
* ``rising``: the latency goes from 50 to 500 ms when half the operations are done. Target: 0
  failed; prints the level it settled at (its level at the end, and the lowest and highest
  after the change).

``--concurrency N [N ...]`` adds ``default`` runs pinned at those levels (the issue's baseline:
4 took 28.8 s, 8 took 14.7 s). Prints one JSON object with a run per scenario. Exit code 1 when
a run did not create and link every employee exactly once, or failed an operation.

    .venv/bin/python bench/bench_apply.py [--employees 1000] [--latency-ms 50] [--only default
        limited rising] [--limited] [--concurrency 4 8]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import httpx
import pandas as pd

from workbench.api import Workbench
from workbench.kleer.client import KleerClient
from workbench.normalize import make_personnummer

TARGET_SECONDS = 15.0
LIMIT_RATE, LIMIT_BURST = 10, 20
LIMITED_EMPLOYEES = 200
RISING_TO_MS = 500.0
FIRST = ("Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Per", "Eva", "Nils", "Elin")
LAST = ("Andersson", "Berg", "Carlsson", "Dahl", "Ek", "Forsberg", "Gustafsson", "Holm", "von Essen")


def hr_csv(n: int) -> bytes:
    """An HR export of ``n`` valid employees (every Kleer create has what it needs)."""
    rows = [{
        "hr_id": f"B{i:05d}", "first_name": FIRST[i % len(FIRST)],
        "last_name": LAST[(i // len(FIRST)) % len(LAST)],
        "personnummer": make_personnummer(date(1960 + i % 40, 1 + i % 12, 1 + i % 28), i % 1000),
        "private email": f"bench{i}@example.org", "phone": f"070-{1000000 + i}",
        "street": f"Storgatan {1 + i % 90}", "zip": f"{11120 + i % 800}", "city": "Stockholm",
        "country": "SE", "start date": f"20{10 + i % 14}-0{1 + i % 9}-01",
        "employee number": 5000 + i, "monthly salary": 30000 + 10 * i, "tax table": 32,
        "tax column": 1, "clearing": "8327", "account number": f"{9000000000 + i}"}
        for i in range(n)]
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


TOKEN = "bench-token"


@contextmanager
def simulator(folder: Path, latency_ms: float) -> Iterator[httpx.Client]:
    """An empty Kleer company served by ``workbench kleer-sim`` in its own process; yields an
    admin client (``/_admin/state``, ``/_admin/faults``) bound to it."""
    seed = folder / "seed.json"
    seed.write_text(json.dumps({"company": {"id": 1, "name": "Bench AB"}, "users": [],
                                "payroll-user-readables": []}), encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "kleer-sim", "--port", str(port), "--db",
         str(folder / "kleer-sim.db"), "--seed", str(seed), "--latency-ms", str(latency_ms)],
        env={**os.environ, "KLEER_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    admin = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-Token": TOKEN}, timeout=10)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                admin.get("/_admin/state").raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the Kleer simulator did not start")
                time.sleep(0.1)
        yield admin
    finally:
        admin.close()
        proc.terminate()
        proc.wait(timeout=10)


def run(scenario: str, employees: int, latency_ms: float, concurrency: int | None = None) -> dict:
    """One timed apply of ``employees`` creates in ``scenario``, from scratch."""
    with tempfile.TemporaryDirectory() as tmp:
        with simulator(Path(tmp), latency_ms) as admin, \
                KleerClient(base_url=f"{admin.base_url}/v1", company_id=1, token=TOKEN) as client, \
                Workbench(Path(tmp) / "workspace.db", analyst="bench", kleer_client=client) as wb:
            wb.load_hr(hr_csv(employees), name="bench.csv")
            wb.fetch_kleer()
            wb.decide(pd.DataFrame({"hr_id": wb.hr_employees()["hr_id"], "action": "export"}))
            plan = wb.plan("export")
            if scenario == "limited":
                admin.post("/_admin/faults", json={"rate_limit": LIMIT_RATE,
                                                   "rate_burst": LIMIT_BURST}).raise_for_status()
            switched: dict[str, Any] = {}

            def on_progress(done: int, total: int, op_id: str, detail: str = "") -> None:
                if scenario == "rising" and done == total // 2 and not switched:
                    admin.post("/_admin/faults",
                               json={"latency_ms": RISING_TO_MS}).raise_for_status()
                    switched.update(at=time.perf_counter() - started, level_then=detail)

            before = admin.get("/_admin/state").json()
            started = time.perf_counter()
            result = wb.apply(plan, concurrency=concurrency, on_progress=on_progress)
            seconds = time.perf_counter() - started
            state = admin.get("/_admin/state").json()
            linked = wb.counts()["linked"]
            in_snapshot = len(wb.workspace.kleer.frame())
    requests = state["requests"] - before["requests"]
    refused = state["fault_answers"] - before["fault_answers"]
    summary = result.concurrency or {}
    correct = result.ok and state["writes"].get("create_user") == employees \
        and state["users"] == employees and linked == employees and in_snapshot == employees
    out = {
        "scenario": scenario, "employees": employees, "latency_ms": latency_ms,
        "concurrency": "adaptive" if concurrency is None else concurrency,
        "seconds": round(seconds, 2), "operations_per_second": round(employees / seconds, 1),
        "counts": result.counts_dict, "failed": result.counts_dict.get("failed", 0),
        "requests": requests, "answers_429": refused, "max_in_flight": state["max_in_flight"],
        "level_at_end": summary.get("level"), "level_peak": summary.get("peak"),
        "level_changes": summary.get("changes_total"), "correct": correct}
    if scenario == "default":
        floor_level = summary.get("peak") or concurrency or 1
        out.update(floor_seconds_at_peak=round(requests * latency_ms / 1000 / floor_level, 1),
                   target_seconds=TARGET_SECONDS, under_target=seconds <= TARGET_SECONDS)
    elif scenario == "limited":
        floor = (requests - refused - LIMIT_BURST) / LIMIT_RATE
        out.update(rate_limit=LIMIT_RATE, rate_burst=LIMIT_BURST, floor_seconds=round(floor, 1),
                   over_floor=f"{100 * (seconds / floor - 1):+.1f} %",
                   within_15_percent=seconds <= 1.15 * floor)
    else:
        after = [c for c in summary.get("changes", []) if c["at"] >= switched.get("at", 0)]
        levels = [c["to"] for c in after]
        out.update(rising_to_ms=RISING_TO_MS, switched_at_seconds=round(switched.get("at", 0), 2),
                   level_when_switched=switched.get("level_then"),
                   level_after_switch={"lowest": min(levels, default=None),
                                       "highest": max(levels, default=None),
                                       "at_end": summary.get("level")},
                   changes_after_switch=len(after))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--only", nargs="+", choices=("default", "limited", "rising"),
                        default=["default", "limited", "rising"])
    parser.add_argument("--limited", action="store_true",
                        help="run the rate-limited scenario with every employee (about 200 s)")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[],
                        help="also run the default scenario pinned at these levels")
    args = parser.parse_args(argv)
    runs = []
    for scenario in args.only:
        n = args.employees if scenario != "limited" or args.limited \
            else min(args.employees, LIMITED_EMPLOYEES)
        runs.append(run(scenario, n, args.latency_ms))
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)  # as it goes; the total below
    runs += [run("default", args.employees, args.latency_ms, c) for c in args.concurrency]
    ok = all(r["correct"] and r["failed"] == 0 for r in runs)
    print(json.dumps({"benchmark": "apply", "kind": "kleer_create", "runs": runs,
                      "seconds": {f"{r['scenario']}@{r['concurrency']}": r["seconds"] for r in runs},
                      "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
