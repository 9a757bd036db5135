"""Rich displays for Jupyter: the objects a notebook user holds, rendered as readable HTML.

Every view is a small value with ``_repr_html_`` (what Jupyter shows) and a short ``__repr__``
(what a terminal shows; never field values, so never a personnummer or the token):

* :func:`suggestions` — a suggestions frame: score bands coloured, the evidence in words;
* :func:`plan_html` — a :class:`~workbench.model.Plan`: counts per action, blockers, warnings and
  every operation with before → after per field (``Plan._repr_html_`` calls it);
* :func:`result_html` — an :class:`~workbench.model.ApplyResult`: counts per status and the failed
  and conflicting operations with their reasons (``ApplyResult._repr_html_`` calls it);
* :class:`PairView` — one HR employee beside one Kleer user, field by field, differences marked
  (``Workbench.pair`` builds it);
* :func:`notebook_progress` — a progress bar updated in place in the notebook output
  (``Workbench.apply`` uses it when it runs in a notebook and no ``on_progress`` is given).

Personnummer and bank numbers are masked (:func:`workbench.fields.mask`) unless ``reveal``; every
value is HTML-escaped, since names and emails come from files. Nothing here imports IPython or
streamlit at import time: :func:`notebook_progress` looks for a running IPython kernel only when
it is called.
"""

from __future__ import annotations

import html
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from .concurrency import summary_text
from .errors import InputError
from .fields import FIELD, mask
from .matching.settings import BANDS
from .model import HTML_RENDERERS, STATUSES, ApplyResult, Plan

__all__ = [
    "BAND_COLOURS",
    "STATUS_COLOURS",
    "SuggestionsView",
    "PairView",
    "ProgressView",
    "suggestions",
    "plan_html",
    "result_html",
    "in_notebook",
    "notebook_progress",
    "cell_text",
]

#: Text and background colour of each score band (and of a pair without a suggestion).
BAND_COLOURS: Mapping[str, tuple[str, str]] = {
    "certain": ("#116329", "#dafbe1"),
    "likely": ("#7d4e00", "#fff8c5"),
    "possible": ("#953800", "#fff1e5"),
}
_NO_BAND = ("#57606a", "#f6f8fa")

#: Colour of each journal status in an apply result.
STATUS_COLOURS: Mapping[str, str] = {
    "done": "#116329", "skipped": "#57606a", "conflict": "#953800", "failed": "#cf222e",
    "pending": "#7d4e00",
}

#: How each agreement of a match signal is marked beside its sentence.
_AGREEMENT_MARKS: Mapping[str, tuple[str, str]] = {
    "exact": ("✓", "#116329"), "strong": ("✓", "#116329"), "partial": ("≈", "#7d4e00"),
    "none": ("✗", "#cf222e"), "conflict": ("✗", "#cf222e"), "missing": ("·", "#8c959f"),
}

_CSS_TABLE = "border-collapse:collapse;font-size:0.9em;text-align:left"
_CSS_CELL = "border-bottom:1px solid #d0d7de;padding:3px 8px;vertical-align:top;text-align:left"
_CSS_BOX = "border-left:4px solid {colour};padding:4px 10px;margin:6px 0;background:{background}"


# =========================================================================== helpers

def cell_text(value: Any) -> str:
    """A value as display text: missing → empty, whole floats without ``.0``, booleans yes/no.
    (The pages use it too, so a value reads the same in the browser and in a notebook.)"""
    if value is None or value is pd.NA or (not isinstance(value, (list, dict, tuple)) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _flag(value: Any) -> bool:
    """A flag column's cell (bool, or 0/1 as stored in SQLite) as a bool; missing is False."""
    return cell_text(value) not in ("", "no", "0")


def _e(value: Any) -> str:
    """``value`` as escaped HTML text."""
    return html.escape(cell_text(value), quote=True)


def _masked(key: str, value: Any, reveal: bool) -> Any:
    return value if reveal else mask(key, value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
           row_styles: Sequence[str] | None = None) -> str:
    """A table from escaped header texts and cells that are already HTML."""
    head = "".join(f'<th style="{_CSS_CELL}">{html.escape(h)}</th>' for h in headers)
    body = "".join(
        f'<tr style="{(row_styles or [""] * len(rows))[i]}">'
        + "".join(f'<td style="{_CSS_CELL}">{cell}</td>' for cell in row) + "</tr>"
        for i, row in enumerate(rows))
    return f'<table style="{_CSS_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _box(inner: str, colour: str, background: str) -> str:
    return f'<div style="{_CSS_BOX.format(colour=colour, background=background)}">{inner}</div>'


def _list(items: Sequence[str], limit: int) -> str:
    """Escaped items as a bulleted list, at most ``limit`` of them."""
    shown = "".join(f"<li>{html.escape(item)}</li>" for item in items[:limit])
    more = f"<li>… and {len(items) - limit} more</li>" if len(items) > limit else ""
    return f'<ul style="margin:2px 0">{shown}{more}</ul>'


def _more(hidden: int, hint: str) -> str:
    return f"<p><em>… {hidden} more not shown ({html.escape(hint)})</em></p>" if hidden > 0 else ""


def _wrap(inner: str) -> str:
    return f'<div class="kleer-workbench">{inner}</div>'


def _band_chip(band: Any) -> str:
    """A score band as a coloured label (grey when there is no band)."""
    colour, background = BAND_COLOURS.get(cell_text(band), _NO_BAND)
    label = _e(band) or "no suggestion"
    return (f'<span class="kw-band kw-band-{label}" style="color:{colour};background:{background};'
            f'border-radius:8px;padding:0 6px;font-weight:600">{label}</span>')


def _evidence_html(evidence: Any) -> str:
    """A suggestion's evidence as its sentences, each marked by how the signal agreed."""
    if not isinstance(evidence, list) or not evidence:
        return ""
    lines = []
    for item in evidence:
        mark, colour = _AGREEMENT_MARKS.get(item.get("agreement"), ("·", "#8c959f"))
        lines.append(f'<span style="color:{colour}">{mark}</span> {_e(item.get("sentence"))}')
    return "<br>".join(lines)


#: Bar colour per kind of waterfall bar (as workbench/ui/waterfall.py draws them).
_WATERFALL_COLOURS: Mapping[str, str] = {"prior": "#8c959f", "for": "#1a7f37", "against": "#cf222e",
                                         "neutral": "#d0d7de", "total": "#0969da"}


def _waterfall_html(evidence: Any) -> str:
    """The match weights as a waterfall of HTML bars: one row per comparison (its sentence as
    escaped text), a bar from the running total to the new one, and the weight in bits; the last
    row is the total. The rows are :func:`workbench.matching.waterfall`'s."""
    if not isinstance(evidence, list) or not evidence:
        return ""
    from .matching import waterfall  # the matcher (numpy, scipy) only when a pair is shown

    data = waterfall(evidence)
    lo = min(0.0, float(data[["start", "end"]].min().min()))
    hi = max(0.0, float(data[["start", "end"]].max().max()))
    span = (hi - lo) or 1.0
    rows = []
    for r in data.to_dict("records"):
        left = (min(r["start"], r["end"]) - lo) / span * 100
        width = max(abs(r["end"] - r["start"]) / span * 100, 0.5)
        colour = _WATERFALL_COLOURS.get(r["kind"], "#8c959f")
        bar = (f'<div class="kw-waterfall-bar kw-waterfall-{_e(r["kind"])}" style="position:relative;'
               f'width:240px;height:12px;background:#f6f8fa"><div style="position:absolute;'
               f'left:{left:.1f}%;width:{width:.1f}%;height:12px;background:{colour}"></div></div>')
        rows.append([_e(r["sentence"] if r["sentence"] is not None else r["label"]), bar,
                     _e(f"{r['weight']:+.1f}")])
    return "<p><strong>Match weights</strong> (bits)</p>" + _table(
        ["Comparison", "Running total", "Weight"], rows)


# =========================================================================== suggestions

@dataclass(frozen=True)
class SuggestionsView:
    """A suggestions frame (the columns of :data:`workbench.matching.COLUMNS`) as HTML."""

    frame: pd.DataFrame = field(repr=False)
    limit: int = 50

    def _assigned(self) -> pd.DataFrame:
        if "assigned" not in self.frame.columns:
            return self.frame.iloc[0:0]
        return self.frame[self.frame["assigned"].fillna(False).astype(bool)]

    def summary(self) -> str:
        """``"12 suggestions for 10 Kleer employees; 9 assigned (8 certain, 1 likely)"``."""
        f = self.frame
        if f.empty:
            return "no suggestions"
        assigned = self._assigned()
        bands = assigned["band"].value_counts() if "band" in assigned.columns else pd.Series()
        by_band = ", ".join(f"{int(bands[b])} {b}" for b in BANDS if b in bands.index)
        return (f"{len(f)} suggestion{'s' * (len(f) != 1)} for {f['kleer_id'].nunique()} Kleer "
                f"employee{'s' * (f['kleer_id'].nunique() != 1)}; {len(assigned)} assigned"
                + (f" ({by_band})" if by_band else ""))

    def __repr__(self) -> str:
        return f"<Suggestions: {self.summary()}>"

    def _repr_html_(self) -> str:
        f = self.frame
        if f.empty:
            return _wrap("<p><strong>No suggestions</strong> to show.</p>")
        rows = []
        for r in f.head(self.limit).to_dict("records"):
            flags = ", ".join(x for x in ("tie", "contested", "namesake") if _flag(r.get(x)))
            rows.append([
                _e(r.get("kleer_id")), _e(r.get("kleer_name")), _e(r.get("hr_id")),
                _e(r.get("hr_name")), _e(r.get("score")), _band_chip(r.get("band")),
                "✓" if _flag(r.get("assigned")) else "",
                _e(flags), _evidence_html(r.get("evidence"))])
        table = _table(["Kleer id", "Kleer name", "HR id", "HR name", "Score", "Band", "Assigned",
                        "Flags", "Evidence"], rows)
        return _wrap(f"<p><strong>Suggestions</strong>: {_e(self.summary())}</p>" + table
                     + _more(len(f) - self.limit, "filter the frame with pandas, or pass limit="))


def suggestions(frame: pd.DataFrame, *, limit: int = 50) -> SuggestionsView:
    """The HTML view of a suggestions frame (as :meth:`Workbench.suggest` returns it, or any
    pandas filter of it), at most ``limit`` rows. Only the evidence's sentences are shown, which
    never hold a personnummer."""
    missing = {"kleer_id", "hr_id", "score", "band"} - set(frame.columns)
    if missing:
        raise InputError(f"not a suggestions frame: no column {', '.join(sorted(missing))} "
                         "(pass what Workbench.suggest or Workbench.suggestions returns)")
    return SuggestionsView(frame, limit)


# =========================================================================== plan

def _change_lines(op: Any, reveal: bool) -> str:
    """``Label: before → after`` per field (before struck through); an empty side is ``∅``."""
    def side(key: str, value: Any, tag: str, colour: str) -> str:
        text = _e(_masked(key, value, reveal))
        return f'<{tag} style="color:{colour}">{text}</{tag}>' if text \
            else '<span style="color:#8c959f">∅</span>'

    return "<br>".join(f"{_e(c.label)}: {side(c.key, c.before, 'del', '#cf222e')} → "
                       f"{side(c.key, c.after, 'span', '#116329')}" for c in op.changes)


def plan_html(plan: Any, *, reveal: bool = False, limit: int = 100) -> str:
    """A plan as HTML: what it was built on, counts per action and per kind, blockers, warnings,
    and the first ``limit`` operations with before → after per field (masked unless ``reveal``)."""
    title = f"Revert plan of {plan.reverts}" if plan.reverts else "Plan"
    built = f"{plan.side}, built {plan.created_at}" + (
        f" on snapshot {plan.snapshot_id}" if plan.snapshot_id else "")
    counts = plan.counts_dict
    runnable, blocked = len(plan.runnable), counts.get("blocked", 0)
    kinds = ", ".join(f"{v} {k.removeprefix('kind:')}" for k, v in sorted(counts.items())
                      if k.startswith("kind:"))
    head = (f"<p><strong>{_e(title)} {_e(plan.id)}</strong> ({_e(built)})<br>"
            f"<strong>{runnable}</strong> operation{'s' * (runnable != 1)} to run"
            + (f" ({_e(kinds)})" if kinds else "") + f", <strong>{blocked}</strong> blocked</p>")
    by_action = [(k.removeprefix("action:"), v) for k, v in sorted(counts.items())
                 if k.startswith("action:")]
    actions = _table(["Decision", "Subjects"], [[_e(a), _e(v)] for a, v in by_action]) \
        if by_action else ""
    parts = [head, actions]
    blocked_ops = [op for op in plan.operations if op.blocked]
    if blocked_ops:
        items = [f"{_subject(op)}: {'; '.join(op.blockers)}" for op in blocked_ops]
        parts.append(_box(f"<strong>{len(blocked_ops)} blocked</strong> — listed, never executed:"
                          + _list(items, 20), "#cf222e", "#ffebe9"))
    warnings = list(plan.warnings) + [f"{_subject(op)}: {w}" for op in plan.operations
                                      for w in op.warnings]
    if warnings:
        parts.append(_box(f"<strong>{len(warnings)} warning{'s' * (len(warnings) != 1)}</strong>"
                          + _list(warnings, 20), "#bf8700", "#fff8c5"))
    if plan.operations:
        rows, styles = [], []
        for op in plan.operations[:limit]:
            rows.append([_e(op.seq), _e(op.kind), _e(op.action), _e(op.hr_id), _e(op.kleer_id),
                         _e(op.link), _change_lines(op, reveal), _e("; ".join(op.blockers))])
            styles.append("background:#ffebe9" if op.blocked else "")
        parts.append(_table(["#", "Kind", "Decision", "HR id", "Kleer id", "Link",
                             "Before → after", "Blocked because"], rows, row_styles=styles))
        parts.append(_more(len(plan.operations) - limit,
                           "plan.operations_frame() has them all, or plan_html(plan, limit=…)"))
    else:
        parts.append("<p>Nothing to do: no decision of this side changes anything.</p>")
    return _wrap("".join(parts))


def _subject(op: Any) -> str:
    sides = [f"HR {op.hr_id}" if op.hr_id else "", f"Kleer {op.kleer_id}"
             if op.kleer_id is not None else ""]
    return " ↔ ".join(s for s in sides if s) or op.op_id


# =========================================================================== apply result

def result_html(result: Any, *, reveal: bool = False) -> str:
    """An apply (or revert) result as HTML: a banner, counts per status, and the failed and
    conflicting operations with their reasons."""
    c = result.counts_dict
    what = f"Revert of {result.reverts}" if result.reverts else f"Apply of {result.plan_id}"
    if result.ok:
        banner = _box(f"<strong>{_e(what)} finished</strong>: batch {_e(result.batch_id)} in "
                      f"{result.seconds:.1f} s", "#1a7f37", "#dafbe1")
    else:
        banner = _box(f"<strong>{_e(what)} finished with problems</strong>: batch "
                      f"{_e(result.batch_id)} in {result.seconds:.1f} s. Conflicts were not "
                      "overwritten: fetch Kleer again and decide again; a re-run of the same plan "
                      "retries what failed.", "#cf222e", "#ffebe9")
    counts = " · ".join(
        f'<span class="kw-status kw-status-{s}" style="color:{STATUS_COLOURS[s]}">'
        f"<strong>{c.get(s, 0)}</strong> {s}</span>"
        for s in STATUSES if c.get(s) or s in ("done", "failed", "conflict"))
    parts = [banner, f"<p>{counts}</p>"]
    if getattr(result, "concurrency", None):  # how many Kleer requests were in flight, and why
        parts.append(f"<p><small>{_e(summary_text(dict(result.concurrency)))}</small></p>")
    if c.get("skipped"):
        parts.append("<p><em>Skipped operations were blocked in the plan (its blockers say "
                     "why) or had nothing left to do.</em></p>")
    problems = result.problems_frame(reveal=reveal)
    if len(problems):
        rows = [[f'<span style="color:{STATUS_COLOURS.get(r["status"], "#57606a")}">'
                 f'{_e(r["status"])}</span>', _e(r["kind"]), _e(r["hr_id"]), _e(r["kleer_id"]),
                 _e(r["reason"]), _e(r["attempts"])] for r in problems.to_dict("records")]
        parts.append(_table(["Status", "Kind", "HR id", "Kleer id", "Reason", "Attempts"], rows))
    return _wrap("".join(parts))


# =========================================================================== a pair

@dataclass(frozen=True)
class PairView:
    """One HR employee beside one Kleer user, every Kleer field side by side.

    ``details`` is :func:`workbench.readmodels.pair_details` (``field``, ``label``, ``hr``, ``kleer``,
    ``differs``); ``state`` says how the two belong together (``linked``, ``decided``,
    ``suggested`` or ``chosen``); ``suggestion`` is the matcher's row for the pair, if any
    (``score``, ``band``, ``evidence``)."""

    hr_id: str | None
    kleer_id: int | None
    state: str
    details: pd.DataFrame = field(repr=False)
    hr_name: str | None = field(default=None, repr=False)
    kleer_name: str | None = field(default=None, repr=False)
    suggestion: Mapping[str, Any] | None = field(default=None, repr=False)
    hr_label: str = "HR"
    reveal: bool = False

    @property
    def affected(self) -> list[str]:
        """The keys of the fields whose HR and Kleer values differ."""
        return [r["field"] for r in self.details.to_dict("records") if r["differs"]]

    def _affected_text(self) -> str:
        labels = [FIELD[k].label.lower() for k in self.affected]
        if not labels:
            return "no field differs"
        return f"{len(labels)} field{'s differ' if len(labels) != 1 else ' differs'}: " \
               f"{', '.join(labels)}"

    def __repr__(self) -> str:
        hr = f"{self.hr_label} {self.hr_id}" if self.hr_id else f"no {self.hr_label} employee"
        kleer = f"Kleer {self.kleer_id}" if self.kleer_id is not None else "no Kleer user"
        return f"<Pair {hr} ↔ {kleer} ({self.state}): {self._affected_text()}>"

    def _repr_html_(self) -> str:
        hr = (f"{_e(self.hr_label)} {_e(self.hr_id)} ({_e(self.hr_name)})" if self.hr_id
              else f"no {_e(self.hr_label)} employee")
        kleer = (f"Kleer {_e(self.kleer_id)} ({_e(self.kleer_name)})"
                 if self.kleer_id is not None else "no Kleer user")
        head = f"<p><strong>{hr} ↔ {kleer}</strong> — {_e(self.state)}; {_e(self._affected_text())}"
        if self.suggestion:
            head += (f"<br>match score {_e(self.suggestion.get('score'))} "
                     f"{_band_chip(self.suggestion.get('band'))}")
        head += "</p>"
        rows, styles = [], []
        for r in self.details.to_dict("records"):
            rows.append([_e(r["label"]), _e(_masked(r["field"], r["hr"], self.reveal)),
                         _e(_masked(r["field"], r["kleer"], self.reveal)),
                         '<strong style="color:#cf222e">≠</strong>' if r["differs"] else ""])
            styles.append("background:#fff8c5" if r["differs"] else "")
        table = _table(["Field", self.hr_label, "Kleer", ""], rows, row_styles=styles)
        why = ""
        if self.suggestion and self.suggestion.get("evidence"):
            why = f"<p><strong>Why they were matched</strong><br>" \
                  f"{_evidence_html(self.suggestion['evidence'])}</p>" \
                  + _waterfall_html(self.suggestion["evidence"])
        return _wrap(head + table + why)

    def waterfall(self, *, width: int | str = 480):
        """The suggestion's match weights as an Altair waterfall chart (Jupyter draws it), or
        None when no suggestion explains the pair. See :mod:`workbench.ui.waterfall`."""
        if not (self.suggestion and self.suggestion.get("evidence")):
            return None
        from .ui.waterfall import chart  # Altair only; no Streamlit

        return chart(self.suggestion["evidence"], width=width)


# =========================================================================== progress

@dataclass(frozen=True)
class ProgressView:
    """One state of a progress bar: ``done`` of ``total``, and what was done last."""

    title: str
    done: int
    total: int
    last: str = ""

    def __repr__(self) -> str:
        return f"{self.title}: {self.done} of {self.total}" + (f" ({self.last})" if self.last else "")

    def _repr_html_(self) -> str:
        finished = 0 < self.total <= self.done
        colour = "#1a7f37" if finished else "#0969da"
        return _wrap(
            f'<div style="display:flex;gap:8px;align-items:center">'
            f"<strong>{_e(self.title)}</strong>"
            f'<progress value="{self.done}" max="{max(self.total, 1)}" '
            f'style="width:240px;accent-color:{colour}"></progress>'
            f"<span>{self.done} of {self.total}</span>"
            f'<span style="color:#57606a">{_e(self.last)}</span></div>')


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab): only then is there an
    output area to draw a bar in. IPython is not imported to find out."""
    zmqshell = sys.modules.get("ipykernel.zmqshell")
    ipython = sys.modules.get("IPython")
    if zmqshell is None or ipython is None:
        return False
    return isinstance(ipython.get_ipython(), zmqshell.ZMQInteractiveShell)


def _step(item: Any) -> str:
    """What one progress step was about: an operation's kind and ids, else the item as text."""
    kind = getattr(item, "kind", None)
    if kind is None:
        return cell_text(item)
    return " ".join(x for x in (kind, cell_text(getattr(item, "hr_id", None)),
                                cell_text(getattr(item, "kleer_id", None))) if x)


def notebook_progress(title: str, total: int, *, min_interval: float = 0.1
                      ) -> Callable[[int, int, Any], None] | None:
    """An ``on_progress(done, total, item)`` that draws a bar in the notebook output and updates
    it in place (at most every ``min_interval`` seconds, and always at the end); ``None`` outside
    a notebook or when there is nothing to count."""
    if total <= 0 or not in_notebook():
        return None
    from IPython.display import display

    handle = display(ProgressView(title, 0, total), display_id=True)
    last_update = time.monotonic()

    def report(done: int, total: int, item: Any, detail: str = "") -> None:
        nonlocal last_update
        now = time.monotonic()
        if done >= total or now - last_update >= min_interval:
            step = _step(item) + (f" · {detail}" if detail else "")  # e.g. the live concurrency
            handle.update(ProgressView(title, done, total, step))
            last_update = now

    return report


HTML_RENDERERS[Plan] = plan_html
HTML_RENDERERS[ApplyResult] = result_html
