"""The values the :class:`~workbench.api.Workbench` facade takes and returns: the workspace's
:class:`Settings` and what a load (:class:`LoadResult`) and a fetch (:class:`FetchResult`) did."""

from __future__ import annotations

from dataclasses import dataclass, field, fields as dc_fields
from datetime import date
from typing import Any

import pandas as pd

from . import defaults
from .concurrency import DEFAULT_CEILING
from .errors import InputError
from .fields import EMAIL_PREFERENCES
from .kleer.config import KleerConfig
from .kleer.mapping import SALARY_UNITS
from .kleer.schema import Dialect
from .leave.keys import day_key
from .sources import HrFile

__all__ = ["Settings", "LoadResult", "FetchResult", "LEAVE_WRITE_PATHS"]

#: The leave write paths (:attr:`Settings.leave_write_path`); the first is the default.
LEAVE_WRITE_PATHS = ("time_report", "payroll_events")


#: The highest concurrency ceiling the Settings accept.
MAX_CONCURRENCY = 64


def _concurrency_settings(settings: "Settings") -> None:
    """The concurrency settings as a whole number within 1..MAX_CONCURRENCY and a yes/no (the
    CLI and the settings table may hand over text)."""
    try:
        ceiling = int(str(settings.concurrency_ceiling).strip())
    except ValueError:
        raise InputError(f"the concurrency ceiling must be a whole number, not "
                         f"{settings.concurrency_ceiling!r}") from None
    if not 1 <= ceiling <= MAX_CONCURRENCY:
        raise InputError(f"the concurrency ceiling must be between 1 and {MAX_CONCURRENCY}, "
                         f"not {ceiling}")
    object.__setattr__(settings, "concurrency_ceiling", ceiling)
    object.__setattr__(settings, "concurrency_pinned",
                       _flag("concurrency_pinned", settings.concurrency_pinned))


@dataclass(frozen=True)
class Settings:
    """Workspace settings an analyst can change (Settings page, ``workbench settings``).

    The Kleer token is deliberately not here: it comes from ``KLEER_TOKEN`` or Streamlit secrets.

    Kleer fidelity (README "Real Kleer"): ``salary_unit`` is what Kleer's ``monthly-salary``
    counts (``kronor`` or ``öre``; the XSD does not say) and ``salary_unit_confirmed`` whether an
    analyst checked it (a plan blocks salary writes to a Kleer that is not local until then);
    ``internal_id_writes`` lets exports write the employee number to Kleer's ``internal-id``
    (off: another integration may own it); ``kleer_dialect`` is the dialect the probe detected
    (a :class:`~workbench.kleer.schema.Dialect` as a dict; None: the strict preset), which the
    client is built with.
    """

    kleer_base_url: str = defaults.KLEER_BASE_URL
    kleer_company_id: int = defaults.KLEER_COMPANY_ID
    email_preference: str = "private"
    hr_label: str = "HR"
    mask_personal_data: bool = True
    #: How leave reaches Kleer: time-report events on absence activities (verified live by
    #: ponbac/toki2) or payroll events (no public client writes them: unverified, not sent).
    leave_write_path: str = "time_report"
    #: The ``<hr-system>`` part of every leave day's key (``<hr-system>:<leave id>:<date>``).
    leave_key_prefix: str = "hr"
    salary_unit: str = "kronor"
    salary_unit_confirmed: bool = False
    internal_id_writes: bool = False
    kleer_dialect: dict[str, Any] | None = None
    #: The most Kleer requests an apply keeps in flight (the adaptive level never goes above).
    concurrency_ceiling: int = DEFAULT_CEILING
    #: True: every apply runs at the ceiling, without adapting (``--concurrency N`` still wins).
    concurrency_pinned: bool = False

    def __post_init__(self) -> None:
        if self.leave_write_path not in LEAVE_WRITE_PATHS:
            raise InputError(f"the leave write path is one of {', '.join(LEAVE_WRITE_PATHS)}, "
                             f"not {self.leave_write_path!r}")
        day_key(self.leave_key_prefix, "x", date(2000, 1, 1))  # letters, digits, . _ -
        for name in ("mask_personal_data", "salary_unit_confirmed", "internal_id_writes"):
            object.__setattr__(self, name, _flag(name, getattr(self, name)))
        unit = {"ore": "öre", "oere": "öre", "kr": "kronor", "sek": "kronor"}.get(
            str(self.salary_unit).strip().lower(), str(self.salary_unit).strip().lower())
        if unit not in SALARY_UNITS:
            raise InputError(f"the salary unit is 'kronor' or 'öre', not {self.salary_unit!r}")
        object.__setattr__(self, "salary_unit", unit)
        if self.kleer_dialect is not None:
            try:
                dialect = Dialect.parse(self.kleer_dialect)
            except ValueError as e:
                raise InputError(f"Kleer dialect: {e}") from None
            object.__setattr__(self, "kleer_dialect", dialect.as_dict())
        _concurrency_settings(self)
        if self.email_preference not in EMAIL_PREFERENCES:
            raise InputError(f"email preference must be 'private' or 'work', not {self.email_preference!r}")
        if not str(self.hr_label).strip():
            raise InputError("the HR system label cannot be empty")
        kleer = KleerConfig(self.kleer_base_url, self.kleer_company_id)  # https, a whole company id
        object.__setattr__(self, "kleer_base_url", kleer.base_url)
        object.__setattr__(self, "kleer_company_id", kleer.company_id)

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dc_fields(cls)]


_YES, _NO = ("1", "true", "yes", "ja", "on"), ("0", "false", "no", "nej", "off")


def _flag(name: str, value: Any) -> bool:
    """A yes/no setting from a bool, 0/1, or the words a terminal gives (yes/no, true/false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise InputError(f"{name.replace('_', ' ')} is yes or no, not {value!r}")


@dataclass(frozen=True)
class LoadResult:
    """What a load of an HR file did."""

    source: str
    rows: int
    added: int
    updated: int
    removed: int
    problems: pd.DataFrame = field(repr=False)
    file: HrFile = field(repr=False)

    def __str__(self) -> str:
        text = f"{self.source}: {self.rows} employees loaded ({self.added} new, {self.updated} updated"
        text += f", {self.removed} removed)" if self.removed else ")"
        if len(self.problems):
            text += f"; {len(self.problems)} problems in {self.problems['row'].nunique()} rows"
        skipped = [p.row for p in self.file.skipped]
        if skipped:
            rows = ", ".join(map(str, skipped[:10])) + (" …" if len(skipped) > 10 else "")
            text += f"; {len(skipped)} rows NOT loaded (no HR id): rows {rows}"
        return text


@dataclass(frozen=True)
class FetchResult:
    """What a fetch of Kleer did: the snapshot stored and its counts."""

    snapshot_id: str
    fetched_at: str
    users: int
    active: int
    contracts: int
    fingerprint: str
    seconds: float

    def __str__(self) -> str:
        return (f"Kleer: {self.users} users ({self.active} active), {self.contracts} payroll "
                f"contracts fetched in {self.seconds:.1f} s")
