"""The HR side of the :class:`~workbench.api.Workbench` facade: read and load an HR file (with
the mapping remembered for its header, and a reload shown before it changes anything), and hand
the HR changes the workbench made back to the HR system as a file in the export's own shape.

A mixin, like :mod:`.api_reads`, so the facade stays one class (``wb.load_hr``,
``wb.hr_changes``) while api.py keeps the other workflows; it expects ``self.workspace`` and
``self.analyst``.

Reloading: :meth:`HrSide.preview_hr` returns a :class:`ReloadPreview` (new, changed and missing
employees; linked ones are always kept). Into a workspace that already has employees,
:meth:`HrSide.load_hr` loads a file that changes them only when confirmed: ``expect=`` the token
of the preview the analyst saw (refused when the workspace or the file moved since), or
``confirm=True`` (``--yes`` in scripts). Otherwise it raises :class:`ReloadNotConfirmed`
carrying the preview.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pandas as pd

from . import hr_changes as changes_of
from .api_types import LoadResult
from .errors import AccessError, InputError, ReloadNotConfirmed, SourceError
from .fields import FIELD, header_signature, is_generic_header, mask, suggest_mapping
from .hr_reload import FieldChange, ReloadDiff, reload_diff
from .hr_writeback import FORMATS, write_hr_changes
from .progress import OnFraction
from .sources import DEFAULT_MAX_BYTES, HrFile, parse_mapping, peek_headers, read_hr
from .store.values import to_json

if TYPE_CHECKING:
    from .store import Workspace

__all__ = ["HrSide", "ReloadPreview", "REMEMBERED_NOTE", "HR_CHANGES_ROLES"]

#: How a note about a remembered mapping begins (the page and the CLI show it as it is).
REMEMBERED_NOTE = "Used the mapping remembered for this header"

#: The roles that may have the HR changes (real values); None is a workbench without roles.
HR_CHANGES_ROLES = (None, "analyst", "admin")


def _masked_change(c: FieldChange) -> FieldChange:
    return FieldChange(c.key, c.label, mask(c.key, c.before), mask(c.key, c.after))


@dataclass(frozen=True)
class ReloadPreview:
    """What loading ``file`` would change (see the module docstring). ``employees`` is how many
    HR employees the workspace had; ``token`` names exactly this change, for ``load_hr(expect=)``."""

    file: HrFile
    diff: ReloadDiff
    employees: int
    remove_missing: bool
    token: str

    @property
    def needs_confirmation(self) -> bool:
        """True when the workspace has employees and the file would change something."""
        return self.employees > 0 and not self.diff.empty

    def _shown(self, reveal: bool) -> ReloadDiff:
        if reveal:
            return self.diff
        return replace(self.diff, changed={h: tuple(map(_masked_change, cs))
                                           for h, cs in self.diff.changed.items()})

    def summary(self, *, reveal: bool = False, limit: int = 10) -> str:
        """The difference in lines of text (personal numbers masked unless ``reveal``)."""
        text = self._shown(reveal).summary(limit=limit)
        if self.diff.missing:
            text += ("\nThe unlinked employees missing from the file will be REMOVED."
                     if self.remove_missing else
                     "\nEmployees missing from the file are kept (remove missing removes the "
                     "unlinked ones).")
        elif self.diff.kept:
            text += "\nLinked employees missing from the file are kept."
        return text

    def __str__(self) -> str:
        return self.summary()

    def frame(self, *, reveal: bool = False) -> pd.DataFrame:
        """One row per changed field (``hr_id``, ``field``, ``before``, ``after``), masked
        unless ``reveal``: the page's table."""
        rows = [{"hr_id": h, "field": c.label, "before": c.before, "after": c.after}
                for h, cs in self._shown(reveal).changed.items() for c in cs]
        return pd.DataFrame(rows, columns=["hr_id", "field", "before", "after"])


def _token(diff: ReloadDiff, employees: int, remove_missing: bool) -> str:
    text = to_json({"diff": diff.as_dict(), "employees": employees, "remove": remove_missing})
    return "reload:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _translated(remembered: Mapping[str, str | None], headers: Sequence[str]) -> dict[str, str | None]:
    """A remembered mapping in the current file's own header texts (headers compare as the
    header signature folds them: case, spacing, Unicode form)."""
    by_key = {header_signature([h]): h for h in headers}
    return {by_key[header_signature([h])]: k for h, k in remembered.items()
            if header_signature([h]) in by_key}


def _analyst_mapping(hr: HrFile) -> dict[str, str | None]:
    """The part of the mapping the analyst chose: where it differs from the aliases, and a lone
    generic email column the analyst named (the loader did not assume it)."""
    suggested = suggest_mapping(list(hr.mapping))
    emails = [h for h, k in hr.mapping.items() if k in ("work_email", "private_email")]
    return {h: k for h, k in hr.mapping.items() if h not in hr.assumed and (
        k != suggested.get(h) or (emails == [h] and is_generic_header(h)))}


def _since_utc(since: date | datetime | str | None) -> str | None:
    """``since`` (a date: local midnight; a datetime: local unless it says) as ISO UTC text."""
    if since is None:
        return None
    if isinstance(since, str):
        try:
            since = (date.fromisoformat(since) if len(since.strip()) == 10
                     else datetime.fromisoformat(since.strip()))
        except ValueError:
            raise InputError(f"since must be a date like 2026-03-01 (or a date and time), not "
                             f"{since!r}") from None
    moment = since if isinstance(since, datetime) else datetime.combine(since, time())
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


class _Rewind:
    """A file object read once, offered again (the first read may need a second one)."""

    def __init__(self, data: bytes, name: str | None, size: int | None):
        self.data, self.name, self.size = data, name, size

    def read(self, n: int = -1) -> bytes:
        return self.data if n < 0 else self.data[:n]


class HrSide:
    """The HR file in and the HR changes out."""

    workspace: "Workspace"
    analyst: str | None
    #: The signed-in user's role (the app sets it); None: a workbench without roles (the CLI and
    #: notebooks, used by whoever may open the workspace file).
    role: str | None = None
    #: the last preview and the workspace's version then: a load confirming it reuses its
    #: difference when nothing changed since (a 50,000-row difference costs seconds)
    _previewed: tuple[ReloadPreview, tuple[int, int]] | None = None

    # ---------------------------------------------------------------- reading

    peek_headers = staticmethod(peek_headers)
    parse_mapping = staticmethod(parse_mapping)

    def read_hr(self, source: Any, *, name: str | None = None,
                mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES, progress: OnFraction | None = None,
                remembered: bool = True) -> HrFile:
        """Read and validate an HR file without touching the workspace (a preview).

        Without a ``mapping``, the mapping the analyst used for a file with the same header
        (remembered when it was loaded) is used, and :attr:`HrFile.notes` says so."""
        if mapping is not None or not remembered:
            return read_hr(source, name=name, mapping=mapping, sheet=sheet, max_bytes=max_bytes,
                           progress=progress)
        if not isinstance(source, (str, bytes, bytearray, memoryview)) and hasattr(source, "read"):
            name = name or getattr(source, "name", None)
            source = _Rewind(source.read(max_bytes + 1), name, getattr(source, "size", None))
        error: SourceError | None = None
        try:
            hr = read_hr(source, name=name, sheet=sheet, max_bytes=max_bytes, progress=progress)
            headers, signature = list(hr.mapping), hr.signature
        except SourceError as e:
            if not e.headers:
                raise
            hr, headers, signature, error = None, e.headers, header_signature(e.headers), e
        kept = self.workspace.hr_mappings.get(signature)
        use = _translated(kept["mapping"], headers) if kept else {}
        if not use or (hr is not None and all(hr.mapping.get(h) == k for h, k in use.items())):
            if hr is None:
                raise error  # no remembered mapping helps
            return hr
        hr = read_hr(source, name=name, mapping=use, sheet=sheet, max_bytes=max_bytes,
                     progress=progress)
        shown = ", ".join(f"{h} → {FIELD[k].label if k else 'ignored'}" for h, k in use.items())
        hr.notes.insert(0, f"{REMEMBERED_NOTE} (saved {kept['updated_at'][:10]} by "
                           f"{kept['updated_by'] or 'someone'}, loading {kept['source']}): {shown}. "
                           "Change it in the mapping (CLI: --map FIELD=COLUMN).")
        return hr

    # ---------------------------------------------------------------- reloading

    def preview_hr(self, source: Any, *, name: str | None = None,
                   mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
                   remove_missing: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                   progress: OnFraction | None = None) -> ReloadPreview:
        """What loading ``source`` (a file, or an :class:`HrFile` already read) would change in
        the workspace; nothing is written."""
        hr = source if isinstance(source, HrFile) else self.read_hr(
            source, name=name, mapping=mapping, sheet=sheet, max_bytes=max_bytes, progress=progress)
        return self._preview(hr, remove_missing)

    def _preview(self, hr: HrFile, remove_missing: bool) -> ReloadPreview:
        ws = self.workspace
        employees = ws.hr.count()
        if employees == 0:
            diff = ReloadDiff(new=tuple(str(r["hr_id"]) for r in hr.records))
        else:
            diff = reload_diff(ws.hr.frame(), pd.DataFrame(hr.records), ws.links.linked_hr_ids(),
                               fields=hr.fields)
        preview = ReloadPreview(hr, diff, employees, remove_missing,
                                _token(diff, employees, remove_missing))
        self._previewed = (preview, ws.version())
        return preview

    def _still(self, hr: HrFile, remove_missing: bool, expect: str | None) -> ReloadPreview:
        """The preview ``expect`` names when nothing changed since it was made, else a new one."""
        if self._previewed is not None and expect is not None:
            preview, version = self._previewed
            if (preview.token == expect and preview.file is hr
                    and preview.remove_missing == remove_missing
                    and version == self.workspace.version()):
                return preview
        return self._preview(hr, remove_missing)

    @staticmethod
    def _confirmed(preview: ReloadPreview, expect: str | None, confirm: bool) -> str:
        if not preview.needs_confirmation:
            return "not needed"
        if confirm:
            return "confirmed"
        name, first = preview.file.name, preview.summary().splitlines()[0].rstrip(".")
        if expect is None:
            raise ReloadNotConfirmed(
                f"{name}: the workspace has {preview.employees} HR employees and this file changes "
                f"them ({first}). Look at what it changes and confirm: the Sources page, "
                "`workbench load-hr FILE` (--yes in scripts), or load_hr(..., expect=preview.token)",
                preview=preview)
        if expect != preview.token:
            raise InputError(f"{name}: the workspace or the file changed since the preview you "
                             "confirmed; look at the new preview and confirm again")
        return "preview confirmed"

    def load_hr(self, source: Any, *, name: str | None = None,
                mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
                remove_missing: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                progress: OnFraction | None = None, expect: str | None = None,
                confirm: bool = False) -> LoadResult:
        """Load an HR export (CSV or XLSX, or an :class:`HrFile` already read) in one transaction.

        Into a workspace with employees, a file that changes them loads only with ``expect`` (the
        :attr:`ReloadPreview.token` the analyst saw) or ``confirm=True``; otherwise
        :class:`ReloadNotConfirmed` (with the preview) is raised and nothing is written.
        Employees missing from the file are kept (``remove_missing`` removes the unlinked ones;
        linked ones are always kept). The file's shape is kept (for :meth:`hr_changes`) and the
        analyst's mapping remembered for the next file with the same header.

        Raises :class:`~workbench.errors.SourceError` (and leaves the workspace as it was) when the
        file cannot be used; row problems are reported in the result and kept with the rows.
        ``progress(fraction, message)`` hears how far reading and writing have come.
        """
        report = progress or (lambda fraction, message: None)
        hr = source if isinstance(source, HrFile) else self.read_hr(
            source, name=name, mapping=mapping, sheet=sheet, max_bytes=max_bytes,
            progress=lambda fraction, message: report(0.8 * fraction, message))
        report(0.8, f"writing {len(hr.records)} employees to the workspace")
        ws = self.workspace
        with ws.atomic():
            preview = self._still(hr, remove_missing, expect)
            confirmation = self._confirmed(preview, expect, confirm)
            counts = ws.hr.upsert(hr.records, source=hr.name, remove_missing=remove_missing)
            ws.hr_loads.record(source=hr.name, analyst=self.analyst, signature=hr.signature,
                               mapping=hr.mapping, shape=hr.shape.to_dict() if hr.shape else None,
                               rows=len(hr.records), counts=counts)
            chosen = _analyst_mapping(hr)
            if chosen or ws.hr_mappings.get(hr.signature):
                ws.hr_mappings.remember(hr.signature, chosen, source=hr.name, analyst=self.analyst)
            d = preview.diff
            self._previewed = None
            ws.audit.append(
                event="load", analyst=self.analyst, action="load_hr",
                detail={"source": hr.name, "rows": len(hr.records), **counts,
                        "problems": len(hr.problems), "not_loaded": len(hr.skipped),
                        "detected": hr.detected, "signature": hr.signature,
                        "remembered_mapping": any(n.startswith(REMEMBERED_NOTE) for n in hr.notes),
                        "reload": {"new": len(d.new), "changed": len(d.changed),
                                   "missing": len(d.missing), "kept": len(d.kept),
                                   "confirmation": confirmation}})
        report(1.0, f"{len(hr.records)} employees loaded")
        return LoadResult(source=hr.name, rows=len(hr.records), problems=hr.problems_frame(),
                          file=hr, **counts)

    # ---------------------------------------------------------------- HR changes back

    def _require_hr_changes_role(self) -> None:
        if self.role not in HR_CHANGES_ROLES:
            raise AccessError(f"your role ({self.role}) cannot have the HR changes: they carry real "
                              "personal data (personnummer, bank accounts) for the HR system. "
                              "Ask an admin for the analyst role.")

    def hr_change_set(self, *, batch: str | None = None,
                      since: date | datetime | str | None = None) -> changes_of.HrChangeSet:
        """The HR changes the workbench made (employees created in HR; fields overwritten by
        Kleer values; reverts), of ``batch`` or since ``since`` (a date: local midnight), else
        all. Analyst role only. Show its ``summary()``; the records hold real values."""
        self._require_hr_changes_role()
        if batch is not None and since is not None:
            raise InputError("give a batch or a date to start from, not both")
        return changes_of.collect(self.workspace, batch_id=batch, since=_since_utc(since),
                                  scope=f"since {since}" if since is not None else "")

    def hr_changes(self, *, batch: str | None = None, since: date | datetime | str | None = None,
                   only_changed_columns: bool = False, format: str | None = None) -> bytes:
        """The HR changes (see :meth:`hr_change_set`) as the bytes of a file in the HR export's
        own shape (the last HR file loaded: headers, column order, encoding, delimiter, CSV or
        XLSX unless ``format``): only the changed employees, all the columns the workbench
        holds, or ``only_changed_columns`` plus the id. Real values, never masked: analyst role
        only (:class:`AccessError` otherwise), and every file made is recorded in the audit log."""
        found = self.hr_change_set(batch=batch, since=since)
        if format is not None and format not in FORMATS:
            raise InputError(f"the HR changes can be written as {' or '.join(FORMATS)}, not {format!r}")
        if found.shape is None:
            raise InputError("the workspace does not know the HR file's shape: load the HR export "
                             "(Sources, or `workbench load-hr FILE`) and ask again")
        if found.empty:
            raise InputError(found.summary().splitlines()[0])
        data = write_hr_changes(list(found.records), found.shape,
                                only_changed_columns=only_changed_columns,
                                changed={h: list(k) for h, k in found.changed.items()},
                                format=format)
        self.workspace.audit.append(
            event="download", analyst=self.analyst, action="hr_changes",
            detail={"batch": batch, "since": None if since is None else str(since),
                    "format": format or found.shape.format,
                    "only_changed_columns": bool(only_changed_columns),
                    "employees": len(found.records), "hr_ids": list(found.changed),
                    "created": len(found.created), "updated": len(found.updated),
                    "bytes": len(data), "masked": False})
        return data

    def hr_file_shape(self) -> dict[str, Any] | None:
        """The last HR load that kept its file's shape (source, when, by whom, ``shape``)."""
        return self.workspace.hr_loads.last()
