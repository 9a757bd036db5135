"""Canonical employee records ⇄ Kleer's ``user`` + payroll contract JSON.

Everything here derives from the field table (:data:`workbench.fields.FIELDS`): each field's
``kleer`` path says which object (``user`` or ``contract``) and which kebab-case key holds it.

Kleer → canonical (:func:`from_kleer`): one row of the workspace table ``kleer_users``. Values
are normalised with the field's own normaliser (so a diff against HR compares like with like);
a value the normaliser refuses is kept as Kleer has it, so nothing is lost. Kleer's one ``name``
is kept and split into first/last name; Kleer's one ``email`` is the ``email`` column. Fields
Kleer returns that the table does not know are ignored here but kept in ``raw``.

Canonical → Kleer (:func:`to_kleer`): ``(user_fields, contract_fields)`` for an HR record.
``name`` joins first and last name, ``email`` is the private email (or the work email, by
setting), ``foreign-id`` is the hr_id, ``internal-id`` the employee number. A full payload
(``only=None``, for a create) leaves out what HR lacks and always carries ``active`` (true
unless HR says otherwise: the XSD requires it); a partial one (``only=`` the changed field keys)
sends exactly those. ``null`` is never sent: Kleer ignores nulls ("Only non-null fields will be
updated/set"), so a missing value is sent as the field's explicit empty value
(:data:`CLEAR_VALUES`: ``""`` for text, ``0`` for the amounts Kleer itself reads back as ``0``
when empty); a field without one (:func:`cannot_clear`) is refused (``InputError``), and the plan
blocks such an operation before it gets here. ``employment-end-date`` uses Kleer's wrapper
(:func:`end_date_payload`): a date sets it, ``{}`` clears it, absent leaves it alone.

Read-back contracts: every readable field is present in Kleer's answers, an empty one as ``""``
or ``0`` (``contract.readable_defaults``). Those empty values are ``None`` in the canonical record,
so tax table 0, column 0 or salary 0 are not differences from an HR file that has no value.

The salary unit (:data:`SALARY_UNITS`): the canonical ``monthly_salary`` is whole kronor;
``salary_unit="öre"`` multiplies it by 100 on the way to Kleer and divides on the way back.
A salary write can carry ``monthly-salary-start-date`` (``salary_start``): when it takes effect.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from functools import cached_property
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Callable, Iterable, Mapping

from .. import normalize as n
from ..errors import InputError
from ..fields import FIELD, FIELDS, Field, blank, join_name, kleer_fields, split_name
from ..store import utcnow
from ..store.values import _default as _json_default
from .schema import fact

__all__ = [
    "from_kleer",
    "to_kleer",
    "fingerprint",
    "end_date_payload",
    "canonical_value",
    "records_from_kleer",
    "snapshot_fingerprint",
    "Snapshot",
    "RECORD_COLUMNS",
    "END_DATE_KEY",
    "CLEAR_VALUES",
    "cannot_clear",
    "SALARY_UNITS",
    "SALARY_START_KEY",
]

_NAME_FIELDS = ("first_name", "last_name")
END_DATE_FIELD = "employment_end_date"
END_DATE_KEY = FIELD[END_DATE_FIELD].kleer.key  # "employment-end-date"
SALARY_KEY = FIELD["monthly_salary"].kleer.key  # "monthly-salary"
SALARY_START_KEY = "monthly-salary-start-date"
#: What ``monthly-salary`` counts: whole kronor, or öre (the XSD does not say; ``salary unit``).
SALARY_UNITS = ("kronor", "öre")

#: Kleer's readable "empty" value of each contract key (``""`` / ``0``), read as None.
_READ_EMPTY = {key: value for key, value in fact("contract.readable_defaults").items()
               if value in ("", 0) and not isinstance(value, bool)}


def _clear_values() -> dict[str, Any]:
    """The explicit value that clears each Kleer key a write can clear (``null`` cannot):
    ``""`` for the optional text keys, ``0`` for the amounts Kleer reads back as ``0`` when
    empty (``contract.readable_defaults``), the end date's empty wrapper. Not clearable: the
    user's required keys (``user.required``), ``internal-id`` (an optional xs:int with no empty
    value), ``ssn`` and ``employment-start-date`` (a contract requires them, and ``""`` is
    neither a personnummer nor a date)."""
    types = {**fact("contract.types"), "foreign-id": "text"}
    keep = {"ssn", "employment-start-date", *fact("user.required")}
    out: dict[str, Any] = {}
    for key, kind in types.items():
        if key in keep:
            continue
        if kind == "text":
            out[key] = ""
        elif kind == "int" and _READ_EMPTY.get(key) == 0:
            out[key] = 0
    out[END_DATE_KEY] = {}
    return out


#: Kleer key → the value that clears it (see :func:`_clear_values`).
CLEAR_VALUES: dict[str, Any] = _clear_values()


def cannot_clear(key: str) -> str | None:
    """Why the canonical field ``key`` cannot be emptied through Kleer's API, or None."""
    f = FIELD[key]
    if f.kleer is None or f.kleer.key in CLEAR_VALUES:
        return None
    if f.kleer.key in fact("user.required"):
        why = "Kleer requires a value"
    elif f.kleer.key in fact("contract.required_on_create"):
        why = "a payroll contract requires a value"
    else:
        why = "Kleer's API has no empty value for it (null is ignored)"
    return (f"{f.label}: HR has no value, and Kleer's {f.kleer.key} cannot be cleared through "
            f"the API ({why}): give HR a value, keep Kleer's (override), or clear it in Kleer")

#: (column, field) of every Kleer-held value in a canonical Kleer record; the two HR emails
#: share Kleer's one ``email`` column, so it appears once.
_COLUMNS: tuple[tuple[str, Field], ...] = tuple(
    {f.kleer_side_key: f for f in FIELDS
     if f.kleer is not None and f.key not in _NAME_FIELDS}.items())

#: The keys of every record :func:`from_kleer` returns (the ``kleer_users`` columns it fills).
RECORD_COLUMNS: tuple[str, ...] = (
    "kleer_id", "name", *_NAME_FIELDS, *(c for c, _ in _COLUMNS), "birth_date", "has_contract",
    "raw", "fingerprint")


def _json_encoder() -> Callable[[Any], str]:
    """:func:`~workbench.store.to_json` (``json.dumps(value, ensure_ascii=False,
    sort_keys=True)``) with CPython's C encoder built once: the same text, so the same
    fingerprints, in about 60 % of the time (``json.dumps`` builds an encoder per call, which
    was a third of a 10,000-user fetch's raw column). Without circular-reference checks:
    what it encodes is parsed JSON, which cannot be circular."""
    if c_make_encoder is None:  # not CPython's _json: the plain way
        return json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=_json_default).encode
    encode = c_make_encoder(None, _json_default, encode_basestring, None, ": ", ", ", True,
                            False, True)
    return lambda value: "".join(encode(value, 0))


_to_json = _json_encoder()


def _stable_json(user: Mapping[str, Any], contract: Mapping[str, Any] | None) -> str:
    return _to_json({"user": user, "contract": contract})


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(user: Mapping[str, Any], contract: Mapping[str, Any] | None) -> str:
    """sha256 (hex) of a stable JSON of both objects: changes when any field Kleer returned
    changes, and only then (key order does not matter)."""
    return _sha256(_stable_json(user, contract))


def _normalized(f: Field, value: Any) -> n.Normalized | n.Personnummer | None:
    return None if value is None else f.normalize(value)


def _canonical(value: Any, result: n.Normalized | n.Personnummer | None) -> Any:
    return value if result is None or result.error else result.value


def canonical_value(f: Field, value: Any) -> Any:
    """A value from Kleer in canonical form, or the value as Kleer has it when it is invalid."""
    return _canonical(value, _normalized(f, value))


def _read_empty(key: str, value: Any) -> bool:
    """Kleer's way of saying "no value" on a read: ``""`` (or blank text) and, for the
    amounts and tax keys, ``0`` (``contract.readable_defaults``)."""
    if isinstance(value, str):
        return not value.strip()
    return key in _READ_EMPTY and _READ_EMPTY[key] == 0 and not isinstance(value, bool) \
        and value == 0


def _check_unit(salary_unit: str) -> str:
    if salary_unit not in SALARY_UNITS:
        raise InputError(f"the salary unit is 'kronor' or 'öre', not {salary_unit!r}")
    return salary_unit


def _salary_from_kleer(value: Any, salary_unit: str) -> Any:
    if salary_unit == "öre" and isinstance(value, int) and not isinstance(value, bool):
        return value // 100 if value % 100 == 0 else value / 100
    return value


def from_kleer(user: Mapping[str, Any], contract: Mapping[str, Any] | None, *,
               salary_unit: str = "kronor") -> dict[str, Any]:
    """The canonical Kleer record (a ``kleer_users`` row) of a user and its payroll contract.
    ``birth_date`` comes from a valid personnummer (Kleer has no field of its own). Kleer's
    empty values (``""``, ``0``) are None; ``monthly-salary`` is read in ``salary_unit``."""
    _check_unit(salary_unit)
    held = contract or {}
    first, last = split_name(user.get("name"))
    record: dict[str, Any] = {"kleer_id": int(user["id"]), "name": user.get("name"),
                              "first_name": first, "last_name": last}
    ssn = None
    for column, f in _COLUMNS:
        value = (user if f.kleer.obj == "user" else held).get(f.kleer.key)
        if _read_empty(f.kleer.key, value):
            value = None
        elif f.kleer.key == SALARY_KEY:
            value = _salary_from_kleer(value, salary_unit)
        result = _normalized(f, value)
        record[column] = _canonical(value, result)
        if column == "ssn":
            ssn = result
    valid = ssn is not None and ssn.value is not None
    record["birth_date"] = n.birth_date_from_personnummer(ssn).value if valid else None
    record["has_contract"] = contract is not None
    record["raw"] = _stable_json(user, contract)
    record["fingerprint"] = _sha256(record["raw"])
    return record


def end_date_payload(value: Any) -> dict[str, str]:
    """Kleer's ``employment-end-date`` wrapper: a date sets it, a missing value clears it."""
    if n.is_missing(value):
        return {}
    parsed = n.parse_date(value)
    if parsed.error:
        raise InputError(f"employment end date {value!r}: {parsed.error}")
    return {END_DATE_KEY: parsed.value}


def _kleer_value(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.kind == "bool":
        return bool(value)
    if f.kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InputError(f"{f.label}: {value!r} is not a whole number, Kleer needs one") from None
    return str(value)


def to_kleer(record: Mapping[str, Any], *, email_preference: str = "private",
             only: Iterable[str] | None = None, salary_unit: str = "kronor",
             salary_start: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(user_fields, contract_fields)`` for a canonical HR record.

    ``only`` limits the payload to those canonical field keys (``first_name``/``last_name``
    both mean ``name``); fields Kleer does not hold, and the email the preference does not
    export, are ignored. Unknown keys are a programming error (ValueError). A key in ``only``
    without a value is sent as its clearing value (:data:`CLEAR_VALUES`), never ``null``; one
    that cannot be cleared is an :class:`InputError` (:func:`cannot_clear`). A full payload
    carries ``active`` (true when HR has no value). ``salary_unit`` converts
    ``monthly-salary``; ``salary_start`` (``YYYY-MM-DD``) goes with it as
    ``monthly-salary-start-date``.
    """
    _check_unit(salary_unit)
    wanted = None if only is None else set(only)
    if wanted is not None and wanted - FIELD.keys():
        raise ValueError(f"unknown fields: {', '.join(sorted(wanted - FIELD.keys()))}")
    user: dict[str, Any] = {}
    contract: dict[str, Any] = {}
    for f in kleer_fields(email_preference, include_id=True):
        if wanted is not None and f.key not in wanted:
            continue
        target = user if f.kleer.obj == "user" else contract
        if f.key in _NAME_FIELDS:
            value = join_name(record.get("first_name"), record.get("last_name"))
        else:
            value = blank(record.get(f.key))
        if value is None and wanted is None:
            continue
        if f.key == END_DATE_FIELD:
            target[f.kleer.key] = end_date_payload(value)
        elif value is None:
            reason = cannot_clear(f.key)
            if reason:
                raise InputError(reason)
            target[f.kleer.key] = CLEAR_VALUES[f.kleer.key]
        else:
            target[f.kleer.key] = _kleer_value(f, value)
    if wanted is None:
        user.setdefault("active", True)
    if SALARY_KEY in contract:
        if salary_unit == "öre":
            contract[SALARY_KEY] *= 100
        if salary_start is not None:
            parsed = n.parse_date(salary_start)
            if parsed.error:
                raise InputError(f"salary start date {salary_start!r}: {parsed.error}")
            contract[SALARY_START_KEY] = parsed.value
    return user, contract


def records_from_kleer(users: Iterable[Mapping[str, Any]],
                       contracts: Iterable[Mapping[str, Any]], *,
                       salary_unit: str = "kronor") -> list[dict[str, Any]]:
    """Canonical records for every user, each joined with its contract (by ``user.id``).

    The same records as :func:`from_kleer` one by one, built a column at a time
    (:func:`record_columns`)."""
    return _records(record_columns(users, contracts, salary_unit=salary_unit))


def _records(columns: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(columns)
    return [dict(zip(keys, row)) for row in zip(*columns.values())]


def record_columns(users: Iterable[Mapping[str, Any]],
                   contracts: Iterable[Mapping[str, Any]], *,
                   salary_unit: str = "kronor") -> dict[str, list[Any]]:
    """:func:`records_from_kleer` a column at a time: ``{column: [value of each user]}`` in
    :data:`RECORD_COLUMNS` order. Each column normalises each of its distinct values once (a
    company repeats its cities, tax tables, clearing numbers and dates), reading Kleer's empty
    values and the salary unit in the same step; what stores a snapshot takes the columns as
    they are (no dict per record)."""
    _check_unit(salary_unit)
    by_user = {int(c["user"]["id"]): c for c in contracts
               if isinstance(c.get("user"), Mapping) and c["user"].get("id") is not None}
    users = list(users)
    ids = [int(u["id"]) for u in users]
    held = [by_user.get(i) for i in ids]
    names = [u.get("name") for u in users]
    split = [split_name(name) for name in names]
    columns: dict[str, list[Any]] = {
        "kleer_id": ids, "name": names,
        "first_name": [first for first, _ in split], "last_name": [last for _, last in split]}
    births: list[Any] = [None] * len(users)
    for column, f in _COLUMNS:
        key = f.kleer.key
        values = [u.get(key) for u in users] if f.kleer.obj == "user" \
            else [None if c is None else c.get(key) for c in held]
        if column == "ssn":
            columns[column], births = _ssn_column(f, values)
        else:
            columns[column] = _canonical_column(f, values, salary_unit)
    columns["birth_date"] = births
    columns["has_contract"] = [c is not None for c in held]
    columns["raw"] = raw = [_stable_json(u, c) for u, c in zip(users, held)]
    columns["fingerprint"] = [_sha256(text) for text in raw]
    return columns


def _read_value(f: Field, value: Any, salary_unit: str) -> Any:
    """What :func:`from_kleer` makes of Kleer's ``value`` of field ``f``: None when Kleer says
    "empty" (:func:`_read_empty`), the salary in ``salary_unit``, then the canonical form."""
    key = f.kleer.key
    if _read_empty(key, value):
        value = None
    elif key == SALARY_KEY:
        value = _salary_from_kleer(value, salary_unit)
    return canonical_value(f, value)


def _memo_key(value: Any) -> Any:
    """The key a value's normalised form is remembered by within one column, or _MISSING (not
    remembered: not a plain value). Text is keyed by itself; other plain values by (type,
    value), as ``True == 1`` but they are different values."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int or kind is bool or value is None:
        return (kind, value)
    return _MISSING


def _canonical_column(f: Field, values: list[Any], salary_unit: str = "kronor") -> list[Any]:
    """:func:`_read_value` of each of ``values``, each distinct one read once (the
    normalisers are pure; a missing value stays missing). Text and whole numbers, nearly every
    value Kleer answers, are read inline (the same steps as :func:`_read_value`: a handful of
    calls per value was a fifth of a 10,000-user mapping); anything else goes through it."""
    key = f.kleer.key
    normalize = f.normalize
    zero_is_empty = key in _READ_EMPTY and _READ_EMPTY[key] == 0
    salary = key == SALARY_KEY
    seen: dict[Any, Any] = {}
    out: list[Any] = []
    append = out.append
    for value in values:
        if value is None:
            append(None)
            continue
        kind = type(value)
        if kind is str:
            canonical = seen.get(value, _MISSING)
            if canonical is _MISSING:
                if value.strip():
                    canonical = _canonical(value, normalize(value))
                else:
                    canonical = None
                seen[value] = canonical
        elif kind is int or kind is bool:
            memo = (kind, value)
            canonical = seen.get(memo, _MISSING)
            if canonical is _MISSING:
                canonical = seen[memo] = _read_value(f, value, salary_unit) \
                    if salary or (zero_is_empty and value == 0) else \
                    _canonical(value, normalize(value))
        else:
            canonical = _read_value(f, value, salary_unit)
        append(canonical)
    return out


def _ssn_column(f: Field, values: list[Any]) -> tuple[list[Any], list[Any]]:
    """The canonical personnummer and the birth date it encodes, for each of ``values``
    (Kleer's empty values read as missing)."""
    key = f.kleer.key
    seen: dict[Any, tuple[Any, Any]] = {}
    canonical, births = [], []
    for value in values:
        memo = _memo_key(value)
        got = seen.get(memo, _MISSING) if memo is not _MISSING else _MISSING
        if got is _MISSING:
            read = None if _read_empty(key, value) else value
            result = _normalized(f, read)
            valid = result is not None and result.value is not None
            got = (_canonical(read, result),
                   n.birth_date_from_personnummer(result).value if valid else None)
            if memo is not _MISSING:
                seen[memo] = got
        canonical.append(got[0])
        births.append(got[1])
    return canonical, births


_MISSING = object()


def snapshot_fingerprint(records: Iterable[Mapping[str, Any]]) -> str:
    """sha256 over every record's id and fingerprint: the identity of a whole snapshot."""
    return _snapshot_fingerprint((r["kleer_id"], r["fingerprint"]) for r in records)


def _snapshot_fingerprint(pairs: Iterable[tuple[Any, str]]) -> str:
    h = hashlib.sha256()
    for kleer_id, fp in sorted((int(kleer_id), fp) for kleer_id, fp in pairs):
        h.update(f"{kleer_id}:{fp}\n".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """One fetch of a Kleer company: the canonical records and what describes the fetch.

    ``columns`` holds the records a column at a time (:func:`record_columns`), which is what
    storing them takes; :attr:`records` makes the dicts when something asks for them."""

    columns: dict[str, list[Any]] = field(repr=False, compare=False)
    users: int
    contracts: int
    fingerprint: str
    base_url: str
    company_id: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    fetched_at: str = field(default_factory=utcnow)

    @classmethod
    def build(cls, users: list[Mapping[str, Any]], contracts: list[Mapping[str, Any]], *,
              base_url: str, company_id: int, salary_unit: str = "kronor") -> "Snapshot":
        columns = record_columns(users, contracts, salary_unit=salary_unit)
        return cls(columns=columns, users=len(columns["kleer_id"]),
                   contracts=sum(columns["has_contract"]),
                   fingerprint=_snapshot_fingerprint(zip(columns["kleer_id"],
                                                         columns["fingerprint"])),
                   base_url=base_url, company_id=int(company_id))

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        """The canonical records (one dict per Kleer user, as :func:`records_from_kleer`)."""
        return _records(self.columns)

    @property
    def active(self) -> int:
        """How many of the users are active (Kleer's ``active`` is not false)."""
        return sum(1 for value in self.columns["active"] if value is not False)

    def meta(self) -> dict[str, Any]:
        """The ``snapshots`` row (what ``Workspace.store_kleer_snapshot`` takes)."""
        return {"id": self.id, "fetched_at": self.fetched_at, "users": self.users,
                "contracts": self.contracts, "fingerprint": self.fingerprint,
                "base_url": self.base_url, "company_id": self.company_id}
