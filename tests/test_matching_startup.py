"""A fast start-up for ``workbench match --hr --kleer``: the package imports its public names on
first use, the match command runs without the API, and the one-to-one assignment needs no
scipy import — with the same names, results and bytes as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import Workbench, suggestions_csv
from workbench.matching import as_table
from workbench.matching.assign import _components
from workbench.matching.lsap import linear_sum_assignment

from .test_matching_why import SETTINGS, generated

HEAVY = ("workbench.api", "workbench.apply", "workbench.store", "workbench.kleer.client",
         "workbench.display", "httpx", "scipy.optimize", "scipy.sparse", "streamlit")


def _loaded_after(code: str) -> list[str]:
    """The HEAVY modules a fresh Python holds after running ``code``."""
    probe = code + f"\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_public_name_is_there_and_is_the_defining_modules_own():
    from workbench.api import Workbench as api_workbench
    from workbench.api_types import Settings
    from workbench.matching.settings import MatchSettings
    from workbench.model import Plan
    from workbench.offline_match import match_files

    assert all(getattr(workbench, name) is not None for name in workbench.__all__)
    assert (workbench.Workbench, workbench.Settings, workbench.MatchSettings, workbench.Plan,
            workbench.match_files) == (api_workbench, Settings, MatchSettings, Plan, match_files)
    assert workbench.Workbench.match_files is match_files
    assert set(workbench.__all__) <= set(dir(workbench))
    with pytest.raises(AttributeError):
        workbench.NoSuchThing  # noqa: B018


def test_importing_the_package_and_its_matching_names_loads_nothing_heavy():
    assert _loaded_after("import workbench") == []
    assert _loaded_after("from workbench import MatchSettings, match_files, suggestions_csv, "
                         "InputError") == []
    # the API itself is there when asked for (and never streamlit)
    loaded = _loaded_after("from workbench import Workbench")
    assert "workbench.api" in loaded and "streamlit" not in loaded


def test_the_match_command_runs_without_the_api_and_writes_what_the_api_path_writes(tmp_path):
    hr, kleer = generated(300, seed=5)
    hr.to_csv(tmp_path / "hr.csv", index=False)
    kleer.to_csv(tmp_path / "kleer.csv", index=False)
    (tmp_path / "settings.json").write_text(SETTINGS.to_json(), encoding="utf-8")
    out = tmp_path / "out.csv"
    loaded = _loaded_after(
        "from workbench.cli import main\n"
        f"assert main(['match', '--hr', {str(tmp_path / 'hr.csv')!r}, '--kleer', "
        f"{str(tmp_path / 'kleer.csv')!r}, '--settings', {str(tmp_path / 'settings.json')!r}, "
        f"'--out', {str(out)!r}]) == 0")
    assert loaded == []
    frame = Workbench.match_files(tmp_path / "hr.csv", tmp_path / "kleer.csv", SETTINGS)
    assert isinstance(frame["evidence"].iloc[0], list)  # the API's default: evidence dicts
    want = Workbench.csv_bytes(as_table(frame))
    assert out.read_bytes() == want
    assert suggestions_csv(frame) == want
    assert len(pd.read_csv(out)) == len(frame) > 100


def test_the_match_program_ends_without_freeing_its_heap_but_with_every_byte_written(tmp_path):
    """Run as a program, the offline match ends at once after writing (cli._exit_now): its
    standard output (a pipe) and its file still hold every byte, and the exit code is 0; called
    from Python, main() returns (the test above)."""
    import subprocess
    import sys

    hr, kleer = generated(300, seed=6)
    hr.to_csv(tmp_path / "hr.csv", index=False)
    kleer.to_csv(tmp_path / "kleer.csv", index=False)
    args = [sys.executable, "-m", "workbench", "match", "--hr", str(tmp_path / "hr.csv"),
            "--kleer", str(tmp_path / "kleer.csv")]
    piped = subprocess.run(args, capture_output=True)
    to_file = subprocess.run(args + ["--out", str(tmp_path / "out.csv")], capture_output=True)
    assert piped.returncode == to_file.returncode == 0
    written = (tmp_path / "out.csv").read_bytes()
    want = Workbench.csv_bytes(as_table(Workbench.match_files(tmp_path / "hr.csv",
                                                              tmp_path / "kleer.csv")))
    assert written == want and len(pd.read_csv(tmp_path / "out.csv")) > 100
    assert piped.stdout == want.decode("utf-8-sig").encode("utf-8")  # all of it, no BOM
    assert b"assigned" in piped.stderr.splitlines()[-1]  # the summary line, flushed


def test_a_program_that_keeps_freed_memory_gets_its_pages_back_without_the_system():
    """keep_freed_memory: a freed 200 MiB array stays in the process for the next one (glibc),
    where without it the pages go back to the system (and are faulted in again)."""
    import subprocess
    import sys

    script = ("import sys, numpy as np\n"
              "from workbench.bulk import keep_freed_memory\n"
              "took = keep_freed_memory() if sys.argv[1] == 'keep' else None\n"
              "a = np.ones(200 << 17); del a\n"
              "import pyarrow as pa\n"
              "print(took, int(open('/proc/self/statm').read().split()[1]) * 4096 >> 20,\n"
              "      pa.default_memory_pool().backend_name)\n")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    kept = subprocess.run([sys.executable, "-c", script, "keep"], capture_output=True, text=True,
                          env=env)
    plain = subprocess.run([sys.executable, "-c", script, "plain"], capture_output=True,
                           text=True, env=env)
    took, kept_mib, pool = kept.stdout.split()
    assert took == "True"
    assert int(kept_mib) - int(plain.stdout.split()[1]) >= 150  # the 200 MiB stayed
    # arrow's arrays come from the same C heap then, and only then
    assert pool == "system" and plain.stdout.split()[2] != "system"
    chosen = subprocess.run([sys.executable, "-c", script, "keep"], capture_output=True,
                            text=True, env={**env, "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"})
    assert chosen.stdout.split()[2] == "mimalloc"  # a pool the user chose is kept


def _scipy_components(k: np.ndarray, h: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ki, ku = pd.factorize(k)
    hi, hu = pd.factorize(h)
    n = len(ku) + len(hu)
    graph = coo_matrix((np.ones(len(k)), (ki, hi + len(ku))), shape=(n, n))
    return connected_components(graph, directed=False)[1][ki]


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_components_are_the_connected_components_scipy_finds():
    rng = np.random.default_rng(7)
    for trial in range(300):
        m, nk, nh = (int(x) for x in rng.integers(1, 60, size=3))
        k, h = rng.integers(0, nk, m) * 3 + 100, rng.integers(0, nh, m)  # any ids
        assert _same_partition(_components(k, h), _scipy_components(k, h)), trial
    # a long chain (k0-h0-k1-h1-…): one component
    n = 5000
    k = np.concatenate([np.arange(n), np.arange(1, n)])
    h = np.concatenate([np.arange(n), np.arange(n - 1)])
    assert len(set(_components(k, h).tolist())) == 1
    assert len(_components(np.array([], dtype=int), np.array([], dtype=int))) == 0


def test_the_assignment_function_is_scipys_own_even_on_ties():
    from scipy.optimize import linear_sum_assignment as scipy_lsa

    rng = np.random.default_rng(11)
    for trial in range(500):
        matrix = rng.integers(0, 3, size=tuple(rng.integers(1, 6, size=2))).astype(float)
        for maximize in (True, False):
            got, want = linear_sum_assignment(matrix, maximize=maximize), \
                scipy_lsa(matrix, maximize=maximize)
            assert all(np.array_equal(a, b) for a, b in zip(got, want)), trial
    assert _loaded_after("import numpy as np\nfrom workbench.matching.lsap import "
                         "linear_sum_assignment as f\nassert f(np.eye(3), maximize=True)[1]"
                         ".tolist() == [0, 1, 2]") == []
