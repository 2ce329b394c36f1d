"""代请假: leave a member asked for off-chat (phoned in, said in person), put on record by
the branch's secretary, granted by them.

What a user notices: the secretary's reply (the reason kept out of the group), the member's
one private notice, 我的请假, no nudge, the weekly report counting leave and not an
absence, the audit log naming who recorded it, 销假 taking it back; and a wrong command
saying what is wrong and changing nothing.
"""

from __future__ import annotations


import pytest
from sqlmodel import Session, func, select

from bot.config import Settings
from storage.models import Activity, Attendance, AuditEntry, LeavePeriod, Member, OutboxMessage
from tests.conftest import SHANGHAI, local
from tests.factories import make_branch, make_member, seed
from tests.test_figures import (
    djbot,  # noqa: F401 - the fixture, used by name
    drain,
    ledger_lines,
    night_studies,
    run_ticks,
)
from tests.test_figures import weekly
from tests.test_leave_approval import nudged, secretary_checks_in

TUESDAY = "政治夜学（12月8日 19:30）"


@pytest.fixture
def settings(db_url):
    # Leave waits for the 书记 here: what the 书记 records needs nobody's approval.
    return Settings(database_url=db_url, catchup_grace_minutes=60,
                    leave_requires_approval=True, _env_file=None)


@pytest.fixture
def branch(runtime, clock):
    """城关支部 (g1): 王书记 (sec), 李明 (li), 张强 (zhang); 政治夜学 Tuesdays and Thursdays
    19:30; 交警支部 with 马超. Monday 7 December, Tuesday's study planned."""
    night_studies(runtime, "每周二、周四 19:30", zhang=True)
    seed(runtime.engine, lambda s: make_member(s, make_branch(s, "交警支部"), "马超", wecom="mc"))
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))


def record(engine) -> tuple:
    """Everything recording leave could change: attendance rows, audit, outbox."""
    with Session(engine) as s:
        return (s.exec(select(Attendance.id, Attendance.status, Attendance.leave_state)).all(),
                s.exec(select(func.count()).select_from(AuditEntry)).one(),
                s.exec(select(func.count()).select_from(OutboxMessage)).one())


def told(sent, user: str) -> list[str]:
    return [text for _, kind, target, text in sent
            if kind == "leave.recorded" and target == user]


def test_phoned_in_leave_is_recorded_granted_told_once_and_counts_as_leave(
        runtime, chat, clock, branch, djbot):  # noqa: F811 - the fixture imported above
    reply = chat.say("sec", "代请假 张强 出差", message_id="m1")
    assert reply.text == f"已为 张强 登记请假：{TUESDAY}。原因：出差\n已私聊告知本人。"
    # A delivery retried: the same reply, nothing recorded or sent twice.
    assert chat.say("sec", "代请假 张强 出差", message_id="m1").text == reply.text
    with Session(runtime.engine) as s:
        sec = s.exec(select(Member).where(Member.name == "王书记")).one()
        row = s.exec(select(Attendance)).one()
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "leave.record")).one()
    # Granted, though leave waits for the 书记 here: the 书记 recorded it, on record as theirs.
    assert (row.status, row.leave_state, row.leave_reason, row.leave_decided_by) == \
        ("leave", "granted", "出差", sec.id)
    assert (audit.actor, audit.target, audit.detail["reason"]) == ("王书记", "张强", "出差")
    assert told(drain(runtime, clock), "zhang") == [
        f"【请假已登记】王书记为你登记了请假：{TUESDAY}，原因：出差。不用再发送「请假」；"
        "能参加的话，活动开始前发送「销假」，已开始的到场后直接「签到」。"]
    assert told(drain(runtime, clock), "zhang") == []  # once
    assert f"· {TUESDAY}：已准假，原因：出差" in chat.say("zhang", "我的请假").text

    clock.set(local(2026, 12, 8, 17, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 9, 22, 30),
                     before_tick=secretary_checks_in(chat))
    assert nudged(sent, "zhang") == [] and nudged(sent, "li") == ["12-08"]
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["participation"], line["leave"], line["absent"]) == ("1/2", 1, 1), line
    assert ledger_lines(chat, "zhang") == []  # no absence's penalty
    assert ledger_lines(chat, "li")  # 李明, who said nothing, is absent


def test_the_group_hears_it_done_without_the_reason_and_the_member_takes_it_back(
        runtime, chat, clock, branch):
    reply = chat.say("sec", "代请假 张强 看病", chat="g1")
    assert reply.text == "已为 张强 登记请假：政治夜学（12月8日 19:30）。已私聊告知本人。", reply.text
    back = chat.say("zhang", "销假")
    assert back.text.startswith("已销假") and TUESDAY in back.text, back.text
    with Session(runtime.engine) as s:
        assert s.exec(select(Attendance)).all() == []


@pytest.mark.parametrize("said", ["请假 张强 出差", "请假 @张强 出差", "请假 张强，出差"])
def test_leave_naming_a_member_from_the_secretary_is_recorded_for_them(
        runtime, chat, clock, branch, said):
    """请假 张强 出差 from the 书记 was refused (请假只能为自己请), and the member, told to ask
    the 书记 when he could not send it, had nobody who could record it."""
    reply = chat.say("sec", said, chat="g1")
    assert reply.text.startswith("已为 张强 登记请假：政治夜学（12月8日 19:30）"), reply.text
    with Session(runtime.engine) as s:
        zhang = s.exec(select(Member).where(Member.name == "张强")).one()
        row = s.exec(select(Attendance)).one()
    assert (row.member_id, row.leave_reason, row.leave_state) == (zhang.id, "出差", "granted")
    # From a member it is still refused: leave is one's own, or the 书记's to record.
    refused = chat.say("li", "请假 张强 出差", chat="g1")
    assert refused.is_error and "请告诉书记" in refused.text


def test_leave_naming_another_branchs_member_is_not_the_secretarys_own(
        runtime, chat, clock, branch):
    """请假 马超 出差 from 王书记, 马超 being 交警支部's: it was 王书记's own leave with the
    reason 马超 出差."""
    before = record(runtime.engine)
    reply = chat.say("sec", "请假 马超 出差")
    assert reply.is_error, reply.text
    assert reply.text == "马超 不是本支部的党员（交警支部），其请假由所在支部登记。没有记请假。"
    assert record(runtime.engine) == before
    # One's own leave whose reason starts with a word that is nobody's name is theirs still.
    assert chat.say("sec", "请假 上级 开会").text.startswith("请假已提交")


def test_during_the_activity_the_secretary_still_records_it(runtime, chat, clock, branch):
    """A member can no longer ask leave once a check-in would be late; one who phoned the
    书记 is put down as on leave while it runs."""
    run_ticks(runtime, clock, local(2026, 12, 8, 20, 0))
    own = chat.say("zhang", "请假 堵车")
    assert own.is_error and "已经开始，不能再请假" in own.text
    reply = chat.say("sec", "代请假 张强 临时出警")
    assert reply.text.startswith(f"已为 张强 登记请假：{TUESDAY}"), reply.text
    chat.say("sec", "结束", chat="g1")
    assert "请假 1、" in chat.say("sec", "活动", chat="g1").text


def test_just_after_the_activity_it_asks_which_and_the_next_is_said_with_next(
        runtime, chat, clock, branch):
    """Phoned in after Tuesday's study ended: recorded for Thursday's, it excused the wrong
    one and left Tuesday's an absence. Asked, nothing changes; 下次 says Thursday's."""
    run_ticks(runtime, clock, local(2026, 12, 8, 21, 30))
    before = record(runtime.engine)
    reply = chat.say("sec", "代请假 张强 出差")
    assert reply.is_error, reply.text
    assert reply.text == ("张强 没有在政治夜学（19:30）签到，这次活动已经结束，没有记请假。"
                          "要记这一次的请假，请发送「更正 张强 请假 原因」；要请下一次的假，"
                          "请发送「代请假 张强 下次 原因」。")
    assert record(runtime.engine) == before
    ahead = chat.say("sec", "代请假 张强 下次 出差")
    assert ahead.text.startswith("已为 张强 登记请假：政治夜学（12月10日 19:30）。原因：出差"), \
        ahead.text
    corrected = chat.say("sec", "更正 张强 请假 电话请过假")
    assert corrected.text.startswith("已将 张强 在政治夜学（19:30）的记录由未签到更正为请假"), \
        corrected.text


BAD = [
    ("sec", "代请假 王五 出差", "本支部没有找到「王五」"),
    ("sec", "代请假 马超 出差", "马超 不是本支部的党员（交警支部）"),
    ("sec", "代请假 张强", "缺少请假原因"),
    ("sec", "代请假", "缺少姓名"),
    ("sec", "代请假 王书记 开会", "不能为自己代请假：自己的请假请发送「请假 开会」"),
    ("sec", "代请假 张强 李明 出差", "代请假一次写一位同志"),
    # Leave moved (改到周四) was recorded for tonight's with the reason 改到周四 出差.
    ("sec", "代请假 张强 改到周四 出差", "请假不能直接改日期"),
    # How long, not from when: it excused tonight's with the reason 三天 出差.
    ("sec", "代请假 张强 三天 出差", "「三天」是从哪天起没写清楚"),
    ("sec", "代请假 张强 12月1日至12月3日 出差", "12月1日至12月3日已经过去了"),
    # Until when, not clear: it excused tonight's alone, the reason 出差到月底.
    ("sec", "代请假 张强 出差到月底", "「月底」是哪几天没写清楚"),
    ("sec", "代请假 张强 出差到下周", "「下周」是哪几天没写清楚"),
    ("sec", "代请假 张强 12月10日", "缺少请假原因"),
    ("li", "代请假 张强 出差", "「代请假」仅限委员、书记、领导、管理员使用"),
    ("sec", "代请假 李明 出差", "李明 已在政治夜学（12月8日 19:30）迟到，没有记请假。"
                                  "签到有误、其实请过假的，请发送「更正 李明 请假 原因」"),
]


@pytest.mark.parametrize(("who", "text", "said"), BAD)
def test_a_wrong_command_says_what_is_wrong_and_changes_nothing(
        runtime, chat, clock, branch, who, text, said):
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 30))
    chat.say("li", "签到", chat="g1")
    before = record(runtime.engine)
    reply = chat.say(who, text)
    assert reply.is_error and said in reply.text, reply.text
    assert record(runtime.engine) == before


def test_leave_waiting_for_a_decision_is_decided_not_recorded_again(runtime, chat, clock, branch):
    chat.say("zhang", "请假 出差")
    before = record(runtime.engine)
    reply = chat.say("sec", "代请假 张强 出差")
    assert reply.is_error and "正在等待批准" in reply.text and "「批准请假 张强」" in reply.text
    assert record(runtime.engine) == before


def test_leave_with_the_member_glued_before_it_is_recorded_for_them(runtime, chat, clock, branch):
    """给张强请假 出差 from the 书记, as it is said: not understood (没有这个指令), and the
    member, phoned in, was counted absent."""
    reply = chat.say("sec", "给张强请假 出差", chat="g1")
    assert reply.text == f"已为 张强 登记请假：{TUESDAY}。已私聊告知本人。", \
        reply.text
    with Session(runtime.engine) as s:
        zhang = s.exec(select(Member).where(Member.name == "张强")).one()
        row = s.exec(select(Attendance)).one()
    assert (row.member_id, row.leave_reason, row.leave_state) == (zhang.id, "出差", "granted")
    # From a member it records nothing: 代请假 is the 书记's.
    before = record(runtime.engine)
    refused = chat.say("li", "给张强请假 出差", chat="g1")
    assert refused.is_error and "仅限委员、书记、领导、管理员使用" in refused.text, refused.text
    assert record(runtime.engine) == before


def records_of(engine, name: str) -> list[tuple[str, str, str, str, bool]]:
    """The member's attendance rows: the activity's day, status, leave state, reason, and
    whether the 书记 decided it."""
    with Session(engine) as s:
        sec = s.exec(select(Member).where(Member.name == "王书记")).one()
        member = s.exec(select(Member).where(Member.name == name)).one()
        rows = s.exec(select(Attendance, Activity).join(Activity)
                      .where(Attendance.member_id == member.id)
                      .order_by(Activity.starts_at)).all()
    return [(a.starts_at.astimezone(SHANGHAI).strftime("%m-%d"), r.status, r.leave_state,
             r.leave_reason, r.leave_decided_by == sec.id) for r, a in rows]


def test_leave_for_a_later_day_phoned_in_excuses_that_days_activity_only(
        runtime, chat, clock, branch, djbot):  # noqa: F811 - the fixture imported above
    """代请假 张强 12月10日 出差 was refused (不能写日期): the 书记 could record phoned-in leave
    for tonight's or the next activity only, and Thursday's counted 张强 absent."""
    reply = chat.say("sec", "代请假 张强 12月10日 出差")
    assert reply.text == ("已为 张强 登记请假：12月10日，原因：出差。\n"
                          "这期间目前没有安排需要其参加的活动；之后安排的也记为请假。\n"
                          "已私聊告知本人。"), reply.text
    assert told(drain(runtime, clock), "zhang") == [
        "【请假已登记】王书记为你登记了请假：12月10日，原因：出差。这期间需要你参加的活动都记为请假，"
        "不用再发送「请假」；能参加的话，活动开始前发送「销假」，已开始的到场后直接「签到」。"]
    with Session(runtime.engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "leave.record")).one()
    assert (audit.actor, audit.target, audit.detail["first"], audit.detail["last"]) == \
        ("王书记", "张强", "2026-12-10", "2026-12-10")

    clock.set(local(2026, 12, 8, 17, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 11, 22, 30),
                     before_tick=secretary_checks_in(chat))
    # Thursday's is excused, Tuesday's not: the day said, not the next activity.
    assert nudged(sent, "zhang") == ["12-08"]
    assert [row[:4] for row in records_of(runtime.engine, "张强")] == [
        ("12-08", "absent", None, None), ("12-10", "leave", "granted", "出差")]
    line = weekly(djbot, "2026-W50", "城关支部")
    assert (line["leave"], line["absent"]) == (1, 3), line


def test_leave_for_tomorrow_in_the_group_names_the_activity_and_keeps_the_reason_out(
        runtime, chat, clock, branch):
    reply = chat.say("sec", "代请假 张强 明天 生病", chat="g1")
    assert reply.text == ("已为 张强 登记请假：12月8日。\n"
                          "这期间需要其参加的活动都记为请假，不会提醒其签到。\n"
                          f"已登记的 1 次：{TUESDAY}\n已私聊告知本人。"), reply.text
    # Granted, though leave waits for the 书记 here: the 书记 recorded it.
    assert records_of(runtime.engine, "张强") == [("12-08", "leave", "granted", "生病", True)]
    assert records_of(runtime.engine, "李明") == []


def test_leave_over_days_is_kept_and_excuses_each_of_them(
        runtime, chat, clock, branch):
    reply = chat.say("sec", "代请假 张强 12月8日至12月10日 出差")
    assert reply.text.startswith("已为 张强 登记请假：12月8日至12月10日（3 天），原因：出差。\n"
                                 "这期间需要其参加的活动都记为请假，不会提醒其签到。"), reply.text
    with Session(runtime.engine) as s:
        period = s.exec(select(LeavePeriod)).one()
    assert (period.first_day.isoformat(), period.last_day.isoformat(), period.leave_state,
            period.reason) == ("2026-12-08", "2026-12-10", "granted", "出差")
    clock.set(local(2026, 12, 8, 17, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 10, 22, 30),
                     before_tick=secretary_checks_in(chat))
    assert nudged(sent, "zhang") == []
    assert [row[:3] for row in records_of(runtime.engine, "张强")] == [
        ("12-08", "leave", "granted"), ("12-10", "leave", "granted")]


def test_leave_for_an_evening_excuses_that_evenings_activity(runtime, chat, clock, branch):
    reply = chat.say("sec", "代请假 张强 明天晚上 值班")
    assert reply.text.startswith("已为 张强 登记请假：12月8日晚上，原因：值班。\n"
                                 f"已登记的 1 次：{TUESDAY}"), reply.text
    assert records_of(runtime.engine, "张强") == [("12-08", "leave", "granted", "值班", True)]
    before = record(runtime.engine)
    nothing = chat.say("sec", "代请假 张强 明天上午 值班")
    assert nothing.is_error and nothing.text.startswith("12月8日上午没有需要张强参加的活动"), \
        nothing.text
    assert record(runtime.engine) == before


def undone(sent, user: str) -> list[str]:
    return [text for _, kind, target, text in sent
            if kind == "leave.recorded" and target == user and text.startswith("【请假已撤销】")]


def test_leave_recorded_by_mistake_is_taken_back_on_record_and_the_member_told(
        runtime, chat, clock, branch):
    """A 代请假 for the wrong member could be undone only by 驳回请假, which left a refusal on
    their record; 撤销代请假 张强 was the 书记's own 销假."""
    chat.say("sec", "代请假 张强 出差")
    drain(runtime, clock)
    reply = chat.say("sec", "撤销代请假 张强 记错了人")
    assert reply.text == f"已撤销为 张强 登记的请假：{TUESDAY}，仍需参加。已私聊告知本人。", reply.text
    assert records_of(runtime.engine, "张强") == []
    assert undone(drain(runtime, clock), "zhang") == [
        f"【请假已撤销】王书记撤销了为你登记的请假：{TUESDAY}。原因：记错了人。"
        "仍需参加，请按时签到；确实要请假的，请发送「请假 原因」。"]
    with Session(runtime.engine) as s:
        entries = s.exec(select(AuditEntry).where(AuditEntry.action.startswith("leave.record"))
                         .order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor, e.target) for e in entries] == [
        ("leave.record", "王书记", "张强"), ("leave.record.undo", "王书记", "张强")]
    assert (entries[1].detail["undoes"], entries[1].detail["reason"]) == (entries[0].id, "记错了人")
    # Expected again: nudged, and nothing left to undo.
    clock.set(local(2026, 12, 8, 17, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 8, 20, 30),
                     before_tick=secretary_checks_in(chat))
    assert nudged(sent, "zhang") == ["12-08"]
    again = chat.say("sec", "撤销代请假 张强")
    assert again.is_error and again.text.startswith("张强 没有可以撤销的代请假，记录保持不变。"), \
        again.text


def test_days_recorded_by_mistake_are_taken_back_whole(runtime, chat, clock, branch):
    chat.say("sec", "代请假 张强 12月8日至12月10日 出差", chat="g1")
    reply = chat.say("sec", "撤销代请假 张强", chat="g1")
    assert reply.text == (f"已撤销为 张强 登记的请假：12月8日至12月10日（其间 {TUESDAY}），"
                          "仍需参加。已私聊告知本人。"), reply.text
    with Session(runtime.engine) as s:
        assert s.exec(select(LeavePeriod)).all() == []
    assert records_of(runtime.engine, "张强") == []
    clock.set(local(2026, 12, 8, 17, 30))
    sent = run_ticks(runtime, clock, local(2026, 12, 10, 22, 30),
                     before_tick=secretary_checks_in(chat))
    assert nudged(sent, "zhang") == ["12-08", "12-10"]


def test_the_members_own_leave_is_not_undone_as_recorded(runtime, chat, clock, branch):
    chat.say("zhang", "请假 出差")
    before = record(runtime.engine)
    reply = chat.say("sec", "撤销代请假 张强")
    assert reply.is_error and "本人请的假由本人「销假」" in reply.text, reply.text
    assert record(runtime.engine) == before


def test_the_members_own_leave_inside_days_recorded_stays_when_they_are_undone(
        runtime, chat, clock, branch):
    """张强 asked Tuesday's leave himself (出差) and the 书记 then recorded the days around it
    with the same reason: 撤销代请假 took his own leave away with the days, the reply saying
    he was expected on Tuesday again."""
    chat.say("zhang", "请假 出差")
    chat.say("sec", "批准请假 张强")
    drain(runtime, clock)
    recorded = chat.say("sec", "代请假 张强 12月8日至12月10日 出差")
    # Not 「这期间目前没有安排需要其参加的活动」 above Tuesday's, which is planned.
    assert recorded.text.splitlines()[1:3] == [
        "这期间之后安排的活动也记为请假。",
        "已有记录的不变：政治夜学（12月8日 19:30）（要改请发送「更正 张强 请假 原因」或「批准请假 张强」）"], \
        recorded.text
    drain(runtime, clock)
    reply = chat.say("sec", "撤销代请假 张强")
    # Not 「仍需参加」 alone: Tuesday's is his own leave, which stays.
    assert reply.text == ("已撤销为 张强 登记的请假：12月8日至12月10日，"
                          f"其本人请的假不变：{TUESDAY}；其余仍需参加。已私聊告知本人。"), reply.text
    assert undone(drain(runtime, clock), "zhang") == [
        "【请假已撤销】王书记撤销了为你登记的请假：12月8日至12月10日。"
        f"你自己请的假不变：{TUESDAY}；其余仍需参加，请按时签到；确实要请假的，请发送「请假 原因」。"]
    assert records_of(runtime.engine, "张强") == [("12-08", "leave", "granted", "出差", True)]
    with Session(runtime.engine) as s:
        assert s.exec(select(LeavePeriod)).all() == []


def test_days_recorded_and_gone_by_are_not_undone_for_a_later_mistake(
        runtime, chat, clock, branch):
    """Tuesday's leave recorded as a day, Tuesday over and confirmed; Thursday's recorded
    too, and 张强 came after all: 撤销代请假 then removed Tuesday's period, saying he was
    expected on 12月8日 again."""
    chat.say("sec", "代请假 张强 12月8日 出差")
    run_ticks(runtime, clock, local(2026, 12, 10, 12, 0), before_tick=secretary_checks_in(chat))
    chat.say("sec", "代请假 张强 出差")
    run_ticks(runtime, clock, local(2026, 12, 10, 19, 35))
    assert "签到成功" in chat.say("zhang", "签到", chat="g1").text
    before = record(runtime.engine)
    reply = chat.say("sec", "撤销代请假 张强")
    assert reply.is_error and reply.text.startswith("张强 没有可以撤销的代请假，记录保持不变。"), \
        reply.text
    assert record(runtime.engine) == before
    with Session(runtime.engine) as s:
        assert [(p.first_day.isoformat(), p.last_day.isoformat())
                for p in s.exec(select(LeavePeriod)).all()] == [("2026-12-08", "2026-12-08")]


def test_leave_for_tonight_with_nothing_tonight_excuses_nothing(runtime, chat, clock, branch):
    """代请假 张强 今晚 值班 on a Monday with no study that evening excused Tuesday's, the reason
    「今晚 值班」, and 张强 was told he was excused on Tuesday."""
    before = record(runtime.engine)
    reply = chat.say("sec", "代请假 张强 今晚 值班")
    assert reply.is_error and reply.text.startswith("12月7日晚上没有需要张强参加的活动，没有记请假。"), \
        reply.text
    assert record(runtime.engine) == before
    # Tuesday evening, its study under way: 今晚 is that one.
    run_ticks(runtime, clock, local(2026, 12, 8, 19, 50))
    tonight = chat.say("sec", "代请假 张强 今晚 值班")
    assert tonight.text.startswith("已为 张强 登记请假：12月8日晚上，原因：值班。\n"
                                   "已登记的 1 次：政治夜学（19:30）"), tonight.text
    assert records_of(runtime.engine, "张强") == [("12-08", "leave", "granted", "值班", True)]


def test_leave_the_member_asked_again_after_taking_a_recorded_one_back_is_his_own(
        runtime, chat, clock, branch):
    """代请假 张强 出差, then 张强 销假 and asked it himself, 王书记 granting it: 撤销代请假
    took his own leave away, as the 书记's record."""
    chat.say("sec", "代请假 张强 出差")
    assert chat.say("zhang", "销假").text.startswith("已销假")
    assert chat.say("zhang", "请假 出差").text.startswith("请假已提交")
    assert chat.say("sec", "批准请假 张强").text.startswith("已批准")
    before = record(runtime.engine)
    reply = chat.say("sec", "撤销代请假 张强")
    assert reply.is_error and "本人请的假由本人「销假」" in reply.text, reply.text
    assert record(runtime.engine) == before


def test_days_undone_once_begun_name_the_days_still_to_come(runtime, chat, clock, branch):
    """Days recorded from Monday, undone on Thursday: the reply and 张强's notice said he
    was expected from Monday again, Tuesday's leave being confirmed already and staying."""
    chat.say("sec", "代请假 张强 12月7日至12月10日 出差")
    run_ticks(runtime, clock, local(2026, 12, 10, 12, 0), before_tick=secretary_checks_in(chat))
    drain(runtime, clock)
    reply = chat.say("sec", "撤销代请假 张强 记错了人")
    assert reply.text == ("已撤销为 张强 登记的请假：12月10日（其间 政治夜学（12月10日 19:30）），"
                          "仍需参加。已私聊告知本人。"), reply.text
    assert undone(drain(runtime, clock), "zhang") == [
        "【请假已撤销】王书记撤销了为你登记的请假：12月10日（其间 政治夜学（12月10日 19:30））。"
        "原因：记错了人。仍需参加，请按时签到；确实要请假的，请发送「请假 原因」。"]
    assert [row[:3] for row in records_of(runtime.engine, "张强")] == [("12-08", "leave", "granted")]


def test_the_same_days_recorded_twice_are_recognised_and_written_once(
        runtime, chat, clock, branch):
    """代请假 张强 12月8日至12月10日 出差 sent again (by another message): a second period
    was kept and 张强 told a second time."""
    chat.say("sec", "代请假 张强 12月8日至12月10日 出差")
    assert len(told(drain(runtime, clock), "zhang")) == 1
    before = record(runtime.engine)
    again = chat.say("sec", "代请假 张强 12月8日至12月10日 出差")
    assert again.text == "已登记过 张强 的请假：12月8日至12月10日，不用再登记。", again.text
    assert record(runtime.engine) == before
    with Session(runtime.engine) as s:
        assert len(s.exec(select(LeavePeriod)).all()) == 1
    assert told(drain(runtime, clock), "zhang") == []


@pytest.mark.parametrize("said", ["今晚", "今天晚上", "12月8日晚上"])
def test_leave_for_an_evening_whose_activity_has_ended_points_to_a_correction(
        runtime, chat, clock, branch, said):
    """代请假 张强 今晚 值班 at 21:40, Tuesday's study over: 「12月8日晚上没有需要张强参加的
    活动」, and 「代请假 张强 12月8日 原因」 offered, which excuses nothing."""
    run_ticks(runtime, clock, local(2026, 12, 8, 21, 40))
    before = record(runtime.engine)
    reply = chat.say("sec", f"代请假 张强 {said} 值班")
    assert reply.is_error and reply.text == (
        "政治夜学（19:30）已经结束，没有记请假。要记这一次的请假，请发送「更正 张强 请假 原因」。"), \
        reply.text
    assert record(runtime.engine) == before


@pytest.mark.parametrize("said", ["昨晚", "昨天晚上", "昨天"])
def test_leave_for_last_night_is_not_recorded_for_the_next_one(runtime, chat, clock, branch, said):
    """代请假 张强 昨晚 值班 on Wednesday recorded Thursday's study, the reason 「昨晚 值班」, and
    told 张强 he was excused on Thursday."""
    run_ticks(runtime, clock, local(2026, 12, 9, 10, 0))
    before = record(runtime.engine)
    reply = chat.say("sec", f"代请假 张强 {said} 值班")
    assert reply.is_error and reply.text.startswith(f"「{said}」已经过去了，没有记请假。") \
        and "「更正 张强 请假 原因」" in reply.text, reply.text
    assert record(runtime.engine) == before
