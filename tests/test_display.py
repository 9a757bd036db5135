"""Rich displays for Jupyter: suggestions, plans, apply results and pairs as HTML that is
masked, escaped and never holds the token; plain reprs that stay short."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from workbench import InputError
from workbench import display
from workbench.fields import mask
from workbench.matching import FSModel, MatchSettings, suggest
from workbench.normalize import make_personnummer

SCRIPT = "<script>alert('x')</script>"
NEW_SSN = make_personnummer(date(1990, 5, 17), 3)
BAD_SSN = NEW_SSN[:-1] + str((int(NEW_SSN[-1]) + 1) % 10)  # wrong check digit


def _write_csv(path: Path, rows: list[dict]) -> Path:
    columns = sorted({k for row in rows for k in row})
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def small(wb, kleer_sim, tmp_path):
    """A workspace over the simulator's default company: HR knows Kleer users 1 and 2 (user 1
    with another phone, user 2 with a hostile last name), one new employee whose first name is
    a script tag, and one whose personnummer has a wrong check digit. Kleer fetched, matches
    suggested; user 1 ↔ E00001 decided prefer_hr and applied (linked)."""
    dump = kleer_sim.dump()
    users = {u["id"]: u for u in dump["users"]}
    contracts = {c["user"]["id"]: c for c in dump["payroll-user-readables"]}
    rows = []
    for uid in (1, 2):
        first, last = users[uid]["name"].split(" ", 1)
        rows.append({"hr_id": users[uid]["foreign-id"], "first_name": first,
                     "last_name": last + (SCRIPT if uid == 2 else ""),
                     "ssn": contracts[uid]["ssn"], "private_email": users[uid]["email"],
                     "phone": "+46701112233" if uid == 1 else contracts[uid]["phone"],
                     "employment_start_date": contracts[uid]["employment-start-date"]})
    rows.append({"hr_id": "E90001", "first_name": SCRIPT, "last_name": "Ek", "ssn": NEW_SSN,
                 "private_email": "ny.ek@example.se", "employment_start_date": "2024-01-01"})
    rows.append({"hr_id": "E90002", "first_name": "Bo", "last_name": "Ek", "ssn": BAD_SSN,
                 "private_email": "bo.ek@example.se", "employment_start_date": "2024-01-01"})
    wb.update_settings(kleer_base_url=kleer_sim.base_url, kleer_company_id=kleer_sim.company_id)
    client = kleer_sim.client()
    wb.connect(client)
    wb.load_hr(_write_csv(tmp_path / "hr.csv", rows))
    wb.fetch_kleer()
    wb.suggest()
    wb.decide(kleer_id=1, action="prefer_hr", hr_id=users[1]["foreign-id"])
    assert wb.apply(wb.plan("import", [1])).ok
    wb.hr_first = rows[0]  # the values the tests look for
    yield wb
    client.close()


def text_of(html: str) -> str:
    """The visible text of an HTML fragment: tags dropped, whitespace collapsed, entities kept."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --------------------------------------------------------------------------- suggestions

def test_suggestions_colour_each_band_and_give_the_evidence_in_words():
    hr = pd.DataFrame({"hr_id": ["E1", "E2", "E3"], "first_name": ["Karl", "Anna", "Per"],
                       "last_name": ["Berg", "Svensson", SCRIPT],
                       "ssn": ["19850312-2387", None, None],
                       "private_email": [None, "anna.s85@x.se", None]})
    kleer = pd.DataFrame({"kleer_id": [7, 8, 9], "name": ["Kalle Berg", "Anna Svensson",
                                                          f"Per {SCRIPT}"],
                          "ssn": ["198503122387", None, None],
                          "email": [None, "anna.s85@home.se", None]})
    # one pair per band: the band limits at the three pairs' match probabilities (unrounded,
    # from the weights of their evidence)
    model = FSModel.default(prior=0.01)  # untrained: weights that do not saturate on 3 pairs
    weights = sorted((sum(e["weight"] for e in ev)
                      for ev in suggest(hr, kleer, model=model)["evidence"]), reverse=True)
    assert weights[0] > weights[1] > weights[2]
    p = [100 / (1 + 2 ** -(w - 1e-6)) for w in weights]
    frame = suggest(hr, kleer, MatchSettings(certain=p[0], likely=p[1], possible=p[2]),
                    model=model)
    assert set(frame["band"]) == {"certain", "likely", "possible"}
    html = display.suggestions(frame)._repr_html_()

    rows = html.split("<tr")[2:]  # after the header row
    assert len(rows) == len(frame)
    for row, (band, sentences) in zip(rows, zip(frame["band"], frame["evidence"])):
        colour, background = display.BAND_COLOURS[band]
        assert f"kw-band-{band}" in row and colour in row and background in row
        for e in sentences:
            assert e["sentence"].replace("'", "&#x27;").replace("<", "&lt;").replace(
                ">", "&gt;") in row
    assert "Personnummer identical" in html and "Karl ~ Kalle: nickname" in html
    assert "19850312-2387" not in html and "198503122387" not in html
    assert SCRIPT not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "3 assigned (1 certain, 1 likely, 1 possible)" in html


def test_suggestions_show_at_most_limit_rows_and_say_how_many_are_hidden():
    hr = pd.DataFrame({"hr_id": [f"E{i}" for i in range(6)], "first_name": ["Anna"] * 6,
                       "last_name": [f"Berg{'x' * i}" for i in range(6)]})
    kleer = pd.DataFrame({"kleer_id": range(6), "name": [f"Anna Berg{'x' * i}" for i in range(6)]})
    frame = suggest(hr, kleer)
    html = display.suggestions(frame, limit=2)._repr_html_()
    assert html.count("kw-band-") == 2
    assert f"{len(frame) - 2} more not shown" in html


def test_an_empty_or_foreign_frame_reads_clearly():
    assert "No suggestions" in display.suggestions(pd.DataFrame(
        columns=["kleer_id", "hr_id", "score", "band"]))._repr_html_()
    with pytest.raises(InputError, match="no column band, score"):
        display.suggestions(pd.DataFrame({"kleer_id": [1], "hr_id": ["E1"]}))


def test_workbench_shows_the_stored_suggestions_or_a_filtered_frame(small):
    stored = small.show_suggestions()
    assert len(stored.frame) == len(small.suggestions()) > 0
    weakest = small.suggestions().nsmallest(1, "score")
    one = small.show_suggestions(weakest)
    assert one._repr_html_().count("kw-band-") == 1
    assert repr(one) == "<Suggestions: 1 suggestion for 1 Kleer employee; 1 assigned (1 certain)>"


# --------------------------------------------------------------------------- the plan

def test_plan_html_counts_blockers_and_before_after_masked_and_escaped(small):
    small.decide(pd.DataFrame({"hr_id": ["E00001", "E90001", "E90002"], "action": "export"}))
    plan = small.plan("export", ["E00001", "E90001", "E90002"])
    html = plan._repr_html_()
    assert html == display.plan_html(plan)
    text = text_of(html)

    counts = plan.counts_dict
    assert f"{len(plan.runnable)} operations to run" in text
    assert f"{counts['blocked']} blocked" in text
    assert re.search(rf"export\s*</td>\s*<td[^>]*>{counts['action:export']}<", html)
    blocked = next(op for op in plan.operations if op.hr_id == "E90002")
    assert blocked.blockers and all(b in text for b in blocked.blockers)
    assert "no valid personnummer" in text

    update = next(op for op in plan.operations if op.kind == "kleer_update")
    phone = next(c for c in update.changes if c.key == "phone")
    assert re.search(rf"Phone: <del[^>]*>{re.escape(phone.before)}</del> → "
                     rf"<span[^>]*>{re.escape(phone.after)}</span>", html)

    assert NEW_SSN not in html and mask("ssn", NEW_SSN) in html
    assert small.hr_first["ssn"] not in html
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert plan.id in html


def test_plan_html_reveals_only_when_asked(small):
    small.decide(hr_id="E90001", action="export")
    plan = small.plan("export", ["E90001"])
    assert NEW_SSN not in plan._repr_html_()
    assert NEW_SSN in display.plan_html(plan, reveal=True)


def test_plan_and_operation_reprs_are_short_and_masked(small):
    small.decide(hr_id="E90001", action="export")
    plan = small.plan("export", ["E90001"])
    assert repr(plan) == f"<Plan {plan.id} (export): 1 operation(s) to run, 0 blocked>"
    op_repr = repr(plan.operations[0])
    assert "E90001" in op_repr and "kleer_create" in op_repr
    assert NEW_SSN not in op_repr and NEW_SSN not in repr(plan.operations[0].changes)
    assert mask("ssn", NEW_SSN) in repr(plan.operations[0].changes)


def test_an_empty_plan_says_there_is_nothing_to_do(small):
    plan = small.plan("export", ["E90002"])  # undecided: do nothing
    assert "Nothing to do" in plan._repr_html_()


# --------------------------------------------------------------------------- apply results

def test_result_html_counts_and_lists_a_conflict_with_its_reason(small, kleer_sim):
    small.decide(pd.DataFrame({"hr_id": ["E00001", "E90001"], "action": "export"}))
    plan = small.plan("export", ["E00001", "E90001"])
    with kleer_sim.client() as other:  # someone changes user 1 in Kleer after the snapshot
        other.upsert_contract(1, {"phone": "+46709998877"})
    result = small.apply(plan)
    counts = result.counts_dict
    assert counts == {"done": 1, "conflict": 1}
    html = result._repr_html_()
    assert html == display.result_html(result)
    text = text_of(html)
    assert "finished with problems" in text
    assert "1 done" in text and "1 conflict" in text and "0 failed" in text
    assert "concurrency adaptive, ended at 8 (peak 8); 0 changes; 0 × 429, 0 × 503" in text
    problem = result.problems[0]
    assert problem.status == "conflict" and problem.reason in html.replace("&#x27;", "'")
    assert "+46709998877" not in repr(result)
    assert repr(result) == f"<ApplyResult {result.batch_id}: 1 done, 1 conflict>"


def test_result_html_lists_failed_rows_with_reasons_and_never_the_token(small, kleer_sim):
    small.decide(hr_id="E90001", action="export")
    plan = small.plan("export", ["E90001"])
    kleer_sim.set_faults(error_rate=1.0)
    result = small.apply(plan)
    kleer_sim.clear_faults()
    assert result.counts_dict == {"failed": 1}
    html = result._repr_html_()
    row = html.split("<tbody>")[1]
    assert "failed" in row and "E90001" in row
    assert result.problems[0].reason and result.problems[0].reason[:40] in html
    assert kleer_sim.token not in html and kleer_sim.token not in repr(result)
    assert kleer_sim.token not in repr(result.problems)


def test_a_clean_apply_is_a_green_banner(small):
    small.decide(hr_id="E90001", action="export")
    result = small.apply(small.plan("export", ["E90001"]))
    html = result._repr_html_()
    assert result.ok and "finished</strong>" in html and "#dafbe1" in html
    assert "<tbody>" not in html  # no problem table


# --------------------------------------------------------------------------- a pair

def test_pair_puts_fields_side_by_side_masked_escaped_and_marks_differences(small):
    pair = small.pair(kleer_id=2)
    assert (pair.hr_id, pair.kleer_id, pair.state) == ("E00002", 2, "suggested")
    assert "last_name" in pair.affected  # the hostile last name
    assert not {"first_name", "ssn", "private_email", "phone"} & set(pair.affected)
    html = pair._repr_html_()
    ssn = small.workspace.hr.get("E00002")["ssn"]
    assert ssn not in html and html.count(mask("ssn", ssn)) == 2  # both sides, masked
    last = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Last name(?:(?!</tr>).)*</tr>", html).group(0)
    assert "≠" in last and "#fff8c5" in last
    first = re.search(r"<tr[^>]*>(?:(?!</tr>).)*First name(?:(?!</tr>).)*</tr>", html).group(0)
    assert "≠" not in first
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert "Why they were matched" in html and "Personnummer identical" in html
    assert repr(pair).startswith(f"<Pair HR E00002 ↔ Kleer 2 (suggested): "
                                 f"{len(pair.affected)} fields differ: last name, ")
    assert ssn[:8] not in repr(pair) and "<script>" not in repr(pair)
    assert ssn in small.pair(kleer_id=2, reveal=True)._repr_html_()


def test_pair_finds_the_other_side_linked_or_compares_any_two(small):
    assert (small.pair(hr_id="E00001").kleer_id, small.pair(hr_id="E00001").state) == (1, "linked")
    assert small.pair(kleer_id=1).hr_id == "E00001"
    chosen = small.pair(kleer_id=3, hr_id="E90001")
    assert chosen.state == "chosen" and "name" in " ".join(chosen.affected)
    small.decide(kleer_id=3, action="match_manually", hr_id="E90001")
    decided = small.pair(kleer_id=3)
    assert (decided.hr_id, decided.state, decided.suggestion) == ("E90001", "decided", None)
    lonely = small.pair(hr_id="E90002")
    assert (lonely.kleer_id, lonely.state) == (None, "unpaired")
    assert "no Kleer user" in lonely._repr_html_()
    with pytest.raises(InputError, match="Kleer user 999 is not in the workspace"):
        small.pair(kleer_id=999)
    with pytest.raises(InputError, match="kleer_id or the hr_id"):
        small.pair()


# --------------------------------------------------------------------------- progress, token

def test_progress_view_draws_how_far_and_what_came_last():
    view = display.ProgressView("Applying plan-1", 3, 10, "kleer_create E1")
    html = view._repr_html_()
    assert 'value="3" max="10"' in html and "3 of 10" in html and "kleer_create E1" in html
    assert repr(view) == "Applying plan-1: 3 of 10 (kleer_create E1)"


def test_outside_a_notebook_there_is_no_bar():
    # pytest runs without a Jupyter kernel: apply must not try to draw (the notebook test
    # checks the bar inside a real kernel)
    assert display.in_notebook() is False
    assert display.notebook_progress("Applying", 5) is None


def test_no_display_or_repr_ever_holds_the_token(small, kleer_sim):
    small.decide(pd.DataFrame({"hr_id": ["E90001", "E90002"], "action": "export"}))
    plan = small.plan("export", ["E90001", "E90002"])
    result = small.apply(plan)
    shown = [small.show_suggestions(), small.pair(kleer_id=2), plan, result, small]
    for obj in shown:
        assert kleer_sim.token not in repr(obj)
        html = getattr(obj, "_repr_html_", lambda: "")()
        assert kleer_sim.token not in html
