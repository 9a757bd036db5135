"""The fast paths of blocking and comparisons give what the plain definitions give."""

from __future__ import annotations

import itertools

import numpy as np
from rapidfuzz.distance import JaroWinkler

from workbench import nicknames
from workbench.matching import blocking, comparisons
from workbench.normalize import name_key


def _naive_join(h_key, k_key, max_block):
    """Pairs (hr position, kleer position) sharing a key held by at most ``max_block`` records
    on each side ("" and negative numbers are no key)."""
    def missing(v):
        return v == "" if isinstance(v, str) else v < 0
    h_groups, k_groups = {}, {}
    for groups, keys in ((h_groups, h_key), (k_groups, k_key)):
        for pos, key in enumerate(keys):
            if not missing(key):
                groups.setdefault(key, set()).add(pos)
    return {(h, k) for key, hs in h_groups.items() for k in k_groups.get(key, ())
            for h in hs if len(hs) <= max_block and len(k_groups[key]) <= max_block}


def test_the_sort_based_join_equals_a_naive_join_on_text_and_integer_keys():
    rng = np.random.default_rng(5)
    for trial in range(20):
        n_h, n_k = rng.integers(0, 60, size=2)
        vocab = int(rng.integers(1, 30))
        h_int = rng.integers(-1, vocab, size=n_h)
        k_int = rng.integers(-1, vocab, size=n_k)
        for h_key, k_key in ((h_int, k_int),
                             (np.array(["" if v < 0 else f"k{v}" for v in h_int], dtype=object),
                              np.array(["" if v < 0 else f"k{v}" for v in k_int], dtype=object))):
            max_block = int(rng.integers(2, 6))
            h, k = blocking._join1(h_key, k_key, max_block)
            got = set(zip(h.tolist(), k.tolist()))
            assert len(got) == len(h), "no pair twice"
            assert got == _naive_join(list(h_key), list(k_key), max_block), trial


def test_a_record_holding_one_key_twice_counts_once_towards_the_block_size():
    # HR 0 holds "a" twice, HR 1 once: two records, within a max block of 2
    h, k = blocking._join(np.array([0, 0, 1]), np.array(["a", "a", "a"], dtype=object),
                          np.array([0]), np.array(["a"], dtype=object), 2)
    assert sorted(zip(h.tolist(), k.tolist())) == [(0, 0), (1, 0)]


def test_personnummer_deletion_keys_are_the_number_without_one_digit():
    pnr = np.array(["8503122387", "", "0101010101"], dtype=object)
    digits = np.full((3, 10), 255, dtype=np.uint8)
    for i, p in enumerate(pnr):
        if p:
            digits[i] = [int(c) for c in p]
    pos, keys = blocking._deletions(digits)
    want = {(i, int(p[:j] + p[j + 1:])) for i, p in enumerate(pnr) if p for j in range(10)}
    assert set(zip(pos.tolist(), keys.tolist())) == want
    assert 1 not in pos.tolist()  # no number, no key


def test_pairwise_scores_on_distinct_values_equal_the_score_of_each_pair():
    a = np.array(["anna", "anna", "bo", "", "karin"], dtype=object)
    b = np.array(["anna", "hanna", "bosse"], dtype=object)
    h = np.array([0, 1, 2, 4, 0, 3, 4])
    k = np.array([1, 1, 2, 0, 0, 2, 1])
    got = comparisons._pairwise_at(JaroWinkler.normalized_similarity, a, h, b, k)
    want = [JaroWinkler.normalized_similarity(a[i], b[j]) for i, j in zip(h, k)]
    assert np.allclose(got, want)


def test_the_short_form_prefilter_never_rejects_what_the_rule_accepts():
    names = sorted({name_key(n) for g in nicknames.GROUPS
                    for n in (g.formal, *g.variants, *g.nicknames) if name_key(n)})
    formal = sorted({name_key(g.formal) for g in nicknames.GROUPS})
    accepted = 0
    for p, q in itertools.product(formal, names):
        if nicknames.hypocoristic(p, q) or nicknames.hypocoristic(q, p):
            accepted += 1
            assert comparisons._may_be_short(p, q) and comparisons._may_be_short(q, p), (p, q)
    assert accepted > 20  # the rule does accept many of the table's short forms
    assert not comparisons._may_be_short("karl", "bengt")


def test_shown_first_names_read_once_per_first_name_equal_each_records_own():
    from workbench.matching.prepare import prepare_hr, prepare_kleer
    from workbench.matching.scoring import _shown_first
    import pandas as pd

    hr = prepare_hr(pd.DataFrame({
        "hr_id": [f"E{i}" for i in range(7)],
        "first_name": ["Anna-Maria", "Anna-Maria", "D'Arcy", "Kalle", "Per", "Bo", None],
        "last_name": ["Svensson", "Berg", "Darcy", "Kalle", "Per-Olof", "Bo", "Ek"]}))
    kleer = prepare_kleer(pd.DataFrame({"kleer_id": range(6), "name": [
        "Anna-Maria Svensson", "Carl von Essen", "Madonna", "ANNA maria berg", "O'Brien Sean",
        "Per Per"]}))
    seen: dict = {}
    for side in (hr, kleer):
        idx = np.arange(len(side))
        want = [side.names[i].shown_first() if side.first[i] else "" for i in idx]
        assert _shown_first(side, idx, seen).tolist() == want
    again = _shown_first(hr, np.array([1, 0, 1]), seen).tolist()  # from the cache now
    assert again == [hr.names[i].shown_first() for i in (1, 0, 1)]
    assert ("Anna-Maria ", ("anna", "maria")) in seen  # one entry for both Anna-Marias


def test_short_forms_of_many_name_pairs_equal_the_rule_pair_by_pair():
    names = sorted({name_key(n) for g in nicknames.GROUPS
                    for n in (g.formal, *g.variants, *g.nicknames) if name_key(n)})
    formal = sorted({name_key(g.formal) for g in nicknames.GROUPS}) + ["anna maria", "per olof"]
    pairs = list(itertools.product(formal, names)) + list(itertools.product(names, formal))
    a = np.array([p for p, _ in pairs], dtype=object)
    b = np.array([q for _, q in pairs], dtype=object)
    want = [any(nicknames.hypocoristic(p, q) or nicknames.hypocoristic(q, p)
                for p in x.split() for q in y.split()) for x, y in pairs]
    assert comparisons._short_forms(a, b).tolist() == want
    assert sum(want) > 20


def test_employee_number_deletion_keys_are_the_number_without_one_character():
    values = np.array(["12345", "", "1234", "98765", "ab12c", "1234567", "ÅÄÖ12", "123"],
                      dtype=object)
    pos, keys = blocking._digit_deletions(values, 3)
    want = {(i, v[:j] + v[j + 1:]) for i, v in enumerate(values) if len(v) >= 4
            for j in range(len(v))}
    assert set(zip(pos.tolist(), keys.tolist())) == want
    # against 10,000 records, deletion keys of numbers up to five characters would be common:
    # only the seven-digit number gets them
    pos, _ = blocking._digit_deletions(values, 10_000)
    assert set(pos.tolist()) == {5}


def test_huge_integer_keys_are_numbered_before_they_meet_positions():
    # few entries at high positions: key * position would overflow int64 unless the keys are
    # numbered first
    big = 10 ** 14 + 7
    h, k = blocking._join(np.array([3, 90_000]), np.array([big, big - 1]),
                          np.array([80_000, 5]), np.array([big - 1, 12]), 5)
    assert list(zip(h.tolist(), k.tolist())) == [(90_000, 80_000)]


def test_names_with_nothing_in_common_give_no_name_pairs():
    import pandas as pd

    from workbench.matching import MatchSettings, candidates

    hr = pd.DataFrame({"hr_id": ["E1"], "first_name": ["Qwerty"], "last_name": ["Zxcvb"]})
    kleer = pd.DataFrame({"kleer_id": [1], "name": ["Anna Svensson"]})
    assert candidates(hr, kleer, MatchSettings()).empty
    kleer = pd.DataFrame({"kleer_id": [1, 2], "name": ["Anna Svensson", "Qwerty Zxcvb"]})
    assert candidates(hr, kleer, MatchSettings())["kleer_id"].tolist() == [2]


def test_objects_made_while_the_collector_is_paused_skip_the_young_generation_but_not_collection():
    import gc
    import weakref

    from workbench.bulk import cycle_collector_paused

    class Node:
        pass

    assert gc.isenabled()
    collections: list[int] = []

    def seen(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    with cycle_collector_paused():
        assert not gc.isenabled()
        made = [(i, str(i)) for i in range(50_000)]
        cyclic = Node()
        cyclic.self = cyclic  # garbage only the cycle collector can free
        gone = weakref.ref(cyclic)
        del cyclic
        assert gc.get_count()[0] > 10_000
        gc.callbacks.append(seen)
    try:
        assert gc.isenabled()
        few = [[i] for i in range(100)]  # allocations after the pause start no collection of
        assert collections == []         # the 50,000 tuples made inside
        assert any(o is made for o in gc.get_objects(generation=2))
    finally:
        gc.callbacks.remove(seen)
    assert len(made) == 50_000 and len(few) == 100
    assert gone() is not None
    gc.collect()  # ...and the collector still sees everything made inside
    assert gone() is None
