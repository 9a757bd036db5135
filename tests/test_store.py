"""The workspace: schema migrations, WAL, constraints, atomic writes, the append-only audit."""

from __future__ import annotations

import sqlite3

import pytest

from workbench.errors import InputError, WorkspaceError
from workbench.fields import FIELDS
from workbench.store import MIGRATIONS, Workspace


def test_a_new_file_gets_every_migration_and_wal(workspace_path):
    ws = Workspace(workspace_path)
    assert ws.schema_version == MIGRATIONS[-1][0]
    assert ws.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    assert ws.query("PRAGMA foreign_keys")[0]["foreign_keys"] == 1
    assert {"hr_employees", "kleer_users", "links", "suggestions", "decisions", "journal", "audit",
            "settings", "snapshots", "batches"} <= set(ws.db.table_names())
    ws.close()
    again = Workspace(workspace_path)  # reopening migrates nothing twice
    assert again.schema_version == MIGRATIONS[-1][0]
    again.close()


def test_hr_columns_derive_from_the_field_table(workspace):
    columns = set(workspace.db["hr_employees"].columns_dict)
    assert {f.key for f in FIELDS} <= columns
    kleer_columns = set(workspace.db["kleer_users"].columns_dict)
    assert {f.key for f in FIELDS if f.key != "hr_id"} <= kleer_columns


def test_a_newer_workspace_is_refused_with_a_clear_message(workspace_path):
    ws = Workspace(workspace_path)
    ws.db["meta"].upsert({"key": "schema_version", "value": "999"}, pk="key")
    ws.close()
    with pytest.raises(WorkspaceError, match="newer workbench"):
        Workspace(workspace_path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("this is not a database " * 100)
    with pytest.raises(WorkspaceError, match="notes.db"):
        Workspace(bad)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(WorkspaceError, match="does not exist"):
        Workspace(tmp_path / "nope" / "w.db")


def test_second_active_link_for_the_same_hr_id_is_refused(workspace):
    workspace.links.add("E1", 101, analyst="a", method="manual")
    with pytest.raises(sqlite3.IntegrityError):
        workspace.links.add("E1", 102, analyst="a", method="manual")
    with pytest.raises(sqlite3.IntegrityError):
        workspace.links.add("E2", 101, analyst="a", method="manual")
    assert len(workspace.links.active()) == 1


def test_an_ended_link_frees_both_sides(workspace):
    workspace.links.add("E1", 101, analyst="a", method="manual")
    ended = workspace.links.end(hr_id="E1", analyst="b")
    assert ended["kleer_id"] == 101
    workspace.links.add("E1", 102, analyst="a", method="manual")
    workspace.links.add("E2", 101, analyst="a", method="manual")
    assert sorted(workspace.links.active()["kleer_id"]) == [101, 102]
    history = workspace.query("SELECT * FROM links WHERE active = 0")
    assert history[0]["ended_by"] == "b" and history[0]["ended_at"]
    assert workspace.links.end(hr_id="nobody", analyst="b") is None


def test_audit_is_append_only(workspace):
    workspace.audit.append(event="decision", analyst="a", action="prefer_hr", hr_id="E1", kleer_id=7)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        workspace.conn.execute("UPDATE audit SET analyst = 'mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        workspace.conn.execute("DELETE FROM audit")
    rows = workspace.query("SELECT analyst, action FROM audit")
    assert rows == [{"analyst": "a", "action": "prefer_hr"}]


def test_atomic_rolls_back_every_table_together(workspace):
    with pytest.raises(RuntimeError):
        with workspace.atomic():
            workspace.hr.upsert([{"hr_id": "E1", "first_name": "Anna"}], source="x")
            workspace.links.add("E1", 101, analyst="a", method="manual")
            workspace.audit.append(event="load", analyst="a")
            raise RuntimeError("boom")
    assert workspace.counts() == {"hr": 0, "kleer": 0, "linked": 0, "suggestions": 0,
                                  "decisions": 0, "audit": 0}


def test_atomic_commits_across_connections(workspace_path):
    a, b = Workspace(workspace_path), Workspace(workspace_path)
    with a.atomic():
        a.hr.upsert([{"hr_id": "E1", "first_name": "Anna"}], source="x")
        assert b.counts()["hr"] == 0  # not visible before commit
    assert b.counts()["hr"] == 1
    a.close(), b.close()


def test_remove_missing_keeps_linked_employees(workspace):
    workspace.hr.upsert([{"hr_id": h, "first_name": h} for h in ("E1", "E2", "E3")],
                                   source="a.csv")
    workspace.links.add("E2", 5, analyst="a", method="manual")
    counts = workspace.hr.upsert([{"hr_id": "E1", "first_name": "Anna"}],
                                            source="b.csv", remove_missing=True)
    assert counts == {"added": 0, "updated": 1, "removed": 1}
    assert sorted(workspace.hr.frame()["hr_id"]) == ["E1", "E2"]


def test_settings_round_trip_and_refuse_the_token(workspace):
    workspace.settings.set("hr_label", "Sympa", analyst="a")
    workspace.settings.set("thresholds", {"certain": 90}, analyst="a")
    assert workspace.settings.get("hr_label") == "Sympa"
    assert workspace.settings.all()["thresholds"] == {"certain": 90}
    assert workspace.settings.get("missing", 3) == 3
    with pytest.raises(InputError, match="never stored"):
        workspace.settings.set("kleer_token", "secret", analyst="a")


def test_snapshot_replaces_the_previous_one(workspace):
    snap = {"id": "s1", "fetched_at": "2026-11-01T10:00:00+00:00", "users": 2, "contracts": 1,
            "fingerprint": "f", "base_url": "http://127.0.0.1/v1", "company_id": 1}
    workspace.kleer.replace_snapshot([{"kleer_id": 1, "name": "A B", "fingerprint": "x"},
                                    {"kleer_id": 2, "name": "C D", "fingerprint": "y"}], snapshot=snap)
    workspace.kleer.replace_snapshot([{"kleer_id": 3, "name": "E F", "fingerprint": "z"}],
                                   snapshot={**snap, "id": "s2", "fetched_at": "2026-11-02T10:00:00+00:00"})
    assert list(workspace.kleer.frame()["kleer_id"]) == [3]
    assert workspace.kleer.get(3)["snapshot_id"] == "s2"
    assert workspace.kleer.last_snapshot()["id"] == "s2"


def test_decisions_upsert_per_subject(workspace):
    workspace.decisions.set(side="import", subject_id=7, action="prefer_hr", hr_id="E1", analyst="a",
                           overrides={"phone": "kleer"})
    workspace.decisions.set(side="import", subject_id=7, action="prefer_kleer", hr_id="E1", analyst="b")
    df = workspace.decisions.frame("import")
    assert len(df) == 1 and df.iloc[0]["action"] == "prefer_kleer" and df.iloc[0]["analyst"] == "b"
    assert df.iloc[0]["overrides"] == {}


def test_an_older_workspace_keeps_kleer_foreign_ids_under_their_new_name(workspace_path, monkeypatch):
    import workbench.store.workspace as schema

    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS[:3])  # a workspace from before the rename
    old = Workspace(workspace_path)
    old.db["kleer_users"].insert({"kleer_id": 7, "name": "Anna", "hr_id": "E1"})
    old.close()
    monkeypatch.undo()
    ws = Workspace(workspace_path)
    assert ws.schema_version == MIGRATIONS[-1][0]
    assert ws.kleer.get(7)["foreign_id"] == "E1" and "hr_id" not in ws.kleer.get(7)
    assert ws.kleer.matching_frame().loc[0, "hr_id"] == "E1"  # the matcher's name for it
    ws.close()


def test_an_operations_audit_row_reads_its_before_and_after_from_the_journal(workspace):
    journal_id = workspace.journal.insert({"plan_id": "p", "op_id": "o", "batch_id": "b", "seq": 1,
                                           "kind": "hr_update", "status": "done",
                                           "before": {"phone": "1"}, "after": {"phone": "2"}})
    workspace.audit.append(event="operation", analyst="a", journal_id=journal_id, result="done")
    stored = workspace.query("SELECT before, after FROM audit")[0]
    assert stored == {"before": None, "after": None}  # stored once: in the journal
    row = workspace.audit.frame().iloc[0]
    assert (row["before"], row["after"]) == ('{"phone": "1"}', '{"phone": "2"}')
