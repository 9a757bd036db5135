"""Benchmark: reload a 50,000-row HR export into a workspace that already holds it — what the
preview (the difference) and the confirmed load cost on top of a first load.

The file is the demo HR export (``workbench.demo``) at 50,000 people. It is loaded once; then
``preview_hr`` reads it again and computes the difference (nothing written), and ``load_hr``
with the preview's token loads it (the difference computed again inside the transaction).
Prints one JSON object with the wall and CPU seconds of each step (wall time suffers when the
machine is busy, CPU time much less).

    .venv/bin/python bench/bench_reload.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from workbench import Workbench
from workbench.demo import generate, write


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> dict[str, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = {"seconds": round(wall - self.wall, 3), "cpu_seconds": round(cpu - self.cpu, 3)}
        self.wall, self.cpu = wall, cpu
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = write(generate(args.rows), folder / "demo")["hr"]
        text = csv_path.read_text(encoding="utf-8-sig")
        with Workbench(folder / "workspace.db", analyst="bench") as wb:
            clock = _Clock()
            wb.load_hr(csv_path)
            first = clock.lap()
            changed = folder / "changed.csv"  # the same export with every tenth row gone
            lines = text.splitlines(keepends=True)
            changed.write_text("".join(l for i, l in enumerate(lines) if i == 0 or i % 10),
                               encoding="utf-8-sig")
            clock = _Clock()
            preview = wb.preview_hr(changed)
            previewed = clock.lap()
            wb.load_hr(preview.file, expect=preview.token)
            loaded = clock.lap()
    print(json.dumps({"benchmark": "reload_hr", "rows": args.rows, "first_load": first,
                      "preview": previewed, "confirmed_load": loaded,
                      "missing": len(preview.diff.missing), "changed": len(preview.diff.changed)}))


if __name__ == "__main__":
    main()
