"""The probe against every simulator dialect over real HTTP on 127.0.0.1: it detects the
dialect the simulator speaks, reports each point (assumed, observed, consequence), deactivates
its throwaway user, and refuses a production URL."""

from __future__ import annotations

import httpx
import pytest

from workbench.errors import InputError
from workbench.kleer.client import KleerClient
from workbench.kleer.probe import probe
from workbench.kleer.schema import DIALECTS, Dialect
from workbench.kleer.simulator import RunningSimulator, sample_seed

UNDOCUMENTED = ("created", "updated", "no_contract_status", "user_update", "negotiate")


@pytest.fixture(scope="module", params=list(DIALECTS))
def dialect_sim(request, tmp_path_factory):
    """A simulator speaking one dialect (each of :data:`DIALECTS` in turn)."""
    sim = RunningSimulator(tmp_path_factory.mktemp(f"probe-{request.param}") / "sim.db",
                           seed=sample_seed(4), token="probe-token", dialect=request.param)
    yield sim.start()
    sim.stop()


def test_the_probe_detects_the_dialect_and_leaves_its_user_inactive(dialect_sim):
    with dialect_sim.client() as client:
        report = probe(client)
    spoken = dialect_sim.dialect
    assert {k: report.dialect[k] for k in UNDOCUMENTED} == \
        {k: getattr(spoken, k) for k in UNDOCUMENTED}
    assert report.dialect["strict"] is spoken.strict
    throwaway = next(u for u in dialect_sim.dump()["users"] if u["id"] == report.throwaway_user_id)
    # a strict Kleer ignores the probe's null, so its user keeps the foreign-id; lenient clears it
    assert str(throwaway.get("foreign-id", "")).startswith("workbench-probe-") is spoken.strict
    assert throwaway["active"] is False and report.deactivated
    names = [p.name for p in report.points]
    assert names == ["user/me", "lists", "content negotiation", "create", "foreign-id miss",
                     "partial POST /user", "full POST /user", "null in POST /user",
                     "missing contract", "salary unit", "deactivate"]
    assert all(p.assumed and p.observed and p.consequence for p in report.points)
    assert not any(p.observed.startswith("failed") for p in report.points), report.lines()
    assert report.point("salary unit").observed.startswith("monthly-salary 12345 read back")
    # nulls: ignored by a strict Kleer, so the probe user kept its foreign-id
    assert report.point("null in POST /user").as_assumed is spoken.strict


def test_a_client_given_the_probed_dialect_reads_no_contract_as_none(dialect_sim):
    with dialect_sim.client() as client:
        report = probe(client)
    adapted = dialect_sim.client(dialect=report.dialect)
    with adapted:
        assert adapted.get_contract(4) is not None  # user 4 has a contract
        new = adapted.create_user({"name": "No Contract", "email": "nc@example.se",
                                   "active": True, "foreign-id": "NC-1"})
        new = new if new is not None else adapted.find_user_by_foreign_id("NC-1")["id"]
        assert adapted.get_contract(new) is None
    assert Dialect.parse(report.dialect).no_contract_status == dialect_sim.dialect.no_contract_status


@pytest.mark.parametrize("url", ["https://api.kleer.se/v1", "https://api.accounting.pe/v1"])
def test_the_probe_refuses_production_unless_told(url):
    calls = []
    client = KleerClient(base_url=url, company_id=1, token="t0ken",
                         transport=httpx.MockTransport(lambda r: calls.append(r) or
                                                       httpx.Response(200, json={"id": 1})))
    with pytest.raises(InputError, match="production.*test-api.kleer.se"):
        probe(client)
    assert calls == []  # refused before a single request


def test_the_report_is_json_and_readable_lines(dialect_sim):
    import json

    with dialect_sim.client() as client:
        report = probe(client)
    data = json.loads(json.dumps(report.as_dict()))
    assert data["dialect"] == report.dialect and len(data["points"]) == len(report.points)
    lines = report.lines()
    assert len(lines) == len(report.points)
    assert lines[0].startswith("user/me: ok - assumed GET /user/me answers")
