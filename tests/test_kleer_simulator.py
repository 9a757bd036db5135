"""Contract tests: KleerClient against the Kleer simulator over real HTTP on 127.0.0.1, every
endpoint and every status path, the JSON shapes of KLEER_API.md, the write rules, the fault
switches, state that survives a restart, and the ``workbench kleer-sim`` command.

The ``kleer_sim`` here speaks the lenient dialect (partial updates merged, a name the only
required field, 400 with a message): these tests pin that older behaviour, which the lenient
dialect keeps. The strict dialects (the default) are tests/test_kleer_dialects.py."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from workbench.errors import InputError, KleerAuthError, KleerRejected, KleerUnavailable
from workbench.kleer.client import Retry
from workbench.kleer.simulator import (
    Faults,
    RunningSimulator,
    apply_contract_write,
    sample_seed,
    serve,
)

from .conftest import free_port

pytestmark = pytest.mark.dialect("lenient")

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.fixture
def raw(kleer_sim):
    """``raw(method, path, ...)``: a plain HTTP request to the simulator's company (no client
    logic in between), with the token and the JSON headers unless told otherwise."""
    http = httpx.Client(timeout=10)

    def request(method, path, *, json_headers=True, token=None, **kw) -> httpx.Response:
        headers = {"X-Token": kleer_sim.token if token is None else token}
        if json_headers:
            headers.update({"Accept": "application/json", "Content-Type": "application/json"})
        return http.request(method, f"{kleer_sim.base_url}/company/{kleer_sim.company_id}{path}",
                            headers=headers, **kw)

    yield request
    http.close()


def keys_are_kebab(value) -> bool:
    if isinstance(value, dict):
        return all(KEBAB.match(k) and keys_are_kebab(v) for k, v in value.items())
    if isinstance(value, list):
        return all(keys_are_kebab(v) for v in value)
    return True


# --------------------------------------------------------------------------- reads and shapes

def test_list_answers_are_one_key_objects_with_kebab_case_keys(raw, kleer_sim):
    users = raw("GET", "/user").json()
    contracts = raw("GET", "/payroll/user").json()
    assert list(users) == ["users"] and len(users["users"]) == 12
    assert list(contracts) == ["payroll-user-readables"]
    assert len(contracts["payroll-user-readables"]) == 10  # users 5 and 10 have none
    assert keys_are_kebab(users) and keys_are_kebab(contracts)
    assert {"id", "foreign-id", "internal-id", "name", "email", "active"} <= set(users["users"][0])
    assert all(c["user"] == {"id": c["user"]["id"]} for c in contracts["payroll-user-readables"])
    assert any(u["active"] is False for u in users["users"])  # inactive users are listed


def test_single_objects_come_back_bare(raw, kleer_sim):
    user = raw("GET", "/user/3").json()
    assert user["id"] == 3 and user["foreign-id"] == "E00003"
    contract = raw("GET", "/payroll/user/3").json()
    assert contract["user"] == {"id": 3} and re.fullmatch(r"\d{8}-\d{4}", contract["ssn"])
    assert raw("GET", "/user/foreign-id/E00003").json() == user
    assert raw("GET", "/user/me").json()["id"] == 1


def test_client_reads_every_endpoint(kleer_sim):
    with kleer_sim.client() as client:
        assert client.me()["id"] == 1
        assert [u["id"] for u in client.list_users()] == list(range(1, 13))
        assert len(client.list_contracts()) == 10
        assert client.get_user(4)["name"] == client.find_user_by_foreign_id("E00004")["name"]
        assert client.get_contract(4)["user"] == {"id": 4}
        assert client.find_user_by_foreign_id("nobody") is None


def test_a_foreign_id_with_a_slash_and_non_ascii_is_found(kleer_sim):
    with kleer_sim.client() as client:
        kleer_id = client.create_user({"name": "Åsa Öberg", "foreign-id": "HR/7 ä"})
        assert client.find_user_by_foreign_id("HR/7 ä")["id"] == kleer_id
        assert client.find_user_by_foreign_id("HR/7") is None


def test_404_for_an_unknown_user_and_for_a_user_without_contract(raw, kleer_sim):
    with kleer_sim.client() as client:
        with pytest.raises(KleerRejected) as e:
            client.get_user(999)
        assert e.value.status == 404 and "User 999 not found" in str(e.value)
        assert client.get_contract(5) is None  # user 5 exists, without a contract
        assert client.get_contract(999) is None
    assert raw("GET", "/payroll/user/5").status_code == 404
    assert raw("GET", "/nothing/here").json() == {"message": "Not found"}


def test_401_for_a_wrong_token(raw, kleer_sim):
    with kleer_sim.client(token="not-the-token") as client:
        with pytest.raises(KleerAuthError) as e:
            client.list_users()
    assert e.value.status == 401
    assert raw("GET", "/user", token="").status_code == 401


def test_403_for_another_company(kleer_sim):
    with kleer_sim.client(company_id=2) as client:
        with pytest.raises(KleerAuthError) as e:
            client.me()
    assert e.value.status == 403 and "company id" in str(e.value)


def test_without_accept_json_the_answer_is_xml(raw, kleer_sim):
    r = raw("GET", "/user/3", json_headers=False)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert "<user><id>3</id><foreign-id>E00003</foreign-id>" in r.text
    listing = raw("GET", "/payroll/user", json_headers=False).text
    assert "<payroll-user-readables><payroll-user-readable><user><id>1</id></user>" in listing
    denied = raw("GET", "/user", json_headers=False, token="wrong")
    assert denied.status_code == 401 and "<error><message>" in denied.text
    with kleer_sim.client() as client:  # the client sends the headers, so it is unaffected
        assert client.get_user(3)["id"] == 3


def test_there_is_no_delete(raw, kleer_sim):
    r = raw("DELETE", "/user/3")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    assert kleer_sim.state()["users"] == 12


# --------------------------------------------------------------------------- writes

def test_put_creates_a_user_and_answers_its_id(raw, kleer_sim):
    r = raw("PUT", "/user", json={"name": "Ny Person", "foreign-id": "HR-1",
                                             "email": "ny@example.se"})
    assert r.status_code == 200 and r.json() == {"id": 13}
    with kleer_sim.client() as client:
        created = client.get_user(13)
        assert created == {"id": 13, "active": True, "name": "Ny Person", "foreign-id": "HR-1",
                           "email": "ny@example.se"}
        assert client.create_user({"name": "Another One"}) == 14
    assert kleer_sim.state()["writes"]["create_user"] == 2


def test_a_user_needs_a_name(kleer_sim):
    with kleer_sim.client() as client, pytest.raises(KleerRejected) as e:
        client.create_user({"foreign-id": "HR-2"})
    assert e.value.status == 400 and "name" in e.value.message
    assert kleer_sim.state()["users"] == 12


def test_update_changes_only_the_fields_sent(raw, kleer_sim):
    with kleer_sim.client() as client:
        before = client.get_user(2)
        client.update_user(2, {"email": "new@example.se", "active": False})
        after = client.get_user(2)
    assert after == {**before, "email": "new@example.se", "active": False}
    assert raw("POST", "/user/2", json={"name": "X Y"}).json() == {"id": 2}


def test_contract_create_requires_ssn_and_start_date(kleer_sim):
    with kleer_sim.client() as client:
        with pytest.raises(KleerRejected) as e:
            client.upsert_contract(5, {"employment-start-date": "2024-01-01"})
        assert e.value.status == 400 and "missing: ssn" in e.value.message
        assert client.get_contract(5) is None
        client.upsert_contract(5, {"ssn": "19850312-1231", "employment-start-date": "2024-01-01",
                                   "monthly-salary": 41000})
        assert client.get_contract(5) == {"user": {"id": 5}, "ssn": "19850312-1231",
                                          "employment-start-date": "2024-01-01",
                                          "monthly-salary": 41000}
    assert kleer_sim.state()["writes"] == {"create_contract": 1, "upsert_contract": 1}


def test_only_a_create_needs_ssn_and_start_date(kleer_sim):
    seed = {"users": [{"id": 1, "name": "Utan Nummer", "active": True}],
            "payroll-user-readables": [{"user": {"id": 1}, "ssn": None,
                                        "employment-start-date": "2020-01-01"}]}
    kleer_sim.reset(seed)
    with kleer_sim.client() as client:
        client.upsert_contract(1, {"phone": "+46701234567"})  # Kleer's own record lacks the ssn
        assert client.get_contract(1)["phone"] == "+46701234567"


def test_contract_update_is_partial_and_a_sent_list_replaces(kleer_sim):
    with kleer_sim.client() as client:
        client.upsert_contract(3, {"schedules": [{"id": 1}, {"id": 2}]})
        before = client.get_contract(3)
        client.upsert_contract(3, {"phone": "+46709999999", "schedules": [{"id": 3}]})
        after = client.get_contract(3)
    assert after == {**before, "phone": "+46709999999", "schedules": [{"id": 3}]}


def test_the_end_date_wrapper_sets_clears_and_leaves(kleer_sim):
    with kleer_sim.client() as client:
        client.upsert_contract(3, {"employment-end-date": {"employment-end-date": "2026-06-30"}})
        assert client.get_contract(3)["employment-end-date"] == "2026-06-30"
        client.upsert_contract(3, {"phone": "+46701111111"})  # absent: left alone
        assert client.get_contract(3)["employment-end-date"] == "2026-06-30"
        client.upsert_contract(3, {"employment-end-date": {}})  # empty wrapper: cleared
        assert "employment-end-date" not in client.get_contract(3)


def test_an_invalid_write_is_500_tekniskt_fel_and_stores_nothing(raw, kleer_sim):
    with kleer_sim.client() as client:
        before = client.get_contract(3)
        for bad in ({"employment-start-date": "2024-02-30"}, {"tax-table": "thirty"},
                    {"employment-end-date": "2026-06-30"}):  # the date without its wrapper
            with pytest.raises(KleerRejected) as e:  # deterministic: not "may have landed"
                client.upsert_contract(3, bad)
            assert e.value.status == 500 and e.value.message == "Tekniskt fel"
        assert client.get_contract(3) == before
    r = raw("POST", "/user/3", json={"internal-id": "12a"})
    assert r.status_code == 500 and r.json() == {"message": "Tekniskt fel"}


def test_a_write_must_be_json(raw, kleer_sim):
    r = httpx.post(f"{kleer_sim.base_url}/company/1/user/3", content=b"<user/>", timeout=5,
                   headers={"X-Token": kleer_sim.token, "Accept": "application/json",
                            "Content-Type": "application/xml"})
    assert r.status_code == 415
    r = raw("POST", "/user/3", content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]


def test_writes_to_an_unknown_user_are_404(kleer_sim):
    with kleer_sim.client() as client:
        for call in (lambda: client.update_user(999, {"name": "X"}),
                     lambda: client.upsert_contract(999, {"phone": "1"})):
            with pytest.raises(KleerRejected) as e:
                call()
            assert e.value.status == 404


def test_write_rules_are_pure_functions_too():
    created = apply_contract_write(None, {"ssn": "19850312-1231",
                                          "employment-start-date": "2024-01-01",
                                          "employment-end-date": {"employment-end-date": "2025-01-31"},
                                          "user": {"id": 99}}, user_id=4)
    assert created == {"user": {"id": 4}, "ssn": "19850312-1231",
                       "employment-start-date": "2024-01-01", "employment-end-date": "2025-01-31"}
    cleared = apply_contract_write(created, {"phone": None, "employment-end-date": {}}, user_id=4)
    assert "employment-end-date" not in cleared and cleared["ssn"] == "19850312-1231"


def test_the_client_is_safe_to_share_between_threads(kleer_sim):
    with kleer_sim.client() as client:
        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(lambda i: client.create_user({"name": f"Person {i}",
                                                              "foreign-id": f"T{i}"}), range(40)))
        assert sorted(ids) == list(range(13, 53))
        found = [client.find_user_by_foreign_id(f"T{i}")["id"] for i in range(40)]
    assert found == ids
    assert kleer_sim.state()["writes"]["create_user"] == 40


# --------------------------------------------------------------------------- faults

def test_429_retry_after_is_honoured(kleer_sim):
    kleer_sim.set_faults(rate_limit=3)
    with kleer_sim.client() as client:
        started = time.monotonic()
        for _ in range(4):
            client.get_user(1)
        waited = time.monotonic() - started
    state = kleer_sim.state()
    assert state["fault_answers"] >= 1  # the fourth request was refused with 429 at least once
    assert waited >= 1.0  # Retry-After: 1 was waited out, not hammered
    assert state["requests"] == 4 + state["fault_answers"]


def test_a_429_answer_carries_retry_after(raw, kleer_sim):
    kleer_sim.set_faults(rate_limit=1)
    assert raw("GET", "/user/1").status_code == 200
    r = raw("GET", "/user/1")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


@pytest.mark.parametrize("mode", ["500", "drop"])
def test_write_then_fail_is_an_error_although_the_write_landed(kleer_sim, mode):
    kleer_sim.set_faults(write_then_fail=1.0, write_fail_mode=mode)
    with kleer_sim.client() as client:
        with pytest.raises(KleerUnavailable) as e:
            client.create_user({"name": "Landed Anyway", "foreign-id": "HR-77"})
        assert e.value.write_may_have_landed is True
        kleer_sim.clear_faults()
        landed = client.find_user_by_foreign_id("HR-77")
    assert landed is not None and landed["name"] == "Landed Anyway"
    assert kleer_sim.state()["writes"]["create_user"] == 1


def test_reads_ride_out_a_burst_of_failures(kleer_sim):
    kleer_sim.set_faults(fail_next=3, fail_status=503)
    with kleer_sim.client() as client:
        assert len(client.list_users()) == 12
    assert kleer_sim.state()["fault_answers"] == 3


def test_error_rate_is_deterministic_for_a_seed(raw, kleer_sim):
    def statuses():
        kleer_sim.set_faults(error_rate=0.5, seed=11)
        return [raw("GET", "/user/1").status_code for _ in range(30)]

    first, second = statuses(), statuses()
    assert first == second
    assert {200, 500, 503} == set(first)


def test_latency_delays_every_answer(raw, kleer_sim):
    kleer_sim.set_faults(latency_ms=150)
    started = time.monotonic()
    raw("GET", "/user/1")
    assert time.monotonic() - started >= 0.15


def test_unknown_or_bad_faults_are_refused(kleer_sim):
    with pytest.raises(ValueError, match="unknown faults: typo"):
        kleer_sim.set_faults(typo=1)
    with pytest.raises(ValueError, match="share between 0 and 1"):
        kleer_sim.set_faults(error_rate=2)
    with pytest.raises(ValueError):
        Faults(write_fail_mode="explode")


def test_admin_endpoints_need_the_token(kleer_sim):
    assert httpx.get(f"{kleer_sim.url}/_admin/state", timeout=5).status_code == 401
    r = httpx.post(f"{kleer_sim.url}/_admin/faults", json={"error_rate": 1}, timeout=5,
                   headers={"X-Token": "wrong"})
    assert r.status_code == 401 and kleer_sim.state()["faults"]["error_rate"] == 0


# --------------------------------------------------------------------------- state and running

def test_state_survives_a_restart_and_the_seed_does_not_overwrite_it(tmp_path):
    db = tmp_path / "sim.db"
    with RunningSimulator(db, seed=sample_seed(3), token="t0k", dialect="lenient") as sim:
        with sim.client() as client:
            client.update_user(2, {"name": "Renamed Person"})
    with RunningSimulator(db, seed=sample_seed(3), token="t0k", dialect="lenient") as sim:
        with sim.client() as client:
            assert client.get_user(2)["name"] == "Renamed Person"
    with RunningSimulator(db, seed=sample_seed(3), token="t0k", reset=True,
                          dialect="lenient") as sim:
        with sim.client() as client:
            assert client.get_user(2)["name"] != "Renamed Person"


def test_stop_and_start_keep_the_port_and_the_state(kleer_sim):
    with kleer_sim.client() as client:
        client.update_user(1, {"email": "kept@example.se"})
        kleer_sim.stop()
        with pytest.raises(KleerUnavailable):
            client.get_user(1)
        kleer_sim.start()
        assert client.get_user(1)["email"] == "kept@example.se"


def test_reset_loads_another_seed(kleer_sim):
    seed = {"company": {"id": 1, "name": "Liten AB"}, "me": 50,
            "users": [{"id": 50, "name": "Solo Person", "active": True}],
            "payroll-user-readables": []}
    state = kleer_sim.reset(seed)
    assert (state["users"], state["contracts"], state["company_name"]) == (1, 0, "Liten AB")
    with kleer_sim.client() as client:
        assert client.me()["name"] == "Solo Person"


def test_a_broken_seed_is_refused_with_its_problem(tmp_path):
    bad = tmp_path / "seed.json"
    bad.write_text('{"users": [{"id": 1, "name": "A"}], '
                   '"payroll-user-readables": [{"user": {"id": 2}}]}')
    with pytest.raises(InputError, match=r"payroll-user-readables\[0\] does not refer"):
        RunningSimulator(tmp_path / "s.db", seed=bad).start()


def test_it_serves_loopback_only(tmp_path):
    with pytest.raises(InputError, match="loopback only"):
        serve(free_port(), tmp_path / "s.db", token="t", host="0.0.0.0")


def test_the_command_serves_until_sigterm_and_hides_the_token(tmp_path):
    port = free_port()
    token = "cli-token-4b1d"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "kleer-sim", "--port", str(port), "--db",
         str(tmp_path / "sim.db"), "--company", "3", "--rate-limit", "100"],
        env={**os.environ, "KLEER_TOKEN": token}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1 (company 3" in line
        r = httpx.get(f"http://127.0.0.1:{port}/v1/company/3/user/me", timeout=5,
                      headers={"X-Token": token, "Accept": "application/json",
                               "Content-Type": "application/json"})  # strict: JSON by this
        assert r.status_code == 200 and r.json()["name"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert token not in line + out


def test_nothing_logged_over_real_http_carries_the_token(kleer_sim, caplog):
    kleer_sim.set_faults(fail_next=2)
    with caplog.at_level(logging.DEBUG):
        with kleer_sim.client(retries=Retry(attempts=3, backoff=0.01, jitter=0)) as client:
            client.list_users()
            client.create_user({"name": "Logged Person"})
        with kleer_sim.client(token="wrong-token") as client, pytest.raises(KleerAuthError):
            client.me()
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert all(kleer_sim.token not in r.getMessage() for r in caplog.records)


def test_the_command_takes_the_token_from_a_private_file_never_the_command_line(tmp_path):
    refused = subprocess.run([sys.executable, "-m", "workbench.cli", "kleer-sim", "--token",
                              "secret-on-argv",
                              "--db", str(tmp_path / "s.db")], capture_output=True, text=True,
                             timeout=30, env={k: v for k, v in os.environ.items()
                                              if k != "KLEER_TOKEN"})
    assert refused.returncode != 0 and "no token on the command line" in refused.stderr
    assert "secret-on-argv" not in refused.stdout + refused.stderr
    token_file = tmp_path / "token"
    token_file.write_text("file-token-77\n")
    token_file.chmod(0o644)
    loose = subprocess.run([sys.executable, "-m", "workbench.cli", "kleer-sim", "--token-file",
                            str(token_file), "--db", str(tmp_path / "s.db")],
                           capture_output=True, text=True, timeout=30)
    assert loose.returncode != 0 and "chmod 600" in loose.stdout + loose.stderr
    token_file.chmod(0o600)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "kleer-sim", "--port", str(port), "--db",
         str(tmp_path / "s.db"), "--token-file", str(token_file), "--dialect", "strict"],
        env={k: v for k, v in os.environ.items() if k != "KLEER_TOKEN"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert "dialect strict" in line
        r = httpx.get(f"http://127.0.0.1:{port}/v1/company/1/user/me", timeout=5,
                      headers={"X-Token": "file-token-77", "Content-Type": "application/json"})
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
