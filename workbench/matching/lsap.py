"""scipy's ``linear_sum_assignment`` without importing all of ``scipy.optimize``.

The one-to-one assignment (:mod:`workbench.matching.assign`) needs only this one function, a
compiled module of its own (``scipy/optimize/_lsap``). ``from scipy.optimize import
linear_sum_assignment`` first runs ``scipy.optimize``'s package init, which imports the whole of
scipy.optimize (and scipy.sparse, scipy.linalg): a third of a second of every ``workbench match``.
:func:`linear_sum_assignment` loads the compiled module directly from scipy's folder, and falls
back to the ordinary import when that is not possible (another scipy layout): the function is
the very same either way (tests/test_matching_why.py compares them).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from typing import Any, Callable

__all__ = ["linear_sum_assignment"]

_found: list[Callable[..., Any]] = []


def _direct() -> Callable[..., Any] | None:
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "optimize"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_lsap{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader("scipy.optimize._lsap", str(path))
            module_spec = importlib.util.spec_from_file_location(
                "scipy.optimize._lsap", str(path), loader=loader)
            module = importlib.util.module_from_spec(module_spec)
            loader.exec_module(module)
            return getattr(module, "linear_sum_assignment", None)
    return None


def _function() -> Callable[..., Any]:
    if not _found:
        try:
            fn = _direct()
        except Exception:  # noqa: BLE001 (any trouble: the ordinary import below)
            fn = None
        if fn is None:
            from scipy.optimize import linear_sum_assignment as fn
        _found.append(fn)
    return _found[0]


def linear_sum_assignment(cost: Any, maximize: bool = False) -> Any:
    """:func:`scipy.optimize.linear_sum_assignment` (rows, columns of the optimal assignment)."""
    return _function()(cost, maximize=maximize)
