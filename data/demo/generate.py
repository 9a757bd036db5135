"""Rewrite the committed demo files in this folder (or make a bigger set elsewhere).

    python data/demo/generate.py                                   # the committed demo
    python data/demo/generate.py --people 50000 --out /tmp/bench   # a benchmark set

The logic lives in :mod:`workbench.demo`; tests/test_demo.py checks that the committed files
equal a fresh generation, so run this after changing the generator and commit the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, when workbench is not installed

from workbench.demo import generate, write  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the deterministic demo data.")
    parser.add_argument("--people", type=int, default=300, help="HR employees (default 300)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, default=HERE, help=f"folder (default {HERE})")
    args = parser.parse_args(argv)
    demo = generate(args.people, seed=args.seed)
    for path in write(demo, args.out).values():
        print(path)
    summary = demo.summary()
    print(f"{summary['hr']} HR employees, {summary['kleer_users']} Kleer users "
          f"({summary['kleer_contracts']} with a payroll contract), {summary['true_pairs']} true pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
