"""Every default in one place: ports, demo paths, environment variable names and their lookups.

>>> KLEER_BASE_URL
'http://127.0.0.1:8765/v1'
>>> simulator_state_path("data/workspace.db")
'data/workspace.kleer-sim.db'
"""

from __future__ import annotations

import os
from pathlib import Path

from .kleer.config import TOKEN_ENV

__all__ = ["APP_PORT", "SIM_PORT", "KLEER_BASE_URL", "KLEER_COMPANY_ID", "ROOT", "DEMO_DIR",
           "DEMO_HR_FILE", "DEMO_KLEER_SEED", "DEMO_LEAVE_FILE", "WORKSPACE_ENV", "ANALYST_ENV", "TOKEN_ENV",
           "DEFAULT_WORKSPACE", "workspace_path", "analyst_from_environment",
           "simulator_state_path"]

#: The app's port on 127.0.0.1 (``make run PORT=…``, ``workbench run --port``).
APP_PORT = 8501
#: The local Kleer simulator's port on 127.0.0.1 (``make run SIM_PORT=…``, ``--sim-port``).
SIM_PORT = 8765
#: Where a new workspace looks for Kleer: the local simulator.
KLEER_BASE_URL = f"http://127.0.0.1:{SIM_PORT}/v1"
KLEER_COMPANY_ID = 1

#: The repository (for the demo files and the app) when running from a checkout.
ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "data" / "demo"
DEMO_HR_FILE = DEMO_DIR / "hr_employees.csv"
DEMO_KLEER_SEED = DEMO_DIR / "kleer_seed.json"
DEMO_LEAVE_FILE = DEMO_DIR / "leave.csv"

#: The workspace file (default :data:`DEFAULT_WORKSPACE`).
WORKSPACE_ENV = "WORKBENCH_WORKSPACE"
#: Who the audit records when nobody says (CLI, notebooks).
ANALYST_ENV = "WORKBENCH_ANALYST"
DEFAULT_WORKSPACE = "data/workspace.db"


def workspace_path() -> str:
    """``$WORKBENCH_WORKSPACE``, else ``data/workspace.db``."""
    return os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE


def analyst_from_environment() -> str | None:
    return os.environ.get(ANALYST_ENV) or None


def simulator_state_path(workspace: str | Path) -> str:
    """Where the launcher keeps the simulator's state for ``workspace``: beside it, named after
    it (``data/workspace.db`` → ``data/workspace.kleer-sim.db``), so each workspace has its own
    Kleer and deleting both starts afresh."""
    p = Path(workspace)
    return str(p.with_name(f"{p.stem}.kleer-sim.db"))
