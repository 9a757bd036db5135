"""The audit trail: every decision change and every operation, with who, when, score, evidence and
before/after; exported as CSV or JSON with personal numbers masked unless revealed (a revealed
export is itself audited) and spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from workbench.api import Workbench
from workbench.errors import InputError

from .sync_support import close_workbench, kleer_json, open_workbench, person


@pytest.fixture
def wb(workspace_path, kleer_sim):
    """HR E0000..E0002; Kleer 1 = E0000's person with another phone (unlinked), with a suggestion
    whose evidence carries the personnummer; E0002 is exported (created in Kleer)."""
    hr = [person(i) for i in range(3)]
    w = open_workbench(workspace_path, kleer_sim, hr,
                       [kleer_json(hr[0], 1, foreign_id=False, phone="+46701112233")])
    w.workspace.suggestions.replace(pd.DataFrame([{
        "kleer_id": 1, "hr_id": "E0000", "rank": 1, "score": 0.97, "band": "certain", "assigned": 1,
        "tie": 0, "contested": 0, "namesake": 0,
        "evidence": [{"signal": "ssn", "label": "Personnummer", "hr": hr[0]["ssn"],
                      "kleer": hr[0]["ssn"], "sentence": "Personnummer identical"}]}]), run_id="r")
    w.decide([{"kleer_id": 1, "action": "prefer_kleer", "hr_id": "E0000"}])
    w.apply(w.plan("import", [1]))
    w.decide(hr_id="E0002", action="export")
    w.apply(w.plan("export", ["E0002"]))
    yield w
    close_workbench(w)


def test_decisions_and_operations_are_audited_with_evidence_and_before_after(wb):
    audit = wb.audit(reveal=True)
    decision = audit[audit["event"] == "decision"].iloc[-1]  # oldest first at the end
    assert (decision["analyst"], decision["action"], decision["hr_id"], decision["kleer_id"]) == \
        ("Ada", "prefer_kleer", "E0000", 1)
    assert decision["score"] == pytest.approx(0.97)
    assert decision["evidence"][0]["sentence"] == "Personnummer identical"
    ops = audit[audit["event"] == "operation"].set_index("action")
    # + the import link's foreign-id written to Kleer user 1 (the link kept in Kleer)
    assert set(ops.index) == {"hr_update", "kleer_link", "kleer_create"}
    assert ops.loc["kleer_link"]["after"] == {"hr_id": "E0000"}
    update = ops.loc["hr_update"]
    assert update["before"] == {"phone": "+46701000000"} and update["after"] == {"phone": "+46701112233"}
    assert update["result"] == "done" and update["batch_id"].startswith("batch-")
    create = ops.loc["kleer_create"]
    assert create["after"]["ssn"] == wb.workspace.hr.get("E0002")["ssn"]
    assert create["detail"]["answer"]["created"] is True
    assert set(audit[audit["event"] == "apply"]["action"]) == {"start", "finish"}


def test_the_audit_masks_personal_numbers_everywhere_unless_revealed(wb):
    ssn0, ssn2 = (wb.workspace.hr.get(h)["ssn"] for h in ("E0000", "E0002"))
    account2 = wb.workspace.hr.get("E0002")["account_nr"]
    masked = wb.audit()
    text = masked.to_json()
    assert ssn0 not in text and ssn2 not in text and account2 not in text
    decision = masked[masked["event"] == "decision"].iloc[-1]
    assert decision["evidence"][0]["hr"] == ssn0[:9] + "****"
    create = masked[masked["action"] == "kleer_create"].iloc[0]
    assert create["after"]["ssn"] == ssn2[:9] + "****"
    assert create["after"]["account_nr"] == "****" + account2[-4:]
    assert create["after"]["first_name"] == wb.workspace.hr.get("E0002")["first_name"]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_the_export_is_masked_and_a_revealed_export_is_audited(wb, tmp_path, suffix):
    ssn2 = wb.workspace.hr.get("E0002")["ssn"]
    path = tmp_path / f"audit{suffix}"
    rows = wb.export_audit(path)
    assert rows == len(wb.audit())
    data = path.read_bytes().decode("utf-8-sig")
    assert ssn2 not in data and ssn2[:9] + "****" in data
    if suffix == ".json":
        assert len(json.loads(data)) == rows
    else:
        assert len(list(csv.DictReader(io.StringIO(data)))) == rows
    assert not (wb.audit()["event"] == "audit_export").any()
    revealed = tmp_path / f"revealed{suffix}"
    wb.export_audit(revealed, reveal=True)
    assert ssn2 in revealed.read_bytes().decode("utf-8-sig")
    [entry] = wb.audit()[wb.audit()["event"] == "audit_export"].to_dict("records")
    assert (entry["analyst"], entry["action"]) == ("Ada", "reveal")
    assert entry["detail"] == {"file": revealed.name, "rows": rows}


def test_a_csv_export_neutralises_spreadsheet_formulas(workspace_path, tmp_path):
    with Workbench(workspace_path, analyst="=HYPERLINK(\"http://evil\")") as wb:
        wb.update_settings(hr_label="-2+3")
        path = tmp_path / "audit.csv"
        wb.export_audit(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0]["analyst"] == "'=HYPERLINK(\"http://evil\")"
    assert all(not value.startswith(("=", "+", "-", "@")) for r in rows for value in r.values())


def test_an_unknown_export_format_is_refused(wb, tmp_path):
    with pytest.raises(InputError, match=r"\.csv or \.json"):
        wb.export_audit(tmp_path / "audit.xlsx")


def test_masking_keeps_the_evidence_readable():
    from workbench.audit import mask_json

    evidence = [{"signal": "ssn", "label": "Personnummer", "hr": "19850312-1231",
                 "kleer": "19850312-1231", "agreement": "exact", "contribution": 60.0,
                 "sentence": "Personnummer identical"},
                {"signal": "account_nr", "hr": "9412345678", "sentence": "Account number identical"}]
    masked = mask_json(evidence)
    assert masked[0]["hr"] == masked[0]["kleer"] == "19850312-****"
    assert (masked[0]["sentence"], masked[0]["agreement"], masked[0]["contribution"]) == \
        ("Personnummer identical", "exact", 60.0)
    assert masked[1]["hr"] == "****5678" and masked[1]["sentence"] == "Account number identical"
