"""The matching commands of the ``workbench`` CLI (``match``, ``evaluate``), registered by
:mod:`workbench.cli` through :func:`register` (so this module needs nothing from it: no import
circle).

``workbench match --hr FILE --kleer FILE`` imports only what matching two files needs
(:func:`workbench.match_files`, :func:`workbench.suggestions_csv`), never the whole API: the
command starts in the time pandas takes to import. The explanation it writes is built as text
straight away (``explain="text"``), not as evidence dicts taken apart again.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from .errors import InputError

__all__ = ["register"]


def _match_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hr", metavar="FILE", default=None,
                   help="match this HR file (CSV/XLSX) instead of the workspace; needs --kleer")
    p.add_argument("--kleer", metavar="FILE", default=None,
                   help="a Kleer CSV: kleer_id, name, email, active and any canonical field "
                        "(ssn, phone, employee_number, hr_id = foreign-id, …); needs --hr")
    p.add_argument("--settings", metavar="JSON", default=None,
                   help="match settings as a JSON file (default: the workspace's, else built-in)")


def _match_args(p: argparse.ArgumentParser) -> None:
    _match_inputs(p)
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write the suggestions as CSV here (default: standard output)")
    p.add_argument("--assigned-only", action="store_true",
                   help="only the pairs the one-to-one assignment picked")


def _suggested(args: argparse.Namespace, open_workbench: Callable[[argparse.Namespace], Any]):
    """Suggestions from --hr/--kleer files (the why text only: the CLI writes nothing else),
    or from (and stored in) the workspace."""
    from pathlib import Path

    from . import MatchSettings, match_files

    if bool(args.hr) != bool(args.kleer):
        raise InputError("give both --hr FILE and --kleer FILE, or neither to use the workspace")
    settings = None
    if args.settings:
        try:
            settings = MatchSettings.from_json(Path(args.settings).read_text(encoding="utf-8"))
        except OSError as e:
            raise InputError(f"cannot read match settings {args.settings}: {e.strerror}") from None
    progress = lambda done, total, message: print(f"[{done}/{total}] {message}",  # noqa: E731
                                                  file=sys.stderr, flush=True)
    if args.hr:
        if getattr(args, "program", False):  # a program run that ends after writing
            from . import keep_freed_memory

            keep_freed_memory()
        return match_files(args.hr, args.kleer, settings, on_progress=progress, explain="text")
    with open_workbench(args) as wb:
        return wb.suggest(settings, on_progress=progress)


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--truth", metavar="FILE", required=True,
                   help="the ground truth: a CSV with hr_id and kleer_id of the true pairs")
    _match_inputs(p)


def register(command: Callable, open_workbench: Callable[[argparse.Namespace], Any]) -> None:
    """Add the commands with the CLI's ``command`` decorator."""

    def _suggestions(args: argparse.Namespace):
        return _suggested(args, open_workbench)

    @command("match", "Suggest ranked, explained HR matches for every unlinked Kleer employee "
             "(stored in the workspace) and write them as CSV.", _match_args)
    def _match(args: argparse.Namespace) -> int:
        from . import suggestions_csv

        frame = _suggestions(args)
        data = suggestions_csv(frame, assigned_only=args.assigned_only)
        if args.out:
            with open(args.out, "wb") as fh:
                fh.write(data)
        else:
            sys.stdout.write(data.decode("utf-8-sig"))
        chosen = frame[frame["assigned"].astype(bool)]
        bands = ", ".join(f"{b} {n}" for b, n in chosen["band"].value_counts().items())
        print(f"{frame['kleer_id'].nunique()} Kleer employees with suggestions, "
              f"{len(chosen)} assigned" + (f" ({bands})" if bands else "")
              + (f"; written to {args.out}" if args.out else ""), file=sys.stderr)
        args.exit_now = bool(args.hr)  # offline: nothing stored, nothing left open (cli._exit_now)
        return 0

    @command("evaluate", "Precision, recall and F1 of the assigned suggestions against a "
             "ground truth (the workspace's, or matched afresh from --hr/--kleer).",
             _evaluate_args)
    def _evaluate(args: argparse.Namespace) -> int:
        from . import Workbench

        suggestions = _suggestions(args) if args.hr or args.kleer else None
        if suggestions is None:
            with open_workbench(args) as wb:
                result = wb.evaluate(args.truth)
        else:
            with Workbench(":memory:") as scratch:
                result = scratch.evaluate(args.truth, suggestions)
        print(f"precision {result.precision:.4f}")
        print(f"recall    {result.recall:.4f}")
        print(f"F1        {result.f1:.4f}")
        print(f"correct {result.true_positives}, wrong {result.false_positives}, "
              f"missed {result.false_negatives}")
        for band, n in result.wrong_by_band.items():
            print(f"wrong in band {band}: {n}")
        return 0
