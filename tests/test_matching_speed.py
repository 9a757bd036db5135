"""The fast paths of blocking and comparisons give what the plain definitions give."""

from __future__ import annotations

import itertools

import numpy as np
from rapidfuzz.distance import JaroWinkler

from workbench import nicknames
from workbench.matching import blocking, comparisons, shortforms
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
            assert shortforms._may_be_short(p, q) and shortforms._may_be_short(q, p), (p, q)
    assert accepted > 20  # the rule does accept many of the table's short forms
    assert not shortforms._may_be_short("karl", "bengt")


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
    assert shortforms._short_forms(a, b).tolist() == want
    assert sum(want) > 20


def test_employee_number_deletion_keys_are_the_number_without_one_character():
    values = np.array(["12345", "", "1234", "98765", "ab12c", "1234567", "ÅÄÖ12", "123",
                       "01234", "11234", "0123", "00123", "١٢٣٤"], dtype=object)
    pos, keys = blocking._digit_deletions(values, 3)
    want = {(i, v[:j] + v[j + 1:]) for i, v in enumerate(values) if len(v) >= 4
            for j in range(len(v))}
    # in the order written: per length, per deleted place, the numbers of that length
    texts = [(i, values[i][:j] + values[i][j + 1:])
             for n in sorted({len(v) for v in values if len(v) >= 4})
             for j in range(n) for i in range(len(values)) if len(values[i]) == n]
    assert pos.tolist() == [i for i, _ in texts]
    assert {(i, t) for i, t in texts} == want
    key_of: dict = {}
    for key, (_, text) in zip(keys.tolist(), texts):  # equal keys exactly for equal texts
        assert key_of.setdefault(text, key) == key
    assert len(set(key_of.values())) == len(key_of)
    # against 10,000 records, deletion keys of numbers up to five characters would be common:
    # only the seven-digit number gets them
    pos, _ = blocking._digit_deletions(values, 10_000)
    assert set(pos.tolist()) == {5}
    # numbers of ASCII digits only give integer keys, equal where their texts are
    digits = np.array(["01234", "11234", "0123"], dtype=object)
    pos, keys = blocking._digit_deletions(digits, 3)
    assert keys.dtype != object
    texts = [digits[i][:j] + digits[i][j + 1:] for n in (4, 5) for j in range(n)
             for i in range(3) if len(digits[i]) == n]
    assert [(a == b) for a in keys.tolist() for b in keys.tolist()] == \
        [(a == b) for a in texts for b in texts]
    assert texts.count("1234") == 3  # "01234" without its 0, "11234" without either 1


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


# --------------------------------------------------------------------------- codes, patterns

def _awkward_sides(seed: int):
    """Two prepared sides with repeated values, empty values, one value on many records,
    values only one side has, diacritics, double names and a personnummer or none."""
    import pandas as pd

    from workbench.matching.prepare import prepare_hr, prepare_kleer

    rng = np.random.default_rng(seed)
    firsts = ["Anna", "Anna Maria", "Åsa", "asa", "Per-Olof", "Kalle", "Karl", "", "Bo", "Jessica",
              "Jessan", "Tobias", "Tobbe", "Mathilda", "Tilda", "Lars Erik", "Sebastian", "Sebbe"]
    lasts = ["Svensson", "Svenson", "Öberg-Lind", "Oberg", "", "von Essen", "Berg", "Berg"]
    cities = ["Gävle", "Gavle", "Umeå", "", "Umea", "Lund"]
    n_h, n_k = int(rng.integers(1, 80)), int(rng.integers(1, 80))

    def pick(values, n):
        return [values[i] for i in rng.integers(0, len(values), n)]

    hr = pd.DataFrame({
        "hr_id": [f"E{i}" for i in range(n_h)], "first_name": pick(firsts, n_h),
        "last_name": pick(lasts, n_h), "city": pick(cities, n_h),
        "zip_code": pick(["11122", "11133", "", "22211"], n_h),
        "phone": pick(["+46701234567", "", "+46709999999"], n_h),
        "birth_date": pick(["1985-03-12", "1985-12-03", "", "1990-01-01"], n_h),
        "private_email": pick(["anna@x.se", "", "kalle@y.se", "Anna@x.se"], n_h),
        "work_email": pick(["anna.svensson@firma.se", "", "bo@firma.se"], n_h),
        "employee_number": pick(["1001", "1002", "", "10001"], n_h)})
    kleer = pd.DataFrame({
        "kleer_id": np.arange(n_k), "name": [f"{f} {l}".strip() for f, l in
                                             zip(pick(firsts, n_k), pick(lasts, n_k))],
        "hr_id": pick(["E1", "E2", "", "X9"], n_k), "city": pick(cities, n_k),
        "zip_code": pick(["11122", "", "22299"], n_k),
        "phone": pick(["+46701234567", "", "+46700000000"], n_k),
        "birth_date": pick(["1985-03-12", "", "1990-01-01"], n_k),
        "email": pick(["anna@x.se", "", "bo@firma.se", "annasvensson@x.se"], n_k),
        "employee_number": pick(["1001", "", "1003"], n_k)})
    return prepare_hr(hr), prepare_kleer(kleer)


def test_shared_codes_are_equal_exactly_where_the_texts_are():
    from workbench.matching.prepare import column, shared_codes

    for seed in range(12):
        hr, kleer = _awkward_sides(seed)
        for h_name, k_name in (("first", "first"), ("last", "first"), ("city", "city"),
                               ("zip3", "zip3"), ("id_text", "foreign_id"),
                               ("emails.work_email", "emails.email"), ("first_key", "last_key"),
                               ("birth_date", "birth_date"), ("employee_number", None)):
            a, b = column(hr, h_name), column(kleer, k_name or h_name)
            ch, ck, n = shared_codes(hr, kleer, h_name, k_name)
            assert shared_codes(hr, kleer, h_name, k_name)[0] is ch  # kept for the run
            assert ((ch == -1) == (a == "")).all() and ((ck == -1) == (b == "")).all()
            assert ch.max(initial=-1) < n and ck.max(initial=-1) < n
            for i in range(len(a)):
                for j in range(len(b)):
                    if a[i] and b[j]:
                        assert (ch[i] == ck[j]) == (a[i] == b[j]), (h_name, a[i], b[j])


def test_token_codes_spread_from_distinct_names_equal_each_records_own_tokens():
    from workbench.matching.prepare import token_codes

    for seed in range(6):
        for side in _awkward_sides(seed):
            for attr in ("tokens", "canon"):
                pos, code, vocab = token_codes(side, attr)
                want = [(i, t) for i, p in enumerate(side.names) for t in getattr(p, attr)]
                assert list(zip(pos.tolist(), vocab[code].tolist())) == want


def _reference_levels(c, hr, kleer, h, k):
    """The plain definition of a comparison's levels: every similarity of every pair, on the
    texts, pair by pair."""
    from rapidfuzz import fuzz

    def jw(x, y):  # as process.cpdist gives it: a float32
        return np.float32(JaroWinkler.normalized_similarity(x, y))

    out = []
    for i, j in zip(h.tolist(), k.tolist()):
        if c == "first_name":
            a, b = hr.first[i], kleer.first[j]
            if not a or not b:
                out.append(0)
                continue
            ca, cb = hr.first_key[i], kleer.first_key[j]
            swapped = ca == kleer.last_key[j] and hr.last_key[i] == cb and ca != cb
            initial = (hr.has_initial[i] or kleer.has_initial[j]) and a[:1] == b[:1]
            conditions = [a == b, ca == cb, swapped, fuzz.token_set_ratio(ca, cb) == 100,
                          initial, jw(a, b) >= 0.92, jw(a, b) >= 0.80]
            level = next((n for n, ok in enumerate(conditions, 1) if ok), 8)
            if level >= 6 and any(nicknames.hypocoristic(p, q) or nicknames.hypocoristic(q, p)
                                  for p in a.split() for q in b.split()):
                level = 2
        elif c == "last_name":
            a, b = hr.last[i], kleer.last[j]
            if not a or not b:
                out.append(0)
                continue
            swapped = a == kleer.first[j] and hr.first[i] == b and a != b
            conditions = [a == b, swapped, fuzz.token_set_ratio(a, b) == 100, jw(a, b) >= 0.92,
                          jw(a, b) >= 0.80]
            level = next((n for n, ok in enumerate(conditions, 1) if ok), 6)
        elif c == "city":
            a, b = hr.city[i], kleer.city[j]
            level = 0 if not a or not b else 1 if a == b else 2 if jw(a, b) >= 0.9 else 3
        else:  # employee_number
            from rapidfuzz.distance import Levenshtein

            a, b = hr.employee_number[i], kleer.employee_number[j]
            level = 0 if not a or not b else 1 if a == b else \
                2 if Levenshtein.distance(a, b) == 1 else 3
        out.append(level)
    return np.array(out, dtype=np.int8)


def test_comparisons_scoring_only_undecided_pairs_equal_every_pair_scored():
    """Levels from codes, with a similarity scored only where no stronger level decided, equal
    the plain definition on every HR × Kleer pair of awkward sides."""
    for seed in range(8):
        hr, kleer = _awkward_sides(seed)
        h, k = np.divmod(np.arange(len(hr) * len(kleer)), len(kleer))
        for c in ("first_name", "last_name", "city", "employee_number"):
            got = comparisons.compare(hr, kleer, h, k, [c])[:, 0]
            assert got.tolist() == _reference_levels(c, hr, kleer, h, k).tolist(), (seed, c)


def test_em_patterns_coded_column_by_column_equal_the_distinct_rows_of_the_matrix():
    from workbench.matching.fs import _patterns

    rng = np.random.default_rng(3)
    gamma = rng.integers(0, 9, size=(5_000, 9)).astype(np.int8)
    gamma[:, 2] = rng.integers(0, 2, size=len(gamma))  # few values: many repeated rows
    gamma[:, 5] = 0
    patterns, counts = _patterns(gamma)
    rows, first, want = np.unique(gamma, axis=0, return_index=True, return_counts=True)
    order = np.argsort(first)  # _patterns: first seen first
    assert np.array_equal(patterns, rows[order])
    assert np.array_equal(counts, want[order].astype(float))


def test_kleer_names_in_fewer_steps_equal_kleer_name_parts():
    from workbench.matching import names

    cases = ["Anna Svensson", "  Anna   Maria  Svensson ", "Carl von Essen", "Madonna", "Ö",
             "Åsa Öberg-Lind", "O'Brien Sean", "e\u0301mile zola", "anna\u00a0berg", "a\tb c",
             "   ", "", "Jean de la Fontaine", "de Gaulle", "Von", "x von", "A. B.",
             "\u2003Anna\u2003", None, float("nan"), 12]
    for name in cases:
        for first, last in ((None, None), ("Anna", "Berg")):
            assert names._kleer_name(name, first, last) == \
                names.kleer_name_parts(name, first, last), repr(name)


def test_personnummer_digits_without_a_regex_equal_the_regex_on_awkward_numbers():
    import re

    from workbench.matching.prepare import _digits10

    not_digit = re.compile(r"[^0-9]")
    ssn = np.array(["19850312-2387", "198503122387", "8503122387", "850312-2387", "",
                    "19850312+2387", "1985031\u0662-2387", "19850312-238", "abcdefgh-ijkl",
                    "19850312-23877", "1985-03-12-23", " 19850312-2387", "19850312_2387",
                    "\uff119850312-2387", "19850312-2387"], dtype=object)
    digits = [not_digit.sub("", v) for v in ssn]
    got, count = _digits10(ssn)
    assert count.tolist() == [len(d) for d in digits]
    assert got.tolist() == [d[-10:] if len(d) in (10, 12) else "" for d in digits]


def test_folding_word_by_word_equals_name_key_of_the_whole_value():
    from workbench.matching.prepare import folded_column
    from workbench.normalize import name_key

    values = ["Storgatan 12 B", "Storgatan 12 b", "Tallvägen\u00a098", "a\u00a8b", "a \u0308b",
              "ÅSA_öberg", "  ", "", "Ærøvej 3", "Straße 1", "rue de l'Église", "\u3000Gata\u3000",
              "x\u2028y", "İstanbul cd.", "ﬁlgatan", "Ⅻ gatan", "e\u0301 \u0301e", "--", "D'Arcy"]
    got = folded_column(np.array(values + values[::-1], dtype=object)).tolist()
    assert got == [name_key(v) for v in values + values[::-1]]
