"""How long operations report where they are: one value and one callback shape.

Fetch, suggest, apply and revert call ``on_progress(done, total, message)`` (:data:`OnProgress`);
:class:`Progress` is that report as a value (for whoever keeps or forwards it). Reading an HR
file reports ``progress(fraction, message)`` (:data:`OnFraction`, 0.0 to 1.0), the same report
with ``total`` 1; :func:`as_fraction` turns one into the other.

>>> seen = []
>>> Progress(1, 4, "users").send(lambda *a: seen.append(a)); seen
[(1, 4, 'users')]
>>> Progress(1, 4, "users").fraction
0.25
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["Progress", "OnProgress", "OnFraction", "as_fraction"]

#: ``on_progress(done, total, message)``.
OnProgress = Callable[[int, int, str], None]
#: ``progress(fraction, message)``, the file reader's form (fraction from 0.0 to 1.0).
OnFraction = Callable[[float, str], None]


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` steps, and what the last one was about."""

    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total > 0 else 1.0

    def send(self, callback: OnProgress | None) -> None:
        """Report this to ``callback`` (nothing when there is none)."""
        if callback is not None:
            callback(self.done, self.total, self.message)


def as_fraction(callback: OnProgress | None, *, steps: int = 100) -> OnFraction:
    """A ``progress(fraction, message)`` that reports to ``callback`` in ``steps`` steps."""
    def report(fraction: float, message: str) -> None:
        Progress(round(fraction * steps), steps, message).send(callback)
    return report
