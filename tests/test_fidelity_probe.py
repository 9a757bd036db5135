"""The probe through the facade and the CLI (L: the detected dialect is stored and the client is
built with it; the Settings page's probe is in test_page_settings.py), and answers nobody foresaw: a malformed answer in the middle of
an apply fails that one operation with one line, the batch closes, and the CLI prints one line."""

from __future__ import annotations

import http.server
import json
import threading

import httpx
import pytest

from workbench.api import Workbench
from workbench.cli import main
from workbench.kleer.schema import Dialect

from .sync_support import close_workbench, kleer_json, open_workbench, person, seed_hr, seed_snapshot


@pytest.fixture
def wb_sim(wb, kleer_sim, monkeypatch):
    wb.update_settings(kleer_base_url=kleer_sim.base_url, kleer_company_id=kleer_sim.company_id)
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    return wb


# --------------------------------------------------------------------------- L: the probe

@pytest.mark.every_dialect
def test_the_probe_stores_the_dialect_and_the_client_is_built_with_it(wb_sim, kleer_sim,
                                                                       kleer_dialect):
    assert wb_sim.settings.kleer_dialect is None
    report = wb_sim.probe()
    spoken = Dialect.parse(kleer_dialect)
    stored = wb_sim.settings.kleer_dialect
    assert stored == report.dialect and stored["no_contract_status"] == spoken.no_contract_status
    assert (stored["created"], stored["updated"]) == (spoken.created, spoken.updated)
    with wb_sim.kleer_client(token=kleer_sim.token) as client:
        assert client.dialect == Dialect.parse(stored)
        assert client.get_contract(5) is None  # user 5 has no contract: read in this dialect
    last = wb_sim.workspace.audit.frame().iloc[0]
    assert (last["event"], last["action"]) == ("settings", "probe")
    throwaway = next(u for u in kleer_sim.dump()["users"] if u["id"] == report.throwaway_user_id)
    assert throwaway["active"] is False


def test_without_a_probe_the_client_reads_no_contract_by_404_only(wb_sim, kleer_sim):
    kleer_sim.set_dialect("strict-xml")  # answers 400 for a missing contract
    with wb_sim.kleer_client(token=kleer_sim.token) as client:
        with pytest.raises(Exception, match="400"):
            client.get_contract(5)
    wb_sim.probe()
    with wb_sim.kleer_client(token=kleer_sim.token) as client:
        assert client.get_contract(5) is None


def test_cli_probe_prints_each_point_and_stores_the_dialect(wb_sim, kleer_sim, capsys):
    assert main(["probe", "--workspace", wb_sim.workspace.path]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("user/me: ok - assumed GET /user/me answers the token's user; "
                               "observed user 1")
    point_lines = [line for line in lines if " - assumed " in line]
    assert len(point_lines) == 11 and all("; observed " in line for line in point_lines)
    assert "dialect stored: strict=True, created=created, updated=empty" in out
    assert "deactivated" in out and kleer_sim.token not in out
    with Workbench(wb_sim.workspace.path) as again:
        assert again.settings.kleer_dialect["created"] == "created"


def test_cli_probe_refuses_production_unless_told(wb, monkeypatch, capsys):
    wb.update_settings(kleer_base_url="https://api.kleer.se/v1")
    monkeypatch.setenv("KLEER_TOKEN", "t0ken-not-used")
    assert main(["probe", "--workspace", wb.workspace.path]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "production (api.kleer.se)" in err and "--production" in err
    assert wb.settings.kleer_dialect is None


def test_cli_settings_take_the_fidelity_flags(wb, capsys):
    path = wb.workspace.path
    assert main(["settings", "--workspace", path, "--salary-unit", "ore",
                 "--salary-unit-confirmed", "yes", "--internal-id-writes", "ja",
                 "--kleer-dialect", '{"name": "strict", "no_contract_status": 400}']) == 0
    out = capsys.readouterr().out
    assert "salary_unit            öre" in out and "salary_unit_confirmed  True" in out
    assert "no_contract_status=400" in out
    with Workbench(path) as again:
        s = again.settings
        assert (s.salary_unit, s.salary_unit_confirmed, s.internal_id_writes) == ("öre", True, True)
        assert s.kleer_dialect["no_contract_status"] == 400
    assert main(["settings", "--workspace", path, "--kleer-dialect", "none",
                 "--salary-unit-confirmed", "maybe"]) == 1
    assert "salary unit confirmed is yes or no" in capsys.readouterr().err


# --------------------------------------------------------------------------- malformed answers

class OneBadAnswer(httpx.BaseTransport):
    """The simulator over real HTTP, except that ``GET path`` is answered ``body``."""

    def __init__(self, path: str, body: bytes, content_type: str = "application/json"):
        self._real, self.path, self.body, self.type = httpx.HTTPTransport(), path, body, content_type

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith(self.path):
            return httpx.Response(200, content=self.body, headers={"content-type": self.type})
        return self._real.handle_request(request)

    def close(self) -> None:
        self._real.close()


@pytest.mark.every_dialect
@pytest.mark.parametrize("body", [b'{"id": "abc", "name": "X"}', b"[null]", b"<html>proxy</html>"],
                         ids=["id-abc", "list", "html"])
def test_a_bad_answer_mid_apply_fails_that_operation_and_the_batch_closes(
        workspace_path, kleer_sim, body):
    hr = [person(i, phone=f"+4670111000{i}") for i in range(3)]
    pairs = [kleer_json(person(i), i + 1) for i in range(3)]
    kind = "text/html" if body.startswith(b"<") else "application/json"
    wb = open_workbench(workspace_path, kleer_sim, hr, pairs,
                        transport=OneBadAnswer("/user/2", body, kind))
    try:
        for i in range(3):
            wb.workspace.links.add(f"E000{i}", i + 1, analyst="Ada", method="manual")
        wb.decide([{"hr_id": f"E000{i}", "action": "export"} for i in range(3)])
        result = wb.apply(wb.plan("export"))
        assert result.counts_dict == {"done": 2, "failed": 1}
        [problem] = result.problems
        assert problem.op_id == "export:E0001:kleer_update" and "\n" not in problem.reason
        assert problem.reason.startswith("Kleer's answer to GET /user/2 cannot be read")
        batch = wb.batches().set_index("id").loc[result.batch_id]
        assert batch["status"] == "incomplete" and batch["counts"] == {"done": 2, "failed": 1}
        assert kleer_sim.state()["writes"] == {"upsert_contract": 2}  # nothing for user 2
    finally:
        close_workbench(wb)


@pytest.mark.parametrize("kleer_dialect", ["lenient"], indirect=True)
def test_a_user_kleer_holds_without_email_fails_its_update_with_one_line(workspace_path, kleer_sim):
    user, contract = kleer_json(person(0), 1)
    del user["email"]  # an older Kleer user: the whole-user update has no email to send
    wb = open_workbench(workspace_path, kleer_sim, [person(0, last_name="Nyström",
                                                           private_email=None)],
                        [(user, contract)])
    try:
        wb.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
        wb.decide(hr_id="E0000", action="export")
        result = wb.apply(wb.plan("export"))
        [problem] = result.problems
        assert problem.status == "failed" and "\n" not in problem.reason
        assert problem.reason.startswith("Kleer's answer could not be used (ValueError: a user "
                                         "update must carry email: re-read the user)")
        assert wb.batches().iloc[0]["status"] == "incomplete"
        assert kleer_sim.state()["writes"] == {}
    finally:
        close_workbench(wb)


class GarbageKleer:
    """A "Kleer" on 127.0.0.1 that answers ``answers[(method, path)]`` (status, content type,
    body) and 404 otherwise: what a misconfigured base URL or a changed API looks like."""

    def __init__(self, answers: dict[tuple[str, str], tuple[int, str, bytes]]):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                status, kind, body = outer.answers.get((self.command, self.path),
                                                       (404, "application/json", b'{"message": "Not found"}'))
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args) -> None:
                pass

        self.answers = answers
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def garbage(monkeypatch):
    monkeypatch.setenv("KLEER_TOKEN", "garbage-token")
    servers = []

    def start(answers):
        servers.append(GarbageKleer(answers))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def test_cli_fetch_kleer_prints_one_line_for_a_malformed_list(wb, garbage, capsys):
    kleer = garbage({("GET", "/v1/company/1/user"): (
        200, "application/json", json.dumps({"users": [{"id": 1}, {"id": "abc"}]}).encode())})
    wb.update_settings(kleer_base_url=kleer.base_url)
    assert main(["fetch-kleer", "--workspace", wb.workspace.path]) == 1
    captured = capsys.readouterr()
    assert captured.err == ("error: Kleer's answer to GET /user cannot be read: users[1] has 'id' "
                            "\"abc\", not a whole number (check the base URL in Settings; if it is "
                            "right, Kleer changed its answers: run the probe)\n")
    assert "Traceback" not in captured.out and wb.counts()["kleer"] == 0


def test_cli_apply_prints_the_failed_operation_and_closes_the_batch(wb, garbage, tmp_path, capsys):
    kleer = garbage({("GET", "/v1/company/1/user/1"): (200, "text/html", b"<html>login</html>")})
    wb.update_settings(kleer_base_url=kleer.base_url)
    hr = person(0, phone="+46701112233")
    seed_hr(wb.workspace, [hr])
    seed_snapshot(wb.workspace, [kleer_json(person(0), 1)])
    wb.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
    wb.decide(hr_id="E0000", action="export")
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(wb.plan("export").to_json())
    assert main(["apply", str(plan_path), "--workspace", wb.workspace.path]) == 3
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert any(line.startswith("batch ") and "1 failed" in line
               for line in captured.out.splitlines())
    [row] = [line for line in captured.out.splitlines() if "cannot be read" in line]
    assert row.split()[:2] == ["export:E0000:kleer_update", "kleer_update"]
    assert "Kleer's answer to GET /user/1 cannot be read: text/html, not JSON" in row
    assert wb.batches().iloc[0]["status"] == "incomplete"
