"""The leave-type mapping: an HR system's leave type → Kleer's payroll-event type and absence
activity. Data, validated, with a JSON round-trip, prefilled for common Swedish and English names.

Kleer facts this relies on (cite-checked):

* ``payroll-event-type`` in Kleer's XSD (DeviesDevelopment/Kleer, ``Kleer/doc.xsd``,
  ``<xs:simpleType name="payroll-event-type">``): Sick, Vacation, LeaveOfAbsence,
  LeaveOfAbsenceVacationEarned, WorkHour, ParentalLeave, Childcare, CloseRelativeCare,
  PaternityLeave, Furlough, OtherLeave, OtherLeaveVacationNotEarned — :data:`KLEER_TYPES`.
  JSON answers spell them in mixed casing: ponbac/toki2 ``kleer/src/types.rs`` parses
  ``"VACATION"``, ``"SICK"`` (SCREAMING_SNAKE_CASE) next to ``"WorkHour"``;
  :func:`parse_kleer_type` accepts every spelling.
* Time-report events (``event-writable`` in the XSD) name an ``activity`` by reference
  (``{"id": n}``); activities are listed by ``GET /activity`` →
  ``{"activity-readables": [{"id": {"id": n}, "name", "description",
  "mandatory-child-when-reporting"}]}`` (toki2 ``kleer/src/types.rs``,
  ``KleerActivityReadable``). So an absence is written on the activity whose *name* matches.

(assumed) The Swedish activity names (Sjuk, Semester, Tjänstledig, Föräldraledighet, VAB, Vård
av nära anhörig, 10 dagar vid barns födelse, Permission, Övrig frånvaro) are what a Kleer
company's absence activities are usually called; no public source lists them (toki2, checked at
a72b07f, only reads absences from payroll events). They live in :data:`ACTIVITY_NAMES` only, and
an analyst can point a rule at any activity name of their company.

A :class:`LeaveTypeRule` per HR type; :class:`LeaveTypeMapping` holds them keyed by the HR type
as compared (:func:`type_key`: casefolded, single spaces). ``needs_child`` marks types that
must name a child (VAB, parental leave) — the loader flags a missing child.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..errors import InputError

__all__ = ["KLEER_TYPES", "ACTIVITY_NAMES", "LeaveTypeRule", "LeaveTypeMapping",
           "default_mapping", "parse_kleer_type", "type_key", "FORMAT_VERSION"]

FORMAT_VERSION = 1

#: payroll-event-type, in the XSD's spelling (the canonical form here)
KLEER_TYPES: tuple[str, ...] = (
    "Sick", "Vacation", "LeaveOfAbsence", "LeaveOfAbsenceVacationEarned", "WorkHour",
    "ParentalLeave", "Childcare", "CloseRelativeCare", "PaternityLeave", "Furlough",
    "OtherLeave", "OtherLeaveVacationNotEarned")

#: Kleer type → the absence activity's usual Swedish name (assumed; see the module docstring)
ACTIVITY_NAMES: dict[str, str] = {
    "Sick": "Sjuk",
    "Vacation": "Semester",
    "LeaveOfAbsence": "Tjänstledig",
    "LeaveOfAbsenceVacationEarned": "Tjänstledig (semestergrundande)",
    "ParentalLeave": "Föräldraledighet",
    "Childcare": "VAB",
    "CloseRelativeCare": "Vård av nära anhörig",
    "PaternityLeave": "10 dagar vid barns födelse",
    "Furlough": "Permission",
    "OtherLeave": "Övrig frånvaro",
    "OtherLeaveVacationNotEarned": "Övrig frånvaro (ej semestergrundande)",
}

_CHILD_TYPES = frozenset({"ParentalLeave", "Childcare", "PaternityLeave"})
_BY_FOLDED = {t.casefold(): t for t in KLEER_TYPES}


def parse_kleer_type(value: Any) -> str | None:
    """A Kleer payroll-event type in any casing seen (``Sick``, ``SICK``, ``LEAVE_OF_ABSENCE``,
    ``WorkHour``) → the XSD's spelling; None when it is not one."""
    if not isinstance(value, str):
        return None
    return _BY_FOLDED.get(value.replace("_", "").replace(" ", "").casefold())


def type_key(hr_type: Any) -> str:
    """An HR leave type as compared: casefolded, single spaces, NFC."""
    return " ".join(unicodedata.normalize("NFC", str(hr_type or "")).casefold().split())


@dataclass(frozen=True, slots=True)
class LeaveTypeRule:
    """What one HR leave type becomes in Kleer."""

    hr_type: str
    kleer_type: str
    activity: str
    needs_child: bool = False

    def __post_init__(self) -> None:
        if not type_key(self.hr_type):
            raise InputError("a leave-type rule needs the HR type it maps")
        canonical = parse_kleer_type(self.kleer_type)
        if canonical is None:
            raise InputError(f"leave type {self.hr_type!r}: {self.kleer_type!r} is not a Kleer "
                             f"payroll-event type; choose one of {', '.join(KLEER_TYPES)}")
        if canonical == "WorkHour":
            raise InputError(f"leave type {self.hr_type!r}: WorkHour is worked time, not an "
                             "absence; choose an absence type")
        object.__setattr__(self, "kleer_type", canonical)
        if not str(self.activity or "").strip():
            raise InputError(f"leave type {self.hr_type!r}: name the Kleer activity the days are "
                             "reported on (e.g. " + ACTIVITY_NAMES[canonical] + ")")
        object.__setattr__(self, "activity", " ".join(str(self.activity).split()))

    def as_dict(self) -> dict[str, Any]:
        return {"hr_type": self.hr_type, "kleer_type": self.kleer_type,
                "activity": self.activity, "needs_child": self.needs_child}


def _rule(kleer_type: str, *names: str) -> list[LeaveTypeRule]:
    return [LeaveTypeRule(n, kleer_type, ACTIVITY_NAMES[kleer_type], kleer_type in _CHILD_TYPES)
            for n in names]


_DEFAULTS: tuple[LeaveTypeRule, ...] = tuple(
    _rule("Sick", "Sjuk", "Sjukdom", "Sjukfrånvaro", "Sjukskrivning", "Sjukskriven", "Sjukledighet",
          "Sick", "Sick leave", "Sickness", "Illness")
    + _rule("Vacation", "Semester", "Betald semester", "Semesterledighet", "Vacation",
            "Holiday", "Annual leave", "Paid time off", "PTO")
    + _rule("LeaveOfAbsence", "Tjänstledig", "Tjänstledighet", "Ledig utan lön",
            "Leave of absence", "Unpaid leave")
    + _rule("LeaveOfAbsenceVacationEarned", "Tjänstledig semestergrundande",
            "Studieledighet", "Study leave")
    + _rule("ParentalLeave", "Föräldraledighet", "Föräldraledig", "Föräldrapenning",
            "Parental leave", "Maternity leave")
    + _rule("Childcare", "VAB", "Vård av barn", "Vård av sjukt barn", "Tillfällig föräldrapenning",
            "Care of sick child", "Child care", "Childcare", "Sick child")
    + _rule("CloseRelativeCare", "Vård av närstående", "Vård av nära anhörig",
            "Närståendepenning", "Care of relative", "Close relative care", "Family care")
    + _rule("PaternityLeave", "10 dagar vid barns födelse", "Pappadagar", "Pappaledighet",
            "Paternity leave")
    + _rule("Furlough", "Permission", "Permittering", "Furlough")
    + _rule("OtherLeave", "Övrig frånvaro", "Annan frånvaro", "Kompledighet", "Other leave",
            "Other absence", "Compensatory leave")
    + _rule("OtherLeaveVacationNotEarned", "Övrig frånvaro ej semestergrundande",
            "Other leave not vacation earning")
)


@dataclass(frozen=True)
class LeaveTypeMapping:
    """HR leave type → :class:`LeaveTypeRule`; immutable (``with_rule``/``without`` give new
    mappings). :meth:`to_json` / :meth:`from_json` round-trip it for the workspace and the CLI."""

    rules: Mapping[str, LeaveTypeRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", {type_key(r.hr_type): r for r in self.rules.values()})

    @classmethod
    def of(cls, rules: Iterable[LeaveTypeRule]) -> "LeaveTypeMapping":
        out: dict[str, LeaveTypeRule] = {}
        for rule in rules:
            key = type_key(rule.hr_type)
            if key in out:
                raise InputError(f"the leave type {rule.hr_type!r} is mapped twice; keep one rule")
            out[key] = rule
        return cls(out)

    def __len__(self) -> int:
        return len(self.rules)

    def __contains__(self, hr_type: object) -> bool:
        return type_key(hr_type) in self.rules

    def lookup(self, hr_type: Any) -> LeaveTypeRule | None:
        return self.rules.get(type_key(hr_type))

    def with_rule(self, hr_type: str, kleer_type: str, activity: str | None = None, *,
                  needs_child: bool | None = None) -> "LeaveTypeMapping":
        """A copy with ``hr_type`` mapped (replacing its old rule); the activity defaults to
        the usual one for the Kleer type."""
        canonical = parse_kleer_type(kleer_type) or kleer_type
        rule = LeaveTypeRule(hr_type, canonical,
                             activity if activity is not None else ACTIVITY_NAMES.get(canonical, ""),
                             canonical in _CHILD_TYPES if needs_child is None else needs_child)
        return LeaveTypeMapping({**self.rules, type_key(hr_type): rule})

    def without(self, hr_type: str) -> "LeaveTypeMapping":
        if hr_type not in self:
            raise InputError(f"the leave type {hr_type!r} is not in the mapping")
        return LeaveTypeMapping({k: r for k, r in self.rules.items() if k != type_key(hr_type)})

    def activities(self) -> set[str]:
        """Every Kleer activity name the mapping writes to."""
        return {r.activity for r in self.rules.values()}

    def suggest(self, hr_type: str) -> str:
        """A sentence offering the mapping for an unknown type (for the loader's message)."""
        words = set(type_key(hr_type).split())
        near = sorted({r.kleer_type for k, r in self.rules.items() if words & set(k.split())})
        hint = f" (perhaps {' or '.join(near)})" if near else ""
        return (f"add {hr_type!r} to the leave-type mapping: choose its Kleer type{hint} from "
                f"{', '.join(t for t in KLEER_TYPES if t != 'WorkHour')}, then load again")

    def to_dict(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION,
                "rules": [r.as_dict() for r in sorted(self.rules.values(),
                                                      key=lambda r: type_key(r.hr_type))]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: Any) -> "LeaveTypeMapping":
        if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
            raise InputError("a leave-type mapping is an object with a 'rules' list")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise InputError(f"leave-type mapping version {data.get('version')!r} is not "
                             f"understood (this workbench reads version {FORMAT_VERSION})")
        rules = []
        for i, item in enumerate(data["rules"]):
            if not isinstance(item, Mapping):
                raise InputError(f"leave-type mapping rule {i + 1} is not an object")
            unknown = set(item) - {"hr_type", "kleer_type", "activity", "needs_child"}
            if unknown:
                raise InputError(f"leave-type mapping rule {i + 1} has unknown keys: "
                                 f"{', '.join(sorted(unknown))}")
            rules.append(LeaveTypeRule(str(item.get("hr_type") or ""), str(item.get("kleer_type") or ""),
                                       str(item.get("activity") or ""), bool(item.get("needs_child", False))))
        return cls.of(rules)

    @classmethod
    def from_json(cls, text: str) -> "LeaveTypeMapping":
        try:
            data = json.loads(text)
        except ValueError as e:
            raise InputError(f"the leave-type mapping is not valid JSON: {e}") from None
        return cls.from_dict(data)


def default_mapping() -> LeaveTypeMapping:
    """The prefilled mapping (common Swedish and English names)."""
    return LeaveTypeMapping.of(_DEFAULTS)
