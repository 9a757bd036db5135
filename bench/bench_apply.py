"""Benchmark: apply a 1,000-create export plan against the simulator with 50 ms per request.

For each ``--concurrency`` (default: 4, apply's default, and 8): loads 1,000 HR employees (a
generated CSV through ``Workbench.load_hr``) into a fresh SQLite workspace, fetches the (empty)
Kleer company from a fresh simulator (``workbench kleer-sim`` in a process of its own, as Kleer
is a server of its own: real HTTP on 127.0.0.1, ``latency_ms`` before every answer), decides
``export`` for everyone, builds the plan and times ``Workbench.apply``. Every create is the full
safe sequence, journaled before and after: the foreign-id guard (one ``GET /user`` for all
creates, read again every ``sync.FOREIGN_ID_MAX_AGE`` seconds), the user, the payroll contract;
then one ``GET /user`` + ``GET /payroll/user`` read the written records back into the snapshot.
That is 2 requests per create plus a handful per apply, so ``floor_seconds`` = requests x
latency / concurrency is what no client can beat; the target is under 20 s wall.

Prints one JSON object with a run per concurrency. Exit code 1 when a run did not create and
link every employee exactly once (the target is reported per run, ``under_target``).

    .venv/bin/python bench/bench_apply.py [--employees 1000] [--latency-ms 50] [--concurrency 4 8]
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
from typing import Iterator

import httpx
import pandas as pd

from workbench.api import Workbench
from workbench.kleer.client import KleerClient
from workbench.normalize import make_personnummer

TARGET_SECONDS = 20.0
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
    admin client (``/_admin/state``) bound to it."""
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


def run(employees: int, latency_ms: float, concurrency: int) -> dict:
    """One timed apply of ``employees`` creates at ``concurrency``, from scratch."""
    with tempfile.TemporaryDirectory() as tmp:
        with simulator(Path(tmp), latency_ms) as admin, \
                KleerClient(base_url=f"{admin.base_url}/v1", company_id=1, token=TOKEN) as client, \
                Workbench(Path(tmp) / "workspace.db", analyst="bench", kleer_client=client) as wb:
            wb.load_hr(hr_csv(employees), name="bench.csv")
            wb.fetch_kleer()
            wb.decide(pd.DataFrame({"hr_id": wb.hr_employees()["hr_id"], "action": "export"}))
            plan = wb.plan("export")
            requests_before = admin.get("/_admin/state").json()["requests"]
            started = time.perf_counter()
            result = wb.apply(plan, concurrency=concurrency)
            seconds = time.perf_counter() - started
            state = admin.get("/_admin/state").json()
            requests = state["requests"] - requests_before
            linked = wb.counts()["linked"]
            in_snapshot = len(wb.workspace.kleer.frame())
    correct = result.ok and state["writes"].get("create_user") == employees \
        and state["users"] == employees and linked == employees and in_snapshot == employees
    return {
        "concurrency": concurrency, "seconds": round(seconds, 2),
        "operations_per_second": round(len(plan.operations) / seconds, 1),
        "counts": result.counts_dict, "kleer_users_created": state["writes"].get("create_user"),
        "linked": linked, "read_back_into_snapshot": in_snapshot, "requests": requests,
        "requests_per_operation": round(requests / max(1, len(plan.operations)), 3),
        "floor_seconds": round(requests * latency_ms / 1000 / concurrency, 1),
        "under_target": seconds < TARGET_SECONDS, "correct": correct}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 8])
    args = parser.parse_args(argv)
    runs = [run(args.employees, args.latency_ms, c) for c in args.concurrency]
    ok = all(r["correct"] for r in runs)
    print(json.dumps({
        "benchmark": "apply", "operations": args.employees, "kind": "kleer_create",
        "latency_ms": args.latency_ms, "target_seconds": TARGET_SECONDS, "runs": runs,
        "seconds_by_concurrency": {str(r["concurrency"]): r["seconds"] for r in runs},
        "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
