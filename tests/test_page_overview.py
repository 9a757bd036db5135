"""Overview: counts per state (linked, only in HR, only in Kleer, suggested, conflicts, blocked)
that follow the workspace, the next step, the match-score chart with the weakest links and their
evidence, and the last batches."""

from __future__ import annotations

import pytest

from tests.conftest import open_page
from workbench.normalize import personnummer
from workbench.readmodels import (NextStep, StateCounts, export_rows, import_rows, link_scores,
                             next_step, outstanding, state_counts, weakest_links)

PAGE = "pages/overview.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def step_text(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Next step**"))


@pytest.fixture
def page(demo_workbench):
    at = open_page(PAGE)
    assert not at.exception, at.exception
    return at


def test_counts_per_state_and_the_next_step(page, demo_workbench):
    wb = demo_workbench
    hr, kleer = len(wb.hr_employees()), len(wb.kleer_employees())
    sugg = wb.suggestions()
    suggested = sugg[sugg["assigned"] == 1]["kleer_id"].nunique()
    assert metrics(page) == {"HR employees": str(hr), "Kleer employees": str(kleer), "Linked": "0",
                             "Only in HR": str(hr), "Only in Kleer": str(kleer),
                             "Suggested": str(suggested), "Conflicts": "0", "Blocked": "0"}
    assert f"{suggested} Kleer employees have suggestions to review" in step_text(page)
    assert page.main.get("page_link")[0].proto.label == "Go to Import from Kleer"
    assert any("Nothing is linked yet" in c.value for c in page.caption)


def test_counts_chart_and_weakest_links_follow_a_link(page, demo_workbench):
    wb = demo_workbench
    row = import_rows(wb.workspace)
    row = row[row["band"] == "certain"].iloc[0]
    before = metrics(page)
    wb.decide(kleer_id=int(row["kleer_id"]), action="prefer_hr", hr_id=row["hr_id"])
    plan = wb.plan("import", [int(row["kleer_id"])])
    # the link, and its foreign-id written to Kleer unless the user carries it already
    assert [op.kind for op in plan.operations] in (["link"], ["link", "kleer_link"])
    wb.apply(plan)
    page.run()
    after = metrics(page)
    assert int(after["Linked"]) == int(before["Linked"]) + 1
    for label in ("Only in HR", "Only in Kleer", "Suggested"):
        assert int(after[label]) == int(before[label]) - 1, label
    assert page.get("vega_lite_chart")  # the score chart
    weakest = next(d.value for d in page.dataframe if "reasons" in d.value.columns)
    assert weakest["hr_id"].tolist() == [row["hr_id"]] and weakest["score"].iloc[0] == row["score"]
    assert weakest["reasons"].iloc[0] == row["reasons"] != ""  # the evidence in words
    batches = next(d.value for d in page.dataframe if "results" in d.value.columns)
    assert batches["results"].iloc[0] == f"{len(plan.operations)} done"
    assert batches["kind"].iloc[0] == "apply"


def test_blocked_conflicts_and_links_without_a_score(page, demo_workbench, kleer_sim):
    wb = demo_workbench
    wb.apply(wb.plan("import"))  # the confident suggestions become links
    rows = export_rows(wb.workspace)
    unlinked = rows[rows["state"] == "unlinked"]
    valid = unlinked["ssn"].map(lambda s: bool(personnummer(s).value))
    bad, good = unlinked[~valid]["hr_id"].iloc[0], unlinked[valid & (unlinked["problems"] == "")]["hr_id"].iloc[0]
    linked = rows[(rows["state"] == "linked") & (rows["changes"] != "")].iloc[0]
    with kleer_sim.client() as kc:  # someone edits the Kleer user after our fetch
        kc.update_user_full(kc.get_user(int(linked["kleer_id"])), {"name": "Changed Elsewhere"})
    wb.decide([{"hr_id": h, "action": "export"} for h in (bad, good, linked["hr_id"])])
    wb.apply(wb.plan("export", [bad, good, linked["hr_id"]]))
    page.run()
    assert (metrics(page)["Blocked"], metrics(page)["Conflicts"]) == ("1", "1")
    left = outstanding(wb.workspace).set_index("subject")
    assert left.at[bad, "status"] == "blocked" and "personnummer" in left.at[bad, "reason"]
    assert left.at[linked["hr_id"], "status"] == "conflict"
    caption = next(c.value for c in page.caption if "links with a match score" in c.value)
    assert "1 linked without one" in caption  # the export-created link has no score
    assert len(link_scores(wb.workspace)) == int(metrics(page)["Linked"])

    wb.fetch_kleer()  # settle the conflict: fresh data, export again
    wb.apply(wb.plan("export", [linked["hr_id"]]))
    assert (state_counts(wb.workspace).conflicts, state_counts(wb.workspace).blocked) == (0, 1)


def test_weakest_links_lowest_score_first_without_unscored(demo_workbench):
    wb = demo_workbench
    wb.apply(wb.plan("import"))
    links = link_scores(wb.workspace)
    weakest = weakest_links(links, 20)
    assert len(weakest) == 20 and weakest["score"].is_monotonic_increasing
    assert weakest["score"].iloc[-1] <= links["score"].nlargest(len(links) - 19).min()
    assert (weakest["reasons"] != "").all()


COUNTS = dict(hr=10, kleer=10, linked=5, only_hr=5, only_kleer=5, suggested=0, conflicts=0, blocked=0)


@pytest.mark.parametrize("changes, page, words", [
    (dict(hr=0), "sources", "load the Sympa export"),
    (dict(kleer=0), "sources", "fetch them from Kleer"),
    (dict(suggested=3), "import_kleer", "3 Kleer employees have suggestions to review"),
    (dict(suggested=1), "import_kleer", "1 Kleer employee has a suggestion to review"),
    (dict(), "export_kleer", "5 Sympa employees are not linked"),
    (dict(only_hr=0), "import_kleer", "5 Kleer employees have no Sympa employee"),
    (dict(only_hr=0, only_kleer=0), "audit", "Every employee is reconciled (5 linked)"),
])
def test_next_step_follows_the_workflow(changes, page, words):
    step = next_step(StateCounts(**{**COUNTS, **changes}), hr_label="Sympa")
    assert isinstance(step, NextStep) and step.page == page and words in step.message
    from workbench.ui.nav import PAGES
    assert step.page in {url for _, _, _, url in PAGES}  # the hint links to a page that exists


def test_last_batches_say_at_what_concurrency_each_batch_ran(demo_workbench, kleer_sim):
    """The batch record's concurrency summary (mode, level, 429s and 503s) is in the list."""
    wb = demo_workbench
    plan = wb.plan("import")
    assert any(op.kind == "kleer_link" for op in plan.operations)  # requests to Kleer
    wb.apply(plan, concurrency=3)
    at = open_page(PAGE)
    assert not at.exception, at.exception
    batches = next(d.value for d in at.dataframe if "results" in d.value.columns)
    shown = batches["concurrency"].iloc[0]
    assert shown == wb.batches()["concurrency"].iloc[0]
    assert shown.startswith("concurrency pinned, ended at 3;") and "× 429" in shown


def test_the_sidebar_says_the_last_fetch_reached_kleer_instead_of_not_tested(page):
    """Right after a fetch the sidebar said "not tested" (only the Test button set it), which
    reads as if Kleer had never answered; with a snapshot it says the last fetch got through."""
    captions = [c.value for c in page.sidebar.caption]
    assert any(c.startswith("Kleer connection: reached at the last fetch") for c in captions), \
        captions
    assert "Kleer connection: not tested" not in captions


def test_the_sidebar_says_not_tested_before_any_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(tmp_path / "empty.db"))
    at = open_page(PAGE)
    assert not at.exception, at.exception
    assert "Kleer connection: not tested" in [c.value for c in at.sidebar.caption]
