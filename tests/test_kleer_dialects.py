"""The simulator as strict as Kleer's XSD (the strict dialects), each undocumented variant, the
lenient default, the robustness of every path (ids, bodies, JSON depth, admin seeds), the token
bucket, and the pinned table of schema facts. Over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest

from workbench.errors import KleerRejected
from workbench.kleer.schema import (
    DEFAULT_DIALECT,
    DIALECTS,
    FACTS,
    MAX_BODY_BYTES,
    Dialect,
    fact,
)
from workbench.kleer.simulator import RunningSimulator, TokenBucket, sample_seed

TEKNISKT_FEL_JSON = {"message": "Tekniskt fel"}
TEKNISKT_FEL_XML = "<error><message>Tekniskt fel</message></error>"
FULL_USER = {"name": "Ny Person", "email": "ny@example.se", "active": True, "foreign-id": "HR-1"}
SSN = "19850312-1231"


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    """One running simulator per dialect, started on first use."""
    running: dict[str, RunningSimulator] = {}

    def get(name: str) -> RunningSimulator:
        if name not in running:
            running[name] = RunningSimulator(tmp_path_factory.mktemp(name) / "sim.db",
                                             seed=sample_seed(6), token="dialect-token",
                                             dialect=name).start()
        sim = running[name]
        sim.clear_faults()
        sim.reset()
        return sim

    yield get
    for sim in running.values():
        sim.stop()


@pytest.fixture
def strict(sims):
    return sims("strict")


def call(sim, method, path, *, json_ct=True, accept=True, **kw) -> httpx.Response:
    headers = {"X-Token": sim.token}
    if json_ct:
        headers["Content-Type"] = "application/json"
    if accept:
        headers["Accept"] = "application/json"
    headers.update(kw.pop("headers", {}))
    return httpx.request(method, f"{sim.base_url}/company/{sim.company_id}{path}",
                         headers=headers, timeout=10, **kw)


# --------------------------------------------------------------------------- the fact table

def test_the_schema_facts_are_pinned():
    """Changing a fact is a decision: this test names each one the code depends on."""
    assert fact("user.required") == ("id", "name", "email", "active")
    assert fact("user.required_on_create") == ("name", "email", "active")
    assert fact("contract.required_on_create") == ("ssn", "employment-start-date")
    assert fact("contract.nulls_ignored") is True
    assert fact("contract.end_date_wrapper") == "employment-end-date"
    assert fact("answer.validation") == (500, "Tekniskt fel")
    assert fact("answer.json_by") == "content-type"
    assert fact("answer.no_contract") == 404
    assert fact("contract.readable_defaults")["tax-table"] == 0
    assert fact("contract.readable_defaults")["phone"] == ""
    assert "employment-end-date" in fact("contract.readable_optional")
    assert fact("contract.monthly_salary_unit") == "unknown"
    assert len(FACTS) == 25
    for name, f in FACTS.items():  # every fact names its source
        assert f.source.startswith(("XSD", "TOKI", "ORNEHOLM", "ASSUMED")), name
    assert DEFAULT_DIALECT == "strict"  # the sync's writes comply with the XSD
    assert set(DIALECTS) == {"lenient", "strict", "strict-id", "strict-xml", "strict-500"}


def test_a_dialect_round_trips_and_refuses_nonsense():
    for d in DIALECTS.values():
        assert Dialect.parse(d.as_dict()) == d
    assert Dialect.parse({"name": "strict", "no_contract_status": 400}).no_contract_status == 400
    with pytest.raises(ValueError, match="created is one of"):
        Dialect.parse({"created": "maybe"})
    with pytest.raises(ValueError, match="unknown dialect"):
        Dialect.parse("chatty")


# --------------------------------------------------------------------------- strict writes

@pytest.mark.parametrize("body", [
    {"name": "A B", "email": "a@example.se"},                 # no active
    {"name": "A B", "active": True},                          # no email
    {"email": "a@example.se", "active": True},                # no name
    {"name": "A B", "email": "not-an-email", "active": True},  # bad email
])
def test_strict_create_without_a_required_field_is_500_tekniskt_fel(strict, body):
    r = call(strict, "PUT", "/user", json=body)
    assert (r.status_code, r.json()) == (500, TEKNISKT_FEL_JSON)
    x = call(strict, "PUT", "/user", json=body, headers={"Content-Type": "application/json"},
             accept=False)
    assert x.status_code == 500  # JSON by Content-Type even without Accept
    assert strict.state()["users"] == 6


def test_strict_partial_user_update_is_refused_and_the_whole_user_is_accepted(strict):
    with strict.client() as client:
        with pytest.raises(KleerRejected) as e:
            client.update_user(2, {"active": False})
        assert (e.value.status, e.value.message) == (500, "Tekniskt fel")
        before = client.get_user(2)
        client.update_user_full(before, {"active": False, "internal-id": None})
        after = client.get_user(2)
    assert after == {**before, "active": False}  # the null left internal-id as it was


def test_lenient_merges_partial_updates_as_the_simulator_always_did(sims):
    sim = sims("lenient")
    with sim.client() as client:
        before = client.get_user(2)
        client.update_user(2, {"active": False})
        assert client.get_user(2) == {**before, "active": False}
        client.update_user(2, {"internal-id": None})  # lenient: null clears
        assert "internal-id" not in client.get_user(2)
        assert client.create_user({"name": "No Active"}) == 7  # lenient: active defaults true


def test_strict_nulls_never_clear_a_contract_field(strict):
    with strict.client() as client:
        client.upsert_contract(2, {"phone": None, "notes": "kept"})
        assert client.get_contract(2)["phone"] == sample_seed(6)["payroll-user-readables"][1]["phone"]


def test_strict_contract_create_needs_ssn_and_start_date_and_validates(strict):
    with strict.client() as client:
        for body in ({"employment-start-date": "2024-01-01"}, {"ssn": SSN},
                     {"ssn": "19850312-1234", "employment-start-date": "2024-01-01"},  # checksum
                     {"ssn": "850312", "employment-start-date": "2024-01-01"},         # length
                     {"ssn": SSN, "employment-start-date": "2024-01-01", "country-code": "SWE"},
                     {"ssn": SSN, "employment-start-date": "2024-01-01", "country-code": "XX"}):
            with pytest.raises(KleerRejected) as e:
                client.upsert_contract(5, body)
            assert (e.value.status, e.value.message) == (500, "Tekniskt fel"), body
        assert client.get_contract(5) is None
        client.upsert_contract(5, {"ssn": SSN, "employment-start-date": "2024-01-01",
                                   "country-code": "SE"})
        assert client.get_contract(5)["country-code"] == "SE"


def test_strict_reads_carry_every_readable_field_with_empty_values(strict):
    with strict.client() as client:
        client.upsert_contract(5, {"ssn": SSN, "employment-start-date": "2024-01-01"})
        contract = client.get_contract(5)
        listed = next(c for c in client.list_contracts() if c["user"]["id"] == 5)
    for key, empty in fact("contract.readable_defaults").items():
        if key not in ("ssn", "employment-start-date"):
            assert contract[key] == empty and listed[key] == empty, key
    assert "employment-end-date" not in contract  # optional in the XSD: absent when empty
    stored = next(c for c in strict.dump()["payroll-user-readables"] if c["user"]["id"] == 5)
    assert stored == {  # stored as written
        "user": {"id": 5}, "ssn": SSN, "employment-start-date": "2024-01-01"}


def test_the_end_date_wrapper_clears_with_an_empty_object(strict):
    with strict.client() as client:
        client.upsert_contract(3, {"employment-end-date": {"employment-end-date": "2026-06-30"}})
        assert client.get_contract(3)["employment-end-date"] == "2026-06-30"
        client.upsert_contract(3, {"employment-end-date": None})  # null: ignored
        assert client.get_contract(3)["employment-end-date"] == "2026-06-30"
        client.upsert_contract(3, {"employment-end-date": {}})
        assert "employment-end-date" not in client.get_contract(3)


def test_strict_chooses_json_by_content_type_and_answers_xml_otherwise(strict):
    only_accept = call(strict, "GET", "/user/3", json_ct=False)
    assert only_accept.headers["content-type"].startswith("application/xml")
    assert "<user><id>3</id>" in only_accept.text
    only_ct = call(strict, "GET", "/user/3", accept=False)
    assert only_ct.json()["id"] == 3
    refused = call(strict, "PUT", "/user", json={"name": "X"}, headers={"Content-Type": "text/plain"},
                   json_ct=False)
    assert refused.status_code == 415
    invalid = httpx.put(f"{strict.base_url}/company/1/user", json={"name": "X"}, timeout=5,
                        headers={"X-Token": strict.token, "Content-Type": "application/json; x",
                                 "Accept": "application/xml"})
    assert invalid.status_code == 500 and invalid.json() == TEKNISKT_FEL_JSON
    xml_error = httpx.get(f"{strict.base_url}/company/1/user/999", timeout=5,
                          headers={"X-Token": strict.token, "Accept": "application/json"})
    assert xml_error.status_code == 404 and "<error><message>" in xml_error.text
    tekniskt = httpx.post(f"{strict.base_url}/company/1/user/3", json={"name": "X"}, timeout=5,
                          headers={"X-Token": strict.token, "Accept": "application/json",
                                   "Content-Type": "application/json;charset=UTF-8"})
    assert tekniskt.json() == TEKNISKT_FEL_JSON
    xml_tekniskt = httpx.post(f"{strict.base_url}/company/1/user/3", content=b'{"name": "X"}',
                              timeout=5, headers={"X-Token": strict.token,
                                                  "Content-Type": "application/json-ish"})
    assert xml_tekniskt.status_code in (415, 500)  # not JSON by its Content-Type: refused


# --------------------------------------------------------------------------- dialect answers

@pytest.mark.parametrize("name", list(DIALECTS))
def test_every_dialect_answers_writes_in_its_shape_and_the_client_reads_it(sims, name):
    sim = sims(name)
    d = sim.dialect
    created = call(sim, "PUT", "/user", json=FULL_USER)
    assert created.status_code == 200
    expected = {"id": {"id": 7}, "created": {"created": {"id": 7}}}
    if d.created == "xml":
        assert "<created><id>7</id></created>" in created.text
    else:
        assert created.json() == expected[d.created]
    full = {"id": 7, **FULL_USER, "name": "Renamed"}
    updated = call(sim, "POST", "/user/7", json=full)
    assert updated.status_code == 200
    assert {"id": lambda: updated.json() == {"id": 7}, "empty": lambda: updated.content == b"",
            "saved": lambda: updated.json() == {"saved": {"id": 7}},
            "ok": lambda: updated.json() == {"ok": True}}[d.updated]()
    missing = call(sim, "GET", "/payroll/user/5")  # user 5 has no contract
    assert missing.status_code == d.no_contract_status
    with sim.client() as client:  # the client gets along with every shape
        new = client.create_user({**FULL_USER, "foreign-id": "HR-2"})
        assert new == 8
        client.update_user_full(client.get_user(8), {"name": "Again"})
        assert client.get_user(8)["name"] == "Again"
        assert client.get_contract(5) is None
        client.upsert_contract(5, {"ssn": SSN, "employment-start-date": "2024-01-01"})
        assert client.get_contract(5)["ssn"] == SSN


# --------------------------------------------------------------------------- robustness

@pytest.mark.parametrize("name", ["lenient", "strict"])
@pytest.mark.parametrize("path,status", [
    ("/user/\u0661", 404),                     # Arabic-Indic one: not an id
    ("/user/99999999999999999999999", 404),    # beyond SQLite's int64
    ("/payroll/user/99999999999999999999999", 404),
    ("/user/9223372036854775807", 404),       # the largest id SQLite has: no such user
])
def test_ids_are_ascii_digits_within_range(sims, name, path, status):
    assert call(sims(name), "GET", path).status_code == status


@pytest.mark.parametrize("company", ["\u00b2", "\u0661", "99999999999999999999999", "-1"])
def test_company_ids_are_ascii_digits_within_range(sims, company):
    sim = sims("strict")
    r = httpx.get(f"{sim.base_url}/company/{company}/user", timeout=5,
                  headers={"X-Token": sim.token, "Content-Type": "application/json"})
    assert r.status_code == 404 and r.json() == {"message": "Not found"}


def test_a_body_above_the_limit_is_413_and_nothing_is_stored(sims):
    sim = sims("lenient")
    big = b'{"name": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    r = call(sim, "PUT", "/user", content=big)
    assert r.status_code == 413 and "larger than" in r.json()["message"]
    def chunks():  # no Content-Length: the limit holds while streaming too
        yield big[:500_000]
        yield big[500_000:]
    r = call(sim, "PUT", "/user", content=chunks())
    assert r.status_code == 413
    assert sim.state()["users"] == 6


def test_deep_json_is_refused_cleanly(sims, caplog):
    sim = sims("strict")
    with caplog.at_level(logging.ERROR):
        for depth in (40, 100_000):
            r = call(sim, "POST", "/user/2", content=b"[" * depth + b"]" * depth)
            assert r.status_code == 400 and "nested deeper" in r.json()["message"]
    assert not caplog.records  # refused, not crashed


def test_an_admin_reset_with_duplicate_ids_is_refused_with_a_message(sims):
    sim = sims("lenient")
    dup = {"users": [{"id": 1, "name": "A"}, {"id": 1, "name": "B"}]}
    with pytest.raises(ValueError, match=r"users\[1\] repeats the id 1"):
        sim.reset(dup)
    r = httpx.post(f"{sim.url}/_admin/reset", timeout=5, headers={"X-Token": sim.token},
                   json={"seed": {"users": [{"id": 1, "name": "A"}],
                                  "payroll-user-readables": [{"user": {"id": 1}}, {"user": {"id": 1}}]}})
    assert r.status_code == 400 and "second contract of user 1" in r.json()["message"]
    assert sim.state()["users"] == 6  # the old state stands


def test_an_unexpected_error_is_a_500_with_a_message_logged_once(sims, caplog, monkeypatch):
    sim = sims("strict")
    handler = sim._server.config.app.state.simulator  # noqa: SLF001  the running handler

    def boom(**kw):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(handler, "_me", boom)
    with caplog.at_level(logging.ERROR, logger="workbench.kleer.simulator"):
        r = call(sim, "GET", "/user/me")
    assert r.status_code == 500 and r.json() == {"message": "Internal Server Error (RuntimeError)"}
    assert "Traceback" not in r.text
    assert len([rec for rec in caplog.records if "unexpected error" in rec.getMessage()]) == 1


# --------------------------------------------------------------------------- rate limiting

def test_the_token_bucket_allows_a_burst_then_the_steady_rate():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=20, clock=lambda: now[0])
    assert [bucket.take() for _ in range(20)] == [None] * 20
    assert bucket.take() == pytest.approx(0.1)  # the 21st waits for one token
    now[0] = 0.5  # five tokens back
    assert [bucket.take() is None for _ in range(6)] == [True] * 5 + [False]


def test_the_simulator_limits_per_company_with_retry_after(sims):
    sim = sims("lenient")
    # A steady rate of 1/s: twelve requests would need more than 7 s to all pass, so a loaded
    # machine cannot refill the bucket between them the way it could at a faster rate.
    sim.set_faults(rate_limit=1, rate_burst=5)
    answers = [call(sim, "GET", "/user/1") for _ in range(12)]
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.headers["retry-after"] == "1"
    other = httpx.get(f"{sim.base_url}/company/2/user/1", timeout=5,
                      headers={"X-Token": sim.token, "Accept": "application/json"})
    assert other.status_code == 403  # another company has its own bucket: not limited
    time.sleep(1.0)
    assert call(sim, "GET", "/user/1").status_code == 200  # refilled at the steady rate


def test_a_strict_list_answers_every_row_filled_and_sees_each_write_at_once(tmp_path):
    """The strict simulator remembers each row's read-back JSON by the stored text: the list
    equals filling every row anew, and a write through the API or a change made to the file
    from outside shows in the next list."""
    from workbench.kleer.simulator import SimState, readable_contract, readable_user

    state = SimState(tmp_path / "sim.db", seed=sample_seed(12), dialect="strict")
    stored = state.dump()
    filled = {"users": [readable_user(u) for u in stored["users"]],
              "payroll-user-readables": [readable_contract(c)
                                         for c in stored["payroll-user-readables"]]}
    assert json.loads(state.users_json())["users"] == filled["users"]
    assert json.loads(state.contracts_json()) == {"payroll-user-readables":
                                                  filled["payroll-user-readables"]}
    state.upsert_contract(2, {"phone": "+46701112233"})
    state.conn.execute("UPDATE users SET doc = json_set(doc, '$.name', 'Från Utsidan') "
                       "WHERE id = 3")
    users = {u["id"]: u for u in json.loads(state.users_json())["users"]}
    contracts = {c["user"]["id"]: c for c in
                 json.loads(state.contracts_json())["payroll-user-readables"]}
    assert users[3]["name"] == "Från Utsidan" and users[3] == readable_user(state.user(3))
    assert contracts[2]["phone"] == "+46701112233"
    assert contracts[2] == readable_contract(state.contract(2))
    assert contracts[4] == filled["payroll-user-readables"][3]  # untouched rows as before
    state.dialect = Dialect.parse("lenient")  # lenient answers what is stored, unfilled
    assert json.loads(state.users_json())["users"][0] == state.user(1)
    state.close()
