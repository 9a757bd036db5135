"""`workbench run` (what `make run` starts): the demo workspace on first run, the simulator and
the app on 127.0.0.1, and nothing left running after SIGTERM (or Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.conftest import ROOT, free_port, wait_http
from workbench import Workbench
from workbench.launcher import RunOptions, reset_workspace


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout
    return bool(state.strip()) and not state.strip().startswith("Z")


def launch(workspace, app_port: int, sim_port: int) -> subprocess.Popen:
    """``workbench run`` as ``make run`` starts it, without a token in the environment."""
    env = {k: v for k, v in os.environ.items() if k != "KLEER_TOKEN"}
    return subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "run", "--workspace", str(workspace),
         "--port", str(app_port), "--sim-port", str(sim_port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_run_serves_the_demo_and_stops_everything(tmp_path):
    workspace, app_port, sim_port = tmp_path / "ws.db", free_port(), free_port()
    proc = launch(workspace, app_port, sim_port)
    try:
        wait_http(f"http://127.0.0.1:{app_port}/_stcore/health", proc=proc, timeout=90)
        # the simulator answers on loopback (without the token: 401, so it is Kleer-like and up)
        assert httpx.get(f"http://127.0.0.1:{sim_port}/v1/company/1/user", timeout=5).status_code == 401
        children = _children(proc.pid)
        assert len(children) == 2  # the simulator and the app
        with Workbench(workspace) as wb:
            counts = wb.counts()
            assert wb.settings.kleer_base_url == f"http://127.0.0.1:{sim_port}/v1"
        assert counts["hr"] == 300 and counts["kleer"] == 321 and counts["suggestions"] > 250
        assert (tmp_path / "ws.kleer-sim.db").exists()  # the simulator's state beside its workspace
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output
    assert "Kleer Workbench: http://127.0.0.1:" in output and "stopping" in output
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(c) for c in children), "make run left processes behind"


def test_a_configured_real_kleer_starts_no_simulator(tmp_path):
    workspace, app_port, sim_port = tmp_path / "ws.db", free_port(), free_port()
    with Workbench(workspace, analyst="setup") as wb:
        wb.update_settings(kleer_base_url="https://test-api.kleer.se/v1", kleer_company_id=42)
    proc = launch(workspace, app_port, sim_port)
    try:
        wait_http(f"http://127.0.0.1:{app_port}/_stcore/health", proc=proc, timeout=90)
        assert len(_children(proc.pid)) == 1  # the app alone
        with Workbench(workspace) as wb:
            assert wb.settings.kleer_base_url == "https://test-api.kleer.se/v1"  # left as configured
            assert wb.counts()["hr"] == 0  # an existing workspace is not filled with the demo
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert "KLEER_TOKEN is not set" in output and "company 42" in output


def test_the_simulator_state_lives_beside_the_workspace_it_serves(tmp_path):
    opts = RunOptions(workspace=str(tmp_path / "team.db"))
    assert opts.simulator_state == str(tmp_path / "team.kleer-sim.db")
    assert RunOptions(workspace="x.db", sim_db="/elsewhere/s.db").simulator_state == "/elsewhere/s.db"


def test_reset_removes_the_workspace_and_its_simulator_state_only(tmp_path):
    opts = RunOptions(workspace=str(tmp_path / "ws.db"), reset=True)
    for name in ("ws.db", "ws.db-wal", "ws.kleer-sim.db", "other.db"):
        (tmp_path / name).write_text("x")
    said = []
    reset_workspace(opts, log=said.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]
    assert said == ["reset: removed ws.db, ws.db-wal, ws.kleer-sim.db"]


def test_run_accepts_reset_and_the_ports(tmp_path):
    from workbench.cli import build_parser

    args = build_parser().parse_args(["run", "--reset", "--port", "8601", "--sim-port", "8865"])
    assert (args.reset, args.port, args.sim_port) == (True, 8601, 8865)
    assert "--port $(PORT) --sim-port $(SIM_PORT) $(if $(RESET),--reset)" in \
        (ROOT / "Makefile").read_text(encoding="utf-8")
