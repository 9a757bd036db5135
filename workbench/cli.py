"""The ``workbench`` command: a thin, headless shell over :class:`workbench.Workbench`.

Each command opens the workspace (``--workspace``, else ``$WORKBENCH_WORKSPACE``, else
``data/workspace.db``), calls one API method and prints the result. A ``WorkbenchError`` becomes
one readable line on stderr and exit code 1; bad usage exits 2.

Commands register themselves with :func:`command`; ``COMMANDS`` is what ``--help`` lists and
what the README's CLI section is checked against.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from .errors import WorkbenchError

__all__ = ["main", "build_parser", "COMMANDS", "command"]

Handler = Callable[[argparse.Namespace], int | None]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register a sub-command: ``configure`` adds its arguments, the decorated function runs it."""
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = (help, configure, fn)
        return fn
    return register


def _workspace_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", metavar="PATH", default=None,
                   help="the workspace file (default: $WORKBENCH_WORKSPACE or data/workspace.db)")
    p.add_argument("--analyst", default=None,
                   help="who the audit records for this command (default: $WORKBENCH_ANALYST or your login)")


def open_workbench(args: argparse.Namespace):
    import getpass

    from .api import Workbench

    analyst = args.analyst
    if not analyst:
        import os
        analyst = os.environ.get("WORKBENCH_ANALYST")
        if not analyst:
            try:
                analyst = getpass.getuser()
            except Exception:  # no login name in some containers
                analyst = "cli"
    return Workbench(args.workspace, analyst=analyst)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Kleer Workbench: reconcile HR employees with Kleer from the terminal.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_text, configure, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _workspace_arg(p)
        configure(p)
        p.set_defaults(handler=fn)
    return parser


# --------------------------------------------------------------------------- commands

def _load_hr_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the HR export: CSV (any common encoding/delimiter) or XLSX")
    p.add_argument("--sheet", default=None, help="the XLSX sheet to read (default: the first)")
    p.add_argument("--remove-missing", action="store_true",
                   help="remove HR employees not in the file (linked employees are kept)")


@command("load-hr", "Load an HR export (CSV or XLSX) into the workspace.", _load_hr_args)
def _load_hr(args: argparse.Namespace) -> int:
    with open_workbench(args) as wb:
        result = wb.load_hr(args.file, sheet=args.sheet, remove_missing=args.remove_missing)
    print(result)
    for p in result.file.problems[:20]:
        print(f"  {p}")
    if len(result.file.problems) > 20:
        print(f"  … and {len(result.file.problems) - 20} more")
    return 0


@command("status", "Show what the workspace holds: employees on each side, links, decisions.")
def _status(args: argparse.Namespace) -> int:
    with open_workbench(args) as wb:
        counts = wb.counts()
        print(f"workspace: {wb.workspace.path}")
        for key, value in counts.items():
            print(f"  {key:<12} {value}")
    return 0


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8501, help="the app's port on 127.0.0.1 (default 8501)")
    p.add_argument("--sim-port", type=int, default=8765,
                   help="the local Kleer simulator's port on 127.0.0.1 (default 8765)")


@command("run", "Start the workbench: demo workspace on first run, local Kleer simulator, the app. "
                "Ctrl-C stops everything.", _run_args)
def _run(args: argparse.Namespace) -> int:
    from .api import default_workspace_path
    from .launcher import RunOptions, run

    return run(RunOptions(workspace=args.workspace or default_workspace_path(), app_port=args.port,
                          sim_port=args.sim_port))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
