"""Benchmark: the exactly-once scenarios of issue 13, each run a few rounds against a fresh
Kleer simulator (real HTTP on 127.0.0.1), printing per scenario: runs, duplicates (extra active
Kleer users per foreign-id or personnummer left at the end), lost (an employee a plan created
that Kleer does not hold, or an operation left without a final state and reason), conflicts
(reported, not overwritten) and failed checks (the scenario's own expectations).

The scenarios live in tests/once_support.py (the suite runs each once or twice):
overlapping plans in two ``workbench apply`` processes (plan A creates N, plan B every second
of them, 40 ms latency), a latency spike past a 1 s client timeout, a slow write killed and
rerun at once, a personnummer already in Kleer, a revert after a later change, HR reloaded
between plan and apply, a deleted workspace relinked, an outside writer's duplicate swept.

    .venv/bin/python bench/bench_once.py [--rounds 3] [--employees 40]

Exit code 1 when any run left a duplicate, lost something or failed a check.
"""

from __future__ import annotations

import argparse
import logging
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import once_support as once  # noqa: E402
from workbench.kleer.simulator import RunningSimulator  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--employees", type=int, default=40,
                        help="plan A's creates in the overlapping-plans scenario (default 40)")
    args = parser.parse_args()
    logging.getLogger("workbench.kleer").setLevel(logging.ERROR)  # retries are expected here
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sim = RunningSimulator(Path(tmp) / "sim.db", seed={"company": {"id": 1, "name": "Bench AB"},
                                                          "users": []}, token="bench-token")
        sim.start()
        try:
            for name, scenario in once.SCENARIOS.items():
                totals = {"scenario": name, "runs": 0, "duplicates": 0, "lost": 0, "conflicts": 0,
                          "failed_checks": 0, "seconds": 0.0}
                for round_ in range(args.rounds):
                    folder = Path(tmp) / f"{len(rows)}-{round_}"
                    folder.mkdir()
                    sim.clear_faults()
                    sim.reset()
                    started = time.monotonic()
                    kwargs = {"n": args.employees} if scenario is once.overlapping_plans else {}
                    outcome = scenario(sim, folder, **kwargs)
                    totals["seconds"] += time.monotonic() - started
                    totals["runs"] += 1
                    totals["duplicates"] += outcome.duplicates
                    totals["lost"] += outcome.lost
                    totals["conflicts"] += outcome.conflicts
                    totals["failed_checks"] += len(outcome.failed_checks())
                    if outcome.failed_checks():
                        print(f"  {name} round {round_ + 1}: failed {outcome.failed_checks()} "
                              f"{json.dumps({k: v for k, v in outcome.figures.items() if k != 'outputs'})}",
                              file=sys.stderr)
                totals["seconds"] = round(totals["seconds"], 1)
                rows.append(totals)
        finally:
            sim.stop()
    width = max(len(r["scenario"]) for r in rows)
    print(f"{'scenario':<{width}}  runs  duplicates  lost  conflicts  failed checks  seconds")
    for r in rows:
        print(f"{r['scenario']:<{width}}  {r['runs']:>4}  {r['duplicates']:>10}  {r['lost']:>4}  "
              f"{r['conflicts']:>9}  {r['failed_checks']:>13}  {r['seconds']:>7}")
    print(json.dumps({"rounds": args.rounds, "employees": args.employees, "scenarios": rows}))
    bad = any(r["duplicates"] or r["lost"] or r["failed_checks"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
