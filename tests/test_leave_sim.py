"""The simulator's leave endpoints over real HTTP on 127.0.0.1, driven by the leave client
functions through a real KleerClient; and the whole diff → apply → rerun loop against them."""

import socket
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
import uvicorn

from workbench.errors import KleerRejected, KleerUnavailable
from workbench.kleer import leave_client as lc
from workbench.kleer.client import KleerClient, Retry
from workbench.kleer.leave_sim import make_leave_app
from workbench.leave import Leave, diff_leave, expand

D = date
TOKEN = "leave-token"


@pytest.fixture
def leave_sim(tmp_path):
    app = make_leave_app(tmp_path / "sim.db", token=TOKEN, company_id=3, today=D(2026, 12, 1), me=1)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    client = KleerClient(base_url=f"http://127.0.0.1:{port}/v1", company_id=3, token=TOKEN,
                         retries=Retry(attempts=2, backoff=0.01, max_backoff=0.02))
    yield app.state.leave, client
    client.close()
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_schedule_has_part_time_and_swedish_holidays(leave_sim):
    store, client = leave_sim
    store.set_schedule(7, level=0.5)
    days = lc.schedule(client, 7, D(2026, 4, 2), D(2026, 4, 6))  # Långfredag 3/4, Annandag påsk 6/4
    assert days == {D(2026, 4, 2): Decimal("4.00"), D(2026, 4, 3): Decimal(0), D(2026, 4, 4): Decimal(0),
                    D(2026, 4, 5): Decimal(0), D(2026, 4, 6): Decimal(0)}
    raw = client._request("GET", "/payroll/user/7/schedule/2026-04-03/to/2026-04-03")
    assert raw == {"payroll-user-schedule-metadatas": [{"date": "2026-04-03", "level-of-employment": 0.5,
                   "gross-hours": 8.0, "net-hours": 4.0, "actual-hours": 0.0}]}


def test_event_write_rules(leave_sim):
    store, client = leave_sim
    acts = lc.activity_ids(client)
    body = {"foreign-id": "hr:L1:2026-11-02", "user": {"id": 7}, "activity": {"id": acts["Sjuk"]},
            "date": "2026-11-02", "hours": 8.0, "comment": "Sjuk"}
    with pytest.raises(KleerUnavailable, match="Tekniskt fel"):
        client._request("PUT", "/event", {k: v for k, v in body.items() if k != "foreign-id"})
    with pytest.raises(KleerRejected, match="requires a child"):
        lc.create_event(client, {**body, "activity": {"id": acts["VAB"]}})
    with pytest.raises(KleerRejected, match="comment is required"):
        lc.create_event(client, {k: v for k, v in body.items() if k != "comment"})
    event_id = lc.create_event(client, body)
    (event,) = lc.list_events(client, 7, D(2026, 11, 1), D(2026, 11, 30))
    assert (event.id, event.foreign_id, event.hours, event.status.status) == (event_id, body["foreign-id"],
                                                                               Decimal("8.00"), "Open")
    assert lc.payroll_events(client, 7, D(2026, 11, 1), D(2026, 11, 30)) == [
        {"id": event_id, "date": "2026-11-02", "hours": 8.0, "type": "SICK", "comment": "Sjuk"}]
    assert lc.update_event(client, event_id, {**body, "hours": 4.0}) == event_id
    assert lc.find_events_by_key(client, 7, D(2026, 11, 2), body["foreign-id"])[0].hours == Decimal("4.00")
    store.set_status(7, D(2026, 11, 1), D(2026, 11, 30), "Approved")
    statuses = lc.event_statuses(client, 7, D(2026, 11, 2), D(2026, 11, 3))
    assert statuses[D(2026, 11, 2)].status == "Approved" and statuses[D(2026, 11, 2)].registered_by == 1
    with pytest.raises(KleerRejected, match="2026-11-02 is Approved"):
        lc.delete_event(client, event_id)
    store.set_status(7, D(2026, 11, 2), D(2026, 11, 2), "Open")
    lc.delete_event(client, event_id)
    assert lc.list_events(client, 7, D(2026, 11, 1), D(2026, 11, 30)) == []
    assert store.writes == {"create_event": 1, "update_event": 1, "delete_event": 1}


def test_wrong_token_and_company_are_refused(leave_sim):
    _, client = leave_sim
    other = KleerClient(base_url=client.base_url, company_id=4, token=TOKEN)
    with pytest.raises(KleerRejected) as e:
        other._request("GET", "/activity")
    assert e.value.status == 403
    other.close()


def _apply(client, d):
    for op in d.ops:
        if op.kind == "leave_create":
            lc.create_event(client, op.payload)
        elif op.kind == "leave_update":
            lc.update_event(client, op.event_id, op.payload)
        else:
            lc.delete_event(client, op.event_id)


def _plan(client, leaves, *, user=7):
    schedule = lc.schedule(client, user, D(2026, 11, 1), D(2026, 11, 30))
    days = [d for leave in leaves for d in expand(leave, schedule, hr_system="hr")]
    existing = lc.list_events(client, user, D(2026, 11, 1), D(2026, 11, 30))
    return diff_leave(days, existing, hr_system="hr", user_of={"E1": user},
                      activity_ids=lc.activity_ids(client), managed_leaves={l.leave_id for l in leaves},
                      day_status={(user, k): v for k, v in
                                  lc.event_statuses(client, user, D(2026, 11, 1), D(2026, 11, 30)).items()})


def test_plan_apply_rerun_change_cancel_and_locked_period(leave_sim):
    store, client = leave_sim
    store.set_schedule(7, level=0.8)
    sick = Leave("L1", "E1", "Sjuk", D(2026, 11, 5), D(2026, 11, 10), kleer_type="Sick", activity="Sjuk")
    first = _plan(client, [sick])
    assert [(o.day.day, o.payload["hours"]) for o in first.creates] == [(5, 6.4), (6, 6.4), (9, 6.4), (10, 6.4)]
    _apply(client, first)
    assert _plan(client, [sick]).empty  # a rerun sends nothing
    shorter = sick.with_(end=D(2026, 11, 6), percent=Decimal(50))
    changed = _plan(client, [shorter])
    assert (len(changed.updates), len(changed.deletes)) == (2, 2)
    _apply(client, changed)
    assert [(e.day.day, e.hours) for e in lc.list_events(client, 7, D(2026, 11, 1), D(2026, 11, 30))] == [
        (5, Decimal("3.20")), (6, Decimal("3.20"))]
    store.set_status(7, D(2026, 11, 6), D(2026, 11, 6), "Approved")
    cancel = _plan(client, [shorter.with_(status="cancelled")])
    assert [o.day.day for o in cancel.deletes] == [5]
    assert [(c.day.day, c.status) for c in cancel.conflicts] == [(6, "Approved")]
    _apply(client, cancel)
    assert [e.day.day for e in lc.list_events(client, 7, D(2026, 11, 1), D(2026, 11, 30))] == [6]
