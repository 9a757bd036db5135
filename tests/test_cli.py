"""The `workbench` command: load-hr, errors as one line, and the README kept in step."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import COMMANDS, main
from workbench.store import Workspace

ROOT = Path(__file__).resolve().parent.parent


def test_load_hr_reads_aliased_headers_into_the_workspace(tmp_path, capsys):
    src = tmp_path / "hr.csv"
    src.write_text("Anställd-ID,Förnamn,Efternamn,Personnummer,E-post arbete\n"
                   "E1,Åsa,Öberg,850312-1231,Asa.Oberg@Firma.se\n"
                   "E2,Bo,Ek,850312-1232,bo@firma.se\n", encoding="utf-8")
    ws = tmp_path / "w.db"
    assert main(["load-hr", str(src), "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "2 employees loaded" in out and "row 3" in out and "bad checksum" in out
    rows = {r["hr_id"]: r for r in Workspace(ws).query("SELECT * FROM hr_employees")}
    assert rows["E1"]["ssn"] == "19850312-1231"
    assert rows["E1"]["work_email"] == "asa.oberg@firma.se"
    assert rows["E1"]["birth_date"] == "1985-03-12"
    assert rows["E2"]["ssn"] == "850312-1232"  # invalid: kept as given, with the problem recorded
    assert "bad checksum" in rows["E2"]["problems"]


def test_errors_are_one_line_and_exit_non_zero(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", "load-hr", str(tmp_path / "missing.csv"),
                           "--workspace", str(tmp_path / "w.db")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("error: ") and "missing.csv: file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_required_columns_are_listed(tmp_path, capsys):
    src = tmp_path / "hr.csv"
    src.write_text("Förnamn,Telefon\nAnna,070-1234567\n", encoding="utf-8")
    assert main(["load-hr", str(src), "--workspace", str(tmp_path / "w.db")]) == 1
    err = capsys.readouterr().err
    assert "HR id (hr_id)" in err and "Last name (last_name)" in err


def test_workspace_defaults_to_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(tmp_path / "env.db"))
    assert main(["status"]) == 0
    assert str(tmp_path / "env.db") in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_and_a_workspace_option(name, capsys):
    with pytest.raises(SystemExit) as exit:
        main([name, "--help"])
    assert exit.value.code == 0
    assert "--workspace" in capsys.readouterr().out


def test_readme_documents_exactly_the_cli_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The CLI", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^- `workbench ([a-z-]+)", section, flags=re.M))
    assert documented == set(COMMANDS), (
        f"README's CLI section and the commands differ: only in README {documented - set(COMMANDS)}, "
        f"undocumented {set(COMMANDS) - documented}")


def test_settings_are_shown_changed_and_validated(tmp_path, capsys):
    ws = str(tmp_path / "w.db")
    assert main(["settings", "--workspace", ws, "--kleer-base-url", "https://api.kleer.se/v1/",
                 "--kleer-company-id", "12345", "--email-preference", "work"]) == 0
    out = capsys.readouterr().out
    assert "https://api.kleer.se/v1\n" in out and "12345" in out and "work" in out
    assert main(["settings", "--workspace", ws, "--kleer-base-url", "http://kleer.example/v1"]) == 1
    assert "plain http" in capsys.readouterr().err
    assert main(["settings", "--workspace", ws]) == 0  # the refused change left the settings alone
    assert "https://api.kleer.se/v1" in capsys.readouterr().out
