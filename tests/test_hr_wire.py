"""The HR side end to end: --map through the CLI, the mapping remembered per header, what a
reload changes (API and CLI, --yes and refusal), the HR changes per batch and since a date
(analysts only, audited), and the round trip: load an export, import from the Kleer simulator
with Create new user and Prefer Kleer, download the HR changes and read them back with the same
loader."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date, timedelta

import openpyxl
import pytest

from workbench import Workbench
from workbench.cli import main
from workbench.errors import AccessError, InputError, ReloadNotConfirmed, SourceError
from workbench.fields import FIELD
from workbench.sources import read_hr
from workbench.store import Workspace

# --------------------------------------------------------------------------- files

ODD = "Nummer;Namn;Familjenamn;Mejl\r\nA1;Anna;Berg;anna@firma.se\r\nA2;Bo;Ek;bo@firma.se\r\n"
ODD_MAP = ["hr_id=Nummer", "first_name=Namn", "Last name=familjenamn", "work_email=Mejl"]

FIRST = "hr_id,first_name,last_name,phone\nE1,Anna,Berg,070-111 11 11\nE2,Bo,Ek,070-222 22 22\nE3,Cia,Lind,\n"
SECOND = "hr_id,first_name,last_name,phone\nE1,Anna,Berg,070-999 99 99\nE3,Cia,Lind,\nE4,Dan,Ny,\n"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The real `workbench` command in a subprocess (stdin is not a terminal)."""
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True,
                          text=True, input=stdin or "", timeout=120)


def audit_rows(path, action: str) -> list[dict]:
    with Workspace(path) as ws:
        return [dict(r, detail=json.loads(r["detail"])) for r in
                ws.query("SELECT * FROM audit WHERE action = ? ORDER BY id", [action])]


# --------------------------------------------------------------------------- --map

def test_map_through_the_cli_loads_a_file_no_alias_reads_and_the_next_export_reuses_it(tmp_path):
    ws = tmp_path / "w.db"
    src = tmp_path / "odd.csv"
    src.write_bytes(ODD.encode("cp1252"))
    refused = cli("load-hr", str(src), "--workspace", str(ws))
    assert refused.returncode == 1 and "required columns are missing" in refused.stderr
    args = [a for m in ODD_MAP for a in ("--map", m)]
    done = cli("load-hr", str(src), "--workspace", str(ws), *args)
    assert done.returncode == 0, done.stderr
    assert "2 employees loaded" in done.stdout and "remembered" not in done.stdout
    with Workspace(ws) as w:
        assert w.hr.get("A1")["last_name"] == "Berg" and w.hr.get("A2")["work_email"] == "bo@firma.se"
    # the next export: same header, columns moved and in other case, no --map
    nxt = tmp_path / "next.csv"
    nxt.write_bytes("MEJL;Nummer;Namn;Familjenamn\r\ncia@firma.se;A3;Cia;Lind\r\n".encode("cp1252"))
    again = cli("load-hr", str(nxt), "--workspace", str(ws), "--yes")
    assert again.returncode == 0, again.stderr
    assert "note: Used the mapping remembered for this header" in again.stdout
    assert "Nummer → HR id" in again.stdout and "loading odd.csv" in again.stdout
    with Workspace(ws) as w:
        assert w.hr.get("A3")["work_email"] == "cia@firma.se" and w.hr.get("A3")["last_name"] == "Lind"


@pytest.mark.parametrize("pairs, message", [
    (["hr_id=Anställningsnr"], "--map: the column mapping names columns the file does not have: "
                               "'Anställningsnr'; the file's columns are: Nummer, Namn, Familjenamn, Mejl"),
    (["hrid=Nummer"], "--map: the column mapping names unknown fields: hrid; known fields: hr_id,"),
    (["hr_id=Nummer", "hr_id=Namn"], "--map: more than one column is mapped to the same field "
                                     "(HR id: Nummer, Namn); map one of them to nothing"),
    (["Nummer"], "--map: 'Nummer' is not FIELD=COLUMN; write e.g. --map hr_id=Anställningsnummer"),
])
def test_a_bad_map_is_refused_in_one_line_and_nothing_is_loaded(tmp_path, capsys, pairs, message):
    src = tmp_path / "odd.csv"
    src.write_bytes(ODD.encode("utf-8"))
    ws = tmp_path / "w.db"
    assert main(["load-hr", str(src), "--workspace", str(ws), *[a for p in pairs for a in ("--map", p)]]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: " + message) and err.count("\n") == 1
    with Workspace(ws) as w:
        assert w.hr.count() == 0 and w.hr_loads.count() == 0


# --------------------------------------------------------------------------- the remembered mapping

def test_the_mapping_is_remembered_per_header_used_for_the_next_file_and_said(wb):
    mapping = wb.parse_mapping(ODD_MAP, wb.peek_headers(ODD.encode(), name="odd.csv"))
    wb.load_hr(ODD.encode(), name="odd.csv", mapping=mapping)
    kept = wb.workspace.hr_mappings.get(read_hr(ODD.encode(), name="odd.csv", mapping=mapping).signature)
    assert kept["mapping"] == {"Nummer": "hr_id", "Namn": "first_name", "Familjenamn": "last_name",
                               "Mejl": "work_email"} and kept["updated_by"] == "Test Analyst"
    other = "Familjenamn;Namn;nummer;Mejl\r\nEk;Bo;A2;bo@ek.se\r\n".encode()
    hr = wb.read_hr(other, name="other.csv")
    assert hr.mapping == {"Familjenamn": "last_name", "Namn": "first_name", "nummer": "hr_id",
                          "Mejl": "work_email"}
    assert hr.notes[0].startswith("Used the mapping remembered for this header (saved ")
    assert "loading odd.csv" in hr.notes[0]
    # a different header is not touched by it, and reading without remembering is possible
    assert wb.read_hr(FIRST.encode(), name="first.csv").notes == []
    with pytest.raises(SourceError, match="required columns are missing"):
        wb.read_hr(other, name="other.csv", remembered=False)


def test_a_mapping_set_back_to_the_aliases_is_forgotten(wb):
    text = "hr_id,first_name,last_name,Telefon\nE1,Anna,Berg,070-1111111\n"
    wb.load_hr(text.encode(), name="a.csv", mapping={"Telefon": None})
    assert wb.read_hr(text.encode(), name="a.csv").mapping["Telefon"] is None
    wb.load_hr(text.encode(), name="a.csv", mapping={"Telefon": "phone"}, confirm=True)
    again = wb.read_hr(text.encode(), name="a.csv")
    assert again.mapping["Telefon"] == "phone" and again.notes == []
    assert wb.workspace.hr_mappings.count() == 0


# --------------------------------------------------------------------------- what a reload changes

def test_a_reload_shows_its_difference_and_loads_only_when_confirmed(wb):
    wb.load_hr(FIRST.encode(), name="first.csv")  # an empty workspace: no question
    wb.workspace.links.add("E2", 42, method="manual", analyst="Test Analyst")
    preview = wb.preview_hr(SECOND.encode(), name="second.csv")
    assert preview.needs_confirmation and preview.employees == 3
    d = preview.diff
    assert (d.new, list(d.changed), d.missing, d.kept) == (("E4",), ["E1"], (), ("E2",))
    assert [(c.key, c.before, c.after) for c in d.changed["E1"]] == [("phone", "+46701111111", "+46709999999")]
    assert preview.summary().splitlines() == [
        "1 new, 1 changed, 1 unchanged, 1 missing from the file (1 linked to Kleer, kept).",
        "New: E4", "Changed E1: Phone: '+46701111111' → '+46709999999'",
        "Missing but linked (kept): E2", "Linked employees missing from the file are kept."]
    before = wb.hr_employees()
    with pytest.raises(ReloadNotConfirmed, match="the workspace has 3 HR employees and this file "
                                                 "changes them") as refused:
        wb.load_hr(SECOND.encode(), name="second.csv")
    assert refused.value.preview.token == preview.token
    assert wb.hr_employees().equals(before)
    result = wb.load_hr(preview.file, expect=preview.token)
    assert (result.added, result.updated, result.removed) == (1, 2, 0)
    assert wb.workspace.hr.get("E1")["phone"] == "+46709999999" and wb.workspace.hr.get("E2")
    reload = audit_rows(wb.workspace.path, "load_hr")[-1]["detail"]["reload"]
    assert reload == {"new": 1, "changed": 1, "missing": 0, "kept": 1, "confirmation": "preview confirmed"}


def test_a_confirmation_covers_only_the_change_it_was_shown(wb):
    wb.load_hr(FIRST.encode(), name="first.csv")
    preview = wb.preview_hr(SECOND.encode(), name="second.csv")
    wb.workspace.hr.update("E3", {"last_name": "Moved"})  # someone else changed the workspace
    with pytest.raises(InputError, match="changed since the preview you confirmed"):
        wb.load_hr(preview.file, expect=preview.token)
    assert wb.workspace.hr.get("E4") is None
    assert wb.preview_hr(preview.file).token != preview.token


def test_the_same_file_again_needs_no_confirmation_and_remove_missing_spares_linked(wb):
    wb.load_hr(FIRST.encode(), name="first.csv")
    assert not wb.preview_hr(FIRST.encode(), name="first.csv").needs_confirmation
    wb.load_hr(FIRST.encode(), name="first.csv")
    wb.workspace.links.add("E2", 42, method="manual", analyst="Test Analyst")
    preview = wb.preview_hr(SECOND.encode(), name="second.csv", remove_missing=True)
    result = wb.load_hr(SECOND.encode(), name="second.csv", remove_missing=True, expect=preview.token)
    assert result.removed == 0 and wb.workspace.hr.get("E2") is not None  # linked: kept
    third = "hr_id,first_name,last_name\nE1,Anna,Berg\n"
    preview = wb.preview_hr(third.encode(), name="third.csv", remove_missing=True)
    assert preview.diff.missing == ("E3", "E4") and "will be REMOVED" in preview.summary()
    assert wb.load_hr(third.encode(), name="third.csv", remove_missing=True, confirm=True).removed == 2


def test_personal_numbers_in_the_difference_are_masked_unless_revealed(wb):
    wb.load_hr(b"hr_id,first_name,last_name,ssn\nE1,Anna,Berg,19850312-1231\n", name="a.csv")
    preview = wb.preview_hr(b"hr_id,first_name,last_name,ssn\nE1,Anna,Berg,19900101-0017\n", name="b.csv")
    assert "19900101-0017" not in preview.summary() and "19900101-0017" in preview.summary(reveal=True)
    assert "19850312-1231" not in preview.frame().to_string()


def test_the_cli_prints_the_difference_and_refuses_without_a_terminal_unless_yes(tmp_path):
    ws, first, second = tmp_path / "w.db", tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(FIRST, encoding="utf-8")
    second.write_text(SECOND, encoding="utf-8")
    assert cli("load-hr", str(first), "--workspace", str(ws)).returncode == 0
    refused = cli("load-hr", str(second), "--workspace", str(ws))
    assert refused.returncode == 1
    assert "1 new, 1 changed, 1 unchanged, 1 missing from the file (0 linked to Kleer, kept)." in refused.stdout
    assert "Changed E1: Phone: '+46701111111' → '+46709999999'" in refused.stdout
    assert refused.stderr == ("error: the file changes the workspace's HR employees (above) and there "
                              "is no terminal to ask: run again with --yes to load it\n")
    with Workspace(ws) as w:
        assert w.hr.get("E4") is None and w.hr.get("E1")["phone"] == "+46701111111"
    loaded = cli("load-hr", str(second), "--workspace", str(ws), "--yes")
    assert loaded.returncode == 0, loaded.stderr
    assert "3 employees loaded (1 new, 2 updated)" in loaded.stdout
    with Workspace(ws) as w:
        assert w.hr.get("E4")["first_name"] == "Dan" and w.hr.get("E2") is not None  # kept


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer, loaded", [("n\n", False), ("ja\n", True)])
def test_the_cli_asks_on_a_terminal(tmp_path, monkeypatch, capsys, answer, loaded):
    ws, first, second = tmp_path / "w.db", tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(FIRST, encoding="utf-8")
    second.write_text(SECOND, encoding="utf-8")
    assert main(["load-hr", str(first), "--workspace", str(ws)]) == 0
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    assert main(["load-hr", str(second), "--workspace", str(ws)]) == (0 if loaded else 1)
    out = capsys.readouterr().out
    assert "Load this file into the workspace? [y/N]" in out
    assert ("nothing loaded" in out) is not loaded
    with Workspace(ws) as w:
        assert (w.hr.get("E4") is not None) is loaded


def test_the_cli_says_which_email_it_assumed_and_which_column_is_the_id(tmp_path, capsys):
    src = tmp_path / "hr.csv"
    src.write_text("Anställningsnummer;Förnamn;Efternamn;E-postadress\n17;Anna;Berg;anna@gmail.com\n"
                   "18;Bo;Ek;bo@hotmail.com\n", encoding="utf-8")
    assert main(["load-hr", str(src), "--workspace", str(tmp_path / "w.db")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: ")]
    assert any("'E-postadress'" in n and "private email" in n for n in notes), notes
    assert any("the employee number (column 'Anställningsnummer') is used as the HR id" in n
               for n in notes), notes


# --------------------------------------------------------------------------- HR changes: the round trip

@pytest.fixture
def imported(kleer_sim, tmp_path):
    """An HR export (cp1252, semicolons, Swedish headers) of Kleer users 1–4, 6 and 8 as the simulator
    has them, except E00001's phone and private email and E00002's street; loaded, Kleer
    fetched over HTTP, then two import batches: Prefer Kleer for users 1 and 2, and Create new
    user for user 9 (not in the HR file)."""
    wb = Workbench(tmp_path / "w.db", analyst="Ada")
    wb.update_settings(kleer_base_url=kleer_sim.base_url, kleer_company_id=kleer_sim.company_id)
    client = kleer_sim.client()
    wb.connect(client)
    wb.fetch_kleer()
    kleer = wb.kleer_employees().set_index("kleer_id")
    header = ("Anställd-ID;Förnamn;Efternamn;Personnummer;Privat e-post;E-post;Telefon;Gatuadress;"
              "Postnummer;Ort;Anställningsdatum;Månadslön;Avdelning")
    lines = [header]
    for kid in (1, 2, 3, 4, 6, 8):  # 5 has no payroll contract
        k = kleer.loc[kid]
        email, phone, street = k["email"], k["phone"], k["street"]
        if kid == 1:
            email, phone = "erik.p@gmail.com", "070-555 55 55"
        if kid == 2:
            street = "Gamla vägen 9"
        lines.append(";".join(map(str, [k["foreign_id"], k["first_name"], k["last_name"], k["ssn"],
                                        email, f"{k['first_name'].lower()}@exempel.se", phone, street,
                                        k["zip_code"], k["city"], k["employment_start_date"],
                                        int(k["monthly_salary"]), "Ekonomi"])))
    export = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    wb.load_hr(export, name="personal.csv")
    wb.decide(kleer_id=1, action="prefer_kleer", hr_id="E00001")
    wb.decide(kleer_id=2, action="prefer_kleer", hr_id="E00002")
    first = wb.apply(wb.plan("import", ["1", "2"]))
    wb.decide(kleer_id=9, action="create_in_hr")
    second = wb.apply(wb.plan("import", ["9"]))
    assert first.ok and second.ok and not any(kleer_sim.state()["writes"].values())  # import: HR only
    yield wb, export, first, second, kleer
    wb.close()
    client.close()


def by_id(data: bytes, name: str) -> dict[str, dict]:
    return {r["hr_id"]: {k: r.get(k) for k in FIELD} for r in read_hr(data, name=name).records}


def test_round_trip_the_hr_changes_read_back_hold_exactly_the_changed_values(imported):
    wb, export, first, second, kleer = imported
    data = wb.hr_changes()
    assert data.decode("cp1252").splitlines()[0] == (
        "Anställd-ID;Förnamn;Efternamn;Personnummer;Privat e-post;E-post;Telefon;Gatuadress;"
        "Postnummer;Ort;Anställningsdatum;Månadslön")  # the export's own header; Avdelning left out
    before, after = by_id(export, "personal.csv"), by_id(data, "hr-changes.csv")
    assert list(after) == ["E00001", "E00002", "E00009"]
    held = set(read_hr(export, name="personal.csv").fields)  # the file's columns, read back
    changed = {h: {k: v for k, v in rec.items() if k in held and (h not in before or before[h][k] != v)}
               for h, rec in after.items()}
    assert changed["E00001"] == {"private_email": kleer.loc[1, "email"], "phone": kleer.loc[1, "phone"]}
    assert changed["E00002"] == {"street": kleer.loc[2, "street"]}
    k9 = kleer.loc[9]
    assert {k: changed["E00009"].get(k) for k in ("first_name", "last_name", "ssn", "private_email",
                                                  "phone", "street", "city", "employment_start_date")} == {
        "first_name": k9["first_name"], "last_name": k9["last_name"], "ssn": k9["ssn"],
        "private_email": k9["email"], "phone": k9["phone"], "street": k9["street"], "city": k9["city"],
        "employment_start_date": k9["employment_start_date"]}
    assert changed["E00009"]["monthly_salary"] == int(k9["monthly_salary"])
    # and what came back is what the workspace's HR register now holds
    for hr_id, record in after.items():
        stored = wb.workspace.hr.get(hr_id)
        assert all(FIELD[k].compare(stored[k], v) for k, v in record.items() if k in held)
    # Prefer Kleer also filled fields the HR file has no column for: named, not written
    assert "has no column for (left out): Country, Employee number, Tax table" in \
        wb.hr_change_set().summary()


def test_hr_changes_per_batch_and_since_a_date(imported):
    wb, _, first, second, _ = imported
    only_first = by_id(wb.hr_changes(batch=first.batch_id), "a.csv")
    assert list(only_first) == ["E00001", "E00002"]
    assert list(by_id(wb.hr_changes(batch=second.batch_id), "b.csv")) == ["E00009"]
    assert list(by_id(wb.hr_changes(since=date.today()), "c.csv")) == ["E00001", "E00002", "E00009"]
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(InputError, match=f"No HR changes since {tomorrow}"):
        wb.hr_changes(since=tomorrow)
    with pytest.raises(InputError, match="give a batch or a date"):
        wb.hr_changes(batch=first.batch_id, since=date.today())
    found = wb.hr_change_set(batch=first.batch_id)
    assert (found.created, found.updated) == ((), ("E00001", "E00002"))
    assert found.changed["E00001"][:2] == ("private_email", "phone")
    assert set(found.changed["E00001"][2:]) == set(found.missing_columns)  # Kleer-only fields


def test_only_the_changed_columns_plus_the_id_and_xlsx(imported):
    wb, _, first, _, kleer = imported
    data = wb.hr_changes(batch=first.batch_id, only_changed_columns=True, format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows == [["Anställd-ID", "Privat e-post", "Telefon", "Gatuadress"],
                    ["E00001", kleer.loc[1, "email"], kleer.loc[1, "phone"], kleer.loc[1, "street"]],
                    ["E00002", kleer.loc[2, "email"], kleer.loc[2, "phone"], kleer.loc[2, "street"]]]
    assert all(c.data_type == "s" for r in sheet.iter_rows() for c in r)


def test_viewers_are_refused_and_every_file_made_is_audited(imported):
    wb, _, first, _, _ = imported
    wb.role = "viewer"
    before = wb.counts()["audit"]
    with pytest.raises(AccessError, match=r"your role \(viewer\) cannot have the HR changes"):
        wb.hr_changes(batch=first.batch_id)
    with pytest.raises(AccessError):
        wb.hr_change_set()
    assert wb.counts()["audit"] == before
    wb.role = "analyst"
    data = wb.hr_changes(batch=first.batch_id, only_changed_columns=True)
    row = audit_rows(wb.workspace.path, "hr_changes")[-1]
    assert (row["event"], row["analyst"]) == ("download", "Ada")
    assert row["detail"] | {} == {"batch": first.batch_id, "since": None, "format": "csv",
                                  "only_changed_columns": True, "employees": 2,
                                  "hr_ids": ["E00001", "E00002"], "created": 0, "updated": 2,
                                  "bytes": len(data), "masked": False}


def test_a_reverted_create_is_listed_to_remove_by_hand(imported):
    wb, _, _, second, _ = imported
    revert = wb.revert(second.batch_id)
    assert revert.ok and wb.workspace.hr.get("E00009") is None
    found = wb.hr_change_set(since=date.today())
    assert found.gone == ("E00009",) and [r["hr_id"] for r in found.records] == ["E00001", "E00002"]
    assert "remove them in the HR system by hand): E00009" in found.summary()


def test_the_cli_writes_the_hr_changes_per_batch_and_since_a_date(imported, capsys):
    wb, _, first, _, _ = imported
    out = wb.workspace.path.replace("w.db", "changes.xlsx")
    ws = ["--workspace", wb.workspace.path]
    assert main(["hr-changes", "--batch", first.batch_id, "--out", out, *ws]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("2 employees changed in batch " + first.batch_id)
    assert list(by_id(open(out, "rb").read(), "changes.xlsx")) == ["E00001", "E00002"]
    csv_out = out.replace(".xlsx", ".csv")
    assert main(["hr-changes", "--since", date.today().isoformat(), "--out", csv_out, *ws]) == 0
    assert list(by_id(open(csv_out, "rb").read(), "changes.csv")) == ["E00001", "E00002", "E00009"]
    assert main(["hr-changes", "--since", "1 March", "--out", csv_out, *ws]) == 1
    assert "since must be a date like 2026-03-01" in capsys.readouterr().err
    assert len(audit_rows(wb.workspace.path, "hr_changes")) == 2


def test_without_a_loaded_file_there_is_no_shape_to_write_in(wb):
    wb.workspace.hr.upsert([{"hr_id": "E1", "first_name": "A", "last_name": "B"}], source="x")
    with pytest.raises(InputError, match="does not know the HR file's shape"):
        wb.hr_changes()
