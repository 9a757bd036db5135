"""The public Python API: an intentional surface, settings, loading through Workbench."""

from __future__ import annotations

import doctest

import pytest

import workbench
import workbench.api
from workbench import InputError, SourceError, Workbench


def test_public_surface_is_intentional():
    # Adding to the public API is a decision: update this list with it.
    assert set(workbench.__all__) == {
        "Workbench", "Settings", "LoadResult", "WorkbenchError", "InputError", "SourceError",
        "WorkspaceError", "PlanError", "KleerError", "KleerUnavailable", "KleerRejected",
        "KleerAuthError", "FetchResult", "Plan", "Operation", "ApplyResult", "MatchSettings",
        "Progress",
    }
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None


def test_docstring_examples_run():
    result = doctest.testmod(workbench.api)
    assert result.attempted > 0 and result.failed == 0


def test_settings_validate_persist_and_are_audited(wb):
    assert wb.settings.email_preference == "private" and wb.settings.hr_label == "HR"
    wb.update_settings(email_preference="work", hr_label="Sympa")
    again = Workbench(wb.workspace.path)
    assert again.settings.email_preference == "work" and again.settings.hr_label == "Sympa"
    audit = again.workspace.audit.frame()
    assert audit.iloc[0]["event"] == "settings" and audit.iloc[0]["analyst"] == "Test Analyst"
    with pytest.raises(InputError, match="private' or 'work"):
        wb.update_settings(email_preference="both")
    with pytest.raises(InputError, match="unknown settings: kleer_token"):
        wb.update_settings(kleer_token="x")
    again.close()


def test_a_failed_load_leaves_the_workspace_as_it_was(wb, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("hr_id,first_name,last_name\nE1,Anna,Svensson\n", encoding="utf-8")
    wb.load_hr(good)
    before = wb.hr_employees().to_dict("records")
    bad = tmp_path / "bad.csv"
    bad.write_text("hr_id,first_name,last_name\nE1,Anna,Berg\nE2,Bo,Ek\nE1,Anna,Lind\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"'E1' on rows 2 and 4"):
        wb.load_hr(bad)
    assert wb.hr_employees().to_dict("records") == before


def test_load_result_counts_new_and_updated(wb, tmp_path):
    src = tmp_path / "hr.csv"
    src.write_text("hr_id,first_name,last_name\nE1,Anna,Svensson\nE2,Bo,Ek\n", encoding="utf-8")
    first = wb.load_hr(src)
    assert (first.rows, first.added, first.updated) == (2, 2, 0)
    src.write_text("hr_id,first_name,last_name\nE1,Anna,Berg\nE3,Cia,Ek\n", encoding="utf-8")
    second = wb.load_hr(src, confirm=True)
    assert (second.rows, second.added, second.updated) == (2, 1, 1)
    assert wb.workspace.hr.get("E1")["last_name"] == "Berg"
    assert wb.counts()["hr"] == 3


def test_the_progress_and_defaults_examples_run():
    import workbench.defaults
    import workbench.progress

    for module in (workbench.progress, workbench.defaults):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
