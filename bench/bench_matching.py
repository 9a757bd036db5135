"""Benchmark: the whole ``workbench match`` command on two files, in a fresh process per run.

What a user runs — ``workbench match --hr hr.csv --kleer kleer.csv --out suggestions.csv``: read
and normalise both files, block, compare, train the model by EM, score, assign one-to-one,
explain, write the CSV — timed from outside (median of ``--runs`` runs, each a new Python), with
the child's peak RSS (``/usr/bin/time -v``, else ``RUSAGE_CHILDREN``). Then, from the written
file and in this process: precision, recall, F1 and wrong links per band against the truth, the
blocking recall (true pairs among the candidate pairs) and, in ``--runs`` more children, where the
time goes (read, each matching step, write; medians).

Data:

* FEBRL4 (bench/data/febrl4, 5,000 × 5,000; BSD-3-Clause) mapped to our columns, without and
  with the birth date (:mod:`febrl`);
* the seeded Swedish-style generator (:mod:`gen_swedish`: namesakes, married names, missing
  personnummer, changed email, typos in both names) at 5,000 and 50,000 people, and 200,000
  with ``--large`` or ``BENCH_LARGE=1`` (a few minutes).

Targets on the 2-core machine: FEBRL4 F1 ≥ 0.995 without birth date, ≥ 0.9997 with it,
precision ≥ 0.999; matching step ≤ 0.3 s at 5k; 50k × 50k end to end ≤ 5 s and ≤ 1 GB;
200k × 200k ≤ 30 s and ≤ 4 GB; no wrong link in "certain".

    .venv/bin/python bench/bench_matching.py [--runs 3] [--only febrl|swedish] [--large]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

import febrl  # noqa: E402
import gen_swedish  # noqa: E402

TIME = "/usr/bin/time"

TARGETS = {
    "febrl4": {"f1": 0.995, "precision": 0.999, "wrong_certain": 0},
    "febrl4+birth_date": {"f1": 0.9997, "precision": 0.999, "wrong_certain": 0},
    "swedish-5000": {"matching_seconds": 0.3, "wrong_certain": 0},
    "swedish-50000": {"seconds_median": 5.0, "peak_rss_mb": 1024, "wrong_certain": 0},
    "swedish-200000": {"seconds_median": 30.0, "peak_rss_mb": 4096, "wrong_certain": 0},
}

_STEPS_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
from workbench import matching
from workbench.downloads import to_csv_bytes
from workbench.sources import read_hr, Limits
from workbench.bulk import keep_freed_memory
keep_freed_memory()  # as the match program does
t1 = time.perf_counter()
hr = read_hr(sys.argv[1], limits=Limits(max_bytes=1 << 31, max_rows=10**7,
                                        max_cells=10**9)).frame()
t2 = time.perf_counter()
kleer = matching.read_kleer_table(sys.argv[2])
t3 = time.perf_counter()
marks = []
s = matching.suggest(hr, kleer, on_progress=lambda d, n, m: marks.append((m, time.perf_counter())),
                     explain="text")  # as `workbench match --hr --kleer` does
t4 = time.perf_counter()
data = to_csv_bytes(matching.as_table(s))
t5 = time.perf_counter()
steps, last = {}, t3
for m, at in marks:
    steps[m.split(" ")[-1] if m[0].isdigit() else m.split(" ")[0]] = round(at - last, 3)
    last = at
print(json.dumps({"import": round(t1 - t0, 3), "read_hr": round(t2 - t1, 3),
                  "read_kleer": round(t3 - t2, 3), "matching": round(t4 - t3, 3),
                  "matching_steps": [round(b - a, 3) for (_, a), (_, b) in
                                     zip([("", t3)] + marks[:-1], marks)],
                  "step_messages": [m for m, _ in marks], "write": round(t5 - t4, 3)}))
"""


def run_command(hr: Path, kleer: Path, out: Path, runs: int) -> dict:
    """``workbench match`` in a fresh process per run: median seconds, peak RSS of the child."""
    seconds, cpu, peak = [], [], 0.0
    for _ in range(runs):
        cmd = [sys.executable, "-m", "workbench.cli", "match", "--hr", str(hr),
               "--kleer", str(kleer), "--out", str(out)]
        use_time = os.path.exists(TIME)
        started = time.perf_counter()
        proc = subprocess.run(([TIME, "-v"] if use_time else []) + cmd, capture_output=True,
                              text=True)
        seconds.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        if use_time:
            used = 0.0
            for line in proc.stderr.splitlines():
                if "Maximum resident set size" in line:
                    peak = max(peak, int(line.split(":")[1]) / 1024)
                elif "User time (seconds)" in line or "System time (seconds)" in line:
                    used += float(line.split(":")[1])
            cpu.append(used)
        else:
            peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    # CPU seconds (user + system) of the child: on a shared machine wall time follows the load,
    # CPU time much less
    return {"seconds_median": round(statistics.median(seconds), 3),
            "seconds_all": [round(s, 3) for s in seconds], "peak_rss_mb": round(peak, 1),
            "cpu_seconds_median": round(statistics.median(cpu), 3) if cpu else None}


def _steps_once(hr: Path, kleer: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _STEPS_CHILD, str(hr), str(kleer)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    data = json.loads(proc.stdout)
    names = ["prepare", "blocking", "compare+EM+score", "rank+flags", "assign", "explain"]
    data["matching_steps"] = dict(zip(names, data.pop("matching_steps")))
    data.pop("step_messages")
    return data


def steps(hr: Path, kleer: Path, runs: int = 1) -> dict:
    """Where the time goes, in ``runs`` fresh children: each figure's median (and the matching
    step's every run, under ``matching_all``), as one child's figures jump with the machine."""
    done = [_steps_once(hr, kleer) for _ in range(max(runs, 1))]
    med = lambda values: round(statistics.median(values), 3)  # noqa: E731
    out = {key: med([d[key] for d in done]) for key in done[0] if key != "matching_steps"}
    out["matching_steps"] = {key: med([d["matching_steps"][key] for d in done])
                             for key in done[0]["matching_steps"]}
    out["matching_all"] = [d["matching"] for d in done]
    return out


def measure(name: str, hr: Path, kleer: Path, truth: pd.DataFrame, runs: int, tmp: Path) -> dict:
    out = tmp / f"{name}-suggestions.csv"
    figures: dict = {"data": name, "true_pairs": len(truth), **run_command(hr, kleer, out, runs)}
    quality = febrl.quality(out, truth)
    figures.update(quality)
    figures["wrong_certain"] = quality["wrong_by_band"].get("certain", 0)
    figures.update(febrl.blocking_recall(hr, kleer, truth))
    figures["where_the_time_goes"] = steps(hr, kleer, runs)
    figures["matching_seconds"] = figures["where_the_time_goes"]["matching"]
    target = TARGETS.get(name, {})
    figures["target"] = target
    figures["meets_target"] = {
        key: (figures[key] >= limit if key in ("f1", "precision") else figures[key] <= limit)
        for key, limit in target.items()}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["febrl", "swedish"])
    parser.add_argument("--large", action="store_true",
                        help="also 200,000 × 200,000 (also: BENCH_LARGE=1)")
    args = parser.parse_args()
    large = args.large or os.environ.get("BENCH_LARGE") == "1"
    sizes = [5000, 50000] + ([200000] if large else [])
    report: dict = {"machine": {"cpus": os.cpu_count()}, "runs": args.runs, "results": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.only in (None, "febrl"):
            for birth in (False, True):
                folder = tmp / f"febrl-{int(birth)}"
                folder.mkdir()
                hr, kleer, truth = febrl.write_files(folder, birth)
                name = "febrl4" + ("+birth_date" if birth else "")
                report["results"].append(measure(name, hr, kleer, truth, args.runs, tmp))
                print(json.dumps(report["results"][-1]), file=sys.stderr, flush=True)
        if args.only in (None, "swedish"):
            for n in sizes:
                paths = gen_swedish.write(n, tmp / f"swedish-{n}", seed=1)
                truth = pd.read_csv(paths["truth"], dtype=str)
                runs = args.runs if n <= 50000 else max(1, min(args.runs, 1))
                report["results"].append(measure(f"swedish-{n}", paths["hr"], paths["kleer"],
                                                 truth, runs, tmp))
                print(json.dumps(report["results"][-1]), file=sys.stderr, flush=True)
    if not large:
        report["note"] = ("200,000 × 200,000 left out; run it with: "
                          ".venv/bin/python bench/bench_matching.py --large (or BENCH_LARGE=1)")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
