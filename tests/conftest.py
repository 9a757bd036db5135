"""Shared fixtures: workspaces, the running app, the browser. One test file per feature."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from workbench.api import Workbench
from workbench.store import Workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# --------------------------------------------------------------------------- workspaces

@pytest.fixture
def workspace() -> Workspace:
    """An in-memory workspace."""
    ws = Workspace.memory()
    yield ws
    ws.close()


@pytest.fixture
def workspace_path(tmp_path) -> Path:
    """The path of a real SQLite workspace file in a temporary folder (not created yet)."""
    return tmp_path / "workspace.db"


@pytest.fixture
def wb(workspace_path) -> Workbench:
    """A Workbench on a real SQLite file."""
    with Workbench(workspace_path, analyst="Test Analyst") as w:
        yield w


# --------------------------------------------------------------------------- pages (AppTest)

def open_page(page: str, *, analyst: str = "Ada", timeout: float = 30):
    """AppTest of ``page`` (e.g. ``"pages/import_kleer.py"``) the way a user reaches it: app.py's
    router first, then the page, with the analyst already identified. The workspace is the one
    named by WORKBENCH_WORKSPACE (set it with monkeypatch)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.session_state["analyst"] = analyst
    at.run()
    at.switch_page(page)
    return at.run()


# --------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, *, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


class RunningApp:
    """The real app (``streamlit run app.py``) on a free port of 127.0.0.1."""

    def __init__(self, workspace: Path, env: dict[str, str] | None = None):
        self.workspace = workspace
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = dict(os.environ, WORKBENCH_WORKSPACE=str(workspace), **(env or {}))
        self.log = open(workspace.parent / f"streamlit-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_http(f"{self.url}/_stcore/health", proc=self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def start_app(tmp_path):
    """Factory: ``start_app(workspace_path, env={...})`` starts the app; stopped at teardown."""
    apps: list[RunningApp] = []

    def start(workspace: Path, env: dict[str, str] | None = None) -> RunningApp:
        app = RunningApp(workspace, env)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()


# --------------------------------------------------------------------------- browser

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests save screenshots (look at them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's Chromium. Without it they are skipped locally, but under
    CI=true a missing browser is a failure (the Makefile installs it as root)."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.usefixtures("_chromium_required"))
        return
    skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium); "
                                   "`make test` installs it when run as root")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def _chromium_required():
    pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}: install it with apt-get install chromium")
