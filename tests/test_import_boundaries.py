"""The core never touches streamlit: only workbench/ui/ may import it (a house rule).

Checked twice: by importing the core in a fresh interpreter and looking at ``sys.modules``, and
statically, by reading every module under workbench/ outside workbench/ui/ (which also covers
imports inside functions that a plain import would not run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import workbench

PACKAGE = Path(workbench.__file__).resolve().parent
CORE_MODULES = ["workbench", "workbench.fields", "workbench.normalize", "workbench.store",
                "workbench.api", "workbench.cli"]


def imported_modules(*modules: str) -> set[str]:
    """The names in ``sys.modules`` after importing ``modules`` in a fresh interpreter."""
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + \
        "print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def _is_streamlit(name: str | None) -> bool:
    return bool(name) and (name == "streamlit" or name.startswith("streamlit."))


def streamlit_imports(source: str) -> list[int]:
    """Line numbers where ``source`` imports streamlit: ``import``, ``from … import``, and
    ``importlib.import_module`` / ``__import__`` with a literal name."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(_is_streamlit(a.name) for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_streamlit(node.module):
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str) \
                    and _is_streamlit(node.args[0].value):
                lines.append(node.lineno)
    return sorted(lines)


def core_files() -> list[Path]:
    ui = PACKAGE / "ui"
    return sorted(p for p in PACKAGE.rglob("*.py") if ui not in p.parents)


def test_importing_the_core_does_not_import_streamlit():
    modules = imported_modules(*CORE_MODULES)
    assert set(CORE_MODULES) <= modules  # the imports really happened
    assert sorted(m for m in modules if _is_streamlit(m)) == []


def test_no_core_file_imports_streamlit():
    files = core_files()
    assert PACKAGE / "normalize.py" in files and PACKAGE / "fields.py" in files
    assert not any("ui" in p.relative_to(PACKAGE).parts[:-1] for p in files)
    offenders = {str(p.relative_to(PACKAGE.parent)): lines
                 for p in files if (lines := streamlit_imports(p.read_text(encoding="utf-8")))}
    assert offenders == {}, f"only workbench/ui/ may import streamlit: {offenders}"


@pytest.mark.parametrize("source, lines", [
    ("import streamlit as st", [1]),
    ("import os, streamlit", [1]),
    ("from streamlit.testing.v1 import AppTest", [1]),
    ("import streamlit.components.v1", [1]),
    ("def page():\n    import streamlit as st\n", [2]),
    ("import importlib\nimportlib.import_module('streamlit')", [2]),
    ("__import__('streamlit')", [1]),
    ("import streamlit_aggrid", []),
    ("from . import streamlit", []),  # a sibling module of that name, not the library
    ("text = 'import streamlit'", []),
    ("# import streamlit", []),
])
def test_the_static_check_tells_streamlit_imports_from_look_alikes(source, lines):
    assert streamlit_imports(source) == lines
