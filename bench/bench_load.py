"""Benchmark: load a 50,000-row HR export end to end (read + normalise + write to a real SQLite
workspace through ``Workbench.load_hr``). Target: under 5 seconds.

The file is the demo HR export (``workbench.demo``) at 50,000 people: Swedish headers, values typed
every which way, a few deliberately bad cells. Each run loads it into a fresh workspace file.
Prints one JSON object: ``seconds`` is the median run; ``read_seconds``/``write_seconds`` split it
at the moment the loader starts writing; ``cpu_seconds`` is the process time of that run (wall time
suffers when the machine is busy, CPU time much less).

    .venv/bin/python bench/bench_load.py [--rows 50000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from workbench import Workbench
from workbench.demo import generate, write

TARGET_SECONDS = 5.0


def one_run(csv_path: Path, folder: Path, run: int) -> dict[str, float]:
    marks: dict[str, float] = {}

    def progress(fraction: float, message: str) -> None:
        if message.startswith("writing"):
            marks["write"] = time.perf_counter()

    with Workbench(folder / f"workspace-{run}.db", analyst="bench") as wb:
        cpu, start = time.process_time(), time.perf_counter()
        result = wb.load_hr(csv_path, progress=progress)
        end, cpu = time.perf_counter(), time.process_time() - cpu
        assert wb.counts()["hr"] == result.rows
    return {"seconds": end - start, "read_seconds": marks["write"] - start,
            "write_seconds": end - marks["write"], "cpu_seconds": cpu, "loaded": result.rows,
            "problems": len(result.problems)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = write(generate(args.rows), folder / "demo")["hr"]
        size = csv_path.stat().st_size
        runs = [one_run(csv_path, folder, i) for i in range(args.runs)]
    median = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    print(json.dumps({
        "benchmark": "load_hr",
        "rows": args.rows,
        "file_mb": round(size / 1e6, 2),
        "seconds": round(median["seconds"], 3),
        "read_seconds": round(median["read_seconds"], 3),
        "write_seconds": round(median["write_seconds"], 3),
        "cpu_seconds": round(median["cpu_seconds"], 3),
        "runs": [round(r["seconds"], 3) for r in runs],
        "best_seconds": round(min(r["seconds"] for r in runs), 3),
        "stdev_seconds": round(statistics.pstdev(r["seconds"] for r in runs), 3),
        "loaded": median["loaded"],
        "row_problems": median["problems"],
        "target_seconds": TARGET_SECONDS,
        "within_target": median["seconds"] < TARGET_SECONDS,
    }))


if __name__ == "__main__":
    main()
