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


def _fetch_kleer_args(p: argparse.ArgumentParser) -> None:
    p.epilog = ("The token comes from $KLEER_TOKEN; the base URL and company id from the "
                "workspace settings.")


@command("fetch-kleer", "Fetch every Kleer user and payroll contract into the workspace "
                        "(a new Kleer snapshot).", _fetch_kleer_args)
def _fetch_kleer(args: argparse.Namespace) -> int:
    with open_workbench(args) as wb:
        result = wb.fetch_kleer(
            on_progress=lambda done, total, message: print(f"[{done}/{total}] {message}", flush=True))
        print(f"snapshot {result.snapshot_id} at {result.fetched_at}; workspace: {wb.workspace.path}")
    return 0


def _kleer_sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1; "
                   "other addresses are refused)")
    p.add_argument("--db", metavar="PATH", default="data/run/kleer-sim.db",
                   help="the simulator's SQLite state (default data/run/kleer-sim.db)")
    p.add_argument("--seed", metavar="JSON", default=None,
                   help="seed file, e.g. data/demo/kleer_seed.json (used when the state is empty)")
    p.add_argument("--reset", action="store_true", help="wipe the state and load the seed again")
    p.add_argument("--token", default=None, help="the X-Token to accept (default: $KLEER_TOKEN)")
    p.add_argument("--company", type=int, default=1, help="the company id it serves (default 1)")
    faults = p.add_argument_group("faults")
    faults.add_argument("--latency-ms", type=float, default=0, help="delay before every answer")
    faults.add_argument("--error-rate", type=float, default=0.0,
                        help="share of requests answered 500 or 503 (0..1)")
    faults.add_argument("--rate-limit", type=int, default=0,
                        help="requests per second above which it answers 429 with Retry-After")
    faults.add_argument("--write-then-fail", type=float, default=0.0,
                        help="share of writes stored and then answered 500 (or dropped)")
    faults.add_argument("--write-fail-mode", choices=("500", "drop"), default="500",
                        help="how write-then-fail fails: a 500 answer or a dropped connection")
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the fault dice")


@command("kleer-sim", "Serve the local Kleer simulator on 127.0.0.1 until Ctrl-C.", _kleer_sim_args)
def _kleer_sim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .errors import InputError
    from .kleer.config import TOKEN_ENV, token_from_environment
    from .kleer.simulator import Faults, serve

    token = args.token or token_from_environment()
    if not token:
        raise InputError(f"the simulator needs a token: pass --token or set {TOKEN_ENV}")
    try:
        faults = Faults(latency_ms=args.latency_ms, error_rate=args.error_rate,
                        rate_limit=args.rate_limit, write_then_fail=args.write_then_fail,
                        write_fail_mode=args.write_fail_mode, seed=args.fault_seed)
    except ValueError as e:
        raise InputError(str(e)) from None
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    serve(args.port, args.db, args.seed, token=token, company_id=args.company, host=args.host,
          faults=faults, reset=args.reset, announce=lambda line: print(line, flush=True))
    return 0


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
