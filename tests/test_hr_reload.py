"""What a reload changes: new employees, changed fields per employee, missing ones (linked kept)."""

from __future__ import annotations

import pandas as pd

from workbench.hr_reload import FieldChange, reload_diff
from workbench.sources import read_hr


def frame(text: str) -> pd.DataFrame:
    return pd.DataFrame(read_hr(text.encode(), name="hr.csv").records)


CURRENT = frame("hr_id;Förnamn;Efternamn;Telefon;Ort\nE1;Anna;Berg;070-111 11 11;Lund\n"
                "E2;Bo;Ek;070-222 22 22;Malmö\nE3;Cia;Lind;;Ystad\nE4;Dan;Ås;;Umeå\n")


def test_new_changed_and_missing_employees_with_linked_ones_kept():
    incoming = frame("hr_id;Förnamn;Efternamn;Telefon;Ort\nE1;Anna;Berg;+46701111111;Lund\n"
                     "E2;Bo;Eklund;070-222 22 22;Malmö\nE5;Eva;Ny;;Kiruna\n")
    diff = reload_diff(CURRENT, incoming, linked_ids=["E3"])
    assert diff.new == ("E5",)
    assert diff.changed == {"E2": (FieldChange("last_name", "Last name", "Ek", "Eklund"),)}
    assert diff.unchanged == 1  # E1's phone is the same number, written another way
    assert diff.kept == ("E3",) and diff.missing == ("E4",)
    assert diff.changed_fields() == {"E2": ["last_name"]}
    assert diff.summary() == (
        "1 new, 1 changed, 1 unchanged, 2 missing from the file (1 linked to Kleer, kept).\n"
        "New: E5\n"
        "Changed E2: Last name: 'Ek' → 'Eklund'\n"
        "Missing but linked (kept): E3\n"
        "Missing: E4")


def test_a_field_the_new_file_lacks_is_not_a_change_and_blanks_are():
    incoming = frame("hr_id;Förnamn;Efternamn;Ort\nE1;Anna;Berg;\nE2;Bo;Ek;Malmö\n"
                     "E3;Cia;Lind;Ystad\nE4;Dan;Ås;Umeå\n")
    diff = reload_diff(CURRENT, incoming, fields=["first_name", "last_name", "city"])
    assert diff.changed == {"E1": (FieldChange("city", "City", "Lund", None),)}
    assert str(diff.changed["E1"][0]) == "City: 'Lund' → (empty)"
    assert diff.new == diff.missing == diff.kept == ()


def test_the_same_file_again_changes_nothing_and_says_so():
    diff = reload_diff(CURRENT, CURRENT.copy())
    assert diff.empty and diff.summary() == \
        "The file changes nothing: its 4 employees are as in the workspace."
    assert diff.as_dict() == {"new": [], "missing": [], "kept": [], "unchanged": 4, "changed": {}}


def test_an_empty_workspace_makes_every_employee_new():
    diff = reload_diff(pd.DataFrame(columns=CURRENT.columns), CURRENT)
    assert diff.new == ("E1", "E2", "E3", "E4") and not diff.changed and diff.unchanged == 0


def test_long_lists_are_cut_in_the_summary():
    incoming = pd.concat([CURRENT, pd.DataFrame({"hr_id": [f"N{i}" for i in range(15)]})])
    text = reload_diff(CURRENT, incoming).summary(limit=3)
    assert "New: N0, N1, N2 (and 12 more)" in text
