"""Workbench.fetch_kleer / kleer_client / test_connection and ``workbench fetch-kleer``: a
snapshot of the simulator's company lands in a real SQLite workspace, with progress, and the
token never does."""

from __future__ import annotations

import json

import pytest

from workbench.api import FetchResult, Workbench
from workbench.cli import main
from workbench.errors import InputError, KleerAuthError, KleerUnavailable
from workbench.kleer.mapping import from_kleer


@pytest.fixture
def wb_sim(wb, kleer_sim, monkeypatch):
    """A Workbench whose settings point at the simulator, with the token in KLEER_TOKEN."""
    wb.update_settings(kleer_base_url=kleer_sim.base_url, kleer_company_id=kleer_sim.company_id)
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    return wb


def test_fetch_stores_every_user_and_contract(wb_sim, kleer_sim):
    result = wb_sim.fetch_kleer()
    assert isinstance(result, FetchResult)
    assert (result.users, result.contracts, result.active) == (12, 10, 11)
    frame = wb_sim.kleer_employees()
    assert list(frame["kleer_id"]) == list(range(1, 13))
    with kleer_sim.client() as client:  # what Kleer answers (strict: every readable field)
        users, read = client.list_users(), client.list_contracts()
    contracts = {c["user"]["id"]: c for c in read}
    for user in users:
        stored = wb_sim.workspace.kleer.get(user["id"])
        expected = from_kleer(user, contracts.get(user["id"]))
        assert stored["fingerprint"] == expected["fingerprint"]
        assert stored["ssn"] == expected["ssn"] and stored["foreign_id"] == user["foreign-id"]
        assert bool(stored["has_contract"]) == (user["id"] in contracts)
        assert stored["snapshot_id"] == result.snapshot_id
    snapshot = wb_sim.workspace.kleer.last_snapshot()
    assert snapshot == {"id": result.snapshot_id, "fetched_at": result.fetched_at, "users": 12,
                        "contracts": 10, "fingerprint": result.fingerprint,
                        "base_url": kleer_sim.base_url, "company_id": 1}
    assert "12 users (11 active), 10 payroll contracts" in str(result)


def test_fetch_reports_progress_step_by_step(wb_sim):
    calls = []
    wb_sim.fetch_kleer(on_progress=lambda done, total, message: calls.append((done, total, message)))
    assert [(d, t) for d, t, _ in calls] == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert "12 users" in calls[1][2] and "10 payroll contracts" in calls[2][2]


def test_a_refetch_replaces_the_snapshot_and_only_changed_records_move(wb_sim, kleer_sim):
    first = wb_sim.fetch_kleer()
    before = wb_sim.kleer_employees().set_index("kleer_id")["fingerprint"]
    with kleer_sim.client() as client:
        client.upsert_contract(3, {"phone": "+46709999999"})
        client.create_user({"name": "Ny Anställd", "foreign-id": "HR-NEW",
                            "email": "ny@example.se", "active": True})
    second = wb_sim.fetch_kleer()
    after = wb_sim.kleer_employees().set_index("kleer_id")["fingerprint"]
    assert second.snapshot_id != first.snapshot_id and second.fingerprint != first.fingerprint
    assert [k for k in before.index if before[k] != after[k]] == [3]
    assert len(after) == 13 and wb_sim.workspace.kleer.get(3)["phone"] == "+46709999999"


def test_a_failed_fetch_keeps_the_previous_snapshot(wb_sim, kleer_sim):
    first = wb_sim.fetch_kleer()
    kleer_sim.set_faults(error_rate=1.0)
    with pytest.raises(KleerUnavailable):
        wb_sim.fetch_kleer(client=kleer_sim.client())
    assert wb_sim.workspace.kleer.last_snapshot()["id"] == first.snapshot_id
    assert len(wb_sim.kleer_employees()) == 12


def test_a_wrong_token_says_what_to_fix(wb_sim, monkeypatch):
    monkeypatch.setenv("KLEER_TOKEN", "wrong-token")
    with pytest.raises(KleerAuthError, match="KLEER_TOKEN"):
        wb_sim.fetch_kleer()
    assert wb_sim.workspace.kleer.last_snapshot() is None


def test_without_a_token_the_error_says_where_to_put_it(wb, monkeypatch):
    monkeypatch.delenv("KLEER_TOKEN", raising=False)
    with pytest.raises(InputError, match="set KLEER_TOKEN or the token in .streamlit/secrets.toml"):
        wb.kleer_client()
    with pytest.raises(InputError, match="KLEER_TOKEN"):
        wb.fetch_kleer()


def test_kleer_client_follows_the_settings_and_an_explicit_token(wb_sim, kleer_sim):
    with wb_sim.kleer_client() as client:
        assert (client.base_url, client.company_id) == (kleer_sim.base_url, 1)
    wb_sim.update_settings(kleer_company_id=2)
    with pytest.raises(KleerAuthError) as e:
        wb_sim.test_connection()
    assert e.value.status == 403
    wb_sim.update_settings(kleer_company_id=1)
    assert wb_sim.test_connection(token=kleer_sim.token)["id"] == 1


def test_an_injected_client_is_used_and_not_closed(workspace_path, kleer_sim, monkeypatch):
    monkeypatch.delenv("KLEER_TOKEN", raising=False)
    client = kleer_sim.client()
    with Workbench(workspace_path, analyst="Nb", kleer_client=client) as wb:
        assert wb.kleer_client() is client
        assert wb.fetch_kleer().users == 12
        assert wb.test_connection()["id"] == 1
    assert client.me()["id"] == 1  # still open: the caller owns it
    with Workbench(workspace_path) as wb:
        wb.connect(client)
        assert wb.fetch_kleer().users == 12
        wb.connect(None)
        with pytest.raises(InputError):
            wb.fetch_kleer()
    client.close()


def test_the_fetch_is_audited_and_the_token_is_nowhere_in_the_workspace(wb_sim, kleer_sim):
    wb_sim.fetch_kleer()
    audit = wb_sim.workspace.query("SELECT * FROM audit WHERE action = 'fetch_kleer'")
    assert len(audit) == 1 and json.loads(audit[0]["detail"])["users"] == 12
    wb_sim.workspace.conn.execute("PRAGMA wal_checkpoint(FULL)")
    data = wb_sim.workspace.path
    assert kleer_sim.token.encode() not in open(data, "rb").read()


def test_cli_fetch_kleer_prints_progress_and_counts(wb_sim, capsys):
    path = wb_sim.workspace.path
    assert main(["fetch-kleer", "--workspace", path]) == 0
    out = capsys.readouterr().out
    assert "[0/4] fetching users" in out and "[4/4] Kleer: 12 users (11 active)" in out
    assert "snapshot " in out


def test_cli_fetch_kleer_fails_on_one_line(wb_sim, monkeypatch, capsys):
    monkeypatch.setenv("KLEER_TOKEN", "wrong-token")
    assert main(["fetch-kleer", "--workspace", wb_sim.workspace.path]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "401" in err


def test_the_cycle_collector_is_paused_only_while_a_fetch_runs(wb_sim, kleer_sim):
    import gc

    seen = []
    wb_sim.fetch_kleer(on_progress=lambda done, total, message: seen.append(gc.isenabled()))
    assert seen == [False] * 4 + [True] and gc.isenabled()  # paused while working, then on
    # the three reads run at once, each with the client's 5 attempts: 15 failures fail them all
    kleer_sim.set_faults(fail_next=15, fail_status=503)
    with pytest.raises(KleerUnavailable):
        wb_sim.fetch_kleer()
    assert gc.isenabled()  # also after a failed fetch
    kleer_sim.clear_faults()
    gc.disable()
    try:
        wb_sim.fetch_kleer()
        assert not gc.isenabled()  # paused by someone else: left as it was
    finally:
        gc.enable()
