"""The Plan: operations per decision with before → after per field (from THE diff), blockers,
warnings, counts, immutability, the JSON round trip and the review frame."""

from __future__ import annotations

import dataclasses
import json

import pytest

from workbench import decisions, model, planning
from workbench.errors import InputError, PlanError
from workbench.fields import diff
from workbench.planning import Scope
from workbench.store import Workspace

from .sync_support import kleer_json, person, seed_hr, seed_snapshot


@pytest.fixture
def ws(workspace_path):
    """HR E0000..E0005. Kleer 101..104 hold E0000..E0003 (no foreign-id); 102 has another phone
    and last name; E0004 and E0005 are only in HR (E0005 without personnummer and start date)."""
    w = Workspace(workspace_path)
    people = [person(i) for i in range(5)] + [person(5, ssn=None, employment_start_date=None,
                                                     private_email="not-an-email")]
    seed_hr(w, people)
    pairs = [kleer_json(p, 101 + i, foreign_id=False) for i, p in enumerate(people[:4])]
    pairs[1] = kleer_json(people[1], 102, foreign_id=False, phone="+46705550000", name="Erik Bergh")
    seed_snapshot(w, pairs)
    yield w
    w.close()


def ops_by_kind(p: model.Plan) -> dict[str, model.Operation]:
    return {op.kind: op for op in p.operations}


def without_foreign_ids(p: model.Plan) -> list[model.Operation]:
    """The plan's operations except the writes that keep a link in Kleer (``kleer_link``:
    every import link to a Kleer user without the HR id as foreign-id has one)."""
    return [op for op in p.operations if op.kind != "kleer_link"]


def test_prefer_kleer_links_and_updates_hr_with_kleers_differing_fields(ws):
    decisions.decide(ws, {"kleer_id": 102, "action": "prefer_kleer", "hr_id": "E0001"}, analyst="Ada")
    p = planning.build(ws, Scope("import", ["102"]))
    [op] = without_foreign_ids(p)
    assert (op.kind, op.hr_id, op.kleer_id, op.link, op.method) == \
        ("hr_update", "E0001", 102, "create", "suggested")
    assert op.targets == ("hr", "links")
    assert op.before == {"last_name": "Andersson", "phone": "+46701000001"}
    assert op.after == {"last_name": "Bergh", "phone": "+46705550000"}
    expected = {d.key for d in diff(ws.hr.get("E0001"), ws.kleer.get(102))}
    assert set(op.fields) == expected
    assert not op.blocked and not op.remote


def test_prefer_hr_only_links_and_an_override_takes_one_field_from_kleer(ws):
    decisions.decide(ws, [{"kleer_id": 102, "action": "prefer_hr", "hr_id": "E0001"},
                     {"kleer_id": 101, "action": "prefer_hr", "hr_id": "E0000"}], analyst="Ada")
    p = planning.build(ws, Scope("import", ["101", "102"]))
    assert [(op.kind, op.kleer_id, op.after) for op in p.operations] == \
        [("link", 101, {}), ("kleer_link", 101, {"hr_id": "E0000"}),
         ("link", 102, {}), ("kleer_link", 102, {"hr_id": "E0001"})]
    decisions.decide(ws, {"kleer_id": 102, "action": "prefer_hr", "hr_id": "E0001",
                     "overrides": {"phone": "kleer"}}, analyst="Ada")
    [op] = without_foreign_ids(planning.build(ws, Scope("import", ["102"])))
    assert op.kind == "hr_update" and op.after == {"phone": "+46705550000"}


def test_match_manually_prefers_the_chosen_side_and_records_the_method(ws):
    decisions.decide(ws, {"kleer_id": 102, "action": "match_manually", "hr_id": "E0001",
                     "prefer": "kleer", "overrides": {"last_name": "hr"}}, analyst="Ada")
    [op] = without_foreign_ids(planning.build(ws, Scope("import", ["102"])))
    assert (op.kind, op.method, op.action) == ("hr_update", "manual", "match_manually")
    assert op.after == {"phone": "+46705550000"}


def test_create_in_hr_carries_the_whole_record_from_kleer(ws):
    decisions.decide(ws, {"kleer_id": 104, "action": "create_in_hr", "hr_id": "NEW-1"}, analyst="Ada")
    [op] = planning.build(ws, Scope("import", ["104"])).operations
    assert (op.kind, op.hr_id, op.kleer_id, op.link) == ("hr_create", "NEW-1", 104, "create")
    after = op.after
    hr = ws.hr.get("E0003")  # the same person as Kleer user 104
    for key in ("first_name", "last_name", "ssn", "phone", "street", "zip_code", "monthly_salary"):
        assert after[key] == hr[key], key
    assert after["hr_id"] == "NEW-1" and after["birth_date"] == hr["birth_date"]
    assert op.blockers == ()


def test_import_blockers_linked_elsewhere_claimed_twice_and_existing_id(ws):
    ws.links.add("E0002", 103, analyst="Ada", method="manual")
    decisions.decide(ws, [
        {"kleer_id": 101, "action": "match_manually", "hr_id": "E0002"},   # E0002 linked to 103
        {"kleer_id": 102, "action": "match_manually", "hr_id": "E0004"},   # claimed twice …
        {"kleer_id": 104, "action": "prefer_hr", "hr_id": "E0004"},        # … here too
    ], analyst="Ada")
    p = planning.build(ws, Scope("import"))
    ops = {op.kleer_id: op for op in without_foreign_ids(p)}
    assert ops[101].blockers == ("HR employee E0002 is already linked to Kleer user 103",)
    assert ops[102].blockers == ("HR employee E0004 is claimed by more than one decision",)
    assert ops[104].blockers == ("HR employee E0004 is claimed by more than one decision",)
    # each link's foreign-id write is blocked with it
    assert {op.kleer_id: op.blockers for op in p.operations if op.kind == "kleer_link"} == \
        {k: ops[k].blockers for k in (101, 102, 104)}
    assert p.counts_dict["blocked"] == 6 and p.runnable == ()
    assert len(p.blockers) == 6


def test_export_of_an_unlinked_employee_creates_in_kleer_with_foreign_id(ws):
    decisions.decide(ws, {"hr_id": "E0004", "action": "export"}, analyst="Ada")
    [op] = planning.build(ws, Scope("export", ["E0004"])).operations
    assert (op.kind, op.hr_id, op.kleer_id, op.link, op.targets) == \
        ("kleer_create", "E0004", None, "create", ("kleer", "links"))
    hr = ws.hr.get("E0004")
    assert op.after["hr_id"] == "E0004"
    assert op.after["private_email"] == hr["private_email"] and "work_email" not in op.after
    assert op.after["ssn"] == hr["ssn"] and op.after["monthly_salary"] == hr["monthly_salary"]
    assert set(op.before.values()) == {None}
    work = planning.build(ws, Scope("export", ["E0004"]), email_preference="work")
    assert work.operations[0].after["work_email"] == hr["work_email"]
    assert work.email_preference == "work"


def test_a_kleer_create_without_personnummer_start_date_or_email_is_blocked(ws):
    decisions.decide(ws, {"hr_id": "E0005", "action": "export"}, analyst="Ada")
    p = planning.build(ws, Scope("export", ["E0005"]))
    [op] = p.operations
    assert op.blocked
    text = "; ".join(op.blockers)
    assert "personnummer" in text and "start date" in text and "private email" in text
    assert "blocked" in p.summary() and "E0005" in p.summary()


def test_export_of_a_linked_pair_updates_kleer_and_an_override_updates_hr(ws):
    ws.links.add("E0001", 102, analyst="Ada", method="manual")
    decisions.decide(ws, {"hr_id": "E0001", "action": "export", "overrides": {"phone": "kleer"}},
                analyst="Ada")
    p = planning.build(ws, Scope("export", ["E0001"]))
    ops = ops_by_kind(p)
    upd = ops["kleer_update"]
    assert upd.before == {"last_name": "Bergh"} and upd.after == {"last_name": "Andersson"}
    assert upd.kleer_fingerprint == ws.kleer.get(102)["fingerprint"]
    assert upd.targets == ("kleer",) and upd.link is None
    assert ops["hr_update"].after == {"phone": "+46705550000"}
    assert p.snapshot_fingerprint == ws.kleer.last_snapshot()["fingerprint"]
    assert p.snapshot_id == ws.kleer.last_snapshot()["id"]


def test_unlink_ends_only_the_link_and_an_unlinked_employee_needs_nothing(ws):
    ws.links.add("E0001", 102, analyst="Ada", method="manual")
    decisions.decide(ws, [{"hr_id": "E0001", "action": "unlink"}, {"hr_id": "E0000", "action": "unlink"}],
                analyst="Ada")
    p = planning.build(ws, Scope("export", ["E0000", "E0001"]))
    assert [(op.kind, op.hr_id, op.kleer_id, op.targets, op.link) for op in p.operations] == \
        [("unlink", "E0001", 102, ("links",), "end")]
    assert p.counts_dict["action:unlink"] == 2


def test_an_existing_foreign_id_in_kleer_is_a_warning_to_link_instead(ws):
    people = [person(i) for i in range(5)]
    seed_snapshot(ws, [kleer_json(people[4], 200)])  # carries foreign-id E0004, unlinked
    decisions.decide(ws, {"hr_id": "E0004", "action": "export"}, analyst="Ada")
    [op] = planning.build(ws, Scope("export", ["E0004"])).operations
    assert not op.blocked
    assert op.warnings == ("Kleer user 200 already carries foreign-id E0004: apply links it "
                           "instead of creating a new user",)


def test_scope_limits_subjects_and_unknown_ids_are_named(ws):
    decisions.decide(ws, [{"hr_id": "E0003", "action": "export"}, {"hr_id": "E0004", "action": "export"}],
                analyst="Ada")
    assert [op.hr_id for op in planning.build(ws, Scope("export", ["E0004"])).operations] == ["E0004"]
    with pytest.raises(InputError, match="E9999"):
        planning.build(ws, Scope("export", ["E0004", "E9999"]))
    with pytest.raises(InputError, match="side"):
        Scope("sideways")


def test_proposed_decisions_are_planned_and_flagged(ws):
    import pandas as pd
    ws.suggestions.replace(pd.DataFrame([{"kleer_id": 101, "hr_id": "E0000", "rank": 1, "score": 0.99,
                                          "band": "certain", "assigned": 1, "tie": 0, "contested": 0,
                                          "namesake": 0, "evidence": []}]), run_id="r")
    p = planning.build(ws, Scope("import"))
    [op] = without_foreign_ids(p)
    assert (op.kind, op.hr_id, op.kleer_id, op.proposed) == ("link", "E0000", 101, True)
    assert any("proposed" in w for w in p.warnings)


def test_the_plan_is_immutable_and_round_trips_through_json(ws):
    ws.links.add("E0001", 102, analyst="Ada", method="manual")
    decisions.decide(ws, [{"hr_id": "E0001", "action": "export", "overrides": {"phone": "kleer"}},
                     {"hr_id": "E0004", "action": "export"}, {"hr_id": "E0005", "action": "export"}],
                analyst="Ada")
    p = planning.build(ws, Scope("export"), analyst="Ada")
    assert isinstance(p.operations, tuple) and isinstance(p.operations[0].changes, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.id = "other"  # type: ignore[misc]
    text = p.to_json()
    data = json.loads(text)
    assert data["format_version"] == model.FORMAT_VERSION and data["id"] == p.id
    again = model.Plan.from_json(text)
    assert again == p
    assert again.to_json() == text


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"format_version": 99}), "format version 99"),
    (json.dumps({"format_version": 1, "id": "x"}), "not a workbench plan"),
])
def test_a_bad_plan_file_is_refused_with_a_reason(text, message):
    with pytest.raises(PlanError, match=message):
        model.Plan.from_json(text)


def test_the_operations_frame_masks_personal_numbers_unless_revealed(ws):
    decisions.decide(ws, {"hr_id": "E0004", "action": "export"}, analyst="Ada")
    p = planning.build(ws, Scope("export", ["E0004"]))
    ssn = ws.hr.get("E0004")["ssn"]
    account = ws.hr.get("E0004")["account_nr"]
    masked = p.operations_frame()
    assert list(masked["kind"]) == ["kleer_create"]
    assert ssn not in masked.loc[0, "changes"] and account not in masked.loc[0, "changes"]
    assert ssn[:9] + "****" in masked.loc[0, "changes"]
    revealed = p.operations_frame(reveal=True)
    assert ssn in revealed.loc[0, "changes"] and account in revealed.loc[0, "changes"]
    assert "Personnummer" in masked.loc[0, "fields"]


def test_summary_counts_operations_per_kind(ws):
    decisions.decide(ws, [{"hr_id": "E0003", "action": "export"}, {"hr_id": "E0004", "action": "export"}],
                analyst="Ada")
    s = planning.build(ws, Scope("export")).summary()
    # E0003's personnummer is Kleer user 104's: that create is blocked (match them on Import)
    assert "1 operation(s) to run: 1 kleer_create" in s
    assert "already in Kleer as user 104 (Lars Andersson): match them on Import instead" in s
    assert "2 export" in s and "4 do_nothing" in s
