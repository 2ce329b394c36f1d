"""Leave, make-up, confirming absence, ratings, and bad input that must change nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from bot.core import IncomingMessage
from storage import attendance as store
from storage.models import (
    Activity,
    ActivityType,
    Attendance,
    AuditEntry,
    LeaveState,
    Member,
    PointEntry,
    Rating,
    Role,
)
from tests.factories import bind_chat, make_branch, make_member, seed


def _branch(session):
    one = make_branch(session, "一支部")
    two = make_branch(session, "二支部")
    make_member(session, one, "李书记", role=Role.SECRETARY, wecom="sec1")
    make_member(session, one, "张三", wecom="z1", staff_no="1001")
    make_member(session, one, "张三", wecom="z2", staff_no="1002")
    make_member(session, one, "李四", wecom="l4")
    make_member(session, two, "王五", wecom="w5")
    bind_chat(session, one, "g1")
    return one.id


@pytest.fixture
def branch_id(runtime):
    return seed(runtime.engine, _branch)


def _snapshot(engine) -> tuple:
    """Everything a command could change, counted."""
    with Session(engine) as s:
        counts = tuple(
            s.exec(select(func.count()).select_from(model)).one()
            for model in (Activity, Attendance, Rating, PointEntry, AuditEntry)
        )
        states = tuple(s.exec(select(Attendance.status, Attendance.leave_state)).all())
        activity = tuple(s.exec(select(Activity.status, Activity.finalized_at)).all())
    return counts, states, activity


def _row(engine, name: str, number: str | None = None) -> Attendance | None:
    with Session(engine) as s:
        query = (
            select(Attendance)
            .join(Member, Member.id == Attendance.member_id)
            .where(Member.name == name)
        )
        if number:
            query = query.where(Member.staff_no == number)
        return s.exec(query).first()


def _points(engine, wecom_or_number: str) -> int:
    with Session(engine) as s:
        member = (
            s.exec(select(Member).where(Member.staff_no == wecom_or_number)).first()
            or s.exec(select(Member).where(Member.name == wecom_or_number)).first()
        )
        return s.exec(
            select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                PointEntry.member_id == member.id
            )
        ).one()


def _pts(runtime, status: str, activity_type: str = "主题党日") -> int:
    return runtime.rules.attendance_points(activity_type, status)[0]


# --- leave --------------------------------------------------------------------------


def test_leave_is_refused_once_the_activity_is_under_way(runtime, chat, clock, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    clock.advance(minutes=11)
    reply = chat.say("l4", "请假 堵车", chat="g1")
    assert reply.is_error and "已经开始" in reply.text and "补签" in reply.text
    assert _row(runtime.engine, "李四") is None


def test_leave_for_the_next_activity_that_has_not_started(runtime, chat, clock, branch_id):
    with Session(runtime.engine) as s:
        store.open_activity(
            s,
            activity_type=ActivityType.THEME_DAY,
            branch_id=branch_id,
            starts_at=clock.now() + timedelta(days=3),
            now=clock.now(),
            opens_minutes_before=runtime.settings.checkin_opens_minutes_before,
            tz=runtime.settings.tz,
        )
        s.commit()
    assert "已请假：主题党日（11月26日 09:00）" in chat.say("l4", "请假家里有事").text
    assert "已经请过假" in chat.say("l4", "请假 还是有事").text
    row = _row(runtime.engine, "李四")
    assert (row.status, row.leave_state, row.leave_reason) == ("leave", "granted", "家里有事")


def test_leave_waiting_for_approval_then_approved(runtime, chat, branch_id):
    runtime.dispatcher.settings = runtime.settings.model_copy(
        update={"leave_requires_approval": True}
    )
    chat.say("sec1", "开始 主题党日", chat="g1")
    assert "等待书记批准" in chat.say("l4", "请假 值班", chat="g1").text
    # Pending leave still counts as missing until the secretary decides.
    assert "李四（请假待批准）" in chat.say("sec1", "未签到").text
    assert "已批准 李四 的请假" in chat.say("sec1", "批准请假 李四", chat="g1").text
    assert _row(runtime.engine, "李四").leave_state == LeaveState.GRANTED
    assert "李四" not in chat.say("sec1", "未签到").text.splitlines()[0]  # excused: not missing
    with Session(runtime.engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "leave.approve")).one()
    assert audit.target == "李四" and audit.actor == "李书记" and audit.chat_id == "g1"


def test_withdrawn_leave_makes_the_member_expected_and_is_not_left_to_approve(runtime, chat,
                                                                             clock, branch_id):
    runtime.dispatcher.settings = runtime.settings.model_copy(
        update={"leave_requires_approval": True}
    )
    chat.say("sec1", "开始 主题党日", chat="g1")
    assert "等待书记批准" in chat.say("l4", "请假 值班", chat="g1").text
    back = chat.say("l4", "销假", chat="g1")
    assert not back.is_error and "恢复为需要你参加" in back.text and "主题党日" in back.text
    assert _row(runtime.engine, "李四") is None  # as if never asked
    assert "没有待处理的请假" in chat.say("sec1", "批准请假 李四", chat="g1").text
    assert "李四" in chat.say("sec1", "未签到").text
    assert "签到成功" in chat.say("l4", "签到", chat="g1").text
    assert _count_audit(runtime, "leave.withdraw") == 1
    # Past the late grace the record stands: leave is taken back only while it could be asked.
    chat.say("sec1", "结束", chat="g1")
    clock.advance(timedelta(days=1))
    chat.say("sec1", "开始 政治夜学", chat="g1")
    chat.say("l4", "请假 出差", chat="g1")
    clock.advance(timedelta(minutes=runtime.settings.late_grace_minutes + 1))
    late = chat.say("l4", "销假", chat="g1")
    assert "没有可以销的假" in late.text and _count_audit(runtime, "leave.withdraw") == 1


def test_revoked_leave_makes_the_member_expected_again(runtime, chat, clock, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("l4", "请假 私事", chat="g1")
    assert "李四" not in chat.say("sec1", "未签到").text.splitlines()[0]  # excused: not missing
    assert "已驳回 李四 的请假" in chat.say("sec1", "驳回请假 李四", chat="g1").text
    assert "李四" in chat.say("sec1", "未签到").text
    assert "已被书记驳回" in chat.say("l4", "请假 再请一次", chat="g1").text
    assert _count_audit(runtime, "leave.revoke") == 1
    # Unexcused after all: confirmed as absent with the penalty.
    chat.say("sec1", "结束", chat="g1")
    chat.say("sec1", "确认缺席", chat="g1")
    assert _row(runtime.engine, "李四").status == "absent"
    assert _points(runtime.engine, "李四") == _pts(runtime, "absent")


def _count_audit(runtime, action: str) -> int:
    with Session(runtime.engine) as s:
        return s.exec(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        ).one()


def test_coming_after_leave_counts_as_attendance(runtime, chat, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("l4", "请假 可能赶不上", chat="g1")
    assert "签到成功" in chat.say("l4", "签到", chat="g1").text
    assert _row(runtime.engine, "李四").status == "present"


# --- make-up ------------------------------------------------------------------------


def test_make_up_before_confirmation_never_posts_a_penalty(runtime, chat, clock, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    clock.advance(minutes=30)
    chat.say("sec1", "结束", chat="g1")
    reply = chat.say("sec1", "补签 李四 手机没电", chat="g1")
    assert "已为 李四 补签" in reply.text and "撤销" not in reply.text
    row = _row(runtime.engine, "李四")
    assert row.status == "makeup" and row.makeup_reason == "手机没电" and row.made_up_at is not None
    clock.advance(hours=25)
    with Session(runtime.engine) as s:
        store.finalize_due(s, now=clock.now(), confirm_hours=runtime.settings.absence_confirm_hours,
                           rules=runtime.rules, tz=runtime.settings.tz)
        s.commit()
        rules = s.exec(
            select(PointEntry.rule)
            .join(Member, Member.id == PointEntry.member_id)
            .where(Member.name == "李四")
        ).all()
    assert rules == ["attendance.makeup.主题党日"]
    assert _count_audit(runtime, "makeup") == 1


def test_make_up_after_confirmation_reverses_the_penalty_with_a_new_entry(runtime, chat, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("sec1", "结束", chat="g1")
    chat.say("sec1", "确认缺席", chat="g1")
    with Session(runtime.engine) as s:
        penalty = s.exec(
            select(PointEntry)
            .join(Member, Member.id == PointEntry.member_id)
            .where(Member.name == "李四")
        ).one()
    assert penalty.points == _pts(runtime, "absent")

    reply = chat.say("sec1", "补签 李四 在现场执勤", chat="g1")
    assert f"已撤销缺席扣分（{-penalty.points:+d}）" in reply.text
    with Session(runtime.engine) as s:
        entries = s.exec(
            select(PointEntry)
            .where(PointEntry.member_id == penalty.member_id)
            .order_by(PointEntry.id)
        ).all()
    # The penalty itself is untouched; a correction cancels it and the make-up earns points.
    assert entries[0] == penalty
    assert [(e.source_kind, e.points) for e in entries[1:]] == [
        ("correction", -penalty.points),
        ("attendance", _pts(runtime, "makeup")),
    ]
    assert _points(runtime.engine, "李四") == _pts(runtime, "makeup")


def test_ambiguous_name_lists_candidates_and_the_number_picks_one(runtime, chat, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    before = _snapshot(runtime.engine)
    ambiguous = chat.say("sec1", "补签 张三 来了", chat="g1")
    assert ambiguous.is_error and "编号 1001" in ambiguous.text and "编号 1002" in ambiguous.text
    unknown = chat.say("sec1", "补签 赵六 来了", chat="g1")
    assert unknown.is_error and "没有找到「赵六」" in unknown.text and "例如：补签" in unknown.text
    assert _snapshot(runtime.engine) == before
    assert "已为 张三 补签" in chat.say("sec1", "补签 1002 来了", chat="g1").text
    assert _row(runtime.engine, "张三", "1002").status == "makeup"
    assert _row(runtime.engine, "张三", "1001") is None


def test_a_name_said_with_tongzhi_names_that_member(runtime, chat, branch_id):
    """In party work a member is 李四同志: that names 李四 for 补签, 批准请假 and 推荐, where
    it was 「本支部没有找到「李四同志」」; an ambiguous name stays ambiguous with 同志."""
    chat.say("sec1", "开始 主题党日", chat="g1")
    assert "已为 李四 补签" in chat.say("sec1", "补签 李四同志 手机没电", chat="g1").text
    assert _row(runtime.engine, "李四").status == "makeup"
    ambiguous = chat.say("sec1", "补签 张三同志 来了", chat="g1")
    assert ambiguous.is_error and "编号 1001" in ambiguous.text and "编号 1002" in ambiguous.text
    nominated = chat.say("sec1", "推荐 先锋党员 李四同志 带头完成执勤任务", chat="g1").text
    assert "李四" in nominated and "没有找到" not in nominated, nominated
    assert "没有找到「王五同志」" in chat.say("sec1", "补签 王五同志 来了", chat="g1").text


def test_make_up_by_mention(runtime, chat, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    reply = runtime.dispatcher.handle_sync(
        IncomingMessage(
            platform="wecom",
            chat_id="g1",
            sender_id="sec1",
            text="@党建助手 补签 @张三 在外执勤",
            message_id=uuid.uuid4().hex,
            at=runtime.clock.now(),
            mentions=("z1",),
        )
    )
    assert "已为 张三 补签" in reply.text
    assert _row(runtime.engine, "张三", "1001").status == "makeup"


def test_a_present_member_needs_no_make_up(runtime, chat, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("l4", "签到", chat="g1")
    assert "无需补签" in chat.say("sec1", "补签 李四 重复", chat="g1").text
    assert _points(runtime.engine, "李四") == _pts(runtime, "present")


# --- confirming absence ---------------------------------------------------------------


def test_penalties_only_after_confirmation_time(runtime, chat, clock, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("sec1", "签到", chat="g1")
    clock.advance(hours=2)  # the theme day ends; nobody says 结束

    def tick():
        with Session(runtime.engine) as s:
            done = store.finalize_due(
                s, now=clock.now(), confirm_hours=runtime.settings.absence_confirm_hours,
                rules=runtime.rules, tz=runtime.settings.tz
            )
            s.commit()
            return [{m.name for m in each.absent} for each in done]

    assert tick() == []
    activity = _activity(runtime)
    assert activity.status == "closed" and activity.finalized_at is None
    assert _row(runtime.engine, "李四") is None
    clock.advance(hours=23, minutes=59)
    assert tick() == []
    clock.advance(minutes=1)
    assert tick() == [{"张三", "李四"}]
    assert _points(runtime.engine, "李四") == _pts(runtime, "absent")
    assert _activity(runtime).expected_count == 4
    assert tick() == []  # a second tick posts nothing more
    assert _points(runtime.engine, "李四") == _pts(runtime, "absent")
    assert "已经确认过" in chat.say("sec1", "确认缺席", chat="g1").text


def _activity(runtime) -> Activity:
    with Session(runtime.engine) as s:
        return s.exec(select(Activity)).one()


def test_finish_reports_participation_and_keeps_absence_provisional(runtime, chat, branch_id):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("l4", "签到", chat="g1")
    reply = chat.say("sec1", "结束", chat="g1")
    assert "参与 1/4（25.0%）" in reply.text and "未签到 3 人" in reply.text
    assert _activity(runtime).status == "closed"
    assert "没有进行中的活动" in chat.say("sec1", "结束", chat="g1").text
    late = chat.say("z1", "签到", chat="g1")
    assert late.is_error and "已结束" in late.text and "补签" in late.text
    with Session(runtime.engine) as s:
        assert (
            s.exec(select(func.count()).select_from(PointEntry).where(PointEntry.points < 0)).one()
            == 0
        )


# --- ratings ------------------------------------------------------------------------


def test_rating_the_activity_and_replacing_the_rating(runtime, chat, clock, branch_id):
    assert "没有你参加过的活动" in chat.say("l4", "评价 5").text
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("l4", "签到", chat="g1")
    clock.advance(hours=3)
    assert "感谢评价" in chat.say("l4", "评价 4 形式新颖").text
    replaced = chat.say("l4", "评价 5")
    assert "原评价已替换" in replaced.text
    with Session(runtime.engine) as s:
        rating = s.exec(select(Rating)).one()
    assert (rating.score, rating.comment) == (5, None)
    assert "评价 5.0 分（1 人）" in chat.say("sec1", "活动", chat="g1").text
    clock.advance(days=8)
    assert chat.say("l4", "评价 3").is_error


def test_only_those_who_took_part_rate_an_activity(runtime, chat, clock, branch_id):
    """评价 is how secretaries see what works: 张三, absent from the theme day, and 李四, on
    leave for it, could each rate it (5 stars from nobody who was there); only those who
    took part (签到, 迟到, 补签) are heard."""
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("l4", "请假 值班", chat="g1")
    chat.say("z2", "签到", chat="g1")
    clock.advance(hours=3)
    chat.say("sec1", "结束", chat="g1")
    chat.say("sec1", "确认缺席", chat="g1")
    assert (_row(runtime.engine, "张三", "1001").status, _row(runtime.engine, "李四").status) \
        == ("absent", "leave")
    for who in ("z1", "l4"):
        reply = chat.say(who, "评价 5 很好")
        assert reply.is_error and reply.text == "最近 7 天没有你参加过的活动可以评价。", reply.text
    assert "感谢评价" in chat.say("z2", "评价 2 太长了").text
    assert "已为 张三 补签" in chat.say("sec1", "补签 1001 手机没电", chat="g1").text
    assert _row(runtime.engine, "张三", "1001").status == "makeup"
    assert "感谢评价" in chat.say("z1", "评价 4").text
    with Session(runtime.engine) as s:
        assert sorted(s.exec(select(Rating.score)).all()) == [2, 4]


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "text", "usage"),
    [
        ("sec1", "开始", "缺少活动类型（如 主题党日、夜学、党员大会）。\n例如：开始 主题党日"),
        ("sec1", "开始 不存在的活动", "例如：开始"),
        ("l4", "签到 现在", "「签到」后面不用写别的"),
        ("l4", "请假", "缺少请假原因。\n例如：请假 值班"),
        ("sec1", "补签", "缺少姓名（姓名、@某人或编号）。\n例如：补签 陈静 手机没电"),
        ("sec1", "补签 李四", "缺少补签原因"),
        ("sec1", "批准请假", "缺少姓名"),
        ("sec1", "驳回请假", "缺少姓名"),
        ("sec1", "驳回请假 赵六", "没有找到"),
        ("sec1", "未签到 张三", "没有找到支部「张三」"),
        ("sec1", "结束 现在", "「结束」后面不用写别的"),
        ("sec1", "确认缺席 全部", "「确认缺席」后面不用写别的"),
        ("l4", "评价", "缺少分数。\n例如：评价 5"),
        ("l4", "评价 6 很好", "分数不能大于 5"),
        ("l4", "评价 0", "分数不能小于 1"),
        ("l4", "评价 好", "分数应是数字（1 到 5）"),
        ("l4", "活动 全部", "没有找到支部「全部」"),
    ],
)
def test_bad_input_shows_the_usage_and_changes_nothing(
    runtime, chat, clock, branch_id, user, text, usage
):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("l4", "签到", chat="g1")
    clock.advance(minutes=5)
    before = _snapshot(runtime.engine)
    reply = chat.say(user, text, chat="g1")
    assert reply.is_error and usage in reply.text
    assert not any(mark in reply.text for mark in "<>|"), reply.text
    assert _snapshot(runtime.engine) == before


def test_a_secretary_does_not_put_right_their_own_record(runtime, chat, clock, branch_id):
    """A 补签 or 更正 moves points and the branch's tier: the one it counts does not make it
    (李书记 could make up his own absence, +2 and the penalty reversed)."""
    chat.say("sec1", "开始 主题党日", chat="g1")
    clock.advance(minutes=30)
    chat.say("sec1", "结束", chat="g1")
    chat.say("sec1", "确认缺席", chat="g1")
    before = _snapshot(runtime.engine)
    for text in ("补签 李书记 手机没电", "更正 李书记 请假 当天出差"):
        refused = chat.say("sec1", text, chat="g1")
        assert refused.is_error and refused.text.startswith("不能给自己"), refused.text
        assert "另一位书记、委员或领导" in refused.text
    assert _snapshot(runtime.engine) == before
    assert "已为 李四 补签" in chat.say("sec1", "补签 李四 手机没电", chat="g1").text
