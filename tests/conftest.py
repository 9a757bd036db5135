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


# --------------------------------------------------------------------------- data/ is the user's

def _data_state() -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(ROOT)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted((ROOT / "data").rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="session", autouse=True)
def data_folder_untouched():
    """The suite never writes data/ (the workspace and simulator state of ``make run``): every
    test works in a temporary folder, so ``make test`` after ``make run`` and the other way round
    find what they left. Checked when the session ends."""
    before = _data_state()
    yield
    after = _data_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the test suite changed files under data/: {changed}"


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


# --------------------------------------------------------------------------- Kleer simulator

KLEER_TEST_TOKEN = "kleer-test-token-5f2c9a7e"  # distinctive, so tests can search output for it


@pytest.fixture(scope="session")
def _kleer_sim_server(tmp_path_factory):
    from workbench.kleer.simulator import RunningSimulator, sample_seed

    sim = RunningSimulator(tmp_path_factory.mktemp("kleer-sim") / "kleer-sim.db",
                           seed=sample_seed(12), token=KLEER_TEST_TOKEN, company_id=1)
    yield sim.start()
    sim.stop()


def _dialects() -> list[str]:
    from workbench.kleer.schema import DIALECTS

    return list(DIALECTS)


def pytest_configure(config):
    config.addinivalue_line("markers", "every_dialect: run the test against the simulator "
                            "speaking each dialect (lenient, strict, strict-id, strict-xml, "
                            "strict-500): the kleer_dialect fixture is parametrised")
    config.addinivalue_line("markers", "dialect(name): the kleer_sim of this test (or module) "
                            "speaks that one dialect instead of the default")


def pytest_generate_tests(metafunc):
    """Tests (or modules) marked ``every_dialect`` run once per simulator dialect; those marked
    ``dialect(name)`` against that one."""
    if "kleer_dialect" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("every_dialect"):
        metafunc.parametrize("kleer_dialect", _dialects(), indirect=True)
    elif (only := metafunc.definition.get_closest_marker("dialect")) is not None:
        metafunc.parametrize("kleer_dialect", list(only.args), indirect=True)


@pytest.fixture
def kleer_dialect(request) -> str:
    """The dialect the ``kleer_sim`` of this test speaks: the simulator's default
    (``DEFAULT_DIALECT``, strict), or each in turn for a test marked ``every_dialect``."""
    from workbench.kleer.schema import DEFAULT_DIALECT

    return getattr(request, "param", DEFAULT_DIALECT)


@pytest.fixture
def kleer_sim(_kleer_sim_server, request, kleer_dialect):
    """The Kleer simulator over real HTTP on 127.0.0.1 (one server per test session, in a
    background thread, state in a temporary SQLite file), reset before every test: the seed
    loaded again, every fault off, the write counters at zero.

    It speaks the ``kleer_dialect`` fixture's dialect (the default, strict, unless the test is
    marked ``every_dialect``: then once per dialect).

    The default seed is ``workbench.kleer.simulator.sample_seed(12)``: users 1–12 with
    foreign-ids E00001–E00012; users 5 and 10 have no payroll contract, user 7 is inactive,
    user 11 has an employment end date. Another seed (a dict or a JSON path, e.g.
    ``data/demo/kleer_seed.json``) through ``@pytest.mark.parametrize("kleer_sim", [seed],
    indirect=True)``, or ``kleer_sim.reset(seed)`` inside a test.

    The object (:class:`workbench.kleer.simulator.RunningSimulator`) offers:
    ``base_url`` (ends in ``/v1``), ``company_id``, ``token``; ``client(**overrides)`` a ready
    ``KleerClient`` (fast retries; close it or use ``with``); ``set_faults(latency_ms=…,
    error_rate=…, rate_limit=…, write_then_fail=…, write_fail_mode="500"|"drop",
    fail_next=…, fail_status=…, seed=…)``; ``state()`` counts (``users``, ``active_users``,
    ``contracts``, ``writes`` per kind: ``create_user``, ``update_user``, ``upsert_contract``,
    ``create_contract``); ``dump()`` every user and contract as stored; ``stop()`` and
    ``start()`` (a restart on the same port, state kept). For a simulator in a separate
    process (to kill it), run ``workbench kleer-sim`` as a subprocess.
    """
    from workbench.kleer.schema import Dialect

    # the dialect it speaks after every reset (and that its client() is given)
    _kleer_sim_server.dialect = Dialect.parse(kleer_dialect)
    if not _kleer_sim_server.running:  # a test stopped it and did not start it again
        _kleer_sim_server.start()
    _kleer_sim_server.clear_faults()
    _kleer_sim_server.reset(getattr(request, "param", None))
    return _kleer_sim_server


@pytest.fixture
def demo_workbench(kleer_sim, workspace_path, monkeypatch) -> Workbench:
    """The demo as a user gets it: the simulator seeded with data/demo/kleer_seed.json, a workspace
    file with the demo HR file loaded, Kleer fetched over HTTP and matches suggested. The
    environment points the app (WORKBENCH_WORKSPACE, KLEER_TOKEN) at both."""
    kleer_sim.reset(DEMO / "kleer_seed.json")
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_path))
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    with Workbench(workspace_path, analyst="setup") as w:
        w.update_settings(kleer_base_url=kleer_sim.base_url, kleer_company_id=kleer_sim.company_id)
        w.load_hr(DEMO / "hr_employees.csv")
        w.fetch_kleer()
        w.suggest()
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


def as_read(text: str) -> str:
    """Escaped markdown text (``workbench.ui.text.md``) as the reader sees it on the page."""
    import html
    import re
    return html.unescape(re.sub(r"\\(.)", r"\1", text)).replace("\u2060", "")
