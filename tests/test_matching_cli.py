"""Matching where users meet it: ``Workbench.suggest`` on a real workspace filled from the demo
HR file and the Kleer simulator (over HTTP; the ``demo_workbench`` fixture), the stored
evidence, and ``workbench match`` / ``workbench evaluate`` from the workspace or from two CSV
files."""

from __future__ import annotations

import re

import csv
import io
import json

import pandas as pd
import pytest

from tests.conftest import DEMO
from workbench.api import Workbench
from workbench.cli import main
from workbench.errors import InputError
from workbench.kleer.mapping import records_from_kleer
from workbench.matching import MatchSettings

HR_FILE, TRUTH = DEMO / "hr_employees.csv", DEMO / "ground_truth.csv"
KLEER_CSV_COLUMNS = ["kleer_id", "name", "email", "active", "hr_id", "ssn", "phone", "street",
                     "zip_code", "city", "employment_start_date", "employee_number"]


@pytest.fixture(scope="module")
def true_pairs() -> int:
    return len(pd.read_csv(TRUTH))


@pytest.fixture(scope="module")
def kleer_csv(tmp_path_factory):
    """The demo's Kleer company as a CSV file: one full name, empty cells for missing values."""
    seed = json.loads((DEMO / "kleer_seed.json").read_text(encoding="utf-8"))
    kleer = pd.DataFrame(records_from_kleer(seed["users"], seed["payroll-user-readables"]))
    path = tmp_path_factory.mktemp("kleer") / "kleer.csv"
    kleer[KLEER_CSV_COLUMNS].astype({"employee_number": "Int64"}).to_csv(path, index=False)
    return path


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_suggest_stores_suggestions_with_their_evidence(demo_workbench, workspace_path, true_pairs):
    calls = []
    frame = demo_workbench.suggest(on_progress=lambda *a: calls.append(a))
    assert calls[-1][0] == calls[-1][1]
    assert frame["assigned"].sum() >= 0.98 * true_pairs
    with Workbench(workspace_path) as again:  # a new session: nothing is recomputed
        stored = again.suggestions()
        assert len(stored) == len(frame)
        row = stored[(stored["kleer_id"] == frame.loc[0, "kleer_id"])
                     & (stored["hr_id"] == frame.loc[0, "hr_id"])].iloc[0]
        assert row["evidence"] == frame.loc[0, "evidence"]
        assert again.evaluate(TRUTH).f1 >= 0.98
        audit = again.audit()
        match = audit[audit["event"] == "match"].iloc[0]
        assert match["action"] == "suggest" and match["analyst"] == "setup"


def test_linked_employees_are_not_suggested_again(demo_workbench):
    first = demo_workbench.suggestions()
    pair = first[first["assigned"] == 1].iloc[0]
    demo_workbench.workspace.add_link(pair["hr_id"], int(pair["kleer_id"]), analyst="setup",
                                      method="match")
    again = demo_workbench.suggest()
    assert pair["hr_id"] not in set(again["hr_id"])
    assert int(pair["kleer_id"]) not in set(again["kleer_id"])
    assert again["assigned"].sum() == (first["assigned"] == 1).sum() - 1


def test_stored_match_settings_are_used(demo_workbench):
    settings = MatchSettings(top_k=1, possible=95, likely=96, certain=97)
    demo_workbench.update_match_settings(settings)
    frame = demo_workbench.suggest()
    assert frame["rank"].max() == 1 and frame["score"].min() >= 95
    assert demo_workbench.match_settings() == settings


def test_suggest_says_what_is_missing(wb):
    with pytest.raises(InputError, match="load the HR file first"):
        wb.suggest()
    wb.load_hr(HR_FILE)
    with pytest.raises(InputError, match="fetch Kleer first"):
        wb.suggest()
    with pytest.raises(InputError, match="run `workbench match`"):
        wb.evaluate(TRUTH)


def test_cli_match_from_files(kleer_csv, true_pairs, tmp_path, capsys):
    out = tmp_path / "suggestions.csv"
    assert main(["match", "--hr", str(HR_FILE), "--kleer", str(kleer_csv), "--out", str(out)]) == 0
    rows = _rows(out.read_text(encoding="utf-8-sig"))
    assert {"kleer_id", "hr_id", "score", "band", "assigned", "evidence"} <= set(rows[0])
    assigned = [r for r in rows if r["assigned"] == "True"]
    assert len(assigned) >= 0.98 * true_pairs
    assert all(r["band"] in ("certain", "likely", "possible") for r in rows)
    assert any(re.search(r"Personnummer identical \(\+\d+\.\d bits\)", r["evidence"]) for r in rows)
    assert f"written to {out}" in capsys.readouterr().err

    assert main(["match", "--hr", str(HR_FILE), "--kleer", str(kleer_csv), "--assigned-only"]) == 0
    only = _rows(capsys.readouterr().out)
    assert len(only) == len(assigned) and {r["assigned"] for r in only} == {"True"}


def test_cli_evaluate_from_files(kleer_csv, capsys):
    assert main(["evaluate", "--truth", str(TRUTH), "--hr", str(HR_FILE),
                 "--kleer", str(kleer_csv)]) == 0
    out = capsys.readouterr().out
    f1 = float(next(line for line in out.splitlines() if line.startswith("F1")).split()[1])
    assert f1 >= 0.98 and "precision" in out and "recall" in out


def test_cli_match_from_the_workspace_then_evaluate(demo_workbench, workspace_path, capsys):
    ws = str(workspace_path)
    assert main(["match", "--workspace", ws, "--assigned-only"]) == 0
    printed = _rows(capsys.readouterr().out)
    assert len(printed) == (demo_workbench.suggestions()["assigned"] == 1).sum()
    assert main(["evaluate", "--workspace", ws, "--truth", str(TRUTH)]) == 0
    out = capsys.readouterr().out
    assert float(out.split("F1", 1)[1].split()[0]) >= 0.98


def test_cli_match_needs_both_files(capsys):
    assert main(["match", "--hr", str(HR_FILE)]) == 1
    assert "give both --hr FILE and --kleer FILE" in capsys.readouterr().err
