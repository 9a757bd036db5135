"""The Kleer token never leaves the environment: not into the workspace file, the audit, logs,
exception texts, the pages or a download — searched for after the whole flow has run."""

from __future__ import annotations

import logging

import pandas as pd

from tests.conftest import open_page
from workbench.cli import main
from workbench.errors import WorkbenchError


def test_the_token_appears_nowhere_after_a_full_flow(demo_workbench, kleer_sim, workspace_path,
                                                     tmp_path, caplog, capsys, monkeypatch):
    token = kleer_sim.token
    caplog.set_level(logging.DEBUG)
    wb = demo_workbench
    wb.analyst = "Ada"
    sugg = wb.suggestions()
    certain = sugg[(sugg["assigned"] == 1) & (sugg["band"] == "certain")].head(5)
    wb.decide(pd.DataFrame({"kleer_id": certain["kleer_id"], "action": "prefer_hr",
                            "hr_id": certain["hr_id"], "prefer": "hr"}))
    wb.apply(wb.plan("import"))
    only_hr = wb.hr_employees()
    only_hr = only_hr[~only_hr["hr_id"].isin(wb.links()["hr_id"])].head(3)
    wb.decide(pd.DataFrame({"hr_id": only_hr["hr_id"], "action": "export"}))
    result = wb.apply(wb.plan("export", list(only_hr["hr_id"])))
    assert result.counts_dict.get("done", 0) >= 1  # something was really written to Kleer
    wb.export_audit(tmp_path / "audit.csv")
    wb.export_audit(tmp_path / "audit.json", reveal=True)
    assert main(["audit", "--out", str(tmp_path / "cli-audit.csv"), "--workspace", str(workspace_path)]) == 0

    # a failure with the wrong token: the message must not echo what was sent
    monkeypatch.setenv("KLEER_TOKEN", token + "-wrong")
    try:
        wb.fetch_kleer(token=token + "-wrong")
    except WorkbenchError as e:
        assert token not in str(e) and "token" in str(e).lower()
    else:
        raise AssertionError("a wrong token must be refused")
    monkeypatch.setenv("KLEER_TOKEN", token)

    pages = [open_page(p) for p in ("pages/overview.py", "pages/sources.py", "pages/import_kleer.py",
                                     "pages/settings.py", "pages/audit.py", "pages/export_kleer.py")]
    wb.workspace.conn.execute("PRAGMA wal_checkpoint(FULL)")

    places = {
        "workspace file": workspace_path.read_bytes(),
        "audit.csv": (tmp_path / "audit.csv").read_bytes(),
        "audit.json (revealed)": (tmp_path / "audit.json").read_bytes(),
        "cli audit": (tmp_path / "cli-audit.csv").read_bytes(),
        "logs": "\n".join(r.getMessage() for r in caplog.records).encode(),
        "terminal": "".join(capsys.readouterr()).encode(),
        "pages": "\n".join(repr([getattr(e, "value", "") for e in at.main] +
                                [getattr(e, "value", "") for e in at.sidebar]) for at in pages).encode(),
        "reprs": (repr(wb) + repr(wb.kleer_client()) + repr(result)).encode(),
    }
    assert b"HTTP Request: GET http://127.0.0.1" in places["logs"]  # the request logs were captured
    for where, content in places.items():
        assert token.encode() not in content, f"the Kleer token leaked into {where}"
    assert all(not at.exception for at in pages), [at.exception for at in pages if at.exception]
