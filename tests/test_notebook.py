"""The example notebook: notebooks/reconcile.ipynb runs top to bottom in a real Jupyter
kernel (nbclient + ipykernel) against a temporary workspace and the Kleer simulator, and leaves
the workspace and Kleer as it says: certain matches linked, the employees only HR knew created in
Kleer (those Kleer cannot take blocked), every decision and write audited, a progress bar per
apply, and neither the token nor an unmasked personnummer in any output."""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workbench import Workbench
from workbench.fields import join_name

from .conftest import DEMO, ROOT

NOTEBOOK = ROOT / "notebooks" / "reconcile.ipynb"
KERNEL = "kleer-workbench-test"
ANALYST = "Notebook Analyst"


@pytest.fixture
def run_notebook(tmp_path, monkeypatch):
    """Execute the notebook in a fresh kernel of this interpreter; returns the executed notebook.

    The kernelspec is written to a temporary folder (on JUPYTER_PATH) and names ``sys.executable``,
    so the kernel is the venv's Python whether or not the venv is activated and whatever kernels
    the user has installed. The kernel starts in notebooks/, as Jupyter starts it."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Kleer Workbench (test)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("WORKBENCH_HR_FILE", raising=False)

    def run() -> nbformat.NotebookNode:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(nb, kernel_name=KERNEL, timeout=120,
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
        return nb

    return run


def outputs(nb: nbformat.NotebookNode) -> list[tuple[int, dict]]:
    """(code cell number, output) for every output of the executed notebook."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    return [(i, o) for i, cell in enumerate(code) for o in cell.outputs]


def output_text(output: dict) -> str:
    """Everything an output shows, in all its formats."""
    if output["output_type"] == "stream":
        return output["text"]
    if output["output_type"] == "error":
        return "\n".join(output["traceback"])
    return "\n".join(v if isinstance(v, str) else json.dumps(v) for v in output["data"].values())


def all_text(nb: nbformat.NotebookNode) -> str:
    return "\n".join(output_text(o) for _, o in outputs(nb))


def progress_bars(nb: nbformat.NotebookNode) -> list[str]:
    """The final state of every progress bar (as its plain-text form)."""
    return [o["data"]["text/plain"] for _, o in outputs(nb) if o["output_type"] == "display_data"
            and o["data"].get("text/plain", "").startswith("Applying plan-")]


# --------------------------------------------------------------------------- the stored file

def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the notebook has no code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert "widgets" not in nb.metadata
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= len(code) // 2  # narrated


def test_the_notebook_uses_only_the_workbench_api():
    """Notebooks are a front over ``Workbench`` like the pages and the CLI: no core module
    reached into (the simulator is the stand-in for Kleer, not part of the workbench)."""
    imported = set()
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("workbench"):
                imported |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("workbench") for a in node.names)
    assert imported == {"workbench.Workbench", "workbench.InputError",
                        "workbench.kleer.simulator.RunningSimulator"}


# --------------------------------------------------------------------------- a run

def test_the_notebook_reconciles_the_demo_against_the_configured_kleer(
        run_notebook, kleer_sim, workspace_path, monkeypatch):
    kleer_sim.reset(DEMO / "kleer_seed.json")
    seed_users = len(json.loads((DEMO / "kleer_seed.json").read_text())["users"])
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_path))
    monkeypatch.setenv("KLEER_BASE_URL", kleer_sim.base_url)
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    monkeypatch.setenv("KLEER_COMPANY_ID", str(kleer_sim.company_id))
    monkeypatch.setenv("WORKBENCH_ANALYST", ANALYST)

    nb = run_notebook()
    text = all_text(nb)
    assert "the local simulator" not in text  # it used the Kleer it was given

    with Workbench(workspace_path) as wb:
        hr = wb.hr_employees()
        suggestions = wb.suggestions()
        certain = suggestions[suggestions["assigned"].astype(bool)
                              & (suggestions["band"] == "certain")]
        certain_pairs = set(zip(certain["kleer_id"].astype(int), certain["hr_id"]))
        assert len(certain_pairs) > 200

        # decisions: every certain match accepted, every HR-only employee exported, by the analyst
        decisions = wb.workspace.frame("SELECT * FROM decisions")
        imports = decisions[decisions["side"] == "import"]
        assert set(zip(imports["kleer_id"].astype(int), imports["hr_id"])) == certain_pairs
        assert set(imports["action"]) == {"prefer_hr"}
        # the likely and possible matches are left for review: neither accepted nor exported
        assigned = suggestions[suggestions["assigned"].astype(bool)]
        to_review = set(assigned.loc[assigned["band"] != "certain", "hr_id"])
        assert to_review  # the demo has matches to review
        only_in_hr = set(hr["hr_id"]) - {h for _, h in certain_pairs} - to_review
        exports = decisions[decisions["side"] == "export"]
        assert set(exports["subject_id"]) == only_in_hr and set(exports["action"]) == {"export"}
        assert set(decisions["analyst"]) == {ANALYST}

        # the two applies: links for the certain pairs; HR-only employees created or blocked
        batches = wb.batches()
        assert list(batches["status"]) == ["done", "done"]
        journal = wb.workspace.frame("SELECT * FROM journal")
        export_ops = journal[journal["op_id"].str.startswith("export:")]
        created = set(export_ops.loc[export_ops["status"] == "done", "hr_id"])
        blocked = export_ops[export_ops["status"] == "skipped"]
        assert created | set(blocked["hr_id"]) == only_in_hr and created and len(blocked)
        assert blocked["error"].str.startswith("blocked: ").all()
        bad_ssn = {r["hr_id"] for r in hr.to_dict("records")
                   if r["hr_id"] in only_in_hr and "ssn" in json.loads(r["problems"] or "{}")}
        assert bad_ssn and bad_ssn <= set(blocked["hr_id"])
        links = {r["hr_id"]: int(r["kleer_id"]) for r in wb.links().to_dict("records")}
        # the import plan also applies the proposed default of every likely match (prefer HR)
        likely_pairs = set(zip(assigned.loc[assigned["band"] == "likely", "kleer_id"].astype(int),
                               assigned.loc[assigned["band"] == "likely", "hr_id"]))
        assert {(k, h) for h, k in links.items() if h not in created} == certain_pairs | likely_pairs
        assert len(links) == len(certain_pairs) + len(likely_pairs) + len(created)

        # Kleer: exactly one new user per created employee, carrying its HR id and personnummer
        dump = kleer_sim.dump()
        assert len(dump["users"]) == seed_users + len(created)
        by_foreign_id = Counter(u.get("foreign-id") for u in dump["users"])
        contracts = {c["user"]["id"]: c for c in dump["payroll-user-readables"]}
        users = {u["id"]: u for u in dump["users"]}
        for hr_id in created:
            row = wb.workspace.hr.get(hr_id)
            user = users[links[hr_id]]
            assert by_foreign_id[hr_id] == 1 and user["foreign-id"] == hr_id
            assert user["name"] == join_name(row["first_name"], row["last_name"])
            assert contracts[user["id"]]["ssn"] == row["ssn"]
        assert not set(blocked["hr_id"]) & set(by_foreign_id)
        assert kleer_sim.state()["writes"]["create_user"] == len(created)

        # the audit: every decision and every operation, by the analyst
        audit = wb.audit()
        events = Counter(audit["event"])
        assert events["decision"] == len(certain_pairs) + len(only_in_hr)
        assert events["operation"] == len(journal)
        assert Counter(audit.loc[audit["event"] == "apply", "action"]) == {"start": 2, "finish": 2}
        assert set(audit.loc[audit["event"].isin(["decision", "operation"]), "analyst"]) == {ANALYST}

        # what the reader saw: a bar per apply, run to the end; the refused table explained
        ops_per_batch = journal.groupby("batch_id").size()
        bars = progress_bars(nb)
        assert len(bars) == 2
        for bar in bars:
            plan_id = re.match(r"Applying (plan-\w+): (\d+) of (\d+)", bar)
            assert plan_id and plan_id[2] == plan_id[3]
            assert int(plan_id[3]) == ops_per_batch["batch-" + plan_id[1].removeprefix("plan-")]
        # the apply that wrote to Kleer showed its live concurrency with its last operation
        assert any(re.search(r"· concurrency \d+ \(adaptive", bar) for bar in bars)
        refused = next(output_text(o) for _, o in outputs(nb) if "refused" in output_text(o))
        assert "nothing was saved" in refused and "row 0 (999999)" in refused
        assert "unknown action 'promote'" in refused
        htmls = [o["data"]["text/html"] for _, o in outputs(nb) if "text/html" in o.get("data", {})]
        assert any("blocked</strong>" in h and "no valid personnummer" in h for h in htmls)

        # and nothing secret in any output
        assert kleer_sim.token not in text
        for ssn in hr["ssn"].dropna():
            if len(ssn) == 13:  # a canonical personnummer
                assert ssn not in text, "an unmasked personnummer is in the notebook's output"


def test_a_new_user_runs_it_as_is_against_its_own_simulator(run_notebook, monkeypatch):
    for name in ("WORKBENCH_WORKSPACE", "KLEER_BASE_URL", "KLEER_TOKEN", "KLEER_COMPANY_ID"):
        monkeypatch.delenv(name, raising=False)
    nb = run_notebook()
    text = all_text(nb)
    assert "(the local simulator)" in text
    workspace = Path(re.search(r"Workbench\('([^']+)'", text)[1])
    try:
        with Workbench(workspace) as wb:
            assert list(wb.batches()["status"]) == ["done", "done"]
            created = wb.workspace.frame("SELECT hr_id FROM journal WHERE op_id LIKE 'export:%' "
                                         "AND status = 'done'")
            confident = wb.suggestions().query("assigned == 1 and band in ('certain', 'likely')")
            assert wb.counts()["linked"] == len(confident) + len(created) > len(confident)
            assert not wb.settings.kleer_base_url.startswith("https://")  # never a real Kleer
    finally:
        shutil.rmtree(workspace.parent, ignore_errors=True)
