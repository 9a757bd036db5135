"""The HR-file commands of the ``workbench`` CLI (``load-hr``, ``hr-changes``), registered by
:mod:`workbench.cli` through :func:`register` (so this module needs nothing from it: no import
circle)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from .errors import InputError

__all__ = ["register"]


def _load_hr_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the HR export: CSV (any common encoding/delimiter) or XLSX")
    p.add_argument("--sheet", default=None, help="the XLSX sheet to read (default: the first)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="read COLUMN as FIELD (a field key or label, e.g. hr_id=Anställningsnummer; "
                        "none=COLUMN ignores a column); repeatable. Remembered for the next file "
                        "with the same header")
    p.add_argument("--remove-missing", action="store_true",
                   help="remove HR employees not in the file (linked employees are kept)")
    p.add_argument("--yes", action="store_true",
                   help="load without asking when the file changes the workspace's employees "
                        "(scripts; without a terminal the load is otherwise refused)")


def _hr_changes_args(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--batch", metavar="BATCH", default=None,
                       help="the HR changes of this batch (`workbench batches` lists them)")
    which.add_argument("--since", metavar="DATE", default=None,
                       help="the HR changes since this date (YYYY-MM-DD, local midnight)")
    p.add_argument("--out", metavar="FILE", required=True, help="where to write the file")
    p.add_argument("--format", choices=("csv", "xlsx"), default=None,
                   help="default: from FILE's extension, else the HR export's own format")
    p.add_argument("--only-changed-columns", action="store_true",
                   help="only the id column and the columns that changed")
    p.epilog = ("The file carries real values (personnummer, bank accounts): the HR system needs "
                "them. Every file made is recorded in the audit log.")


def _ask(question: str) -> bool | None:
    """The answer to a yes/no question on the terminal; None when there is no terminal."""
    try:
        if not (sys.stdin is not None and sys.stdin.isatty()):
            return None
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes", "j", "ja")
    except (AttributeError, ValueError, OSError, EOFError):
        return False


def register(command: Callable, open_workbench: Callable[[argparse.Namespace], Any]) -> None:
    """Add the HR-file commands with the CLI's ``command`` decorator."""

    @command("load-hr", "Load an HR export (CSV or XLSX) into the workspace; a reload shows what "
                        "it changes and asks first.", _load_hr_args)
    def _load_hr(args: argparse.Namespace) -> int:
        with open_workbench(args) as wb:
            mapping = None
            if args.map:
                mapping = wb.parse_mapping(args.map, wb.peek_headers(args.file, sheet=args.sheet))
            preview = wb.preview_hr(args.file, mapping=mapping, sheet=args.sheet,
                                    remove_missing=args.remove_missing)
            for note in preview.file.notes:
                print(f"note: {note}")
            if preview.needs_confirmation:
                print(preview.summary())
                if not args.yes:
                    answer = _ask("Load this file into the workspace?")
                    if answer is None:
                        raise InputError("the file changes the workspace's HR employees (above) "
                                         "and there is no terminal to ask: run again with --yes "
                                         "to load it")
                    if not answer:
                        print("nothing loaded")
                        return 1
            result = wb.load_hr(preview.file, remove_missing=args.remove_missing,
                                expect=preview.token)
        print(result)
        for p in result.file.problems[:20]:
            print(f"  {p}")
        if len(result.file.problems) > 20:
            print(f"  … and {len(result.file.problems) - 20} more")
        return 0

    @command("hr-changes", "Write the HR changes the workbench made (created employees, fields "
                           "overwritten by Kleer values) as a file in the HR export's own shape.",
             _hr_changes_args)
    def _hr_changes(args: argparse.Namespace) -> int:
        suffix = Path(args.out).suffix.lower().lstrip(".")
        fmt = args.format or (suffix if suffix in ("csv", "xlsx") else None)
        with open_workbench(args) as wb:
            found = wb.hr_change_set(batch=args.batch, since=args.since)
            data = wb.hr_changes(batch=args.batch, since=args.since, format=fmt,
                                 only_changed_columns=args.only_changed_columns)
        try:
            Path(args.out).write_bytes(data)
        except OSError as e:
            raise InputError(f"cannot write {args.out}: {e.strerror or e}") from None
        print(found.summary())
        print(f"written to {args.out} (real values: keep it safe, import it into the HR system)")
        return 0
