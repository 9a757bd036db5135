"""The leave field table: every column of an absence export, defined once.

Like :mod:`workbench.fields` for employees, each :class:`LeaveField` says what the column is
called (key, label), which headers name it in Swedish and English HR exports (aliases, matched
case-, space- and diacritics-insensitively) and whether a file must have it. The loader
(:mod:`workbench.leave.load`), the mapping editor and the Leave page's columns derive from
:data:`LEAVE_FIELDS`; nothing else lists leave columns.

A file must name the leave, the employee (HR id *or* employee number), the leave type and the
dates; the extent (percent, or hours per day), status, child, comment and version are optional.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable

__all__ = ["LeaveField", "LEAVE_FIELDS", "LEAVE_FIELD", "REQUIRED", "EMPLOYEE_KEYS",
           "resolve_leave_header", "suggest_leave_mapping", "header_key"]


@dataclass(frozen=True, slots=True)
class LeaveField:
    key: str
    label: str
    aliases: tuple[str, ...]
    required: bool = False
    help: str = ""


LEAVE_FIELDS: tuple[LeaveField, ...] = (
    LeaveField("leave_id", "Leave id",
               ("leave_id", "leave id", "absence id", "absence_id", "leave request id", "request id",
                "frånvaro-id", "frånvaro id", "frånvaroid", "ledighets-id", "ledighet id",
                "ärende-id", "ärendenummer", "ansökan-id", "id"),
               required=True, help="The HR system's id of the leave; part of every day's key in Kleer."),
    LeaveField("hr_id", "HR id",
               ("hr_id", "hr id", "employee id", "employeeid", "person id", "personid",
                "anställd-id", "anställd id", "medarbetar-id", "medarbetare id", "person-id",
                "anställningsid", "anställnings-id"),
               help="The employee's HR id (or give the employee number)."),
    LeaveField("employee_number", "Employee number",
               ("employee_number", "employee number", "employee no", "emp no", "staff number",
                "anställningsnummer", "anställningsnr", "anst.nr", "anstnr", "löpnummer"),
               help="Used when the file has no HR id column."),
    LeaveField("leave_type", "Leave type",
               ("leave_type", "leave type", "absence type", "type", "type of leave", "reason",
                "absence reason", "frånvarotyp", "frånvaroorsak", "typ", "orsak", "ledighetstyp",
                "frånvarokod", "tidkod"),
               required=True, help="The HR system's name of the leave; the leave-type mapping "
                                   "turns it into a Kleer type."),
    LeaveField("start_date", "Start date",
               ("start_date", "start date", "start", "from", "from date", "date from", "first day",
                "startdatum", "från", "från och med", "fr.o.m.", "from.", "fom", "frånvaro från",
                "första dag", "datum från"),
               required=True),
    LeaveField("end_date", "End date",
               ("end_date", "end date", "end", "to", "to date", "date to", "last day", "until",
                "slutdatum", "till", "till och med", "t.o.m.", "tom", "frånvaro till",
                "sista dag", "datum till"),
               required=True, help="The last day of the leave (inclusive)."),
    LeaveField("extent", "Extent",
               ("extent", "percent", "percentage", "%", "extent %", "extent (%)", "part", "degree",
                "omfattning", "omfattning %", "omfattning (%)", "procent", "grad", "andel",
                "frånvarograd", "sjukskrivningsgrad"),
               help="Percent of each scheduled day (100 = whole days), or hours per day "
                    "written with h (\"4 h\")."),
    LeaveField("hours_per_day", "Hours per day",
               ("hours_per_day", "hours per day", "hours/day", "hours", "daily hours",
                "timmar per dag", "timmar/dag", "tim/dag", "timmar"),
               help="Hours of leave each scheduled day (instead of a percent)."),
    LeaveField("status", "Status",
               ("status", "state", "approval", "approval status", "leave status", "attest",
                "attesterad", "beslut", "godkännande"),
               help="approved / cancelled (Swedish: godkänd / makulerad); empty means approved."),
    LeaveField("child", "Child",
               ("child", "child name", "child id", "child's name", "barn", "barnets namn",
                "barn namn", "barnets personnummer", "barn-id"),
               help="The child a VAB or parental leave is for."),
    LeaveField("comment", "Comment",
               ("comment", "comments", "note", "notes", "description", "kommentar", "anteckning",
                "notering", "beskrivning", "meddelande"),
               ),
    LeaveField("version", "Version",
               ("version", "revision", "updated", "updated at", "updated_at", "last modified",
                "modified", "changed", "senast ändrad", "ändrad", "uppdaterad", "ändringsdatum",
                "version nr"),
               help="The HR system's version or last-changed time of the leave, when it has one."),
)

LEAVE_FIELD: dict[str, LeaveField] = {f.key: f for f in LEAVE_FIELDS}
REQUIRED: tuple[str, ...] = tuple(f.key for f in LEAVE_FIELDS if f.required)
#: a file must have one of these to name the employee
EMPLOYEE_KEYS: tuple[str, ...] = ("hr_id", "employee_number")


def header_key(text: str) -> str:
    """A header as it is compared: casefolded, diacritics kept for å/ä/ö but also tried
    without, single spaces, ``_`` and ``-`` as spaces."""
    folded = " ".join(str(text).replace("\ufeff", "").replace("_", " ").casefold().split())
    return folded


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _index() -> dict[str, str]:
    out: dict[str, str] = {}
    for f in LEAVE_FIELDS:
        for alias in (f.key, f.label, *f.aliases):
            for variant in (header_key(alias), header_key(alias).replace("-", " "),
                            _plain(header_key(alias))):
                out.setdefault(variant, f.key)
    return out


_ALIASES = _index()


def resolve_leave_header(header: str) -> str | None:
    """The field a header names, or None."""
    key = header_key(header)
    for variant in (key, key.replace("-", " "), _plain(key)):
        if variant in _ALIASES:
            return _ALIASES[variant]
    return None


def suggest_leave_mapping(headers: Iterable[str]) -> dict[str, str | None]:
    """header → field key (None: ignored), each field claimed by its first header only."""
    used: dict[str, str | None] = {}
    claimed: set[str] = set()
    for header in headers:
        key = resolve_leave_header(header)
        if key in claimed:
            key = None
        if key:
            claimed.add(key)
        used[header] = key
    return used
