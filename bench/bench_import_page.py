"""Benchmark: the Import from Kleer page with 10,000 employees on each side, server-side.

Builds a workspace with the demo generator at 10,000 people (HR file loaded, Kleer fetched from
the simulator over HTTP, matches suggested), then times AppTest runs of the page: the first
open (router + page) and re-runs (what every interaction costs). Also times the view function
alone, and the reruns after a checkbox edit and after an action edit (what a click costs; in the
browser only the grid's fragment reruns, AppTest runs the whole page, so these are upper bounds).
Prints one JSON object; targets: first render ≤ 1 s, a rerun after an edit ≤ 0.5 s.

    .venv/bin/python bench/bench_import_page.py [--people 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from workbench.api import Workbench  # noqa: E402
from workbench.demo import generate, write  # noqa: E402
from workbench.kleer.simulator import RunningSimulator  # noqa: E402
from workbench.readmodels import import_rows  # noqa: E402

TARGET_FIRST, TARGET_RERUN = 1.0, 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        demo = generate(args.people)
        files = write(demo, tmp)
        sim = RunningSimulator(tmp / "sim.db", seed=files["kleer_seed"], token="bench").start()
        try:
            os.environ.update(WORKBENCH_WORKSPACE=str(tmp / "ws.db"), KLEER_TOKEN="bench")
            with Workbench(tmp / "ws.db", analyst="bench") as wb:
                wb.update_settings(kleer_base_url=sim.base_url)
                wb.load_hr(files["hr"])
                wb.fetch_kleer()
                wb.suggest()
                counts = wb.counts()
                started = time.perf_counter()
                import_rows(wb.workspace)
                view_seconds = time.perf_counter() - started
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
            at.session_state["analyst"] = "bench"
            at.run()
            at.switch_page("pages/import_kleer.py")
            started = time.perf_counter()
            at.run()
            first = time.perf_counter() - started
            if at.exception:
                raise SystemExit(f"the page failed: {at.exception}")
            reruns = []
            for _ in range(args.runs):
                started = time.perf_counter()
                at.run()
                reruns.append(time.perf_counter() - started)
            edits = {}
            for name, change in (("checkbox", {"select": True}), ("action", {"action": "Do nothing"})):
                key = at.session_state["import_editor:key"]
                at.session_state[key] = {"edited_rows": {3: change}, "added_rows": [], "deleted_rows": []}
                started = time.perf_counter()
                at.run()
                edits[name] = round(time.perf_counter() - started, 3)
                if at.exception:
                    raise SystemExit(f"the page failed: {at.exception}")
        finally:
            sim.stop()
    median = statistics.median(reruns)
    print(json.dumps({
        "benchmark": "import_page", "hr": counts["hr"], "kleer": counts["kleer"],
        "rows_in_new_tab": counts["kleer"] - counts["linked"],
        "first_render_seconds": round(first, 3), "rerun_seconds_median": round(median, 3),
        "reruns": [round(r, 3) for r in reruns], "view_seconds": round(view_seconds, 3),
        "rerun_after_checkbox_seconds": edits["checkbox"], "rerun_after_action_seconds": edits["action"],
        "target_first_seconds": TARGET_FIRST, "target_rerun_seconds": TARGET_RERUN,
        "within_target": first <= TARGET_FIRST and max(edits.values()) <= TARGET_RERUN,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
