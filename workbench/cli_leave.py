"""The leave commands of the ``workbench`` CLI (``load-leave``, ``leave-types``), registered by
:mod:`workbench.cli` through :func:`register` (so this module needs nothing from it: no import
circle). ``workbench plan --side leave [--month YYYY-MM]`` and ``workbench apply`` are the CLI's
own plan and apply commands."""

from __future__ import annotations

import argparse
from typing import Any, Callable

__all__ = ["register"]


def _load_leave_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the absence export: CSV (any common encoding/delimiter) or XLSX")
    p.add_argument("--sheet", default=None, help="the XLSX sheet to read (default: the first)")


def _leave_types_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="set_rules", action="append", default=[], metavar="HR_TYPE=KLEER_TYPE[:ACTIVITY]",
                   help="map an HR leave type to a Kleer type (and the activity its days are "
                        "reported on; default: the usual one), e.g. --set 'Friskvårdstimme=OtherLeave'")
    p.add_argument("--remove", action="append", default=[], metavar="HR_TYPE",
                   help="remove an HR leave type from the mapping")


def register(command: Callable, open_workbench: Callable[[argparse.Namespace], Any]) -> None:
    """Add the leave commands with the CLI's ``command`` decorator."""

    @command("load-leave", "Load an absence export (CSV or XLSX: leave id, HR id or employee "
                           "number, type, start, end, extent, status, child, comment) into the "
                           "workspace.", _load_leave_args)
    def _load_leave(args: argparse.Namespace) -> int:
        with open_workbench(args) as wb:
            result = wb.load_leave(args.file, sheet=args.sheet)
        print(result)
        problems = result.file.problems
        for p in problems[:30]:
            print(f"  {p}" + ("" if p.blocking else " (warning)"))
        if len(problems) > 30:
            print(f"  … and {len(problems) - 30} more")
        return 0

    @command("leave-types", "Show the leave-type mapping (HR type → Kleer type and activity), or "
                            "change it with --set / --remove (audited).", _leave_types_args)
    def _leave_types(args: argparse.Namespace) -> int:
        with open_workbench(args) as wb:
            if args.set_rules or args.remove:
                wb.update_leave_types(args.set_rules, args.remove)
            frame = wb.leave_types_frame()
        print(frame.to_string(index=False))
        return 0
