"""The Leave page (AppTest) over the demo: tabs New / Exported / All with counts, filters,
Export (n) → the dry run per employee and leave → confirm → the days in Kleer (the simulator
over HTTP) → banner and per-leave state; blocked leaves stay with their reason."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import DEMO, as_read, open_page

PAGE = "pages/leave.py"


@pytest.fixture
def wb(demo_workbench):
    """The demo with its confident suggestions linked and the demo leave file loaded."""
    demo_workbench.apply(demo_workbench.plan("import"))
    demo_workbench.load_leave(DEMO / "leave.csv")
    return demo_workbench


@pytest.fixture
def page(wb):
    at = open_page(PAGE)
    assert not at.exception, at.exception
    return at


def table(at) -> pd.DataFrame:
    return at.data_editor(key=at.session_state["leave_editor:key"]).value


def check(at, leave_ids: list[str]) -> None:
    ids = table(at)["leave_id"].tolist()
    at.session_state[at.session_state["leave_editor:key"]] = {
        "edited_rows": {ids.index(i): {"select": True} for i in leave_ids},
        "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def test_tabs_filters_and_an_export_with_its_dry_run(page, wb, kleer_sim):
    rows = wb.leave_rows()
    n_new = int((rows["state"] == "new").sum())
    assert [t.label for t in page.tabs] == [f"New ({n_new})", f"Exported ({len(rows) - n_new})",
                                            f"All ({len(rows)})"]
    shown = table(page)
    assert set(shown["leave_id"]) == set(rows[rows["state"] == "new"]["leave_id"])
    page.multiselect(key="leave_filter_type").set_value(["Semester"]).run()
    assert set(table(page)["hr_type"]) == {"Semester"}
    page.multiselect(key="leave_filter_type").set_value([]).run()
    linked = rows[rows["linked"] & (rows["status"] == "approved") & (rows["kleer_type"] != "")
                  & (rows["problems"] == "")]
    vacation = linked[linked["hr_type"] == "Semester"]["leave_id"].iloc[0]
    unlinked = rows[~rows["linked"]]["leave_id"].iloc[0]
    check(page, [vacation, unlinked])
    page.button(key="leave_export").click().run()
    assert page.button(key="leave_export").label == "Export (2)"
    dry = next(d.value for d in page.dataframe if "blocked" in d.value.columns)
    days = dry[dry["leave_id"] == vacation]
    assert len(days) == 5 and set(days["what"]) == {"create"} and set(days["hours"]) == {8.0}
    assert "link the employee first" in dry[dry["leave_id"] == unlinked]["blocked"].iloc[0]
    assert kleer_sim.leave()["writes"] == {}  # nothing sent before the confirmation
    page.button(key="leave_confirm").click().run()
    assert not page.exception, page.exception
    batch = page.session_state["apply_watch"]  # the apply runs in the background
    assert batch, "no apply was started"
    assert wb.wait_apply(batch, timeout=60).state in ("done", "incomplete")
    page.run()
    assert not page.exception, page.exception
    assert any("Leave export finished: 5 done, 1 skipped" in as_read(s.value) for s in page.success)
    assert sorted(e["date"] for e in kleer_sim.leave()["events"]) == sorted(days["date"])
    after = wb.leave_rows().set_index("leave_id")
    assert after.loc[vacation, ["state", "days_in_kleer"]].tolist() == ["exported", 5]
    assert after.loc[unlinked, "last"].startswith("blocked: ") and after.loc[unlinked, "state"] == "new"
    assert page.tabs[1].label == f"Exported ({len(rows) - n_new + 1})"


def test_the_leave_settings_map_a_type_and_switch_the_write_path(wb, kleer_sim):
    at = open_page("pages/settings.py")
    assert not at.exception, at.exception
    at.text_input(key="leave_rule_hr").input("Friskvårdstimme")
    at.selectbox(key="leave_rule_kleer").set_value("OtherLeave")
    next(b for b in at.button if b.label == "Map this type").click().run()
    assert not at.exception, at.exception
    assert wb.leave_types().lookup("friskvårdstimme").activity == "Övrig frånvaro"
    at.radio(key="leave_write_path").set_value("payroll_events")
    next(b for b in at.button if b.label == "Save leave settings").click().run()
    assert wb.settings.leave_write_path == "payroll_events"
    plan = wb.plan("leave", month="2026-11")
    assert plan.runnable == () and all("payroll events" in op.blockers[0] for op in plan.operations
                                       if op.op_id.startswith("leave:create"))
    actions = set(wb.workspace.audit.frame()["action"])
    assert {"leave_types", "update"} <= actions
