"""Match settings as data: which signals count how much, the band limits, k, the name cutoff.

:class:`MatchSettings` is a frozen value that round-trips to JSON (:meth:`MatchSettings.to_json`,
:meth:`MatchSettings.from_json`) so an analyst's thresholds can be stored in the workspace and a
run can be reproduced. :meth:`MatchSettings.validate` checks it once against the input columns and
raises a readable :class:`~workbench.errors.InputError`.

Scoring: the score is the match probability in percent under a Fellegi–Sunter model whose
weights are learned by EM (:mod:`workbench.matching.fs`); the band is the highest limit
(``certain``/``likely``/``possible``, percent) it reaches. ``weights``, ``penalties`` and
``levels`` are the hand-set points of the first matcher: they no longer score (the learned model
does) but are kept so stored settings still load and round-trip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields as dc_fields
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ..errors import InputError

__all__ = ["MatchSettings", "SIGNALS", "SIGNAL_COLUMNS", "BANDS", "AGREEMENTS"]

#: The signals, in the order evidence lists them, with a plain label each.
SIGNALS: Mapping[str, str] = MappingProxyType({
    "foreign_id": "Foreign id",
    "ssn": "Personnummer",
    "name": "Name",
    "email": "Email",
    "birth_date": "Birth date",
    "phone": "Phone",
    "employee_number": "Employee number",
    "employment_start_date": "Employment start",
})

#: Which input columns each signal reads: (HR side, Kleer side). A signal whose columns are
#: absent is simply not used; ``name`` and the ids are required (see :meth:`MatchSettings.validate`).
SIGNAL_COLUMNS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType({
    "foreign_id": (("hr_id",), ("hr_id",)),
    "ssn": (("ssn",), ("ssn",)),
    "name": (("first_name", "last_name"), ("name",)),
    "email": (("private_email", "work_email"), ("email",)),
    "birth_date": (("birth_date", "ssn"), ("birth_date", "ssn")),  # or from the personnummer
    "phone": (("phone",), ("phone",)),
    "employee_number": (("employee_number",), ("employee_number",)),
    "employment_start_date": (("employment_start_date",), ("employment_start_date",)),
})

BANDS = ("certain", "likely", "possible")
AGREEMENTS = ("exact", "strong", "partial", "none", "conflict", "missing")


def _frozen(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType({str(k): float(v) for k, v in mapping.items()})


@dataclass(frozen=True)
class MatchSettings:
    """How suggestions are scored, banded and kept.

    ``weights``: points per signal for an exact agreement. ``penalties``: points taken when the two
    values conflict. ``levels``: the share of the weight a 'strong' or 'partial' agreement earns
    (e.g. a personnummer one digit off is 'strong'). ``certain``/``likely``/``possible``: band
    limits on the match probability in percent (a candidate below ``possible`` is not kept).
    ``tie_margin``: two candidates of one Kleer employee whose match weights are within this many
    bits are a tie. ``top_k``: candidates kept per Kleer
    employee. ``name_cutoff``: 0–100 similarity two name parts need to be compared at all
    (candidate generation). ``max_block``: a blocking key shared by more records than this on one
    side (a placeholder birth date, a shared mailbox) is ignored as a key.
    ``include_inactive``: also suggest for inactive Kleer users.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "foreign_id": 100, "ssn": 60, "name": 50, "email": 35, "birth_date": 15, "phone": 15,
        "employee_number": 10, "employment_start_date": 10}))
    penalties: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "foreign_id": 40, "ssn": 40, "name": 10, "email": 10, "birth_date": 20, "phone": 0,
        "employee_number": 0, "employment_start_date": 5}))
    levels: Mapping[str, float] = field(default_factory=lambda: _frozen({
        "strong": 0.7, "partial": 0.3}))
    certain: float = 99.9
    likely: float = 95.0
    possible: float = 50.0
    tie_margin: float = 3.0
    top_k: int = 5
    name_cutoff: float = 80.0
    max_block: int = 50
    include_inactive: bool = True

    def __post_init__(self) -> None:
        for name in ("weights", "penalties", "levels"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        problems = list(self._problems())
        if problems:
            raise InputError("invalid match settings: " + "; ".join(problems))

    def _problems(self) -> Iterable[str]:
        for name in ("weights", "penalties"):
            table = getattr(self, name)
            unknown = sorted(set(table) - set(SIGNALS))
            if unknown:
                yield f"{name} has unknown signals {', '.join(unknown)} (known: {', '.join(SIGNALS)})"
            missing = sorted(set(SIGNALS) - set(table))
            if missing:
                yield f"{name} lacks {', '.join(missing)}"
            negative = sorted(k for k, v in table.items() if v < 0)
            if negative:
                yield f"{name} must not be negative ({', '.join(negative)})"
        if set(self.levels) != {"strong", "partial"}:
            yield "levels must give exactly 'strong' and 'partial'"
        elif not 0 <= self.levels["partial"] <= self.levels["strong"] <= 1:
            yield "levels must satisfy 0 ≤ partial ≤ strong ≤ 1"
        if not 0 < self.possible <= self.likely <= self.certain <= 100:
            yield (f"band limits must satisfy 0 < possible ≤ likely ≤ certain ≤ 100 "
                   f"(got {self.possible:g}, {self.likely:g}, {self.certain:g})")
        if not 0 <= self.tie_margin <= 100:
            yield f"tie margin must be between 0 and 100 (got {self.tie_margin:g})"
        if int(self.top_k) != self.top_k or self.top_k < 1:
            yield f"top k must be a whole number ≥ 1 (got {self.top_k!r})"
        if not 0 < self.name_cutoff <= 100:
            yield f"name cutoff must be between 0 and 100 (got {self.name_cutoff:g})"
        if int(self.max_block) != self.max_block or self.max_block < 2:
            yield f"max block must be a whole number ≥ 2 (got {self.max_block!r})"

    # ---------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dc_fields(self)}
        for name in ("weights", "penalties", "levels"):
            out[name] = dict(out[name])
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MatchSettings":
        known = {f.name for f in dc_fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown match settings: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "MatchSettings":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"match settings are not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise InputError("match settings must be a JSON object")
        return cls.from_dict(data)

    # ---------------------------------------------------------------- bands

    def band(self, score: float) -> str | None:
        """'certain', 'likely', 'possible', or None below the possible limit (``score``: the
        match probability in percent)."""
        for name in BANDS:
            if score >= getattr(self, name):
                return name
        return None

    # ---------------------------------------------------------------- columns

    def validate(self, hr_columns: Iterable[str], kleer_columns: Iterable[str]) -> list[str]:
        """Check the inputs once; returns the signals that can be used.

        Raises :class:`InputError` naming the missing columns when a side lacks its id or name.
        """
        hr, kleer = set(hr_columns), set(kleer_columns)
        needs = []
        if "hr_id" not in hr:
            needs.append("the HR side needs an 'hr_id' column")
        if not {"first_name", "last_name"} & hr:
            needs.append("the HR side needs 'first_name' and/or 'last_name'")
        if "kleer_id" not in kleer:
            needs.append("the Kleer side needs a 'kleer_id' column")
        if not ({"name", "first_name", "last_name"} & kleer):
            needs.append("the Kleer side needs a 'name' column (the full name, as Kleer has it)")
        if needs:
            raise InputError("cannot match: " + "; ".join(needs) + ". Columns use the canonical "
                             "field keys (see workbench.fields).")
        return [s for s in SIGNAL_COLUMNS if _usable(s, hr, kleer)]


def _usable(signal: str, hr: set[str], kleer: set[str]) -> bool:
    hr_cols, kleer_cols = SIGNAL_COLUMNS[signal]
    if signal == "name":  # Kleer's one name, or a first/last split of it
        kleer_cols = (*kleer_cols, "first_name", "last_name")
    return bool(set(hr_cols) & hr) and bool(set(kleer_cols) & kleer)
