"""Matching where users meet it: ``Workbench.suggest`` on a real workspace filled from the demo
HR file and the Kleer simulator (over HTTP), the stored evidence, and ``workbench match`` /
``workbench evaluate`` from the workspace or from two CSV files."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from workbench import demo
from workbench.api import Workbench
from workbench.cli import main
from workbench.errors import InputError
from workbench.kleer.mapping import records_from_kleer
from workbench.matching import MatchSettings

DEMO_PAIRS = 270  # true pairs in demo.generate(300, seed=7), the data/demo arguments
KLEER_CSV_COLUMNS = ["kleer_id", "name", "email", "active", "hr_id", "ssn", "phone", "street",
                     "zip_code", "city", "employment_start_date", "employee_number"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The demo as files: the HR export, the Kleer seed, the truth, and a Kleer CSV."""
    folder = tmp_path_factory.mktemp("demo-files")
    generated = demo.generate(300, seed=7)
    assert len(generated.truth) == DEMO_PAIRS
    paths = demo.write(generated, folder)
    seed = generated.kleer_seed
    kleer = pd.DataFrame(records_from_kleer(seed["users"], seed["payroll-user-readables"]))
    kleer = kleer[KLEER_CSV_COLUMNS].astype({"employee_number": "Int64"})
    paths["kleer_csv"] = folder / "kleer.csv"
    kleer.to_csv(paths["kleer_csv"], index=False)
    return paths


@pytest.fixture
def loaded(wb, kleer_sim, files):
    """A workspace with the demo HR file loaded and the demo company fetched from the simulator."""
    kleer_sim.reset(files["kleer_seed"])
    wb.load_hr(files["hr"])
    with kleer_sim.client() as client:
        wb.fetch_kleer(client=client)
    return wb


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_suggest_stores_suggestions_with_their_evidence(loaded, files, workspace_path):
    calls = []
    frame = loaded.suggest(on_progress=lambda *a: calls.append(a))
    assert calls[-1][0] == calls[-1][1]
    assert frame["assigned"].sum() >= 0.98 * DEMO_PAIRS
    with Workbench(workspace_path) as again:  # a new session: nothing is recomputed
        stored = again.suggestions()
        assert len(stored) == len(frame)
        row = stored[(stored["kleer_id"] == frame.loc[0, "kleer_id"])
                     & (stored["hr_id"] == frame.loc[0, "hr_id"])].iloc[0]
        assert row["evidence"] == frame.loc[0, "evidence"]
        assert again.evaluate(files["truth"]).f1 >= 0.98
        audit = again.audit()
        match = audit[audit["event"] == "match"].iloc[0]
        assert match["action"] == "suggest" and match["analyst"] == "Test Analyst"


def test_linked_employees_are_not_suggested_again(loaded):
    first = loaded.suggest()
    pair = first[first["assigned"]].iloc[0]
    loaded.workspace.add_link(pair["hr_id"], int(pair["kleer_id"]), analyst="Test Analyst",
                              method="match")
    again = loaded.suggest()
    assert pair["hr_id"] not in set(again["hr_id"])
    assert int(pair["kleer_id"]) not in set(again["kleer_id"])
    assert len(again[again["assigned"]]) == len(first[first["assigned"]]) - 1


def test_stored_match_settings_are_used(loaded):
    settings = MatchSettings(top_k=1, possible=95, likely=96, certain=97)
    loaded.update_match_settings(settings)
    frame = loaded.suggest()
    assert frame["rank"].max() == 1 and frame["score"].min() >= 95
    assert loaded.match_settings() == settings


def test_suggest_says_what_is_missing(wb, files):
    with pytest.raises(InputError, match="load the HR file first"):
        wb.suggest()
    wb.load_hr(files["hr"])
    with pytest.raises(InputError, match="fetch Kleer first"):
        wb.suggest()
    with pytest.raises(InputError, match="run `workbench match`"):
        wb.evaluate(files["truth"])


def test_cli_match_from_files(files, tmp_path, capsys):
    out = tmp_path / "suggestions.csv"
    assert main(["match", "--hr", str(files["hr"]), "--kleer", str(files["kleer_csv"]),
                 "--out", str(out)]) == 0
    rows = _rows(out.read_text(encoding="utf-8-sig"))
    assert {"kleer_id", "hr_id", "score", "band", "assigned", "evidence"} <= set(rows[0])
    assigned = [r for r in rows if r["assigned"] == "True"]
    assert len(assigned) >= 0.98 * DEMO_PAIRS
    assert all(r["band"] in ("certain", "likely", "possible") for r in rows)
    assert any("Personnummer identical (+60)" in r["evidence"] for r in rows)
    assert f"written to {out}" in capsys.readouterr().err

    assert main(["match", "--hr", str(files["hr"]), "--kleer", str(files["kleer_csv"]),
                 "--assigned-only"]) == 0
    only = _rows(capsys.readouterr().out)
    assert len(only) == len(assigned) and {r["assigned"] for r in only} == {"True"}


def test_cli_evaluate_from_files(files, capsys):
    assert main(["evaluate", "--truth", str(files["truth"]), "--hr", str(files["hr"]),
                 "--kleer", str(files["kleer_csv"])]) == 0
    out = capsys.readouterr().out
    f1 = float(next(line for line in out.splitlines() if line.startswith("F1")).split()[1])
    assert f1 >= 0.98 and "precision" in out and "recall" in out


def test_cli_match_from_the_workspace_then_evaluate(loaded, files, workspace_path, capsys):
    ws = str(workspace_path)
    assert main(["match", "--workspace", ws, "--assigned-only"]) == 0
    printed = _rows(capsys.readouterr().out)
    assert len(printed) == len(loaded.suggestions().query("assigned == 1"))
    assert main(["evaluate", "--workspace", ws, "--truth", str(files["truth"])]) == 0
    out = capsys.readouterr().out
    assert float(out.split("F1", 1)[1].split()[0]) >= 0.98


def test_cli_match_needs_both_files(files, capsys):
    assert main(["match", "--hr", str(files["hr"])]) == 1
    assert "give both --hr FILE and --kleer FILE" in capsys.readouterr().err
