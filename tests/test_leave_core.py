"""The leave core: type mapping, keys, expansion to days, holidays and the diff (pure)."""

from datetime import date
from decimal import Decimal

import pytest

from workbench.errors import InputError
from workbench.leave import (OP_CREATE, OP_DELETE, OP_UPDATE, DayStatus, Leave, LeaveTypeMapping,
                             ScheduleGap, day_key, default_mapping, diff_leave, expand,
                             parse_day_key, parse_events, revert_op, schedule_from_kleer)
from workbench.leave.holidays import easter, swedish_holidays
from workbench.leave.types import parse_kleer_type

D = date


def sched(start, end, weekday_hours=Decimal("8.00"), holidays=()):
    out, day = {}, start
    while day <= end:
        out[day] = Decimal(0) if day.weekday() >= 5 or day in holidays else weekday_hours
        day = date.fromordinal(day.toordinal() + 1)
    return out


# ------------------------------------------------------------------ types

def test_default_mapping_knows_swedish_and_english_names_case_insensitively():
    m = default_mapping()
    assert m.lookup("sjuk").kleer_type == "Sick"
    assert m.lookup("  VAB ").kleer_type == "Childcare" and m.lookup("VAB").needs_child
    assert m.lookup("Parental leave").kleer_type == "ParentalLeave"
    assert m.lookup("Semester").activity == "Semester"
    assert m.lookup("Friskvårdstimme") is None


def test_mapping_round_trips_through_json_and_refuses_bad_rules():
    m = default_mapping().with_rule("Friskvårdstimme", "OTHER_LEAVE")
    back = LeaveTypeMapping.from_json(m.to_json())
    assert back == m and back.lookup("friskvårdstimme").kleer_type == "OtherLeave"
    assert back.lookup("Friskvårdstimme").activity == "Övrig frånvaro"
    with pytest.raises(InputError, match="not a Kleer payroll-event type"):
        m.with_rule("X", "Holiday")
    with pytest.raises(InputError, match="WorkHour"):
        m.with_rule("X", "WorkHour")
    with pytest.raises(InputError, match="mapped twice"):
        LeaveTypeMapping.from_dict({"rules": [{"hr_type": "Sjuk", "kleer_type": "Sick", "activity": "Sjuk"},
                                              {"hr_type": "SJUK", "kleer_type": "Sick", "activity": "Sjuk"}]})
    with pytest.raises(InputError, match="version"):
        LeaveTypeMapping.from_dict({"version": 9, "rules": []})


def test_kleer_type_accepts_every_casing_seen():
    assert parse_kleer_type("VACATION") == "Vacation"
    assert parse_kleer_type("LEAVE_OF_ABSENCE") == "LeaveOfAbsence"
    assert parse_kleer_type("WorkHour") == "WorkHour"
    assert parse_kleer_type("Semester") is None


# ------------------------------------------------------------------ keys and holidays

def test_day_key_is_deterministic_and_parses_back_with_colons_in_the_leave_id():
    key = day_key("hr", "L:17", D(2026, 11, 3))
    assert key == "hr:L:17:2026-11-03" == day_key("hr", "L:17", D(2026, 11, 3))
    assert parse_day_key(key) == ("hr", "L:17", D(2026, 11, 3))
    assert parse_day_key("toki-1-2-3-99") is None
    with pytest.raises(InputError):
        day_key("h:r", "L1", D(2026, 1, 1))


def test_swedish_holidays():
    assert easter(2026) == D(2026, 4, 5) and easter(2025) == D(2025, 4, 20)
    h = swedish_holidays(2026)
    assert h[D(2026, 4, 3)] == "Långfredagen" and h[D(2026, 5, 14)] == "Kristi himmelsfärdsdag"
    assert h[D(2026, 6, 19)] == "Midsommarafton" and h[D(2026, 10, 31)] == "Alla helgons dag"
    assert D(2026, 11, 2) not in h


# ------------------------------------------------------------------ expansion

def leave(**kw):
    base = dict(leave_id="L1", hr_id="E1", hr_type="Sjuk", start=D(2026, 11, 5), end=D(2026, 11, 10),
                kleer_type="Sick", activity="Sjuk")
    base.update(kw)
    return Leave(**base)


def test_expand_skips_zero_hour_days_and_takes_actual_hours():
    days = expand(leave(), sched(D(2026, 11, 1), D(2026, 11, 30)), hr_system="hr")
    assert [d.day.day for d in days] == [5, 6, 9, 10]  # 7, 8 are a weekend
    assert {d.hours for d in days} == {Decimal("8.00")}
    assert days[0].key == "hr:L1:2026-11-05"


def test_expand_partial_percent_and_hours_per_day_on_a_part_timer_with_a_holiday():
    schedule = sched(D(2026, 5, 11), D(2026, 5, 15), Decimal("6.00"), holidays={D(2026, 5, 14)})
    half = expand(leave(start=D(2026, 5, 11), end=D(2026, 5, 15), percent=Decimal(50)), schedule, hr_system="hr")
    assert [(d.day.day, d.hours) for d in half] == [(11, Decimal("3.00")), (12, Decimal("3.00")),
                                                   (13, Decimal("3.00")), (15, Decimal("3.00"))]
    per_day = expand(leave(start=D(2026, 5, 11), end=D(2026, 5, 12), percent=None,
                           hours_per_day=Decimal(7)), schedule, hr_system="hr")
    assert [d.hours for d in per_day] == [Decimal("6.00"), Decimal("6.00")]  # never more than the day


def test_expand_window_cancelled_unmapped_and_gap():
    schedule = sched(D(2026, 11, 1), D(2026, 11, 30))
    assert [d.day.day for d in expand(leave(), schedule, hr_system="hr",
                                      window=(D(2026, 11, 9), D(2026, 11, 30)))] == [9, 10]
    assert expand(leave(status="cancelled"), schedule, hr_system="hr") == []
    assert expand(leave(kleer_type=None, activity=None), schedule, hr_system="hr") == []
    with pytest.raises(ScheduleGap, match="2026-11-30"):
        expand(leave(end=D(2026, 12, 1)), {d: h for d, h in schedule.items() if d.day < 30}, hr_system="hr")


def test_schedule_from_kleer_reads_actual_hours():
    answer = {"payroll-user-schedule-metadatas": [
        {"date": "2026-11-02", "level-of-employment": 0.5, "gross-hours": 8, "net-hours": 4, "actual-hours": 4}]}
    assert schedule_from_kleer(answer) == {D(2026, 11, 2): Decimal("4.00")}


# ------------------------------------------------------------------ diff

ACT = {"Sjuk": 101, "Semester": 102}


def kleer_event(event_id, key, day, hours=8, activity=101, user=7, status="OPEN"):
    return {"id": {"id": event_id}, "foreign-id": key, "user": {"id": user}, "activity": {"id": activity},
            "date": day, "hours": hours, "comment": "Sjuk", "status": {"type": status,
            "registration-user": {"id": 1}, "registration-date": "2026-11-30"}}


def desired(**kw):
    return expand(leave(**kw), sched(D(2026, 11, 1), D(2026, 11, 30)), hr_system="hr")


def test_diff_creates_new_days_and_leaves_equal_ones_alone():
    days = desired()
    existing = parse_events({"event-readables": [kleer_event(1, days[0].key, "2026-11-05")]})
    d = diff_leave(days, existing, hr_system="hr", user_of={"E1": 7}, activity_ids=ACT, managed_leaves={"L1"})
    assert [o.day.day for o in d.creates] == [6, 9, 10] and d.unchanged == [days[0].key]
    op = d.creates[0]
    assert op.kind == OP_CREATE and op.payload == {
        "foreign-id": "hr:L1:2026-11-06", "user": {"id": 7}, "activity": {"id": 101},
        "date": "2026-11-06", "hours": 8.0, "comment": "Sjuk"}


def test_diff_updates_a_changed_day_deletes_a_shortened_one_and_keeps_foreign_events():
    days = desired(end=D(2026, 11, 6), percent=Decimal(50))
    existing = parse_events([kleer_event(1, "hr:L1:2026-11-05", "2026-11-05"),
                             kleer_event(2, "hr:L1:2026-11-06", "2026-11-06"),
                             kleer_event(3, "hr:L1:2026-11-09", "2026-11-09"),
                             kleer_event(4, "hr:L9:2026-11-09", "2026-11-09"),   # a leave not in the file
                             kleer_event(5, "manual-entry", "2026-11-09")])
    d = diff_leave(days, existing, hr_system="hr", user_of={"E1": 7}, activity_ids=ACT, managed_leaves={"L1"})
    assert [(o.kind, o.event_id, o.payload["hours"]) for o in d.updates] == [(OP_UPDATE, 1, 4.0), (OP_UPDATE, 2, 4.0)]
    assert [(o.kind, o.event_id, o.hr_id) for o in d.deletes] == [(OP_DELETE, 3, "E1")]
    assert d.updates[0].before["hours"] == 8


def test_diff_cancelled_leave_deletes_its_days_and_duplicates_keep_the_lowest_id():
    existing = parse_events([kleer_event(8, "hr:L1:2026-11-05", "2026-11-05"),
                             kleer_event(3, "hr:L1:2026-11-05", "2026-11-05")])
    d = diff_leave(desired(status="cancelled"), existing, hr_system="hr", user_of={"E1": 7},
                   activity_ids=ACT, managed_leaves={"L1"})
    assert sorted(o.event_id for o in d.deletes) == [3, 8]
    d = diff_leave(desired(start=D(2026, 11, 5), end=D(2026, 11, 5)), existing, hr_system="hr",
                   user_of={"E1": 7}, activity_ids=ACT, managed_leaves={"L1"})
    assert [o.event_id for o in d.deletes] == [8] and d.unchanged == ["hr:L1:2026-11-05"]


def test_diff_locked_days_are_conflicts_with_kleers_reason():
    days = desired()
    existing = parse_events([kleer_event(1, days[0].key, "2026-11-05", hours=4, status="APPROVED")])
    locked = {(7, D(2026, 11, 6)): DayStatus(D(2026, 11, 6), "Certified", 3, "2026-11-30")}
    d = diff_leave(days, existing, hr_system="hr", user_of={"E1": 7}, activity_ids=ACT,
                   managed_leaves={"L1"}, day_status=locked)
    assert [(c.day.day, c.wanted, c.status) for c in d.conflicts] == [(5, OP_UPDATE, "Approved"),
                                                                     (6, OP_CREATE, "Certified")]
    assert "only Open days can be changed" in d.conflicts[1].reason and "user 3" in d.conflicts[1].reason
    assert [o.day.day for o in d.creates] == [9, 10] and not d.updates


def test_diff_blocks_unlinked_employees_and_missing_activities_per_leave():
    d = diff_leave(desired(), [], hr_system="hr", user_of={}, activity_ids=ACT, managed_leaves={"L1"})
    assert d.empty and len(d.blocked) == 1 and d.blocked[0].days == 4
    assert "link the employee first" in d.blocked[0].reason
    d = diff_leave(desired(activity="VAB", kleer_type="Childcare"), [], hr_system="hr",
                   user_of={"E1": 7}, activity_ids=ACT, managed_leaves={"L1"})
    assert d.empty and "no activity named 'VAB'" in d.blocked[0].reason


def test_revert_undoes_each_kind():
    days = desired(end=D(2026, 11, 5))
    create = diff_leave(days, [], hr_system="hr", user_of={"E1": 7}, activity_ids=ACT,
                        managed_leaves={"L1"}).creates[0]
    undo = revert_op(create, new_event_id=42)
    assert (undo.kind, undo.event_id) == (OP_DELETE, 42)
    existing = parse_events([kleer_event(1, "hr:L1:2026-11-05", "2026-11-05", hours=2)])
    update = diff_leave(days, existing, hr_system="hr", user_of={"E1": 7}, activity_ids=ACT,
                        managed_leaves={"L1"}).updates[0]
    back = revert_op(update)
    assert back.kind == OP_UPDATE and back.payload["hours"] == 2.0 and back.payload["foreign-id"] == update.key
    delete = diff_leave([], existing, hr_system="hr", user_of={"E1": 7}, activity_ids=ACT,
                        managed_leaves={"L1"}).deletes[0]
    again = revert_op(delete)
    assert again.kind == OP_CREATE and again.payload["date"] == "2026-11-05" and again.payload["user"] == {"id": 7}
