"""The links-in-Kleer commands of the ``workbench`` CLI (``relink``, ``deactivate``), registered
by :mod:`workbench.cli` through :func:`register` (so this module needs nothing from it: no
import circle). The deactivate plan is applied with the CLI's own ``workbench apply``."""

from __future__ import annotations

import argparse
from typing import Any, Callable

__all__ = ["register"]


def _deactivate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kleer_ids", metavar="KLEER_ID", nargs="+", type=int,
                   help="the Kleer users to deactivate (e.g. the extra one of a duplicate)")
    p.add_argument("--out", metavar="PLAN.json", default="deactivate.json",
                   help="where to write the plan (default deactivate.json); apply it with "
                        "`workbench apply`")


def register(command: Callable, open_workbench: Callable[[argparse.Namespace], Any],
             write: Callable[[str, bytes], None]) -> None:
    """Add the commands with the CLI's ``command`` decorator; ``write`` writes a file."""

    @command("relink", "Rebuild the links from the foreign-ids Kleer's users carry (after a lost "
             "workspace: load the HR file first). Writes nothing to Kleer.")
    def _relink(args: argparse.Namespace) -> int:
        with open_workbench(args) as wb:
            result = wb.relink()
        print(result)
        return 0

    @command("deactivate", "Plan the deactivation of Kleer users (a duplicate's extra one); "
             "nothing is deleted in Kleer.", _deactivate_args)
    def _deactivate(args: argparse.Namespace) -> int:
        with open_workbench(args) as wb:
            plan = wb.plan_deactivate(args.kleer_ids)
        write(args.out, plan.to_json().encode("utf-8"))
        print(plan.summary())
        print(f"plan written to {args.out}; apply it with `workbench apply {args.out}`")
        return 0
