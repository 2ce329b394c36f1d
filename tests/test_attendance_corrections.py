"""更正: a check-in that should not stand (not there, 代签, a 补签 for the wrong person) is
put right by the secretary, and every figure follows.

What a user notices: the secretary's reply (naming nobody in the group), the member's
private notice, 积分明细 with the reversal beside the line it reverses, 积分, the activity's
participation, the 红黄蓝榜 and the weekly report, the audit log; a later 确认缺席 counting
the member once; and a wrong command changing nothing at all.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from storage import attendance as store
from storage.models import (
    Attendance,
    AuditEntry,
    Branch,
    Member,
    OutboxMessage,
    PointEntry,
    Role,
)
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed
from tests.test_figures import djbot, drain, ledger_lines, weekly  # noqa: F401 - djbot: fixture

THEME_PRESENT, THEME_ABSENT, THEME_MAKEUP = 3, -2, 3  # 主题党日 in the shipped rules


@pytest.fixture
def bureau(runtime):
    """城关支部 (g1): 王书记 (sec), 张三 (z3), 李四 (l4); 交警支部 (g2): 徐书记, 马超; a
    领导 (boss) and the leaders' group."""
    def build(session):
        cg = make_branch(session, "城关支部")
        jj = make_branch(session, "交警支部")
        bind_chat(session, cg, "g1")
        bind_chat(session, jj, "g2")
        bind_chat(session, None, "g-leaders", leaders=True)
        make_member(session, cg, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, cg, "张三", wecom="z3")
        make_member(session, cg, "李四", wecom="l4")
        make_member(session, jj, "徐书记", role=Role.SECRETARY, wecom="jj-sec")
        make_member(session, jj, "马超", wecom="mc")
        make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, build)


def theme_day(chat, *, confirm: bool = True) -> None:
    """09:00 Monday 23 November: 王书记 and 张三 check in, 李四 does not."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("sec", "签到", chat="g1")
    chat.say("z3", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    if confirm:
        assert "已确认" in chat.say("sec", "确认缺席", chat="g1").text


def points_of(engine, name: str) -> list[int]:
    with Session(engine) as s:
        member = s.exec(select(Member).where(Member.name == name)).one()
        return [e.points for e in s.exec(select(PointEntry).where(
            PointEntry.member_id == member.id).order_by(PointEntry.id)).all()]


def row_of(engine, name: str) -> Attendance:
    with Session(engine) as s:
        member = s.exec(select(Member).where(Member.name == name)).one()
        return s.exec(select(Attendance).where(Attendance.member_id == member.id)).one()


def record(engine) -> tuple:
    """Everything a correction could change: ledger, attendance rows, audit, outbox."""
    with Session(engine) as s:
        return (s.exec(select(PointEntry.id, PointEntry.points)).all(),
                s.exec(select(Attendance.id, Attendance.status, Attendance.leave_state)).all(),
                s.exec(select(func.count()).select_from(AuditEntry)).one(),
                s.exec(select(func.count()).select_from(OutboxMessage)).one())


def notices(runtime, clock, user: str) -> list[str]:
    return [text for _, kind, target, text in drain(runtime, clock)
            if kind == "attendance.correct" and target == user]


def test_a_check_in_by_someone_else_becomes_an_absence_and_every_figure_follows(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixture imported above
    theme_day(chat)
    clock.advance(hours=2)
    assert "参与 2/3（66.7%）" in chat.say("sec", "活动", chat="g1").text
    assert "参与率 66.7%（2/3）" in chat.say("boss", "红黄蓝榜").text
    assert sum(points_of(runtime.engine, "张三")) == THEME_PRESENT

    reply = chat.say("sec", "更正 张三 缺席 没有参加，系他人代签")
    assert not reply.is_error, reply.text
    assert reply.text.splitlines() == [
        "已将 张三 在主题党日「学习新党章」（09:00）的记录由出席更正为缺席。原因：没有参加，系他人代签",
        f"积分 {-THEME_PRESENT + THEME_ABSENT:+d}（冲销出席 {-THEME_PRESENT:+d}，"
        f"缺席扣分 {THEME_ABSENT:+d}）。",
        "已私聊告知本人。"]
    row = row_of(runtime.engine, "张三")
    assert row.status == "absent" and row.checked_in_at is not None  # the check-in stays on file

    # The ledger: nothing edited, the check-in reversed, the penalty posted; it sums right.
    assert points_of(runtime.engine, "张三") == [THEME_PRESENT, -THEME_PRESENT, THEME_ABSENT]
    lines = ledger_lines(chat, "z3")
    assert any(f"±0 主题党日「学习新党章」出席 {THEME_PRESENT:+d}，已冲销（王书记更正为缺席："
               "没有参加，系他人代签）" in line for line in lines), lines
    assert any(f"{THEME_ABSENT:+d} 主题党日「学习新党章」缺席" in line for line in lines), lines
    assert f"本周：{THEME_ABSENT} 分" in chat.say("z3", "积分").text

    # The figures: one fewer attended, the absence counted.
    assert "参与 1/3（33.3%）" in chat.say("sec", "活动", chat="g1").text
    assert "参与率 33.3%（1/3）" in chat.say("boss", "红黄蓝榜").text
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["absent"]) == ("1/3", 2)

    with Session(runtime.engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "attendance.correct")).one()
    assert (audit.actor, audit.target) == ("王书记", "张三")
    assert (audit.detail["from"], audit.detail["to"]) == ("present", "absent")
    assert audit.detail["reason"] == "没有参加，系他人代签"
    assert (audit.detail["reversed_points"], audit.detail["posted_points"]) == \
        (-THEME_PRESENT, THEME_ABSENT)
    assert "attendance.correct" in djbot("audit")

    assert notices(runtime, clock, "z3") == [
        "【签到记录更正】王书记将你在主题党日「学习新党章」（11月23日 09:00）的记录由出席更正为缺席。"
        "原因：没有参加，系他人代签。"
        f"积分 {-THEME_PRESENT + THEME_ABSENT:+d}（冲销出席 {-THEME_PRESENT:+d}，缺席扣分 "
        f"{THEME_ABSENT:+d}）。发送「积分明细」可查看。如有疑问请联系书记。"]

    # Once: the record is an absence now, and a second 更正 finds no check-in to correct.
    before = record(runtime.engine)
    again = chat.say("sec", "更正 张三 缺席 没有参加")
    assert again.is_error and "已记为缺席" in again.text
    assert record(runtime.engine) == before


def test_in_the_group_the_reply_names_nobody(runtime, chat, clock, bureau):
    theme_day(chat)
    reply = chat.say("sec", "更正 张三 缺席 代签", chat="g1")
    assert not reply.is_error, reply.text
    assert "已更正主题党日「学习新党章」（09:00）的 1 条签到记录" in reply.text
    for said in ("张三", "缺席", "代签"):
        assert said not in reply.text
    assert row_of(runtime.engine, "张三").status == "absent"
    assert len(notices(runtime, clock, "z3")) == 1  # the member still hears it, privately
    # Nor does a refusal in the group say why 李四 has no check-in (absent, on leave).
    refused = chat.say("sec", "更正 李四 缺席 代签", chat="g1")
    assert refused.is_error and "没有可以更正的签到记录" in refused.text
    assert "缺席" not in refused.text.split("。")[0]


def test_before_the_absences_are_confirmed_a_later_confirmation_counts_the_member_once(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixture imported above
    theme_day(chat, confirm=False)
    reply = chat.say("sec", "更正 张三 缺席 提前离开，未参加学习")
    assert not reply.is_error, reply.text
    assert f"积分 {-THEME_PRESENT:+d}（冲销出席 {-THEME_PRESENT:+d}）" in reply.text
    assert "缺席扣分在确认缺席时与其他未到的同志一并计入" in reply.text
    assert sum(points_of(runtime.engine, "张三")) == 0  # no penalty yet: not confirmed
    assert "补签 0、请假 0、未到 2" in chat.say("sec", "活动", chat="g1").text

    confirmed = chat.say("sec", "确认缺席")
    assert "缺席 2 人" in confirmed.text and "张三" in confirmed.text and "李四" in confirmed.text
    assert points_of(runtime.engine, "张三") == [THEME_PRESENT, -THEME_PRESENT, THEME_ABSENT]
    assert "已经确认过了" in chat.say("sec", "确认缺席").text
    clock.advance(days=2)
    with Session(runtime.engine) as s:  # nor does the automatic confirmation, later
        assert store.finalize_due(s, now=clock.now(), confirm_hours=24, rules=runtime.rules,
                                  tz=runtime.settings.tz) == []
        s.commit()
    assert sum(points_of(runtime.engine, "张三")) == THEME_ABSENT
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["absent"]) == ("1/3", 2)


def test_a_make_up_for_the_wrong_person_is_put_right_and_again_and_sums_right(
        runtime, chat, clock, bureau):
    theme_day(chat)  # 李四 confirmed absent
    assert sum(points_of(runtime.engine, "李四")) == THEME_ABSENT
    chat.say("sec", "补签 李四 手机没电")  # meant for someone else
    assert sum(points_of(runtime.engine, "李四")) == THEME_MAKEUP
    reply = chat.say("sec", "更正 李四 缺席 补签错人")
    assert "由补签更正为缺席" in reply.text
    assert f"积分 {-THEME_MAKEUP + THEME_ABSENT:+d}" in reply.text
    # The absence is on the ledger again, though its first penalty was reversed by the 补签.
    assert sum(points_of(runtime.engine, "李四")) == THEME_ABSENT
    # 李四 shows he was there after all: 补签 reverses the second penalty too.
    made_up = chat.say("sec", "补签 李四 确在现场，有照片")
    assert f"已撤销缺席扣分（{-THEME_ABSENT:+d}）" in made_up.text
    assert sum(points_of(runtime.engine, "李四")) == THEME_MAKEUP
    lines = ledger_lines(chat, "l4")
    # Each entry beside the reversal that cancels it: 4 lines for the 7 entries.
    assert len(lines) == 4 and all("主题党日「学习新党章」" in line for line in lines), lines
    # Cancelled after all that: every line reversed, the activity sums to nothing.
    chat.say("sec", "取消活动 临时勤务")
    assert "已取消" in chat.say("sec", "确认").text
    assert sum(points_of(runtime.engine, "李四")) == 0


def test_a_check_in_can_become_leave_out_of_the_participation_base(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixture imported above
    theme_day(chat)
    reply = chat.say("sec", "更正 张三 改为请假 临时出警，事先已向书记请假")
    assert "由出席更正为请假" in reply.text and f"积分 {-THEME_PRESENT:+d}" in reply.text
    row = row_of(runtime.engine, "张三")
    assert (row.status, row.leave_state, row.leave_reason) == \
        ("leave", "granted", "临时出警，事先已向书记请假")
    assert sum(points_of(runtime.engine, "张三")) == 0
    assert "参与 1/2（50.0%）" in chat.say("sec", "活动", chat="g1").text
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["leave"], line["absent"]) == ("1/2", 1, 1)


def test_an_absence_of_one_who_had_phoned_in_leave_becomes_leave_and_every_figure_follows(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixture imported above
    """李四 phoned the 书记 before the theme day and was confirmed absent: 更正 李四 请假 was
    refused (没有可以更正的签到记录), and the absence, its penalty and the branch's rate
    stood with nobody able to put them right."""
    theme_day(chat)  # 李四 confirmed absent
    clock.advance(hours=2)
    assert [line.split()[2:] for line in ledger_lines(chat, "l4")] == [
        [f"{THEME_ABSENT:+d}", "主题党日「学习新党章」缺席"]]
    assert "参与 2/3（66.7%）" in chat.say("sec", "活动", chat="g1").text
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["leave"], line["absent"]) == ("2/3", 0, 1)

    reply = chat.say("sec", "更正 李四 请假 电话请过假")
    assert reply.text.splitlines() == [
        "已将 李四 在主题党日「学习新党章」（09:00）的记录由缺席更正为请假。原因：电话请过假",
        f"积分 {-THEME_ABSENT:+d}（冲销缺席 {-THEME_ABSENT:+d}）。", "已私聊告知本人。"]
    with Session(runtime.engine) as s:
        sec = s.exec(select(Member).where(Member.name == "王书记")).one()
    row = row_of(runtime.engine, "李四")
    assert (row.status, row.leave_state, row.leave_reason, row.leave_decided_by) == \
        ("leave", "granted", "电话请过假", sec.id)
    # The ledger: the penalty stays on file beside its reversal, which says who and why.
    assert points_of(runtime.engine, "李四") == [THEME_ABSENT, -THEME_ABSENT]
    assert [line.split(maxsplit=2)[2] for line in ledger_lines(chat, "l4")] == [
        f"±0 主题党日「学习新党章」缺席 {THEME_ABSENT:+d}，已冲销（王书记更正为请假：电话请过假）"]
    # The figures: out of the participation base, on leave, no absence.
    assert "参与 2/2（100.0%）" in chat.say("sec", "活动", chat="g1").text
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["leave"], line["absent"]) == ("2/2", 1, 0)
    assert "参与率 100.0%（2/2）" in chat.say("boss", "红黄蓝榜").text
    with Session(runtime.engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "attendance.correct")).one()
    assert (audit.actor, audit.target, audit.detail["from"], audit.detail["to"]) == \
        ("王书记", "李四", "absent", "leave")
    assert notices(runtime, clock, "l4") == [
        "【签到记录更正】王书记将你在主题党日「学习新党章」（11月23日 09:00）的记录由缺席更正为请假。"
        f"原因：电话请过假。积分 {-THEME_ABSENT:+d}（冲销缺席 {-THEME_ABSENT:+d}）。"
        "发送「积分明细」可查看。如有疑问请联系书记。"]
    # Once: leave now, and a second 更正 to leave finds nothing to change.
    before = record(runtime.engine)
    again = chat.say("sec", "更正 李四 请假 电话请过假")
    assert again.is_error and "已请假" in again.text, again.text
    assert record(runtime.engine) == before


def test_before_the_absences_are_confirmed_phoned_in_leave_is_put_down_as_leave(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixture imported above
    theme_day(chat, confirm=False)  # 李四 has no record yet
    assert "未签到 1 人：李四" in chat.say("sec", "未签到").text
    reply = chat.say("sec", "更正 李四 请假 电话请过假", chat="g1")
    # The group saw the command; the reply adds no name, status or reason to it.
    assert reply.text == ("已更正主题党日「学习新党章」（09:00）的 1 条考勤记录，已私聊告知本人。"
                          "更正涉及个人出勤，今后可以私聊我发送。"), reply.text
    # Privately, who is excused is listed too (words5): 李四 now among them.
    assert chat.say("sec", "未签到").text.splitlines()[-2:] == [
        "主题党日「学习新党章」（09:00）：应到的同志都已签到或请假。", "已请假 1 人：李四"]
    confirmed = chat.say("sec", "确认缺席")
    assert not confirmed.is_error and "李四" not in confirmed.text, confirmed.text
    assert points_of(runtime.engine, "李四") == []  # no penalty, leave earns nothing
    assert "参与 2/2（100.0%）" in chat.say("sec", "活动", chat="g1").text
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["leave"], line["absent"]) == ("2/2", 1, 0)
    assert notices(runtime, clock, "l4") == [
        "【签到记录更正】王书记将你在主题党日「学习新党章」（11月23日 09:00）的记录由未签到更正为请假。"
        "原因：电话请过假。发送「积分明细」可查看。如有疑问请联系书记。"]


def test_leave_that_lapsed_undecided_is_approved_not_corrected(runtime, chat, clock, bureau):
    """Leave asked on chat and undecided when the absences were confirmed is 批准请假's,
    which decides the rest of that request with it."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    with Session(runtime.engine) as s:  # as one asked where leave waits for the 书记
        activity = s.exec(select(store.Activity)).one()
        s.add(Attendance(activity_id=activity.id, member_id=s.exec(select(Member.id).where(
            Member.name == "李四")).one(), status="absent", leave_state="pending",
            leave_reason="出差", updated_at=clock.now()))
        s.commit()
    before = record(runtime.engine)
    reply = chat.say("sec", "更正 李四 请假 电话请过假")
    assert reply.is_error and "「批准请假 李四」" in reply.text, reply.text
    assert record(runtime.engine) == before


def test_the_member_hears_it_in_the_morning_when_corrected_at_night(
        runtime, chat, clock, bureau):
    theme_day(chat)
    clock.set(local(2026, 11, 23, 23, 0))
    chat.say("sec", "更正 张三 缺席 代签")
    assert notices(runtime, clock, "z3") == []  # quiet hours
    clock.set(local(2026, 11, 24, 7, 31))
    [text] = notices(runtime, clock, "z3")
    assert text.startswith("【签到记录更正】王书记将你在主题党日")


BAD = [
    ("更正 王五 缺席 代签", "本支部没有找到「王五」"),
    ("更正 马超 缺席 代签", "本支部没有找到「马超」"),  # another branch's member
    ("更正 张三", "缺少更正结果（缺席、请假或出席）"),
    ("更正 张三 缺席", "缺少更正原因"),
    ("更正 张三 代签 没有来", "「代签」不是可以更正成的记录，请写缺席（没有参加）、请假，或把迟到改为出席"),
    ("更正 张三 出席 记错了", "张三 在主题党日「学习新党章」（11月23日 09:00）已记为出席，没有迟到"),
    ("更正 李四 出席 记错了", "不是迟到，不能更正为出席，记录保持不变。参加了但没签到的，请发送「补签 李四 原因」"),
    ("更正 张三 签到 记错了", "更正只能改为缺席、请假，或把迟到改为出席。参加了但没签到的，请发送「补签 张三 原因」"),
    ("更正 张三 李四 缺席 代签", "更正一次写一位同志"),
    ("更正 李四 缺席 代签", "李四 在主题党日「学习新党章」（11月23日 09:00）已记为缺席"),
    ("更正 李四 请假", "缺少更正原因"),
    ("更正 马超 请假 电话请过假", "本支部没有找到「马超」"),  # another branch's member
    ("更正 赵六 请假 电话请过假", "本支部没有找到「赵六」"),
]


@pytest.mark.parametrize(("text", "said"), BAD)
def test_a_wrong_command_says_what_is_wrong_and_changes_nothing(
        runtime, chat, clock, bureau, text, said):
    theme_day(chat)
    clock.advance(days=1)
    before = record(runtime.engine)
    reply = chat.say("sec", text)
    assert reply.is_error and said in reply.text, reply.text
    assert record(runtime.engine) == before


def test_an_ambiguous_name_is_asked_by_number(runtime, chat, clock, bureau):
    seed(runtime.engine, lambda s: make_member(
        s, s.exec(select(Branch).where(Branch.name == "城关支部")).one(), "张三", wecom="z3b"))
    theme_day(chat)
    before = record(runtime.engine)
    reply = chat.say("sec", "更正 张三 缺席 代签")
    assert reply.is_error and "有 2 位「张三」，请改用编号" in reply.text
    assert record(runtime.engine) == before


@pytest.mark.parametrize("said", ["更正 张三 缺席 代签", "更正 李四 请假 电话请过假"])
def test_outside_the_window_a_confirmed_record_stays(runtime, chat, clock, bureau, said):
    theme_day(chat)
    clock.advance(days=8)
    before = record(runtime.engine)
    reply = chat.say("sec", said)
    assert reply.is_error and "更正只能在活动后 7 天内进行" in reply.text
    assert "主题党日「学习新党章」（11月23日 09:00）已超过 7 天，记录保持不变" in reply.text
    assert record(runtime.engine) == before


def test_only_those_who_may_make_up_may_correct(runtime, chat, clock, bureau):
    theme_day(chat)
    before = record(runtime.engine)
    assert chat.say("l4", "更正 张三 缺席 代签").is_error  # a member
    assert chat.say("z3", "更正 李四 请假 电话请过假").is_error
    assert chat.say("jj-sec", "更正 张三 缺席 代签", chat="g2").is_error  # another branch's
    assert record(runtime.engine) == before


def test_a_leader_corrects_a_bureau_wide_activity(runtime, chat, clock, bureau):
    chat.say("boss", "开始 主题党日", chat="g-leaders")
    assert "开始了" in chat.say("boss", "确认", chat="g-leaders").text
    chat.say("z3", "签到", chat="g1")
    chat.say("mc", "签到", chat="g2")
    # A branch secretary manages the branch's own activities, not the bureau's (as 补签).
    assert chat.say("sec", "更正 张三 缺席 代签").is_error
    reply = chat.say("boss", "更正 马超 缺席 代签")
    assert not reply.is_error and "已将 马超 在主题党日" in reply.text
    assert row_of(runtime.engine, "马超").status == "absent"
    assert row_of(runtime.engine, "张三").status == "present"
    assert sum(points_of(runtime.engine, "马超")) == 0
    nothing = chat.say("boss", "更正 李四 缺席 代签")
    assert nothing.is_error and "李四 没有在主题党日（09:00）签到" in nothing.text


def test_undo_names_the_command_to_a_secretary(runtime, chat, bureau):
    assert "「更正 姓名 缺席 原因」" in chat.say("sec", "撤销签到").text
    assert "请联系书记更正" in chat.say("z3", "撤销签到").text


def test_the_member_who_then_comes_checks_in_and_counts_again(runtime, chat, clock, bureau):
    """Corrected while the activity is under way (someone checked in for 张三), 张三 himself
    arrives and checks in: his points count again, under a new key of the same rule."""
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("z3", "签到", chat="g1")
    assert not chat.say("sec", "更正 张三 缺席 系他人代签").is_error
    assert sum(points_of(runtime.engine, "张三")) == 0
    clock.advance(minutes=5)  # within the grace: on time again, the same rule as before
    assert "张三 签到成功" in chat.say("z3", "签到", chat="g1").text
    assert points_of(runtime.engine, "张三") == [THEME_PRESENT, -THEME_PRESENT, THEME_PRESENT]
    assert all("主题党日" in line for line in ledger_lines(chat, "z3"))


def test_a_confirmed_activity_past_the_window_is_not_cancelled_by_naming_its_day(
        runtime, chat, clock, bureau):
    """取消活动 reverses every record of an activity at once: a month-old theme day, its
    absences confirmed and its month's tiers sent, is out of reach as it is for 补签 and
    更正, also when its day is named; nothing is asked and nothing changes."""
    clock.set(local(2026, 10, 12, 9, 0))
    theme_day(chat)  # 李四 confirmed absent, 10月12日
    clock.set(local(2026, 11, 23, 9, 0))
    before = record(runtime.engine)
    reply = chat.say("sec", "取消活动 10月12日 主题党日 临时勤务")
    assert reply.is_error, reply.text
    assert reply.text.startswith("取消活动只能在活动后 7 天内进行：主题党日「学习新党章」"
                                 "（10月12日 09:00）已超过 7 天"), reply.text
    assert "什么也没有取消" in reply.text
    assert chat.say("sec", "确认").is_error  # nothing was asked
    assert record(runtime.engine) == before
    assert sum(points_of(runtime.engine, "李四")) == THEME_ABSENT

    # Within the window, the same words still cancel it.
    clock.set(local(2026, 10, 18, 9, 0))
    assert not chat.say("sec", "取消活动 10月12日 主题党日 临时勤务").is_error
    assert "已取消" in chat.say("sec", "确认").text
    assert sum(points_of(runtime.engine, "李四")) == 0


@pytest.mark.parametrize(("text", "hint"), [
    ("撤销更正 张三", "补签 张三"),  # 更正 made by mistake: not the sender's own study
    ("撤销 更正", "补签"),
    ("撤销 约谈", "撤销约谈 编号"),
    ("撤销 推荐 张三", ""),
])
def test_undo_of_another_record_leaves_the_senders_study_and_says_why(
        runtime, chat, clock, bureau, text, hint):
    theme_day(chat)
    assert not chat.say("sec", "更正 张三 请假 临时出警").is_error
    chat.say("sec", "学习 理论 60")
    before = record(runtime.engine)
    reply = chat.say("sec", text)
    assert reply.is_error and "什么也没有改" in reply.text and hint in reply.text, reply.text
    assert record(runtime.engine) == before  # the study stands, its points too


def test_undo_that_names_study_or_a_visit_takes_back_that_one(runtime, chat, clock, bureau):
    """A leader's last two records, a 调研 then a 学习: 撤销 调研 takes back the visit, not
    the study logged after it; 撤销 学习 the study."""
    assert not chat.say("boss", "调研 城关支部 发现问题 1 解决 1").is_error
    clock.advance(minutes=10)
    chat.say("boss", "学习 理论 60")
    reply = chat.say("boss", "撤销 调研 重复记录")
    assert "已撤销调研记录" in reply.text, reply.text
    assert [line.split()[2] for line in ledger_lines(chat, "boss")] == ["+2"]  # study stands
    assert "没有你可以撤销的「调研」记录" in chat.say("boss", "撤销 调研").text
    assert "已撤销学习记录" in chat.say("boss", "撤销 学习 分钟数写错了").text


def test_a_correction_made_by_mistake_is_corrected_again_and_sums_right(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixture imported above
    """更正 张三 请假 sent for what was an absence: a second 更正 puts it right, without a
    make-up that would say 张三 was there; and back again. An absence that no 更正 made is
    not made an absence again (补签 puts it right, or 更正 … 请假)."""
    theme_day(chat)
    assert not chat.say("sec", "更正 张三 请假 代签").is_error
    asked = chat.say("sec", "更正 张三 缺席 代签，没有请假")  # says what it is now, first
    assert asked.text.startswith("张三 在主题党日「学习新党章」（09:00）的签到记录已更正为请假"
                                 "（原因：代签），记录暂保持不变。要再改为缺席"), asked.text
    assert row_of(runtime.engine, "张三").status == "leave"
    reply = chat.say("sec", "确认")
    assert not reply.is_error, reply.text
    assert "由请假更正为缺席" in reply.text and f"积分 {THEME_ABSENT:+d}" in reply.text
    assert points_of(runtime.engine, "张三") == [THEME_PRESENT, -THEME_PRESENT, THEME_ABSENT]
    row = row_of(runtime.engine, "张三")  # no leave left on it: the sheet shows no 请假原因
    assert (row.status, row.leave_state, row.leave_reason) == ("absent", None, None)
    assert "参与 1/3（33.3%）" in chat.say("sec", "活动", chat="g1").text
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["leave"], line["absent"]) == ("1/3", 0, 2)
    assert "已经更正过" in chat.say("sec", "更正 张三 请假 确有请假条", chat="g1").text
    chat.say("sec", "更正 张三 请假 确有请假条")
    back = chat.say("sec", "确认")
    assert "由缺席更正为请假" in back.text and f"积分 {-THEME_ABSENT:+d}" in back.text
    assert sum(points_of(runtime.engine, "张三")) == 0
    assert row_of(runtime.engine, "张三").status == "leave"
    assert "参与 1/2（50.0%）" in chat.say("sec", "活动", chat="g1").text
    with Session(runtime.engine) as s:
        audits = s.exec(select(AuditEntry).where(AuditEntry.action == "attendance.correct")
                        .order_by(AuditEntry.id)).all()
    assert [(a.detail["from"], a.detail["to"]) for a in audits] == [
        ("present", "leave"), ("leave", "absent"), ("absent", "leave")]

    before = record(runtime.engine)
    never = chat.say("sec", "更正 李四 缺席 有事")  # absent, never checked in: absent already
    assert never.is_error and "没有可以更正的签到记录" in never.text
    assert record(runtime.engine) == before


def test_the_attendance_sheet_says_a_record_was_corrected_whichever_way(runtime, chat, clock,
                                                                      bureau):
    """The activity sheet, printed as the paper 台账: a check-in made leave by a 更正 reads
    请假（签到已更正）, as one made an absence reads 缺席（签到已更正）, never 请假 beside a
    check-in time, which would look like a forged record."""
    from bot.web import pages
    from storage.models import Activity

    theme_day(chat)
    chat.say("sec", "更正 张三 请假 临时出警")
    chat.say("sec", "补签 李四 手机没电")
    chat.say("sec", "更正 李四 缺席 补签错人")
    with Session(runtime.engine) as s:
        activity = s.exec(select(Activity)).one()
        sheet = pages.activity_page(s, activity=activity, settings=runtime.settings,
                                    now=runtime.clock.now())
        status = {r["name"]: r["status"] for r in sheet["rows"]}
    assert status == {"王书记": "出席", "张三": "请假（签到已更正）", "李四": "缺席（签到已更正）"}
    assert sheet["counted"]["leave"] == 1 and sheet["counted"]["absent"] == 1


@pytest.mark.parametrize("said", ["确认取消", "确认 取消", "确认无误", "确认 取消活动"])
def test_a_cancellation_confirmed_in_more_words_is_done(runtime, chat, clock, bureau, said):
    theme_day(chat)
    assert "确认" in chat.say("sec", "取消活动 临时勤务").text
    reply = chat.say("sec", said)
    assert not reply.is_error and reply.text.startswith("已取消主题党日"), reply.text
    assert sum(points_of(runtime.engine, "张三")) == 0


def test_words_after_confirm_that_say_nothing_clear_change_nothing_and_say_how(
        runtime, chat, clock, bureau):
    theme_day(chat)
    chat.say("sec", "取消活动 临时勤务")
    before = record(runtime.engine)
    reply = chat.say("sec", "确认 张三")  # not 先锋党员 (a leader's), nor a yes
    assert reply.is_error and "请只发送「确认」" in reply.text, reply.text
    assert "先锋党员" in reply.text and "仅限" not in reply.text
    assert record(runtime.engine) == before
    assert chat.say("sec", "确认").text.startswith("已取消主题党日")  # still asked


@pytest.mark.parametrize("said", ["更正 缺席 张三 他人代签", "更正 缺席，张三，他人代签",
                                  "更正 为缺席 张三 他人代签"])
def test_the_status_said_before_the_name_corrects_that_member(runtime, chat, clock, bureau,
                                                              said):
    """更正 缺席 张三 代签 was read as a member called 缺席 and a second member, and the reply
    asked for 「更正 缺席 缺席 原因」."""
    theme_day(chat)
    reply = chat.say("sec", said)
    assert not reply.is_error and "由出席更正为缺席" in reply.text, reply.text
    assert row_of(runtime.engine, "张三").status == "absent"


def test_a_leader_writing_privately_is_told_where_a_branch_record_is_put_right(
        runtime, chat, clock, bureau):
    """王书记 cannot correct his own record and is told to ask a leader; 赵局长, writing to
    djbot privately, was told 「最近没有可以补签的活动」 (his private chat reaches the bureau's
    activities only) though the branch's theme day was there to put right. He is told to
    send it in the branch's group, where it is done."""
    theme_day(chat)
    clock.advance(hours=1)
    before = record(runtime.engine)
    for said in ("补签 李四 手机没电", "更正 张三 缺席 代签"):
        reply = chat.say("boss", said)
        assert reply.is_error and "全局活动" in reply.text, reply.text
        assert "请在该支部的群里发送" in reply.text, reply.text
    assert record(runtime.engine) == before
    assert "已为 李四 补签" in chat.say("boss", "补签 李四 手机没电", chat="g1").text


def test_a_status_typed_onto_its_reason_is_read(runtime, chat, clock, bureau, djbot):  # noqa: F811
    """更正 张三 缺席他人代签, 更正 李四 请假电话请过假: the status and the reason typed as one
    word were answered 「缺少更正原因」, though the reason was there."""
    theme_day(chat)
    reply = chat.say("sec", "更正 张三 缺席他人代签")
    assert reply.text.splitlines()[0] == \
        "已将 张三 在主题党日「学习新党章」（09:00）的记录由出席更正为缺席。原因：他人代签", reply.text
    assert row_of(runtime.engine, "张三").status == "absent"
    assert sum(points_of(runtime.engine, "张三")) == THEME_ABSENT
    reply = chat.say("sec", "更正 李四 请假电话请过假")
    assert reply.text.splitlines()[0] == \
        "已将 李四 在主题党日「学习新党章」（09:00）的记录由缺席更正为请假。原因：电话请过假", reply.text
    row = row_of(runtime.engine, "李四")
    assert (row.status, row.leave_state, row.leave_reason) == ("leave", "granted", "电话请过假")
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["leave"], line["absent"]) == ("1/2", 1, 1)
    # 不在场 is an absence, its 场 no part of the reason.
    chat.say("sec", "补签 张三 确在现场")
    assert "原因：他人代签" in chat.say("sec", "更正 张三 不在场他人代签").text


def test_a_status_typed_onto_the_name_is_read(runtime, chat, clock, bureau, djbot):  # noqa: F811
    """更正 张三缺席 他人代签, 更正 李四：请假，电话请过假: answered 「缺少更正原因」, the name and
    the status read as one name."""
    theme_day(chat)
    reply = chat.say("sec", "更正 张三缺席 他人代签")
    assert reply.text.splitlines()[0] == \
        "已将 张三 在主题党日「学习新党章」（09:00）的记录由出席更正为缺席。原因：他人代签", reply.text
    assert sum(points_of(runtime.engine, "张三")) == THEME_ABSENT
    reply = chat.say("sec", "更正 李四：请假，电话请过假")
    assert reply.text.splitlines()[0] == \
        "已将 李四 在主题党日「学习新党章」（09:00）的记录由缺席更正为请假。原因：电话请过假", reply.text
    assert row_of(runtime.engine, "李四").status == "leave"
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["participation"], line["leave"], line["absent"]) == ("1/2", 1, 1)
    # Without a reason it is still asked for, and nothing changes.
    before = record(runtime.engine)
    missing = chat.say("sec", "更正 张三改为请假")
    assert missing.is_error and missing.text.startswith("缺少更正原因"), missing.text
    assert record(runtime.engine) == before
