"""The waterfall chart of a pair's match weights: its bars add up to the pair's score, its labels
are the comparisons' sentences (as data, never markup), and it is shown where analysts look at a
pair: the Import page's Affected fields dialog and the notebook's pair display."""

from __future__ import annotations

import html
import json

import pandas as pd
import pyarrow as pa
import pytest

from tests.conftest import open_page
from workbench.matching import suggest
from workbench.ui.waterfall import bars, chart

HR = pd.DataFrame({"hr_id": ["E1", "E2", "E3"], "first_name": ["Karl", "Anna", "<b>Eva</b>"],
                   "last_name": ["Berg", "Svensson", "**Lind**"],
                   "ssn": ["19850312-2387", None, None],
                   "private_email": [None, "anna.svensson@example.se", "eva@example.se"]})
KLEER = pd.DataFrame({"kleer_id": [7, 8, 9], "name": ["Kalle Berg", "Anna Svensson", "<b>Eva</b> **Lind**"],
                      "ssn": ["198503122387", None, None],
                      "email": [None, "anna.svensson@example.se", "eva@example.se"]})


@pytest.fixture(scope="module")
def suggestions() -> pd.DataFrame:
    s = suggest(HR, KLEER)
    return s[s["assigned"]].set_index("kleer_id")


def dataset(spec: dict) -> pd.DataFrame:
    (rows,) = spec["datasets"].values()
    return pd.DataFrame(rows)


def test_the_bars_add_up_to_the_pairs_score_and_are_labelled_by_its_sentences(suggestions):
    for kleer_id, row in suggestions.iterrows():
        spec = chart(row["evidence"]).to_dict()
        data = dataset(spec)
        steps, total = data[data["kind"] != "total"], data[data["kind"] == "total"].iloc[0]
        assert steps["weight"].sum() == pytest.approx(total["weight"])
        assert round(100 / (1 + 2 ** -float(total["weight"])), 2) == pytest.approx(row["score"])
        # every bar starts where the one before it ended: a waterfall, not separate bars
        assert list(steps["start"][1:]) == pytest.approx(list(steps["end"][:-1]))
        shown = [e["sentence"] for e in row["evidence"] if e.get("agreement") != "missing"]
        assert list(steps["bar"]) == shown, kleer_id
        assert steps["kind"].iloc[0] == "prior"
        # the y axis is the bar field, in evidence order; the numbers beside the bars are weights
        bar_layer, text_layer = spec["layer"]
        assert bar_layer["encoding"]["y"]["field"] == "bar"
        assert bar_layer["encoding"]["y"]["sort"] == {"field": "step", "order": "ascending"}
        assert list(data["step"]) == list(range(len(data)))
        assert text_layer["encoding"]["text"]["field"] == "weight"


def test_names_with_markup_are_data_not_markup(suggestions):
    spec = chart(suggestions.loc[9, "evidence"])
    data = dataset(spec.to_dict())
    assert any("<b>Eva</b>" in b for b in data["bar"]) or any("**Lind**" in b for b in data["bar"])
    text = json.dumps(spec.to_dict())
    # the markup lives only in the data rows (Vega-Lite draws field values as plain text)
    outside = {k: v for k, v in spec.to_dict().items() if k != "datasets"}
    assert json.dumps(outside).count("bar") >= 1
    assert "<b>" not in json.dumps(outside) and "**Lind**" not in json.dumps(outside)
    assert "<b>Eva</b>" in text or "**Lind**" in text


def test_a_repeated_sentence_keeps_its_own_bar():
    evidence = [{"signal": "prior", "label": "Prior", "weight": 1.0, "sentence": "Start"},
                {"signal": "phone", "label": "Phone", "weight": 2.0, "sentence": "Same"},
                {"signal": "email", "label": "Email", "weight": -0.5, "sentence": "Same"}]
    data = bars(evidence)
    assert data["bar"].is_unique and list(data["weight"]) == [1.0, 2.0, -0.5, 2.5]
    assert list(data["kind"]) == ["prior", "for", "against", "total"]
    assert list(data["lo"]) == [0.0, 1.0, 2.5, 0.0] and list(data["hi"]) == [1.0, 3.0, 3.0, 2.5]


def test_no_evidence_is_one_empty_total():
    data = bars(None)
    assert list(data["kind"]) == ["total"] and data["weight"].iloc[0] == 0


def test_the_notebooks_pair_display_has_the_waterfall(demo_workbench):
    s = demo_workbench.suggestions()
    row = s[s["assigned"] & (s["band"] != "certain")].iloc[0]
    view = demo_workbench.pair(kleer_id=int(row["kleer_id"]), hr_id=row["hr_id"])
    page = view._repr_html_()
    assert "Match weights" in page and page.count("kw-waterfall-bar") == len(bars(row["evidence"]))
    for e in row["evidence"]:
        if e.get("agreement") != "missing":
            assert html.escape(e["sentence"], quote=True) in page
    drawn = dataset(view.waterfall().to_dict())
    assert drawn["weight"].iloc[-1] == pytest.approx(bars(row["evidence"])["weight"].iloc[-1])


def test_the_notebooks_pair_display_escapes_names(tmp_path):
    from workbench.display import PairView

    evidence = [{"signal": "prior", "label": "Prior", "weight": 1.0, "sentence": "Start"},
                {"signal": "first_name", "label": "First name", "weight": 2.0,
                 "sentence": "First name <script>x</script> identical"}]
    details = pd.DataFrame(columns=["field", "label", "hr", "kleer", "differs"])
    page = PairView(hr_id="E1", kleer_id=1, state="suggested", details=details,
                    suggestion={"score": 88.0, "band": "possible", "evidence": evidence})._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_the_import_dialog_draws_the_waterfall_for_a_suggested_pair(demo_workbench):
    s = demo_workbench.suggestions()
    row = s[s["assigned"] & (s["band"] != "certain")].iloc[0]  # a pair the analyst must review
    at = open_page("pages/import_kleer.py")
    at.session_state["import_detail"] = int(row["kleer_id"])  # what a click on Affected fields sets
    at.run()
    assert not at.exception, at.exception
    (drawn,) = at.get("vega_lite_chart")
    spec = json.loads(drawn.proto.spec)
    assert {layer["encoding"]["y"]["field"] for layer in spec["layer"]} == {"bar"}
    (named,) = drawn.proto.datasets  # the bars travel as data (Arrow) beside the spec
    rows = pa.ipc.open_stream(named.data.data).read_all().to_pandas()
    expected = bars(row["evidence"])
    assert list(rows["bar"]) == list(expected["bar"])
    assert list(rows["weight"]) == pytest.approx(list(expected["weight"]))
    total = rows["weight"].iloc[-1]
    assert round(100 / (1 + 2 ** -total), 2) == pytest.approx(row["score"])
