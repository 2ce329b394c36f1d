"""请假改到明天: a member moving leave already asked to another day. Leave has no such
change: the reply says how (销假, then 请假 that day), and nothing is recorded."""

from __future__ import annotations

from sqlmodel import Session, func, select

from storage.models import Attendance, LeavePeriod
from tests.conftest import local
from tests.test_figures import night_studies, run_ticks


def leave_on_record(engine) -> tuple:
    with Session(engine) as s:
        return (s.exec(select(Attendance.activity_id, Attendance.status, Attendance.leave_reason)
                       ).all(),
                s.exec(select(func.count()).select_from(LeavePeriod)).one())


def test_leave_said_moved_to_another_day_is_answered_how_and_changes_nothing(
        runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))  # Monday
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))
    assert not chat.say("li", "请假 出差").is_error
    before = leave_on_record(runtime.engine)
    for said, day in (("请假改到明天", "明天"), ("请假 改到周四", "周四"),
                      ("请假时间改成明天 值班", "明天")):
        reply = chat.say("li", said)
        # It was leave for today and tomorrow (到明天), two days, with the reason 改.
        assert reply.is_error, (said, reply.text)
        assert "没有记请假" in reply.text and "「销假」" in reply.text, reply.text
        assert f"「请假 {day} " in reply.text, reply.text
        assert leave_on_record(runtime.engine) == before, said
    # What follows 调到 that is no day stays a reason.
    assert not chat.say("li", "请假 调到市局培训").is_error
