"""The match model's quality and persistence: u from random pairs with λ over all pairs, EM
with u fixed on a known case, exact levels counted over all pairs, the analyst's labels moving
m and u the right way, term frequencies in the score, the model stored in (and migrated into)
a real workspace file and read back through the Workbench."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from workbench.api import Workbench
from workbench.matching import FSModel, MatchSettings, suggest, train
from workbench.matching import _prepared
from workbench.matching.comparisons import COMPARISONS, compare
from workbench.matching.fs import _collisions, em, random_pairs, random_u
from workbench.store import MIGRATIONS, Workspace
from workbench.ui.model_panel import model_rows


def _simulate(rng, comps, true_m, true_u, n, lam):
    match = rng.random(n) < lam
    gamma = np.zeros((n, len(comps)), dtype=np.int8)
    for j, c in enumerate(comps):
        for is_match, table in ((True, true_m), (False, true_u)):
            rows = np.flatnonzero(match == is_match)
            gamma[rows, j] = rng.choice(len(table[c]), size=len(rows), p=table[c]) + 1
    return gamma, match


def test_em_with_u_from_random_pairs_recovers_m_and_the_prior_over_all_pairs():
    """A known case: 2,000 matches among 4 M pairs; blocking kept the matches and 3,000 other
    pairs; u is known from the random pairs (counts over all pairs). EM learns m and λ."""
    rng = np.random.default_rng(5)
    comps = ["phone", "street", "employee_number"]
    true_m = {"phone": [0.85, 0.15], "street": [0.7, 0.2, 0.1], "employee_number": [0.9, 0.05, 0.05]}
    true_u = {"phone": [1e-5, 1 - 1e-5], "street": [1e-4, 1e-3, 1 - 1.1e-3],
              "employee_number": [1e-5, 1e-4, 1 - 1.1e-4]}
    all_pairs, matches = 4_000_000, 2000
    gamma_m, _ = _simulate(rng, comps, true_m, true_u, matches, 1.0)
    gamma_u, _ = _simulate(rng, comps, true_m, true_u, 3000, 0.0)
    gamma = np.vstack([gamma_m, gamma_u])
    # what all pairs hold per level: the non-matches at u, plus the matches at m
    u_counts = {c: np.asarray(true_u[c]) * (all_pairs - matches) + np.asarray(true_m[c]) * matches
                for c in comps}
    model = em(gamma, comps, prior=1e-4, u_counts=u_counts, all_pairs=all_pairs, u_pairs=all_pairs)
    assert model.converged and model.iterations < 100
    assert model.prior == pytest.approx(matches / all_pairs, rel=0.05)
    for c in comps:
        assert np.allclose(model.m[c], true_m[c], atol=0.03), (c, model.m[c])
        true_weights = np.log2(np.asarray(true_m[c]) / np.asarray(true_u[c]))
        assert np.allclose(model.weights(c)[1:], true_weights, atol=1.0), (c, model.u[c])
    assert model.u_pairs == all_pairs and "u from 4,000,000 random pairs" in model.describe()
    again = FSModel.from_json(model.to_json())
    assert again.u == model.u and again.u_pairs == model.u_pairs and again.log == model.log


def test_exact_levels_are_counted_over_all_pairs_net_of_one_match_per_record():
    a = np.array(["anna", "anna", "bo", "cecilia", ""], dtype=object)
    b = np.array(["anna", "anna", "anna", "bo", "dan", ""], dtype=object)
    # anna: 2 × 3 pairs of which at most 2 are the same people; bo: 1 × 1, no collision
    assert _collisions(a, b) == 2 * 3 - 2
    hr = pd.DataFrame({"hr_id": [f"H{i}" for i in range(400)],
                       "first_name": ["Anna"] * 400,
                       "last_name": [f"Name{i % 200}" for i in range(400)]})
    kleer = pd.DataFrame({"kleer_id": range(400), "name": [f"Anna Name{i % 200}" for i in range(400)]})
    h_side, k_side, comps = _prepared(hr, kleer, MatchSettings(), None)
    got = random_u(h_side, k_side, comps, max_pairs=10_000)  # 160,000 pairs: a sample
    h, k, rate = random_pairs(400, 400, 10_000)
    assert rate == pytest.approx(10_000 / 160_000) and len(h) == 10_000
    # every last name is held twice on each side: 4 pairs per name, at most 2 the same people
    assert got["u_counts"]["last_name"][0] == 200 * (4 - 2) and got["u_net"]["last_name"][0]
    # one first name for all: 160,000 pairs of which 400 can be matches
    assert got["u_counts"]["first_name"][0] == 160_000 - 400
    assert got["all_pairs"] == 160_000 and got["u_pairs"] == 10_000


def _people(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    firsts = ["Anna", "Eva", "Karl", "Lars", "Maria", "Per", "Sara", "Johan", "Lena", "Erik"]
    letters = np.array(list("abdefghijklmnoprstuvy"))
    lasts = ["".join(rng.choice(letters, 8)).title() for _ in range(n // 4)] + ["Andersson"] * (n // 4)
    hr = pd.DataFrame({"hr_id": [f"H{i}" for i in range(n)],
                       "first_name": rng.choice(firsts, n), "last_name": rng.choice(lasts, n),
                       "phone": [f"+4670{i:07d}" for i in range(n)]})
    kleer = pd.DataFrame({"kleer_id": [f"k-{i}" for i in range(n)],
                          "name": hr["first_name"] + " " + hr["last_name"], "phone": hr["phone"]})
    return hr, kleer


def test_confirmed_pairs_raise_m_and_rejected_pairs_raise_u_of_their_levels():
    hr, kleer = _people(300)
    # the analyst confirmed ten pairs whose phone differs (a new number) and rejected ten
    # namesakes that share first and last name
    kleer_changed = kleer.copy()
    kleer_changed.loc[:9, "phone"] = [f"+4676{i:07d}" for i in range(10)]
    plain = train(hr, kleer_changed)
    confirmed = pd.DataFrame({"hr_id": [f"H{i}" for i in range(10)],
                              "kleer_id": [f"k-{i}" for i in range(10)], "match": True})
    refined = train(hr, kleer_changed, labels=confirmed)
    assert refined.labelled == 10
    differs = COMPARISONS["phone"].levels.index("differs")
    assert refined.m["phone"][differs] > plain.m["phone"][differs]
    assert refined.weights("phone")[differs + 1] > plain.weights("phone")[differs + 1]

    names = hr["first_name"] + " " + hr["last_name"]
    pairs = [(i, j) for i in range(300) for j in range(300)
             if i != j and names[i] == names[j]][:10]
    assert len(pairs) == 10
    rejected = pd.DataFrame({"hr_id": [f"H{i}" for i, _ in pairs],
                             "kleer_id": [f"k-{j}" for _, j in pairs], "match": False})
    against = train(hr, kleer_changed, labels=rejected)
    exact = COMPARISONS["last_name"].levels.index("exact")
    assert against.u["last_name"][exact] > plain.u["last_name"][exact]
    assert against.m["last_name"][exact] <= plain.m["last_name"][exact] + 1e-9


def test_a_shared_rare_surname_scores_higher_than_a_shared_common_one():
    hr, kleer = _people(400, seed=3)
    s = suggest(hr, kleer)
    s = s[s["assigned"].astype(bool)]
    common = s[s["hr_name"].str.endswith("Andersson")]
    rare = s[~s["hr_name"].str.endswith("Andersson")]

    def last_weight(frame):
        return np.median([next(e["weight"] for e in ev if e["signal"] == "last_name")
                          for ev in frame["evidence"]])
    assert len(common) > 20 and len(rare) > 20
    assert last_weight(rare) > last_weight(common) + 2


def test_the_trained_model_is_stored_and_read_back_from_the_workspace_file(demo_workbench,
                                                                           workspace_path):
    first = demo_workbench.match_model()
    assert first is not None and first["trained_by"] == "setup" and first["pairs"] > 0
    assert first["iterations"] >= 1 and isinstance(first["converged"], bool)
    assert first["u_pairs"] > 0 and "random pairs" in first["description"]
    levels = first["levels"]
    assert {"comparison", "level", "m", "u", "weight"} <= set(levels.columns)
    assert set(levels["comparison"]) >= {"first_name", "last_name", "ssn"}
    # the analyst links one suggested pair: the next training run counts it as a label
    pair = demo_workbench.suggestions().query("assigned == 1").iloc[0]
    demo_workbench.workspace.links.add(pair["hr_id"], int(pair["kleer_id"]), analyst="Ada",
                                       method="match")
    demo_workbench.suggest()
    with Workbench(workspace_path) as again:  # a new session reads the file
        latest = again.match_model()
        assert latest["id"] > first["id"] and latest["labelled"] >= 1
        assert len(again.workspace.match_models.history()) == 2
        stored = FSModel.from_dict(again.workspace.match_models.latest()["model"])
        assert stored.labelled == latest["labelled"] and stored.prior == pytest.approx(latest["prior"])
        rows = model_rows(latest)
        assert list(rows.columns[:3]) == ["Comparison", "Level", "m"] and len(rows) == len(levels)


def test_labels_are_the_analysts_links_unlinks_and_decisions_only(workspace):
    ws = workspace
    ws.links.add("H1", 1, analyst="a", method="match")
    ws.links.add("H2", 2, analyst="a", method="match")
    ws.links.end(hr_id="H2", analyst="a")                       # unlinked: rejected
    ws.decisions.set(side="import", subject_id=3, action="match_manually", hr_id="H3", analyst="a")
    ws.decisions.set(side="import", subject_id=4, action="do_nothing", analyst="a")
    got = ws.match_models.labels().sort_values("hr_id").reset_index(drop=True)
    assert got.to_dict("records") == [{"hr_id": "H1", "kleer_id": "1", "match": True},
                                      {"hr_id": "H2", "kleer_id": "2", "match": False},
                                      {"hr_id": "H3", "kleer_id": "3", "match": True}]
    ws.links.add("H2", 2, analyst="a", method="match")        # linked again: confirmed
    again = ws.match_models.labels().set_index("hr_id")["match"].to_dict()
    assert again == {"H1": True, "H2": True, "H3": True}


def test_a_version_7_workspace_gains_the_model_table(workspace_path, monkeypatch):
    import workbench.store.workspace as schema

    assert MIGRATIONS[-1][0] >= 8 and [n for n, _, _ in MIGRATIONS][7] == 8
    monkeypatch.setattr(schema, "MIGRATIONS", [m for m in MIGRATIONS if m[0] <= 7])
    old = Workspace(workspace_path)
    assert old.schema_version == 7 and "match_models" not in old.db.table_names()
    old.links.add("H1", 1, analyst="a", method="match")
    old.close()
    monkeypatch.undo()
    ws = Workspace(workspace_path)
    assert ws.schema_version == MIGRATIONS[-1][0]
    assert ws.match_models.latest() is None and ws.links.count() == 1
    model = FSModel.default(["phone"])
    ws.match_models.save(model.to_dict(), analyst="a", run_id="r1")
    ws.close()
    raw = sqlite3.connect(workspace_path)
    assert raw.execute("SELECT run_id, trained_by FROM match_models").fetchall() == [("r1", "a")]
    raw.close()


def test_the_settings_page_shows_the_trained_model(demo_workbench, monkeypatch):
    from tests.conftest import open_page

    monkeypatch.delenv("KLEER_TOKEN", raising=False)
    at = open_page("pages/settings.py")
    assert not at.exception
    panel = next(e for e in at.expander if e.label.startswith("Match model"))
    caption = " ".join(c.value for c in panel.caption)
    assert "Fellegi" in caption and "random pairs" in caption and "setup" in caption
    table = panel.dataframe[0].value
    assert {"Comparison", "Level", "m", "u", "Weight (bits)"} <= set(table.columns)
    assert "Personnummer" in set(table["Comparison"])


def test_the_settings_page_says_when_no_model_is_trained_yet(workspace_path, monkeypatch):
    from tests.conftest import open_page

    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_path))
    monkeypatch.delenv("KLEER_TOKEN", raising=False)
    at = open_page("pages/settings.py")
    panel = next(e for e in at.expander if e.label.startswith("Match model"))
    assert [i.value for i in panel.info] == ["No model trained yet: run matching on Import from Kleer."]
