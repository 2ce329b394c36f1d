"""签到 is the busiest path: a burst of a whole bureau within minutes, each check-in committed
before its answer. These tests pin what it costs in round trips to the database, and that
the cheaper statements still store what the ledger and the retry logic need."""

from __future__ import annotations

import sys

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from storage.models import Attendance, Branch, PointEntry, ProcessedMessage, RuleSet

from .conftest import counting
from .factories import bind_chat, make_branch, make_member, seed

# The quick lane (storage.checkin): one SELECT of member, binding, activity and attendance
# row, then the attendance, ledger and delivery inserts: on PostgreSQL the three go as one
# statement (storage.prepared.Writes), on SQLite one by one. One more is a regression worth
# a look (the general path took 8).
CHECK_IN_STATEMENTS = {"sqlite": 4, "postgresql": 2}

# The quick lane's own Python, counted as the statements are: the functions it calls (its
# own and those in C) for a check-in once its statements are compiled. Its CPU, not its
# SQL, is what held the rate down (docs/benchmarks.md); a count does not vary with the
# machine as a timing does. Python 3.11's counts; the lane took 333 and 420 before its
# statements were bound without generators and its times written and read once each, 222
# and 372 before it read the words 签到 once for a burst rather than once a check-in.
CHECK_IN_CALLS = {"sqlite": 180, "postgresql": 330}


def _bureau(engine) -> None:
    def build(session):
        branch = make_branch(session, "一支部")
        make_member(session, branch, "李书记", role="secretary", wecom="sec")
        make_member(session, branch, "王五", wecom="m1")
        bind_chat(session, branch, "g1")

    seed(engine, build)


def test_a_check_in_costs_a_fixed_number_of_statements_and_a_retry_one(runtime, chat):
    _bureau(runtime.engine)
    chat.say("sec", "开始 党日", chat="g1")

    with counting(runtime.engine) as seen:
        first = chat.say("m1", "签到", chat="g1", message_id="msg-1")
    assert "签到成功" in first.text
    assert len(seen.statements) == CHECK_IN_STATEMENTS[runtime.engine.dialect.name], (
        seen.statements)

    with counting(runtime.engine) as seen:
        again = chat.say("m1", "签到", chat="g1", message_id="msg-1")
    assert again == first
    # The quick lane's one SELECT finds the row and gives way; the stored reply is read.
    assert len(seen.statements) == 2, seen.statements


def test_the_check_in_row_points_and_stored_reply_are_all_committed(runtime, chat):
    _bureau(runtime.engine)
    chat.say("sec", "开始 党日", chat="g1")
    reply = chat.say("m1", "签到", chat="g1", message_id="msg-1")

    with Session(runtime.engine) as s:
        row = s.exec(select(Attendance)).one()
        entry = s.exec(select(PointEntry)).one()
        stored = s.exec(select(ProcessedMessage).where(ProcessedMessage.message_id == "msg-1")).one()
        rules = s.exec(select(RuleSet).where(RuleSet.digest == runtime.rules.digest)).one()
    assert row.status == "present" and row.message_id == "msg-1"
    # The rules version is looked up inside the ledger's INSERT: it must still be the one
    # this runtime loaded, and the entry must point at the attendance row it pays for.
    assert entry.ruleset_id == rules.id
    assert entry.source_kind == "attendance" and entry.source_id == str(row.id)
    assert stored.reply["text"] == reply.text


def test_checking_in_after_asking_leave_turns_the_leave_row_into_present(runtime, chat):
    """The one check-in that updates a row rather than inserting one: leave asked, came anyway."""
    _bureau(runtime.engine)
    chat.say("sec", "开始 党日", chat="g1")
    assert "已请假" in chat.say("m1", "请假 出差", chat="g1").text

    reply = chat.say("m1", "签到", chat="g1")

    assert "签到成功" in reply.text
    with Session(runtime.engine) as s:
        row = s.exec(select(Attendance)).one()
        entry = s.exec(select(PointEntry)).one()
    assert row.status == "present" and row.checked_in_at is not None
    assert entry.source_id == str(row.id) and entry.rule.startswith("attendance.present")


def test_a_check_in_s_own_python_stays_within_its_budget(runtime, chat, monkeypatch):
    _bureau(runtime.engine)
    chat.say("sec", "开始 党日", chat="g1")
    chat.say("sec", "签到", chat="g1")  # the statements compiled, the lane's first run
    dispatcher = runtime.dispatcher
    quick = type(dispatcher).quick
    counted: list[int] = []

    def counting_calls(self, conn, message):
        calls = 0

        def count(frame, event, arg):
            nonlocal calls
            calls += event in ("call", "c_call")

        sys.setprofile(count)
        try:
            return quick(self, conn, message)
        finally:
            sys.setprofile(None)
            counted.append(calls)

    monkeypatch.setattr(type(dispatcher), "quick", counting_calls)
    reply = chat.say("m1", "签到", chat="g1")

    assert "签到成功" in reply.text
    assert len(counted) == 1, "the check-in did not go by the quick lane"
    assert counted[0] <= CHECK_IN_CALLS[runtime.engine.dialect.name], counted


@pytest.fixture
def tracer(runtime):
    """An operator's tracing hook, as OpenTelemetry's SQLAlchemy one: a span opened before
    each statement goes to the driver, closed after it."""
    opened: list[str] = []
    closed: list[str] = []

    def before(conn, cursor, sql, parameters, context, executemany):
        opened.append(sql)

    def after(conn, cursor, sql, parameters, context, executemany):
        closed.append(sql)

    event.listen(runtime.engine, "before_cursor_execute", before)
    event.listen(runtime.engine, "after_cursor_execute", after)
    yield opened, closed
    event.remove(runtime.engine, "before_cursor_execute", before)
    event.remove(runtime.engine, "after_cursor_execute", after)


def test_a_tracing_hook_sees_the_end_of_every_statement_a_check_in_sends(runtime, chat, tracer):
    """Before, the check-in's statements went to the driver's cursor past SQLAlchemy: an
    after_cursor_execute listener never saw them end (every span of a check-in left open),
    nor the 【请假待批准】 queued for the 书记. With such a listener the check-in takes the
    general path, and the statements still sent straight are sent through SQLAlchemy."""
    runtime.dispatcher.settings = runtime.settings.model_copy(
        update={"leave_requires_approval": True})
    _bureau(runtime.engine)
    seed(runtime.engine, lambda s: make_member(s, s.exec(select(Branch)).one(), "赵六",
                                               wecom="m2"))
    chat.say("sec", "开始 党日", chat="g1")
    opened, closed = tracer
    opened.clear(), closed.clear()

    assert "签到成功" in chat.say("m1", "签到", chat="g1").text
    assert "请假" in chat.say("m2", "请假 出差", chat="g1").text

    # The check-in's points, and the 书记's message: both seen to the end.
    assert any("INSERT INTO pointentry" in sql for sql in closed), closed
    assert any("INSERT INTO outbox" in sql for sql in closed), closed
    assert closed == opened
    with Session(runtime.engine) as s:
        assert s.exec(select(Attendance.status)).all() == ["present", "leave"]
        assert len(s.exec(select(PointEntry)).all()) == 1
