"""The array fast paths of the end of matching equal their plain definitions.

rank/flags/assign work on numpy arrays (workbench.matching.assign: ranked, flagged, assigned);
the plain pandas definitions they replaced are kept here as the reference and both are run on
awkward data: ties on weight and HR id, equal weights, NaN weights, components of several sizes,
unsorted input, empty input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.matching.assign import (_components, _unresolved_ties, _with_weight, assign,
                                       assigned, flagged, flags, rank, ranked)
from workbench.matching.lsap import linear_sum_assignment
from workbench.matching.settings import MatchSettings

# --------------------------------------------------------------------------- the plain definitions


def plain_rank(frame: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    frame = _with_weight(frame)
    kept = frame[frame["score"] >= settings.possible]
    kept = kept.sort_values(["k", "weight", "hr_id"], ascending=[True, False, True], kind="stable")
    kept = kept.assign(rank=kept.groupby("k").cumcount() + 1)
    return kept[kept["rank"] <= settings.top_k].reset_index(drop=True)


def plain_flags(kept: pd.DataFrame, settings: MatchSettings, hr_name_count: np.ndarray
                ) -> pd.DataFrame:
    kept = _with_weight(kept)
    best = kept.groupby("k")["weight"].transform("max")
    near = kept["weight"] >= best - settings.tie_margin
    tie = near & (near.groupby(kept["k"]).transform("sum") >= 2)
    first = kept["rank"] == 1
    claims = kept.loc[first, "h"].value_counts()
    claimed = kept["h"].map(claims).fillna(0).astype(int) - first.astype(int)
    return kept.assign(tie=tie.to_numpy(), contested=(claimed >= 1).to_numpy(),
                       namesake=(hr_name_count[kept["h"].to_numpy()] >= 2))


def plain_unresolved_ties(kept: pd.DataFrame, chosen: np.ndarray) -> np.ndarray:
    if "tie" not in kept:
        return chosen
    taken = set(kept.loc[chosen, "h"])
    free_tied = kept["tie"].to_numpy() & ~chosen & ~kept["h"].isin(taken).to_numpy()
    ambiguous = set(kept.loc[free_tied, "k"])
    return chosen & ~kept["k"].isin(ambiguous).to_numpy()


def plain_assign(kept: pd.DataFrame, settings: MatchSettings) -> np.ndarray:
    n = len(kept)
    chosen = np.zeros(n, dtype=bool)
    if n == 0:
        return chosen
    k, h = kept["k"].to_numpy(), kept["h"].to_numpy()
    weight = np.maximum(_with_weight(kept)["weight"].to_numpy(dtype=float), 0.0) + 1e-6
    comp = _components(k, h)
    frame = pd.DataFrame({"comp": comp, "k": k, "h": h, "w": weight, "row": np.arange(n)})
    sizes = frame.groupby("comp").agg(nk=("k", "nunique"), nh=("h", "nunique"))
    simple = sizes.index[(sizes["nk"] == 1) | (sizes["nh"] == 1)]
    star = frame[frame["comp"].isin(simple)].sort_values(["comp", "w", "row"],
                                                          ascending=[True, False, True])
    chosen[star.drop_duplicates("comp")["row"].to_numpy()] = True
    for _, part in frame[~frame["comp"].isin(simple)].groupby("comp"):
        ki, ks = pd.factorize(part["k"].to_numpy())
        hi, hs = pd.factorize(part["h"].to_numpy())
        matrix = np.zeros((len(ks), len(hs)))
        matrix[ki, hi] = part["w"].to_numpy()
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        picked = {(r, c) for r, c in zip(rows, cols) if matrix[r, c] > 0}
        for (r, c), row in zip(zip(ki, hi), part["row"].to_numpy()):
            if (r, c) in picked:
                chosen[row] = True
    return plain_unresolved_ties(kept, chosen)


# --------------------------------------------------------------------------- awkward data


def pairs(seed: int, n_k: int = 40, n_h: int = 30, per_k: int = 5, levels: int = 4,
          nan: bool = False) -> pd.DataFrame:
    """Candidate pairs with few distinct weights (ties everywhere), HR ids that repeat and sort
    differently from the positions, some pairs below the possible band, rows shuffled."""
    rng = np.random.default_rng(seed)
    k = np.repeat(np.arange(n_k) * 7 + 3, per_k)  # Kleer positions need not be 0…n
    h = np.concatenate([rng.choice(n_h, per_k, replace=False) for _ in range(n_k)])
    weight = rng.integers(-2, levels, len(k)).astype(float) * 1.5
    score = np.where(weight >= 0, 60.0 + weight, 10.0)
    if nan:  # a weight that cannot be ordered, on kept pairs
        weight[rng.random(len(k)) < 0.1] = np.nan
    hr_id = np.array([f"E{(x * 37) % 11}" for x in h.tolist()], dtype=object)  # repeats
    frame = pd.DataFrame({"h": h, "k": k, "score": score, "row": np.arange(len(k)),
                          "weight": weight, "hr_id": hr_id})
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


SETTINGS = [MatchSettings(), MatchSettings(top_k=1), MatchSettings(top_k=2, tie_margin=0.0),
            MatchSettings(top_k=10, tie_margin=3.0)]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"k{s.top_k}-m{s.tie_margin}")
def test_rank_flags_assign_equal_the_pandas_definitions(seed, settings):
    frame = pairs(seed, per_k=1 + seed % 6, levels=2 + seed % 4, nan=seed % 3 == 0)
    name_count = np.random.default_rng(seed).integers(0, 3, 40)
    ranked_frame = rank(frame, settings)
    expected = plain_rank(frame, settings)
    pd.testing.assert_frame_equal(ranked_frame, expected, check_exact=True)
    assert len(expected) and 1 <= expected["rank"].max() <= min(settings.top_k, 1 + seed % 6)
    flagged_frame = flags(ranked_frame, settings, name_count)
    pd.testing.assert_frame_equal(flagged_frame, plain_flags(expected, settings, name_count),
                                  check_exact=True)
    assert same_assignment(flagged_frame, settings)
    # unsorted input to flags and assign, and assign without the tie flags
    shuffled = flagged_frame.iloc[np.random.default_rng(seed).permutation(len(flagged_frame))]
    pd.testing.assert_frame_equal(flags(shuffled, settings, name_count),
                                  plain_flags(shuffled, settings, name_count), check_exact=True)
    assert same_assignment(shuffled, settings)
    assert same_assignment(shuffled.drop(columns=["tie"]), settings)


def same_assignment(kept: pd.DataFrame, settings: MatchSettings) -> bool:
    """assign equals the plain definition, or both refuse (a NaN weight in a component that
    needs the exact assignment)."""
    try:
        want = plain_assign(kept, settings)
    except ValueError:
        with pytest.raises(ValueError):
            assign(kept, settings)
        return True
    return np.array_equal(assign(kept, settings), want)


def test_the_awkward_data_is_awkward():
    """The data above has what the fast paths must get right: equal weights with different HR
    ids, equal HR ids, stars and crowded components, ties left unassigned."""
    settings = MatchSettings(top_k=10)
    frame = flags(rank(pairs(1, per_k=5), settings), settings, np.zeros(40, dtype=int))
    same = frame.duplicated(["k", "weight"], keep=False)
    assert frame.loc[same, "hr_id"].nunique() > 3
    assert frame.duplicated(["k", "weight", "hr_id"]).any()
    comp = _components(frame["k"].to_numpy(), frame["h"].to_numpy())
    sizes = pd.Series(comp).value_counts()
    assert sizes.max() > 10
    one_k = pairs(2, n_k=30, n_h=200, per_k=2)
    sizes = pd.Series(_components(one_k["k"].to_numpy(), one_k["h"].to_numpy())).value_counts()
    assert (sizes <= 2).any() and (sizes > 2).any()
    chosen = assign(frame, settings)
    assert frame["tie"].any() and (frame["tie"] & ~chosen).any()


@pytest.mark.parametrize("seed", range(8))
def test_assign_equals_the_pandas_definition_on_stars_and_crowds(seed):
    """Many small components (one Kleer or one HR employee) next to crowded ones."""
    rng = np.random.default_rng(100 + seed)
    frame = pairs(seed, n_k=60, n_h=int(rng.integers(20, 400)), per_k=int(rng.integers(1, 4)))
    frame["tie"] = rng.random(len(frame)) < 0.2
    settings = MatchSettings()
    assert np.array_equal(assign(frame, settings), plain_assign(frame, settings))
    chosen = assign(frame, settings)
    assert frame.loc[chosen, "k"].is_unique and frame.loc[chosen, "h"].is_unique


def test_unresolved_ties_equal_the_pandas_definition():
    rng = np.random.default_rng(7)
    for _ in range(20):
        frame = pairs(int(rng.integers(1000)), n_k=10, n_h=8, per_k=3)
        frame["tie"] = rng.random(len(frame)) < 0.4
        chosen = rng.random(len(frame)) < 0.3
        assert np.array_equal(_unresolved_ties(frame, chosen),
                              plain_unresolved_ties(frame, chosen))
    assert _unresolved_ties(frame.drop(columns=["tie"]), chosen) is chosen


def test_empty_input_keeps_the_columns_and_dtypes():
    settings = MatchSettings()
    empty = pairs(0).iloc[:0]
    got, want = rank(empty, settings), plain_rank(empty, settings)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    below = pairs(0).assign(score=1.0)  # nothing reaches the possible band
    pd.testing.assert_frame_equal(rank(below, settings), plain_rank(below, settings))
    got_flags = flags(got, settings, np.zeros(1, dtype=int))
    want_flags = plain_flags(want, settings, np.zeros(1, dtype=int))
    assert list(got_flags.columns) == list(want_flags.columns)
    assert got_flags.empty and want_flags.empty
    assert assign(got_flags, settings).tolist() == plain_assign(want_flags, settings).tolist() == []
    order, ranks = ranked(np.zeros(0, dtype=int), np.zeros(0), lambda at: [], 3)
    assert order.tolist() == ranks.tolist() == []
    tie, contested = flagged(*(np.zeros(0, dtype=int),) * 4, 1.0)
    assert tie.tolist() == contested.tolist() == []
    assert assigned(*(np.zeros(0, dtype=int),) * 3, None).tolist() == []


def test_ranked_asks_for_hr_ids_only_where_weights_tie():
    k = np.array([5, 5, 5, 1, 1])
    weight = np.array([2.0, 3.0, 2.0, 1.0, 0.5])
    ids = np.array(["b", "z", "a", "q", "p"])
    asked = []

    def hr_id(at):
        asked.append(sorted(at.tolist()))
        return ids[at]

    order, ranks = ranked(k, weight, hr_id, 3)
    assert order.tolist() == [3, 4, 1, 2, 0] and ranks.tolist() == [1, 2, 1, 2, 3]
    assert asked == [[0, 2]]
    asked.clear()
    assert ranked(k, np.array([1.0, 2.0, 3.0, 4.0, 5.0]), hr_id, 1)[0].tolist() == [4, 2]
    assert asked == []
