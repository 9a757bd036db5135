"""Match quality on generated data with known truth: the demo (300 people: F1 ≥ 0.98, nothing
wrong in "certain", no true pair lost by blocking, every situation handled) and a
5,000 × 5,000 set with the same realistic noise (F1 ≥ 0.99)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import demo
from workbench.kleer.mapping import records_from_kleer
from workbench.matching import candidates, evaluate, suggest
from workbench.sources import read_hr


def _frames(n_people: int, seed: int, folder) -> tuple[pd.DataFrame, pd.DataFrame, demo.Demo]:
    """The HR export read the way a user loads it, the Kleer seed mapped the way a fetch maps it."""
    generated = demo.generate(n_people, seed=seed)
    paths = demo.write(generated, folder)
    hr = pd.DataFrame(read_hr(paths["hr"]).records)
    seed_json = generated.kleer_seed
    kleer = pd.DataFrame(records_from_kleer(seed_json["users"], seed_json["payroll-user-readables"]))
    return hr, kleer, generated


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    hr, kleer, generated = _frames(300, 7, tmp_path_factory.mktemp("demo"))  # data/demo's arguments
    return hr, kleer, generated, suggest(hr, kleer)


def _truth(generated: demo.Demo) -> pd.DataFrame:
    truth = generated.truth[["hr_id", "kleer_id"]].copy()
    truth["hr_id"] = truth["hr_id"].astype(str)
    return truth


def test_demo_f1_and_nothing_wrong_is_certain(demo_run):
    _, _, generated, s = demo_run
    result = evaluate(s, _truth(generated))
    assert result.f1 >= 0.98, str(result)
    assert result.wrong_by_band.get("certain", 0) == 0, str(result)
    assert result.true_positives >= 0.98 * len(generated.truth)


def test_blocking_loses_no_true_demo_pair(demo_run):
    hr, kleer, generated, _ = demo_run
    found = candidates(hr, kleer).merge(_truth(generated), on=["hr_id", "kleer_id"])
    assert len(found) == len(generated.truth)


def test_every_demo_situation_is_matched(demo_run):
    _, _, generated, s = demo_run
    assigned = s[s["assigned"]][["hr_id", "kleer_id"]]
    pairs = generated.situations.dropna(subset=["hr_id", "kleer_id"]).astype({"kleer_id": "int64"})
    pairs = pairs.merge(_truth(generated), on=["hr_id", "kleer_id"])  # the true pairs' situations
    hit = pairs.merge(assigned, on=["hr_id", "kleer_id"], how="left", indicator=True)
    rate = (hit["_merge"] == "both").groupby(hit["situation"]).mean()
    assert {"nickname", "name_swapped", "married_name", "name_typo", "diacritics_dropped",
            "ssn_missing_in_kleer", "ssn_10_digit", "namesake"} <= set(rate.index)
    assert (rate >= 0.9).all(), rate[rate < 0.9].to_dict()


def test_5000_by_5000_with_noise(tmp_path):
    hr, kleer, generated = _frames(5000, 11, tmp_path)
    truth = _truth(generated)
    result = evaluate(suggest(hr, kleer), truth)
    assert result.f1 >= 0.99, str(result)
    assert len(candidates(hr, kleer).merge(truth, on=["hr_id", "kleer_id"])) == len(truth)
