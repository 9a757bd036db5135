"""Apply when Kleer misbehaves, against the simulator over real HTTP.

Latency spikes beyond the client's timeout, 500 and 503 bursts, 429 with Retry-After, writes
that land but whose answer is lost (a 500, a dropped connection), the simulator process killed
mid-apply (left down, or restarted while the apply waits). The workbench process killed
mid-apply is tests/test_sync_crash.py. Every test ends with :func:`tally`: Kleer users per
foreign-id, user and contract writes, journal statuses, links, audit rows and the snapshot read
back, compared with the plan: nothing lost, nothing done twice. The counts are printed (run
with ``-s`` to see them)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from workbench import apply as applying
from workbench.errors import KleerUnavailable
from workbench.kleer.client import KleerClient, Retry

from .conftest import KLEER_TEST_TOKEN, free_port, wait_http
from .sync_support import (close_workbench, kleer_json, kleer_record, kleer_seed, open_workbench, person,
                           report, tally)

FAST = Retry(attempts=3, backoff=0.01, max_backoff=0.02, jitter=0.1)


# --------------------------------------------------------------------------- helpers

def done_or_failed_with_a_reason(result, plan) -> None:
    assert set(result.counts_dict) <= {"done", "failed"}
    assert sum(result.counts_dict.values()) == len(plan.operations)
    for p in result.problems:
        assert p.status == "failed" and len(p.reason or "") > 20


class _Writes:
    """The real client, noting every write whose answer was lost (it may have landed), and
    calling ``before_first_write`` once, just before the first create is sent."""

    def __init__(self, client: KleerClient, before_first_write=lambda: None):
        self._client, self._hook = client, before_first_write
        self.lost: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def _write(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._client, name)(*args)
        except KleerUnavailable as e:
            if e.write_may_have_landed:
                self.lost.append(name)
            raise

    def create_user(self, user):
        hook, self._hook = self._hook, lambda: None
        hook()
        return self._write("create_user", user)

    def update_user(self, user_id, fields):
        return self._write("update_user", user_id, fields)

    def upsert_contract(self, user_id, fields):
        return self._write("upsert_contract", user_id, fields)


# --------------------------------------------------------------------------- in-process faults

SEEDED = 2  # E0000 and E0001 are in Kleer (ids 1 and 2), linked, with another salary


@pytest.fixture
def wb(workspace_path, kleer_sim):
    """HR E0000..E0011, export decided for all: 10 creates and 2 updates."""
    hr = [person(i) for i in range(12)]
    pairs = [kleer_json(hr[i], i + 1, **{"monthly-salary": 99000}) for i in range(SEEDED)]
    w = open_workbench(workspace_path, kleer_sim, hr, pairs)
    for i in range(SEEDED):
        w.workspace.links.add(hr[i]["hr_id"], i + 1, analyst="Ada", method="manual")
    w.decide([{"hr_id": r["hr_id"], "action": "export"} for r in hr])
    yield w
    close_workbench(w)


def test_latency_spike_beyond_the_client_timeout_verifies_instead_of_writing_twice(
        wb, kleer_sim, request):
    plan = wb.plan("export")
    spike_ends = threading.Timer(0.8, kleer_sim.clear_faults)

    def spike() -> None:  # Kleer answers 400 ms late for 0.8 s; the client waits 0.2 s
        kleer_sim.set_faults(latency_ms=400)
        spike_ends.start()

    with kleer_sim.client(timeout=httpx.Timeout(0.2, connect=1.0)) as real:
        client = _Writes(real, before_first_write=spike)
        first = wb.apply(plan, client=client)
    assert "create_user" in client.lost  # writes timed out on the client...
    done_or_failed_with_a_reason(first, plan)
    spike_ends.join()
    rerun = wb.apply(plan)
    assert rerun.counts_dict == {"done": len(plan.operations)}
    answers = [json.loads(r["answer"]) for r in wb.workspace.query(
        "SELECT answer FROM journal WHERE kind = 'kleer_create'")]
    found = sum(bool(a.get("recovered")) or a.get("created") is False for a in answers)
    assert found >= 1  # ...landed all the same, and were found by the check, not sent again
    counts = tally(wb, plan, kleer_sim.dump(), kleer_sim.state(), seeded=SEEDED)
    report(request.node.name, {**counts, "writes_with_lost_answers": len(client.lost),
                               "creates_found_landed": found,
                               "failed_first_run": first.counts_dict.get("failed", 0)})


@pytest.mark.parametrize("status", [500, 503])
def test_bursts_of_server_errors_lose_nothing_and_do_nothing_twice(wb, kleer_sim, status,
                                                                     request):
    plan = wb.plan("export")
    bursts = 0

    def burst(done: int = 0, total: int = 0, op: Any = None) -> None:
        nonlocal bursts  # 4 answers in a row are `status`: at the start, then every 3 operations
        if done % 3 == 0:
            bursts += 1
            kleer_sim.set_faults(fail_next=4, fail_status=status)

    burst()
    first = wb.apply(plan, on_progress=burst)
    done_or_failed_with_a_reason(first, plan)
    faulted = kleer_sim.state()["fault_answers"]
    assert 4 <= faulted <= 4 * bursts
    kleer_sim.clear_faults()
    rerun = wb.apply(plan)
    assert rerun.counts_dict == {"done": len(plan.operations)}
    assert rerun.ran_here == first.counts_dict.get("failed", 0)
    counts = tally(wb, plan, kleer_sim.dump(), kleer_sim.state(), seeded=SEEDED)
    report(request.node.name, {**counts, "error_answers": faulted, "bursts": bursts,
                               "failed_first_run": first.counts_dict.get("failed", 0)})


def test_429_with_retry_after_is_waited_out_as_long_as_kleer_asks(wb, kleer_sim, caplog,
                                                                  request):
    plan = wb.plan("export")
    requests_before = kleer_sim.state()["requests"]
    kleer_sim.set_faults(rate_limit=8)  # over 8 requests a second: 429, Retry-After: 1
    caplog.set_level(logging.INFO, logger="workbench.kleer")
    started = time.monotonic()
    result = wb.apply(plan)
    seconds = time.monotonic() - started
    assert result.counts_dict == {"done": len(plan.operations)}
    retried = [r.getMessage() for r in caplog.records
               if r.name == "workbench.kleer" and ": 429;" in r.getMessage()]
    limited = kleer_sim.state()["fault_answers"]
    assert limited > 0 and len(retried) == limited  # every 429 was retried, none gave up
    # waited out in the client's one pause (the limiter's), not by each thread on its own
    assert all("after the client's pause" in m for m in retried)
    assert result.concurrency["counts"]["429"] == limited
    waits = [c["reason"] for c in result.concurrency["changes"] if c["reason"].startswith("429")]
    assert waits and all(w == "429 Too Many Requests (Retry-After 1 s)" for w in waits)
    requests = kleer_sim.state()["requests"] - requests_before
    assert seconds >= (requests - limited) / 8 - 1  # served no faster than 8 a second
    counts = tally(wb, plan, kleer_sim.dump(), kleer_sim.state(), seeded=SEEDED)
    report(request.node.name, {**counts, "answers_429": limited,
                               "level_changes": result.concurrency["changes"],
                               "apply_seconds": round(seconds, 2), "requests": requests})


@pytest.mark.parametrize("mode", ["500", "drop"])
def test_writes_that_land_but_lose_their_answer_are_verified_not_repeated(wb, kleer_sim, mode,
                                                                          request):
    plan = wb.plan("export")
    kleer_sim.set_faults(write_then_fail=0.5, write_fail_mode=mode, seed=3)
    with kleer_sim.client() as real:
        client = _Writes(real)
        result = wb.apply(plan, client=client)
    assert result.counts_dict == {"done": len(plan.operations)}  # each checked and settled
    lost = kleer_sim.state()["fault_answers"]
    assert lost == len(client.lost) > 0 and {"create_user", "upsert_contract"} <= set(client.lost)
    recovered = [json.loads(r["answer"]) for r in wb.workspace.query(
        "SELECT answer FROM journal WHERE kind = 'kleer_create'")]
    assert any(a.get("recovered") for a in recovered)
    assert wb.workspace.query("SELECT max(attempts) AS n FROM journal")[0]["n"] == 1
    counts = tally(wb, plan, kleer_sim.dump(), kleer_sim.state(), seeded=SEEDED)
    report(request.node.name, {**counts, "answers_lost": lost, "lost_by_write": Counter(client.lost),
                               "creates_recovered": sum(bool(a.get("recovered")) for a in recovered)})


# --------------------------------------------------------------------------- a simulator process

class SimProcess:
    """``workbench kleer-sim`` in a process of its own, so it can be killed with SIGKILL and
    started again on the same port over the same state file. Offers what ``open_workbench``
    and :func:`tally` need of a simulator."""

    def __init__(self, folder: Path, *, latency_ms: float):
        self.folder, self.latency_ms = folder, latency_ms
        self.port, self.token, self.company_id = free_port(), KLEER_TEST_TOKEN, 1
        self.proc: subprocess.Popen | None = None
        (folder / "seed.json").write_text(json.dumps(kleer_seed([])), encoding="utf-8")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> "SimProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli", "kleer-sim", "--port", str(self.port),
             "--db", str(self.folder / "kleer-sim.db"), "--seed", str(self.folder / "seed.json"),
             "--latency-ms", str(self.latency_ms)],
            env={**os.environ, "KLEER_TOKEN": self.token},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"{self.url}/_admin/state", timeout=30, proc=self.proc)
        return self

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def _admin(self, method: str, what: str, body: Any = None) -> Any:
        answer = httpx.request(method, f"{self.url}/_admin/{what}", json=body, timeout=10,
                               headers={"X-Token": self.token})
        answer.raise_for_status()
        return answer.json()

    def reset(self, seed: dict) -> Any:
        return self._admin("POST", "reset", {"seed": seed})

    def state(self) -> dict:
        return self._admin("GET", "state")

    def dump(self) -> dict:
        return self._admin("GET", "dump")

    def client(self, **options: Any) -> KleerClient:
        return KleerClient(**{"base_url": self.base_url, "company_id": self.company_id,
                              "token": self.token, "retries": FAST, **options})


@pytest.fixture
def sim_process(tmp_path):
    sim = SimProcess(tmp_path, latency_ms=20).start()
    yield sim
    sim.stop()


@pytest.fixture
def big_export(workspace_path, sim_process):
    """A factory: ``big_export(n, **client_options)`` → (workbench, plan) of n creates into
    the empty company of the simulator process."""
    opened = []

    def make(n: int, **client_options: Any):
        hr = [person(i) for i in range(n)]
        wb = open_workbench(workspace_path, sim_process, hr, [], **client_options)
        opened.append(wb)
        wb.decide([{"hr_id": r["hr_id"], "action": "export"} for r in hr])
        return wb, wb.plan("export")

    yield make
    for wb in opened:
        close_workbench(wb)


def test_the_simulator_killed_mid_apply_fails_clearly_and_a_rerun_after_restart_finishes(
        big_export, sim_process, request):
    wb, plan = big_export(120)

    def kill_at_30(done: int, total: int, op: Any) -> None:
        if done == 30:
            sim_process.kill()

    first = wb.apply(plan, on_progress=kill_at_30)  # a result, not a traceback
    assert sim_process.proc.returncode == -signal.SIGKILL
    done_or_failed_with_a_reason(first, plan)
    failed = first.counts_dict["failed"]
    assert 30 <= first.counts_dict["done"] < 120 and failed == 120 - first.counts_dict["done"]
    for p in first.problems:  # says what went wrong and what to do
        assert ("cannot reach Kleer" in p.reason and "check the base URL" in p.reason) or \
            ("may have been saved" in p.reason and "re-run the apply" in p.reason), p.reason
    linked = set(wb.links()["kleer_id"])
    assert set(first.unrefreshed) == linked and len(linked) == first.counts_dict["done"]
    assert f"{len(linked)} Kleer record(s) written but not read back" in str(first)

    sim_process.start()  # same port, same state file
    rerun = wb.apply(plan)
    assert rerun.counts_dict == {"done": 120} and rerun.ran_here == failed
    assert rerun.unrefreshed == ()
    retried = wb.workspace.query("SELECT count(*) AS n FROM journal WHERE attempts = 2")[0]["n"]
    assert retried == failed
    counts = tally(wb, plan, sim_process.dump(), sim_process.state(), seeded=0)
    report(request.node.name, {**counts, "done_before_it_died": first.counts_dict["done"],
                               "failed_while_down": failed, "rerun_ran": rerun.ran_here})


def test_the_simulator_restarted_while_the_apply_waits_lets_the_same_apply_finish(
        big_export, sim_process, caplog, request):
    patient = Retry(attempts=10, backoff=0.1, max_backoff=0.5, jitter=0.1)  # ~4 s of retries
    wb, plan = big_export(120, retries=patient)
    killed, restart = [], threading.Thread(target=sim_process.start)

    def kill_and_restart_at_30(done: int, total: int, op: Any) -> None:
        if done == 30:
            killed.append(sim_process.proc)
            sim_process.kill()
            restart.start()

    caplog.set_level(logging.WARNING, logger="workbench.kleer")
    result = wb.apply(plan, on_progress=kill_and_restart_at_30)
    restart.join()
    assert killed[0].returncode == -signal.SIGKILL and sim_process.proc is not killed[0]
    unreachable = [r for r in caplog.records if r.name == "workbench.kleer"
                   and r.args and r.args[2] in ("ConnectError", "RemoteProtocolError", "ReadError")]
    # requests failed while it was down (no answer: the limiter counted them) and were tried
    # again, by their retries or after the limiter's outage pause held them in its gate
    assert result.concurrency["counts"]["failed"] >= 1
    assert result.counts_dict == {"done": 120} and result.ran_here == 120
    assert result.unrefreshed == ()
    counts = tally(wb, plan, sim_process.dump(), sim_process.state(), seeded=0)
    report(request.node.name, {**counts, "killed_after_done": 30,
                               "requests_retried_while_down": len(unreachable),
                               "requests_without_answer": result.concurrency["counts"]["failed"]})


# --------------------------------------------------------------------------- small batches, one fault each
# Ten HR employees, two of them already in Kleer and linked: a create whose answer is lost, a
# Kleer that cannot be asked afterwards, a storm of 429 answers without Retry-After.

@pytest.fixture
def wb10(workspace_path, kleer_sim):
    """HR E0000..E0009; Kleer holds E0000 and E0001 (ids 1, 2; linked) with another salary."""
    hr = [person(i) for i in range(10)]
    pairs = [kleer_json(hr[i], i + 1, **{"monthly-salary": 99000}) for i in range(2)]
    w = open_workbench(workspace_path, kleer_sim, hr, pairs)
    for i in range(2):
        w.workspace.links.add(hr[i]["hr_id"], i + 1, analyst="Ada", method="manual")
    yield w
    close_workbench(w)


def export(wb10, ids):
    """Decide export for ``ids`` and plan it."""
    wb10.decide([{"hr_id": h, "action": "export"} for h in ids])
    return wb10.plan("export", ids)


def users_by_foreign_id(sim) -> Counter:
    return Counter(u.get("foreign-id") for u in sim.dump()["users"])


def _all_done_or_failed_with_a_reason(result, plan):
    statuses = result.counts_dict
    assert set(statuses) <= {"done", "failed"} and sum(statuses.values()) == len(plan.operations)
    for p in result.problems:
        assert p.status == "failed" and p.reason and len(p.reason) > 20


@pytest.mark.parametrize("mode", ["500", "drop"])
def test_a_create_that_landed_but_failed_to_answer_is_linked_not_repeated(wb10, kleer_sim, mode):
    kleer_sim.set_faults(write_then_fail=1.0, write_fail_mode=mode)
    plan = export(wb10, ["E0003", "E0004", "E0005"])
    result = wb10.apply(plan)
    assert result.counts_dict == {"done": 3}
    assert kleer_sim.state()["fault_answers"] >= 6  # every create and contract answer was lost
    counts = users_by_foreign_id(kleer_sim)
    assert [counts[h] for h in ("E0003", "E0004", "E0005")] == [1, 1, 1]
    assert kleer_sim.state()["writes"]["create_user"] == 3
    answers = [r["answer"] for r in wb10.workspace.query("SELECT answer FROM journal")]
    assert all('"recovered": true' in a for a in answers)
    for h in ("E0003", "E0004", "E0005"):
        kid = wb10.workspace.links.of(hr_id=h)["kleer_id"]
        assert kleer_record(kleer_sim, kid)["ssn"] == wb10.workspace.hr.get(h)["ssn"]


class _NetworkGoneAfterCreate:
    """The real client, except that once a create was sent the network is gone for lookups:
    the apply cannot learn whether the create landed."""

    def __init__(self, client):
        self._client, self._created = client, False

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_user(self, user):
        self._created = True
        return self._client.create_user(user)

    def find_user_by_foreign_id(self, foreign_id):
        if self._created:
            raise KleerUnavailable("cannot reach Kleer (ConnectError, 5 tries)")
        return self._client.find_user_by_foreign_id(foreign_id)

    def list_users(self):  # nor can the lists tell (the apply's reconciliation asks them too)
        if self._created:
            raise KleerUnavailable("cannot reach Kleer (ConnectError, 5 tries)")
        return self._client.list_users()

    def list_contracts(self):
        if self._created:
            raise KleerUnavailable("cannot reach Kleer (ConnectError, 5 tries)")
        return self._client.list_contracts()


def test_when_the_answer_is_lost_and_kleer_cannot_be_asked_the_rerun_links(wb10, kleer_sim):
    plan = export(wb10, ["E0003"])
    kleer_sim.set_faults(write_then_fail=1.0)
    with kleer_sim.client() as real:
        first = applying.apply(plan, wb10.workspace, _NetworkGoneAfterCreate(real), "Ada")
    assert first.counts_dict == {"failed": 1}
    [problem] = first.problems
    assert "may have been saved" in problem.reason and "re-run" in problem.reason
    assert users_by_foreign_id(kleer_sim)["E0003"] == 1  # it did land
    assert wb10.workspace.links.of(hr_id="E0003") is None
    kleer_sim.clear_faults()
    second = wb10.apply(plan)
    assert second.counts_dict == {"done": 1} and second.ran_here == 1
    assert users_by_foreign_id(kleer_sim)["E0003"] == 1
    assert kleer_sim.state()["writes"]["create_user"] == 1
    kid = wb10.workspace.links.of(hr_id="E0003")["kleer_id"]
    row = wb10.workspace.query("SELECT answer, attempts FROM journal")[0]
    assert row["attempts"] == 2 and '"created": false' in row["answer"]
    assert '"contract_created": true' in row["answer"]  # the first run never got that far
    assert kleer_record(kleer_sim, kid)["account_nr"] == wb10.workspace.hr.get("E0003")["account_nr"]


def test_a_429_storm_ends_with_every_operation_done_or_failed_and_a_rerun_finishes(wb10, kleer_sim):
    plan = export(wb10, [f"E{i:04d}" for i in range(10)])  # 8 creates + 2 updates
    kleer_sim.set_faults(fail_next=30, fail_status=429)
    result = wb10.apply(plan)
    _all_done_or_failed_with_a_reason(result, plan)
    assert all("429" in p.reason or "limiting" in p.reason for p in result.problems)
    assert kleer_sim.state()["fault_answers"] == 30
    kleer_sim.clear_faults()
    rerun = wb10.apply(plan)
    assert rerun.counts_dict == {"done": 10}
    counts = users_by_foreign_id(kleer_sim)
    assert {h: counts[h] for h in (f"E{i:04d}" for i in range(10))} == {f"E{i:04d}": 1 for i in range(10)}
    assert [kleer_record(kleer_sim, k)["monthly_salary"] for k in (1, 2)] == [30000, 30100]
