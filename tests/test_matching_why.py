"""The text path of explaining (``suggest(..., explain="text")``, :mod:`workbench.matching.why`)
writes exactly the line :func:`~workbench.matching.as_table` makes of the evidence dicts, and the
evidence dicts themselves are what the pair-by-pair definitions in
:mod:`workbench.matching.scoring` give — on generated data that reaches every comparison level,
nickname and typo sentences, masked personnummer and missing values on either side."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

import workbench.matching as matching
from workbench import Workbench, nicknames
from workbench.matching import MatchSettings, as_table, suggest
from workbench.matching.comparisons import COMPARISONS
from workbench.matching.scoring import (_agreement, _hr_email, _sentence, _name_sentence,
                                        _values, prior_sentence)
from workbench.normalize import make_personnummer

SETTINGS = MatchSettings(possible=1.0)  # keep weak pairs too: their "differs" sentences
FIRST = ["Anna", "Maria", "Erik", "Johan", "Sofia", "Lena", "Oskar", "Ida", "Åsa", "Björn"]
LAST = ["Svensson", "Berg", "Lindqvist", "Åberg", "Holm", "Nyström", "Ek", "Sandberg"]
NICK = [g for g in nicknames.GROUPS if g.nicknames][:12]


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    return rng.choice([word[:i] + word[i + 1:],                           # one letter gone
                       word[:i] + word[i + 1] + word[i] + word[i + 2:],   # two swapped
                       word[:i] + "xq" + word[i + 2:]])                   # two letters


def _person(rng: random.Random, i: int) -> dict:
    if rng.random() < 0.25:
        g = rng.choice(NICK)
        first = g.formal
    else:
        first = rng.choice(FIRST) + (" " + rng.choice(FIRST) if rng.random() < 0.2 else "")
    last = rng.choice(LAST) + (" " + rng.choice(LAST) if rng.random() < 0.15 else "")
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(15000))
    local = f"{first.split()[0]}.{last.split()[0]}".lower()
    maiden = f"{first.split()[0]}.{rng.choice(LAST)}".lower() if rng.random() < 0.3 else local
    return {"hr_id": f"E{i}", "first_name": first, "last_name": last,
            "ssn": make_personnummer(born, rng.randrange(100, 999)),
            "birth_date": born.isoformat(), "private_email": f"{local}{i}@home.se",
            "work_email": f"{maiden}@firma.se" if rng.random() < 0.7 else None,
            "phone": f"+4670{rng.randrange(10 ** 6, 10 ** 7)}",
            "employee_number": str(1000 + i), "employment_start_date":
                (date(2000, 1, 1) + timedelta(days=rng.randrange(8000))).isoformat(),
            "street": f"{rng.choice(['Storgatan', 'Kungsvägen', 'Ågatan'])} {rng.randrange(1, 60)}",
            "zip_code": f"{rng.randrange(100, 999)} {rng.randrange(10, 99)}",
            "city": rng.choice(["Uppsala", "Malmö", "Göteborg", "Umeå"])}


def _kleer_name(rng: random.Random, p: dict) -> str:
    first, last = p["first_name"], p["last_name"]
    how = rng.randrange(12)
    if how == 1:
        g = next((g for g in NICK if g.formal == first), None)
        first = rng.choice(g.nicknames) if g else first.lower()
    elif how == 2:
        return f"{last} {first}"                                          # swapped
    elif how == 3:
        first = first[0] + "."                                            # an initial
    elif how == 4 and " " in first:
        first = first.split()[1]                                          # one of the first names
    elif how == 5 and " " in last:
        last = last.split()[0]                                            # part of a double surname
    elif how == 6:
        last = _typo(rng, last) if len(last) > 3 else last
    elif how == 7:
        first = _typo(rng, first) if len(first) > 3 else first
    elif how == 8:
        first, last = first.upper(), last.lower()                         # case and accents
    elif how == 9:
        first = rng.choice(FIRST)                                         # another first name
    elif how == 10:  # the name of the old work address (a maiden name), or another one
        work = (p["work_email"] or "").split("@")[0].split(".")
        last = work[1].title() if len(work) == 2 else rng.choice(LAST)
    return f"{first} {last}"


def _shifted(rng: random.Random, iso: str) -> str:
    d = date.fromisoformat(iso)
    return rng.choice([d.replace(day=min(d.day % 28 + 1, 28)),
                       d.replace(year=d.year + 7, day=min(d.day, 28))]).isoformat()


def _kleer_record(rng: random.Random, p: dict, j: int, others: list[dict]) -> dict:
    pnr = p["ssn"].replace("-", "")
    ssn = rng.choice([p["ssn"], pnr[2:], pnr[:-2] + pnr[-1] + pnr[-2],
                      pnr[:-1] + str((int(pnr[-1]) + 3) % 10), rng.choice(others)["ssn"], None])
    local = p["private_email"].split("@")[0]
    name = _kleer_name(rng, p)
    email = rng.choice([p["private_email"], p["work_email"], f"{local}@elsewhere.se",
                        f"{p['first_name'].split()[0].lower()}.{p['last_name'].split()[0].lower()}"
                        "@kleer.se", ".".join(name.lower().split()[:2]) + "@kleer.se",  # names
                        f"someone{j}@x.se", None])
    maybe = lambda v, other: rng.choice([v, v, other, None])  # noqa: E731
    return {"kleer_id": 500 + j, "name": name, "ssn": ssn, "email": email,
            "hr_id": rng.choice([None, None, None, p["hr_id"], rng.choice(others)["hr_id"]]),
            "birth_date": rng.choice([p["birth_date"], None, None, _shifted(rng, p["birth_date"]),
                                      rng.choice(others)["birth_date"]]),
            "phone": maybe(p["phone"], rng.choice(others)["phone"]),
            "employee_number": maybe(p["employee_number"],
                                     rng.choice([p["employee_number"][:-1] + "9",
                                                 rng.choice(others)["employee_number"]])),
            "employment_start_date": maybe(p["employment_start_date"],
                                           _shifted(rng, p["employment_start_date"])),
            "street": maybe(p["street"], p["street"].replace("gatan", "gata")),
            "zip_code": maybe(p["zip_code"], p["zip_code"][:3] + " 00"),
            "city": maybe(p["city"], p["city"][:-1])}


def generated(n: int = 500, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = random.Random(seed)
    people = [_person(rng, i) for i in range(n)]
    kleer = [_kleer_record(rng, p, j, people) for j, p in enumerate(people) if rng.random() < 0.9]
    for p in people:  # missing values on the HR side too
        for key in ("ssn", "birth_date", "phone", "street", "city", "private_email"):
            if rng.random() < 0.08:
                p[key] = None
    return pd.DataFrame(people), pd.DataFrame(kleer)


@pytest.fixture(scope="module")
def data():
    hr, kleer = generated()
    model = matching.train(hr, kleer, SETTINGS)
    frame = suggest(hr, kleer, SETTINGS, model=model)
    return hr, kleer, model, frame


def test_the_generated_data_reaches_every_level_and_the_awkward_sentences(data):
    *_, frame = data
    entries = [e for ev in frame["evidence"] for e in ev if e["signal"] != "prior"]
    seen = {(e["signal"], e["level"]) for e in entries}
    want = {(c, level) for c in frame.attrs["model"].comparisons
            for level in ("missing",) + COMPARISONS[c].levels}
    # levels the generator cannot make: a foreign-id is never "missing" with a Kleer value, and
    # "one component off" birth dates need both dates where the personnummer has none
    unreachable = {("foreign_id", "missing"), ("first_name", "missing"), ("last_name", "missing"),
                   ("birth_date", "exact"), ("birth_date", "one component off"),
                   ("birth_date", "differs"), ("street", "same house number, similar street")}
    assert want - unreachable <= seen, sorted(want - unreachable - seen)
    sentences = " | ".join(e["sentence"] for e in entries)
    for piece in ("nickname", "one-letter typo", "two letters swapped (typo)", "two-letter typo",
                  "identical apart from case and accents", "an initial", "missing in HR",
                  "missing in Kleer", "already counted in the personnummer",
                  "Email identical to the HR work email", "Email identical to the HR private"):
        assert piece in sentences, piece
    shown = [v for e in entries if e["signal"] == "ssn" for v in (e["hr"], e["kleer"]) if v]
    assert shown and all(v.endswith("****") for v in shown)  # the last four digits never shown


def test_the_text_path_writes_exactly_what_as_table_makes_of_the_evidence(data):
    hr, kleer, model, frame = data
    text = suggest(hr, kleer, SETTINGS, model=model, explain="text")
    assert "evidence" not in text.columns and text.columns.tolist() == [
        "why" if c == "evidence" else c for c in matching.COLUMNS]
    assert text["why"].tolist() == as_table(frame)["evidence"].tolist()
    assert text.drop(columns="why").equals(frame.drop(columns="evidence"))
    for assigned_only in (False, True):
        slow, fast = as_table(frame, assigned_only=assigned_only), \
            as_table(text, assigned_only=assigned_only)
        assert fast.equals(slow)
        assert Workbench.csv_bytes(fast) == Workbench.csv_bytes(slow)


def test_every_evidence_entry_is_what_the_pair_by_pair_definitions_give(data):
    hr, kleer, model, frame = data
    h_side, k_side, comparisons = matching._prepared(hr, kleer, SETTINGS, None)
    h_pos = {v: i for i, v in enumerate(h_side.ids.astype(str).tolist())}
    k_pos = {v: i for i, v in enumerate(k_side.ids.tolist())}
    for row in frame.itertuples():
        h, k = h_pos[row.hr_id], k_pos[row.kleer_id]
        prior, *entries = row.evidence
        assert prior["sentence"] == prior_sentence(model)
        key = _hr_email(h_side, k_side, h, k)
        for e in entries:
            c = e["signal"]
            hv, kv = _values(c, h_side, k_side, h, k, key)
            assert (e["hr"], e["kleer"]) == (hv or None, kv or None), (row, e)
            comp = COMPARISONS[c]
            index = ("missing",) + comp.levels
            li = index.index(e["level"])
            assert e["agreement"] == _agreement(li, comp.n_levels, e["weight"], e["level"])
            if li == 0:
                continue
            if c in ("first_name", "last_name"):
                want = _name_sentence(c, e["level"], h_side.names[h], k_side.names[k])
            elif c == "email" and e["level"] == "exact":
                want = f"Email identical to the HR {key.replace('_email', '')} email"
            else:
                want = _sentence(c, e["level"], hv, kv)
            assert e["sentence"] == want, (row, e)


def test_the_workspace_still_stores_the_evidence_dicts(tmp_path, data):
    hr, kleer, *_ = data
    with Workbench(tmp_path / "w.db", analyst="test") as wb:
        frame = matching.suggest(hr, kleer, SETTINGS)
        wb.workspace.suggestions.replace(frame, run_id="r1")
        stored = wb.suggestions()
    assert len(stored) == len(frame)
    got = {(int(r.kleer_id), r.hr_id): r.evidence for r in stored.itertuples()}
    for r in frame.itertuples():
        assert got[(int(r.kleer_id), r.hr_id)] == json.loads(json.dumps(r.evidence))


def test_an_empty_result_has_the_why_column_too():
    hr = pd.DataFrame({"hr_id": ["E1"], "first_name": ["Anna"], "last_name": ["Berg"]})
    kleer = pd.DataFrame({"kleer_id": [1], "name": ["Zeb Quist"]})
    text = suggest(hr, kleer, explain="text")
    assert text.empty and "why" in text.columns and "evidence" not in text.columns
    assert as_table(text).columns.tolist() == as_table(suggest(hr, kleer)).columns.tolist()
    with pytest.raises(ValueError):
        suggest(hr, kleer, explain="dicts")

