"""``workbench run`` (what ``make run`` calls): the demo workspace, the local Kleer simulator and
the app, started together and stopped together.

On first run it creates the demo workspace (``data/workspace.db`` unless ``WORKBENCH_WORKSPACE``
says otherwise) from ``data/demo/``. Unless a real Kleer is configured (the workspace's Kleer URL
is not on this machine; ``workbench settings --kleer-base-url …``) it starts the simulator on
127.0.0.1:8765 (``--sim-port``) with the demo seed and a fresh token for this run, its state
beside the workspace (``data/workspace.kleer-sim.db``), then Streamlit on 127.0.0.1:8501
(``--port``). ``--reset`` deletes the workspace and its simulator state first (a fresh demo).
Ctrl-C (or SIGTERM) stops everything it started; children also die with it if it is killed
outright (Linux ``PDEATHSIG``).

:func:`serve_simulator` is what ``workbench kleer-sim`` runs: the simulator alone.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from . import defaults
from .defaults import ROOT
from .errors import InputError, WorkbenchError
from .kleer.config import TOKEN_ENV, is_loopback, token_from_environment

__all__ = ["RunOptions", "run", "wait_for_port", "serve_simulator"]


@dataclass(frozen=True)
class RunOptions:
    workspace: str
    app_port: int = defaults.APP_PORT
    sim_port: int = defaults.SIM_PORT
    sim_db: str | None = None  # default: beside the workspace (defaults.simulator_state_path)
    reset: bool = False
    open_browser: bool = False

    @property
    def simulator_state(self) -> str:
        return self.sim_db or defaults.simulator_state_path(self.workspace)


def reset_workspace(opts: RunOptions, *, log=print) -> None:
    """Delete the workspace file (with its WAL) and the simulator state it was served with."""
    gone = []
    for path in (opts.workspace, opts.simulator_state):
        for suffix in ("", "-wal", "-shm"):
            p = Path(path + suffix)
            if p.exists():
                p.unlink()
                gone.append(p.name)
    log(f"reset: removed {', '.join(gone)}" if gone else "reset: nothing to remove")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, *, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:port (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise WorkbenchError(f"{proc.args[2] if len(proc.args) > 2 else proc.args[0]} exited "
                                 f"with code {proc.returncode} before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise WorkbenchError(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f} s")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, cwd=ROOT,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def ensure_demo_workspace(path: str, *, log=print) -> bool:
    """Create the demo workspace (HR employees and their leave from data/demo) when the file does
    not exist yet."""
    if Path(path).exists():
        return False
    from .api import Workbench

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Workbench(path, analyst="demo setup") as wb:
        result = wb.load_hr(defaults.DEMO_HR_FILE)
        leave = wb.load_leave(defaults.DEMO_LEAVE_FILE)  # a month of absences (the Leave page)
    log(f"created the demo workspace {path}: {result}; {leave}")
    return True


def run(opts: RunOptions, *, log=print) -> int:
    """Start the simulator (unless a real Kleer is configured) and the app; block until Ctrl-C."""
    from .api import Workbench

    if opts.reset:
        reset_workspace(opts, log=log)
    created = ensure_demo_workspace(opts.workspace, log=log)
    with Workbench(opts.workspace) as wb:
        settings = wb.settings
    env = dict(os.environ, **{defaults.WORKSPACE_ENV: str(Path(opts.workspace).resolve())})
    real_kleer = not is_loopback(urlparse(settings.kleer_base_url).hostname or "")  # configured: never replaced by the demo
    procs: list[subprocess.Popen] = []

    def on_term(signum, frame):  # SIGTERM → the same clean stop as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        if not real_kleer:
            for port, what in ((opts.sim_port, "the Kleer simulator"), (opts.app_port, "the app")):
                if not _port_free(port):
                    raise WorkbenchError(f"port {port} on 127.0.0.1 is in use, so {what} cannot start; "
                                         "stop whatever uses it (another `make run`?) and try again")
            token = secrets.token_urlsafe(24)
            env[TOKEN_ENV] = token
            Path(opts.simulator_state).parent.mkdir(parents=True, exist_ok=True)
            sim = _spawn([sys.executable, "-m", "workbench.cli", "kleer-sim", "--port", str(opts.sim_port),
                          "--db", opts.simulator_state, "--seed", str(defaults.DEMO_KLEER_SEED),
                          "--company", str(settings.kleer_company_id)], env)
            procs.append(sim)
            wait_for_port(opts.sim_port, proc=sim)
            base = f"http://127.0.0.1:{opts.sim_port}/v1"
            if settings.kleer_base_url != base:
                with Workbench(opts.workspace, analyst="demo setup") as wb:
                    wb.update_settings(kleer_base_url=base)
            if created:
                _first_fetch(opts.workspace, token=token, log=log)
        else:
            token_state = f"token from {TOKEN_ENV}" if token_from_environment() else \
                f"{TOKEN_ENV} is not set: set it (or .streamlit/secrets.toml) to connect"
            log(f"Kleer: {settings.kleer_base_url}, company {settings.kleer_company_id} ({token_state})")
        app = _spawn([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                      "--server.address", "127.0.0.1", "--server.port", str(opts.app_port),
                      "--server.headless", "true", "--browser.gatherUsageStats", "false"], env)
        procs.append(app)
        wait_for_port(opts.app_port, proc=app, timeout=60)
        log(f"Kleer Workbench: http://127.0.0.1:{opts.app_port}  (Ctrl-C stops everything)")
        while all(p.poll() is None for p in procs):
            time.sleep(0.3)
        dead = [p for p in procs if p.poll() is not None]
        log(f"a process stopped (exit code {dead[0].returncode}); stopping the rest")
        return 1
    except KeyboardInterrupt:
        log("stopping…")
        return 0
    finally:
        _stop(procs)


def _first_fetch(workspace: str, *, token: str, log=print) -> None:
    """Fill a new demo workspace with Kleer's employees and match suggestions."""
    from .api import Workbench

    with Workbench(workspace, analyst="demo setup") as wb:
        try:
            fetched, suggested = wb.refresh_kleer(token=token)
            log(f"fetched {fetched}")
            log(f"suggested matches for {suggested} Kleer employees")
        except WorkbenchError as e:
            log(f"could not prepare the demo workspace fully: {e}")


def serve_simulator(*, port: int, db: str, seed: str | None, token_file: str | None,
                    company: int, host: str, reset: bool, faults: dict,
                    dialect: str | None = None) -> int:
    """Serve the local Kleer simulator until Ctrl-C (``workbench kleer-sim``). The token comes
    from ``$KLEER_TOKEN`` or a file only the owner can read, never from the command line."""
    from .kleer.config import token_from_file
    from .kleer.simulator import Dialect, Faults, serve

    token = token_from_file(token_file) if token_file else token_from_environment()
    if not token:
        raise InputError(f"the simulator needs a token: set {TOKEN_ENV} or pass --token-file")
    try:
        fault_switch = Faults(**faults)
        parsed = Dialect.parse(dialect)
    except ValueError as e:
        raise InputError(str(e)) from None
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    serve(port, db, seed, token=token, company_id=company, host=host, faults=fault_switch,
          reset=reset, dialect=parsed, announce=lambda line: print(line, flush=True))
    return 0
