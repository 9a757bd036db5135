"""How long operations report where they are: one value and one callback shape.

Fetch, suggest, apply and revert call ``on_progress(done, total, message)`` (:data:`OnProgress`);
:class:`Progress` is that report as a value (for whoever keeps or forwards it). Reading an HR
file reports ``progress(fraction, message)`` (:data:`OnFraction`, 0.0 to 1.0), the same report
with ``total`` 1; :func:`as_fraction` turns one into the other.

A report may carry a ``detail``: how the work is going besides how far (an apply's live
concurrency and the reason of its last change). A callback with a ``detail`` parameter hears it
as that keyword (``on_progress(done, total, message, detail=...)``); every other callback is
called as before, with the message alone, so existing callers keep working.

>>> seen = []
>>> Progress(1, 4, "users").send(lambda *a: seen.append(a)); seen
[(1, 4, 'users')]
>>> Progress(1, 4, "users").fraction
0.25
>>> report = Progress(2, 4, "op-7", detail="concurrency 9 (adaptive)")
>>> report.send(lambda done, total, message, detail="": seen.append(detail)); seen[-1]
'concurrency 9 (adaptive)'
>>> report.send(lambda done, total, message: seen.append(message)); seen[-1]
'op-7'
>>> report.text
'op-7 · concurrency 9 (adaptive)'
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

__all__ = ["Progress", "OnProgress", "OnFraction", "as_fraction", "takes_detail"]

#: ``on_progress(done, total, message)``, optionally with a ``detail=""`` keyword parameter.
OnProgress = Callable[[int, int, str], None]
#: ``progress(fraction, message)``, the file reader's form (fraction from 0.0 to 1.0).
OnFraction = Callable[[float, str], None]


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` steps, what the last one was about, and how it is going."""

    done: int
    total: int
    message: str = ""
    detail: str = ""

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total > 0 else 1.0

    @property
    def text(self) -> str:
        """The message, and the detail after `` · `` when there is one."""
        return f"{self.message} · {self.detail}" if self.detail else self.message

    def send(self, callback: OnProgress | None) -> None:
        """Report this to ``callback`` (nothing when there is none); the detail too when the
        callback takes a ``detail`` parameter."""
        if callback is None:
            return
        if self.detail and takes_detail(callback):
            callback(self.done, self.total, self.message, detail=self.detail)  # type: ignore[call-arg]
        else:
            callback(self.done, self.total, self.message)


def takes_detail(callback: Callable[..., object]) -> bool:
    """Whether ``callback`` takes a ``detail`` keyword (or any keyword)."""
    try:
        parameters = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    return any((p.name == "detail" and p.kind is not p.POSITIONAL_ONLY)
               or p.kind is p.VAR_KEYWORD for p in parameters)


def as_fraction(callback: OnProgress | None, *, steps: int = 100) -> OnFraction:
    """A ``progress(fraction, message)`` that reports to ``callback`` in ``steps`` steps."""
    def report(fraction: float, message: str) -> None:
        Progress(round(fraction * steps), steps, message).send(callback)
    return report
