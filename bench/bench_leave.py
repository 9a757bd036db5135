"""Benchmark: plan and apply a month of leave for 2,000 linked employees (≈ 6,000 leave days)
against the Kleer simulator with 50 ms before every answer.

A fresh simulator (in this process, real HTTP on 127.0.0.1) holds 2,000 Kleer users with payroll
contracts (every 4th works part time: 50–80 %); a fresh SQLite workspace holds the same 2,000
HR employees, linked, and a generated leave file of November 2026 (through
``Workbench.load_leave``): one leave each, sick days, vacation weeks, part-time parental leave
and VAB with a child, 1–5 working days long, plus a few cancelled ones. Then it times
``Workbench.plan("leave", month="2026-11")`` (per linked employee with leave: the schedule, the
events, the day statuses; the activities once) and ``Workbench.apply`` (one ``PUT /event`` per
day), and plans and applies again: a rerun must send nothing.

The apply runs at the workbench's default: the adaptive level (AIMD, from 8 up to the
Settings' ceiling); it prints the level the apply settled at, its peak, the changes and the
429s/503s it met (the batch record's summary). ``--concurrency N`` pins the apply (and the
plan's reads) at N instead; without it the plan reads at ``plan_leave``'s default.

Requests are counted by the simulator (``/_admin/state``: every API request it answered).
Prints one JSON object; exit code 1 when a day is missing or doubled, or the rerun sent a write.

    .venv/bin/python bench/bench_leave.py [--employees 2000] [--latency-ms 50] [--concurrency N]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from workbench.api import Workbench
from workbench.concurrency import summary_text
from workbench.kleer.simulator import RunningSimulator
from workbench.normalize import make_personnummer

MONTH = "2026-11"
TYPES = (("Sjuk", "", ""), ("Semester", "", "Höstlov"), ("Föräldraledighet", "50", ""),
         ("VAB", "", ""), ("Tjänstledig", "4 h", "Flytt"))


def seed(n: int) -> dict:
    users, contracts, schedules = [], [], []
    for i in range(1, n + 1):
        users.append({"id": i, "foreign-id": f"B{i:05d}", "name": f"Bench Person {i}",
                      "email": f"bench{i}@example.org", "active": True})
        contracts.append({"user": {"id": i}, "ssn": make_personnummer(date(1970 + i % 30, 1 + i % 12, 1 + i % 28), i % 1000),
                          "employment-start-date": "2015-01-01"})
        if i % 4 == 0:
            schedules.append({"user": i, "level": (0.5, 0.6, 0.75, 0.8)[(i // 4) % 4]})
    return {"company": {"id": 1, "name": "Bench AB"}, "users": users,
            "payroll-user-readables": contracts, "leave": {"schedules": schedules}}


def hr_csv(n: int) -> bytes:
    lines = ["hr_id;first_name;last_name;private email"]
    lines += [f"B{i:05d};Bench;Person {i};bench{i}@example.org" for i in range(1, n + 1)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def leave_csv(n: int, rng: random.Random) -> bytes:
    """One leave per employee in November 2026 (weekdays), about 3 working days on average."""
    first = date(2026, 11, 2)
    weekdays = [first + timedelta(days=d) for d in range(29) if (first + timedelta(days=d)).weekday() < 5]
    out = io.StringIO()
    out.write("Frånvaro-ID;Anställd-ID;Frånvarotyp;Från och med;Till och med;Omfattning;Status;Barn;Kommentar\n")
    for i in range(1, n + 1):
        kind, extent, comment = TYPES[i % len(TYPES)]
        start = rng.randrange(len(weekdays) - 5)
        length = rng.choice((1, 2, 3, 3, 4, 5))
        status = "Makulerad" if i % 97 == 0 else "Godkänd"
        child = "Alva" if kind in ("VAB", "Föräldraledighet") else ""
        out.write(f"N{i:05d};B{i:05d};{kind};{weekdays[start]};{weekdays[start + length - 1]};"
                  f"{extent};{status};{child};{comment}\n")
    return out.getvalue().encode("utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="pin the Kleer requests in flight at N, for the plan's reads and the "
                             "apply (default: the apply adapts, as the workbench does)")
    args = parser.parse_args()
    n = args.employees
    with tempfile.TemporaryDirectory() as tmp, \
            RunningSimulator(Path(tmp) / "sim.db", seed=seed(n), token="bench-token") as sim:
        client = sim.client()
        wb = Workbench(Path(tmp) / "workspace.db", analyst="bench", kleer_client=client)
        wb.update_settings(kleer_base_url=sim.base_url)
        wb.load_hr(hr_csv(n), name="hr.csv")
        with wb.workspace.atomic():
            for i in range(1, n + 1):
                wb.workspace.links.add(f"B{i:05d}", i, analyst="bench", method="bench", score=None,
                                       batch_id=None)
        loaded = wb.load_leave(leave_csv(n, random.Random(7)), name="leave.csv")
        sim.set_faults(latency_ms=args.latency_ms)

        def requests() -> int:
            return sim.state()["requests"]

        r0, t0 = requests(), time.perf_counter()
        pinned = {} if args.concurrency is None else {"concurrency": args.concurrency}
        plan = wb.plan_leave(MONTH, **pinned)
        plan_seconds, r1 = time.perf_counter() - t0, requests()
        t1 = time.perf_counter()
        result = wb.apply(plan, concurrency=args.concurrency, on_progress=lambda *a: None)
        apply_seconds, r2 = time.perf_counter() - t1, requests()
        writes = dict(sim.leave()["writes"])
        t2 = time.perf_counter()
        rerun = wb.plan_leave(MONTH, **pinned)
        rerun_result = wb.apply(rerun, concurrency=args.concurrency, on_progress=lambda *a: None)
        rerun_seconds, r3 = time.perf_counter() - t2, requests()
        sim.clear_faults()
        events = sim.leave()
        per_key = Counter(e["foreign-id"] for e in events["events"])
        days = len(plan.runnable)
        level = dict(result.concurrency or {})
        ok = (result.counts_dict == {"done": days} and len(per_key) == days
              and set(per_key.values()) == {1} and rerun.runnable == ()
              and events["writes"] == writes)
        print(json.dumps({
            "employees": n, "leaves": loaded.leaves, "days_exported": days,
            "latency_ms": args.latency_ms,
            "concurrency": "adaptive" if args.concurrency is None else args.concurrency,
            "settled_level": level.get("level"), "peak_level": level.get("peak"),
            "level_changes": level.get("changes_total", 0),
            "rate_limited_429": level.get("counts", {}).get("429", 0),
            "unavailable_503": level.get("counts", {}).get("503", 0),
            "concurrency_summary": summary_text(level),
            "plan_seconds": round(plan_seconds, 1), "plan_requests": r1 - r0,
            "apply_seconds": round(apply_seconds, 1), "apply_requests": r2 - r1,
            "requests_per_day_apply": round((r2 - r1) / max(days, 1), 3),
            "requests_per_day_plan_and_apply": round((r2 - r0) / max(days, 1), 3),
            # the apply's request floor at the highest level it used (latency × requests ÷ level)
            "floor_seconds_apply_at_peak": round((r2 - r1) * args.latency_ms / 1000
                                                 / max(level.get("peak") or args.concurrency or 1, 1), 1),
            "rerun_operations": len(rerun.operations), "rerun_blocked": rerun.counts_dict.get("blocked", 0),
            "rerun_writes_sent": sum(events["writes"].values()) - sum(writes.values()),
            "rerun_requests_reads_only": r3 - r2, "rerun_seconds": round(rerun_seconds, 1),
            "rerun_ran": rerun_result.ran_here, "each_day_once": ok}, indent=1))
        client.close()
        wb.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
