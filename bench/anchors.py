"""Anchors beside ours on FEBRL4 (5,000 × 5,000, with the birth date): recordlinkage's
unsupervised ECM and Splink (u from random pairs, m by EM), each where it installs.

Optional and separate: ``make bench`` runs ``bench/bench_*.py`` only, and this file is not one.
recordlinkage needs pandas < 3 and the workbench pandas ≥ 3, so the anchors run in their own
environment, which this script looks for in ``ANCHORS_PYTHON`` or ``.venv-anchors/bin/python``:

    python3 -m venv .venv-anchors && .venv-anchors/bin/pip install recordlinkage splink
    .venv/bin/python bench/anchors.py

Without it (or when one of them fails to import) the script says so and exits 0. Each anchor is
set up the way its documentation's FEBRL example does (no tuning to our figures): recordlinkage
blocks on given name, on surname and on birth date and compares given name, surname (Jaro-Winkler
≥ 0.85), birth date, suburb, state and street (Jaro-Winkler ≥ 0.85), then ECM; Splink blocks the
same way, compares names with Jaro-Winkler levels and term frequencies, birth date, suburb,
postcode, street and soc_sec_id exactly, estimates u from random pairs and m by EM on two
blocking rules, and links at match probability ≥ 0.5 one-to-one (best first). Ours is the
``workbench match`` command on the mapped files (bench/febrl.py), its assigned pairs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import febrl  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

_ANCHOR_CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
a_path, b_path, which = sys.argv[1], sys.argv[2], sys.argv[3]

def read(p):
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip()).replace("", None)
    df["key"] = df["rec_id"].str.replace(r"-(org|dup-\d+)$", "", regex=True)
    return df

a, b = read(a_path), read(b_path)
truth = set(a["key"]) & set(b["key"])

def one_to_one(pairs):   # pairs: (a_key, b_key, probability), best first, each record once
    used_a, used_b, out = set(), set(), []
    for x, y, p in sorted(pairs, key=lambda t: -t[2]):
        if x not in used_a and y not in used_b:
            used_a.add(x); used_b.add(y); out.append((x, y))
    return out

def figures(links, seconds, version):
    tp = sum(1 for x, y in links if x == y)
    fp, fn = len(links) - tp, len(truth) - tp
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"version": version, "precision": round(p, 5), "recall": round(r, 5),
            "f1": round(f1, 5), "correct": tp, "wrong": fp, "missed": fn,
            "seconds": round(seconds, 2)}

t0 = time.perf_counter()
if which == "recordlinkage":
    import recordlinkage
    A, B = a.set_index("rec_id"), b.set_index("rec_id")
    idx = recordlinkage.Index()
    idx.block("given_name"); idx.block("surname"); idx.block("date_of_birth")
    pairs = idx.index(A, B)
    c = recordlinkage.Compare()
    c.exact("given_name", "given_name", label="given_name")
    c.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    c.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    c.exact("suburb", "suburb", label="suburb")
    c.exact("state", "state", label="state")
    c.string("address_1", "address_1", method="jarowinkler", threshold=0.85, label="address_1")
    features = c.compute(pairs, A, B)
    ecm = recordlinkage.ECMClassifier(binarize=None)
    matches = ecm.fit_predict(features)
    probs = ecm.prob(features)
    key = lambda r: r.rsplit("-", 1)[0] if r.endswith("-org") else r.rsplit("-", 2)[0]
    links = one_to_one([(key(x), key(y), float(probs.loc[(x, y)])) for x, y in matches])
    print(json.dumps(figures(links, time.perf_counter() - t0, recordlinkage.__version__)))
else:
    import splink
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    import splink.comparison_library as cl
    settings = SettingsCreator(
        link_type="link_only", unique_id_column_name="rec_id",
        blocking_rules_to_generate_predictions=[block_on("given_name"), block_on("surname"),
                                                block_on("date_of_birth")],
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.9, 0.8]).configure(
                term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("surname", [0.9, 0.8]).configure(
                term_frequency_adjustments=True),
            cl.ExactMatch("date_of_birth"), cl.ExactMatch("suburb"), cl.ExactMatch("postcode"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.8]), cl.ExactMatch("soc_sec_id"),
        ])
    db = DuckDBAPI()
    tables = [a.drop(columns=["key"]), b.drop(columns=["key"])]
    try:     # Splink 5 takes tables registered with the database, Splink 4 the frames
        linker = Linker([db.register(t, table_name=n) for t, n in zip(tables, ("a", "b"))],
                        settings)
    except (AttributeError, TypeError):
        linker = Linker(tables, settings, db)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname"), block_on("date_of_birth", "suburb")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    key = lambda r: r.rsplit("-", 1)[0] if r.endswith("-org") else r.rsplit("-", 2)[0]
    links = one_to_one([(key(l), key(r), float(p)) if str(l).endswith("-org") else
                        (key(r), key(l), float(p)) for l, r, p in
                        zip(pred["rec_id_l"], pred["rec_id_r"], pred["match_probability"])])
    print(json.dumps(figures(links, time.perf_counter() - t0, splink.__version__)))
"""


def anchor_python() -> str | None:
    """The interpreter the anchors run in, or None when there is none."""
    for candidate in (os.environ.get("ANCHORS_PYTHON"), str(ROOT / ".venv-anchors" / "bin" / "python")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def run_anchor(python: str, which: str) -> dict:
    a, b = febrl.febrl4_paths()
    check = subprocess.run([python, "-c", f"import {which}"], capture_output=True, text=True)
    if check.returncode != 0:
        return {"anchor": which, "skipped": f"{which} does not import in {python}"}
    proc = subprocess.run([python, "-c", _ANCHOR_CHILD, str(a), str(b), which],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"anchor": which, "failed": proc.stderr.strip().splitlines()[-1:]}
    return {"anchor": which, **json.loads(proc.stdout.strip().splitlines()[-1])}


def ours() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        hr, kleer, truth = febrl.write_files(Path(tmp), birth_date=True)
        out = Path(tmp) / "suggestions.csv"
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "workbench.cli", "match", "--hr", str(hr),
                               "--kleer", str(kleer), "--out", str(out)],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        return {"anchor": "workbench", **febrl.quality(out, truth), "seconds": round(seconds, 2)}


def main() -> None:
    python = anchor_python()
    if python is None:
        print("anchors: no environment with recordlinkage/splink (they need pandas < 3, the "
              "workbench pandas ≥ 3). Install one: python3 -m venv .venv-anchors && "
              ".venv-anchors/bin/pip install recordlinkage splink — or set ANCHORS_PYTHON.")
        return
    rows = [ours()] + [run_anchor(python, which) for which in ("recordlinkage", "splink")]
    print(json.dumps({"data": "FEBRL4 5000x5000 with birth date", "results": rows}, indent=2))


if __name__ == "__main__":
    main()
