"""Audit: every decision and write newest first; filters by employee, action, analyst, date and
result; one entry's before/after and the match evidence at decision time; CSV/JSON downloads that
are masked, formula-safe and token-free (a revealed one is itself audited); Revert this batch with
a preview and a confirmation; viewers read but do not revert."""

from __future__ import annotations

import html

import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from tests.conftest import KLEER_TEST_TOKEN, open_page
from workbench.normalize import personnummer
from workbench.audit import audit_changes, audit_view, evidence_at, filter_audit, what_happened
from workbench.readmodels import export_rows, import_rows
from workbench.ui.text import time_zone

PAGE = "pages/audit.py"
FORMULA = "=2+3"  # an analyst name a spreadsheet would run as a formula


@pytest.fixture
def wb(demo_workbench):
    """One saved Prefer Kleer decision applied (an HR update, by the analyst "=2+3") and one HR
    employee exported (a Kleer user created, by "Setup")."""
    wb = demo_workbench
    pair = import_rows(wb.workspace)
    kleer_phone = pair["kleer_id"].map(lambda k: bool((wb.workspace.kleer.get(int(k)) or {}).get("phone")))
    pair = pair[(pair["band"] == "certain") & pair["affected_fields"].map(lambda f: "phone" in f)
                & kleer_phone].iloc[0]  # a phone on both sides that differs (not a missing contract)
    wb.analyst = FORMULA
    wb.decide(kleer_id=int(pair["kleer_id"]), action="prefer_kleer", hr_id=pair["hr_id"])
    wb.apply(wb.plan("import", [int(pair["kleer_id"])]))
    rows = export_rows(wb.workspace)
    in_kleer = {personnummer(s).value for s in wb.workspace.kleer.frame()["ssn"]}  # not created again
    new = rows[(rows["state"] == "unlinked") & rows["ssn"].map(lambda s: bool(personnummer(s).value))
               & ~rows["ssn"].map(lambda s: personnummer(s).value in in_kleer)
               & (rows["problems"] == "")]["hr_id"].iloc[0]
    wb.analyst = "Setup"
    wb.decide(hr_id=new, action="export")
    wb.apply(wb.plan("export", [new]))
    wb.pair, wb.exported = (pair["hr_id"], int(pair["kleer_id"])), new
    return wb


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """What the page's download buttons would hand the browser, by file name (a spy on the
    media storage AppTest gives the app; the content is stored unchanged)."""
    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if filename:
            seen[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return seen


@pytest.fixture
def page(wb, downloads):
    at = open_page(PAGE)
    assert not at.exception, at.exception
    return at


def log(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "analyst" in d.value.columns)


def test_every_entry_newest_first_and_the_filters(page, wb):
    everything = wb.audit()
    shown = log(page)
    assert shown["id"].tolist() == everything["id"].tolist() == sorted(everything["id"], reverse=True)
    assert {"decision", "operation", "apply", "load", "match"} <= set(everything["event"])
    # what happened, in words: no raw code ("operation · kleer_create") reaches the analyst
    assert shown["what"].tolist() == [what_happened(e, a) for e, a in
                                      zip(everything["event"], everything["action"])]
    assert {"Created the employee in Kleer", "Apply finished", "Loaded an HR file",
            "Suggested matches"} <= set(shown["what"])
    assert not shown["what"].str.contains("_").any()
    assert "event" not in shown.columns and "action" not in shown.columns

    hr_id = wb.exported
    name = shown.loc[shown["hr_id"] == hr_id, "employee"].iloc[0]
    page.text_input(key="audit_text").input(name.split()[-1].lower()).run()
    assert hr_id in set(log(page)["hr_id"]) and log(page)["employee"].str.contains(name.split()[-1]).all()
    page.text_input(key="audit_text").input(str(wb.pair[1])).run()
    assert set(log(page)["kleer_id"].dropna()) == {wb.pair[1]}
    page.text_input(key="audit_text").input("").run()

    page.multiselect(key="audit_actions").set_value(["kleer_create"]).run()
    assert log(page)["hr_id"].tolist() == [hr_id]
    page.multiselect(key="audit_actions").set_value([]).run()
    page.multiselect(key="audit_analysts").set_value([FORMULA]).run()
    mine = everything[everything["analyst"] == FORMULA]
    assert set(mine["event"]) == {"decision", "operation", "apply"}
    assert set(log(page)["what"]) == {what_happened(e, a) for e, a in zip(mine["event"], mine["action"])}
    assert len(log(page)) == int((everything["analyst"] == FORMULA).sum())
    page.multiselect(key="audit_analysts").set_value([]).run()
    page.multiselect(key="audit_results").set_value(["done"]).run()
    assert set(log(page)["result"]) == {"done"} and len(log(page)) == int((everything["result"] == "done").sum())
    page.multiselect(key="audit_results").set_value([]).run()

    # the day on the analyst's clock, as the page shows the times
    today = datetime.fromisoformat(everything["at"].iloc[0]).astimezone(time_zone()).date()
    page.date_input(key="audit_dates").set_value((today + timedelta(days=1), today + timedelta(days=2))).run()
    assert log(page).empty and any("No entries match" in i.value for i in page.info)
    page.date_input(key="audit_dates").set_value((today, today)).run()
    assert len(log(page)) == len(everything)


def test_an_entry_shows_before_after_and_the_evidence_at_decision_time(page, wb):
    audit = wb.audit()
    update = audit[(audit["event"] == "operation") & (audit["action"] == "hr_update")].iloc[0]
    page.selectbox(key="audit_entry").set_value(int(update["id"])).run()
    assert not page.exception, page.exception
    side_by_side = next(d.value for d in page.dataframe if "before" in d.value.columns).set_index("label")
    assert side_by_side.at["Phone", "before"] == update["before"]["phone"]
    assert side_by_side.at["Phone", "after"] == update["after"]["phone"] != update["before"]["phone"]
    decision = wb.audit(reveal=True)
    decision = decision[(decision["event"] == "decision") & (decision["kleer_id"] == wb.pair[1])].iloc[0]
    text = html.unescape(re.sub(r"\\(.)", r"\1", " ".join(m.value for m in page.markdown))).replace("\u2060", "")  # as the reader sees it
    assert f"recorded with decision #{decision['id']}" in text
    sentences = [e["sentence"] for e in decision["evidence"]]
    assert "Personnummer identical" in sentences
    shown = next(d.value for d in page.dataframe if "sentence" in d.value.columns)
    assert set(sentences) <= set(shown["sentence"])  # the evidence in words, each signal
    # each signal's weight in bits, the prior's included: they add up to the score's weight
    assert "contribution" not in shown.columns
    assert shown["weight"].tolist() == [e["weight"] for e in decision["evidence"]]
    assert shown["weight"].iloc[0] < 0  # the prior: where the sum starts, not "+0.0"


def test_downloads_are_masked_formula_safe_and_token_free(page, wb, downloads):
    ssn = personnummer(wb.workspace.hr.get(wb.exported)["ssn"]).value
    csv_bytes, json_bytes = downloads["audit.csv"], downloads["audit.json"]
    for data in (csv_bytes, json_bytes):
        text = data.decode("utf-8-sig")
        assert ssn not in text and ssn[:9] + "****" in text  # masked, the birth date kept
        assert KLEER_TEST_TOKEN not in text
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert len(rows) == len(wb.audit())
    assert {r["analyst"] for r in rows} >= {"'" + FORMULA, "Setup"}  # shown as text, never run
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())
    records = json.loads(json_bytes)
    assert [r["id"] for r in records] == wb.audit()["id"].tolist()

    before = len(wb.audit())
    page.download_button(key="audit_csv").click().run()
    assert len(wb.audit()) == before  # a masked download is not an event

    page.sidebar.toggle(key="reveal_personal_data").set_value(True).run()
    assert ssn in downloads["audit.csv"].decode("utf-8-sig")  # revealed on request
    page.download_button(key="audit_csv").click().run()
    entry = wb.audit().iloc[0]
    assert (entry["event"], entry["action"], entry["analyst"]) == ("audit_export", "reveal", "Ada")
    assert entry["detail"]["file"] == "audit.csv" and entry["detail"]["rows"] == before + 1  # + the reveal


def test_revert_shows_the_plan_then_undoes_the_batch(page, wb, kleer_sim):
    batch = wb.batches().iloc[0]  # the export
    created = wb.workspace.links.of(hr_id=wb.exported)["kleer_id"]
    page.selectbox(key="revert_batch").set_value(batch["id"]).run()
    page.button(key="revert").click().run()
    assert not page.exception, page.exception
    plan = next(d.value for d in page.dataframe if "kind" in d.value.columns)
    assert sorted(plan["kind"]) == ["unlink (Kleer untouched)", "update Kleer"]  # deactivate the user, end the link
    assert any(m.label == "Operations to run" and m.value == "2" for m in page.metric)
    assert wb.workspace.links.of(hr_id=wb.exported) is not None  # a preview writes nothing
    page.button(key="revert_confirm").click().run()
    assert not page.exception, page.exception
    assert wb.wait_apply(page.session_state["apply_watch"], timeout=60).state == "done"
    page.run()
    assert any("Revert finished: 2 done" in s.value for s in page.success)
    assert wb.workspace.links.of(hr_id=wb.exported) is None
    user = next(u for u in kleer_sim.dump()["users"] if u["id"] == created)
    assert user["active"] is False  # Kleer has no delete: the user is deactivated
    assert wb.batches().iloc[0]["reverts"] == batch["id"]


def test_viewers_can_read_but_not_revert(wb, downloads):
    at = open_page(PAGE)
    at.session_state["role"] = "viewer"
    at.run()
    assert not at.exception, at.exception
    assert len(log(at)) == len(wb.audit())
    assert at.button(key="revert").disabled
    assert "cannot revert a batch" in at.button(key="revert").help
    assert any("cannot revert a batch" in c.value for c in at.caption)


def test_the_revert_picker_says_side_when_who_counts_and_names(page, wb):
    batch = wb.batches().iloc[0]
    picker = page.selectbox(key="revert_batch")
    label = picker.format_func(batch["id"]) if hasattr(picker, "format_func") else picker.options[0]
    hr = wb.workspace.hr.get(wb.exported)
    assert label.startswith("Export to Kleer · ") and "by Setup" in label and "done" in label
    assert f"{hr['first_name']} {hr['last_name']}" in label
    assert "T" not in label.split(" · ")[1] and "+00:00" not in label  # local, readable time


def test_filter_audit_and_audit_changes_directly(wb):
    audit = audit_view(wb.audit(), wb.workspace)
    mine = filter_audit(audit, text=wb.exported.lower(), actions=["kleer_create"])
    assert mine["hr_id"].tolist() == [wb.exported]
    assert filter_audit(audit, analysts=["nobody"]).empty
    assert len(filter_audit(audit)) == len(audit)
    changes = audit_changes({"phone": "+46701", "ssn": "19800101-****"}, {"phone": "+46702"})
    assert changes.set_index("field").to_dict("index") == {
        "phone": {"label": "Phone", "before": "+46701", "after": "+46702", "changed": True},
        "ssn": {"label": "Personnummer", "before": "19800101-****", "after": "", "changed": True}}


def test_the_date_filter_reads_days_on_the_analysts_clock():
    """An entry at 23:30 UTC on 1 December is on 2 December in Stockholm, where the page shows
    its time: filtered by Stockholm days it is on the 2nd, by UTC days on the 1st."""
    log = pd.DataFrame({"id": [2, 1], "at": ["2026-12-01T23:30:00+00:00", "2026-12-01T10:00:00+00:00"],
                        "hr_id": ["E1", "E2"], "kleer_id": [None, None], "employee": ["", ""],
                        "action": ["x", "x"], "analyst": ["a", "a"], "result": [None, None]})
    stockholm = ZoneInfo("Europe/Stockholm")
    second = date(2026, 12, 2)
    assert filter_audit(log, start=second, end=second, tz=stockholm)["id"].tolist() == [2]
    assert filter_audit(log, start=second, end=second)["id"].tolist() == []
    first = date(2026, 12, 1)
    assert filter_audit(log, start=first, end=first, tz=stockholm)["id"].tolist() == [1]
    assert filter_audit(log, start=first, end=first)["id"].tolist() == [2, 1]


def test_what_happened_in_words_and_an_unknown_code_still_readable():
    assert what_happened("operation", "kleer_link") == "Wrote the HR id to Kleer (foreign-id)"
    assert what_happened("sign_in", "resume") == "Came back (page reloaded)"
    assert what_happened("decision", "prefer_kleer") == "Decided: prefer Kleer"
    assert what_happened("future_event", "some_action") == "Future event: some action"
    assert what_happened("apply", None) == "Apply"


def test_evidence_of_a_proposed_link_comes_from_its_suggestion(demo_workbench):
    wb = demo_workbench
    wb.apply(wb.plan("import"))  # proposed decisions: nothing saved, no decision entries
    audit = wb.audit()
    link = audit[(audit["event"] == "operation") & (audit["action"] == "link")].iloc[0]
    evidence = evidence_at(wb.workspace, int(link["id"]))
    stored = wb.suggestions().set_index(["hr_id", "kleer_id"]).loc[(link["hr_id"], link["kleer_id"])]
    assert evidence.source == "suggestion"
    assert evidence.sentences == [e["sentence"] for e in stored["evidence"] if e["sentence"]]
    assert all(set(item) == {"label", "agreement", "contribution", "sentence", "weight"}
               for item in evidence.items)
    assert [i["weight"] for i in evidence.items] == [e["weight"] for e in stored["evidence"]]
    loaded = audit[audit["action"] == "load_hr"].iloc[0]
    assert evidence_at(wb.workspace, int(loaded["id"])).items == ()


def test_evidence_recorded_by_the_first_matcher_shows_its_points_without_a_weight():
    from workbench.audit import _words
    old = [{"signal": "ssn", "label": "Personnummer", "agreement": "exact", "contribution": 60,
            "sentence": "Personnummer identical"}]
    assert _words(old) == ({"label": "Personnummer", "agreement": "exact", "contribution": 60,
                            "sentence": "Personnummer identical"},)
