"""A theme day from 开始 to 确认缺席, spoken through the chat core, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from storage import attendance as store
from storage.models import Activity, Attendance, AuditEntry, PointEntry, Role
from tests.factories import bind_chat, make_branch, make_member, seed

MEMBERS = [f"m{i}" for i in range(1, 10)]  # 队员1..队员9, plus the secretary: 10 expected


def _bureau(session):
    one = make_branch(session, "一支部")
    two = make_branch(session, "二支部")
    make_member(session, one, "李书记", role=Role.SECRETARY, wecom="sec1")
    for i, user in enumerate(MEMBERS, start=1):
        make_member(session, one, f"队员{i}", wecom=user)
    make_member(session, two, "王书记", role=Role.SECRETARY, wecom="sec2")
    make_member(session, two, "外支部党员", wecom="o1")
    bind_chat(session, one, "g1")
    bind_chat(session, two, "g2")
    return {"one": one.id, "two": two.id}


@pytest.fixture
def bureau(runtime):
    return seed(runtime.engine, _bureau)


def _count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def _points_by_name(engine) -> dict[str, int]:
    from storage.models import Member

    with Session(engine) as s:
        rows = s.exec(
            select(Member.name, func.coalesce(func.sum(PointEntry.points), 0))
            .join(PointEntry, PointEntry.member_id == Member.id, isouter=True)
            .group_by(Member.name)
        ).all()
    return dict(rows)


def _only_activity(engine) -> Activity:
    with Session(engine) as s:
        return s.exec(select(Activity)).one()


def test_theme_day_eight_present_one_leave_one_silent(runtime, chat, clock, bureau):
    opened = chat.say("sec1", "开始 主题党日 学习新党章", chat="g1")
    assert not opened.is_error and "主题党日「学习新党章」" in opened.text
    assert "已请假" in chat.say("m8", "请假 外出办案", chat="g1").text

    clock.advance(minutes=5)
    for user in ["sec1", *MEMBERS[:6]]:
        reply = chat.say(user, "签到", chat="g1")
        assert "签到成功" in reply.text and "迟到" not in reply.text
    clock.advance(minutes=6)  # 09:11, past the 10-minute grace
    assert "迟到" in chat.say("m7", "到", chat="g1").text

    in_group = chat.say("sec1", "未签到", chat="g1")
    assert "还有 1 人未签到" in in_group.text and "队员9" not in in_group.text
    in_private = chat.say("sec1", "未签到")
    assert in_private.text.endswith("未签到 1 人：队员9\n已请假 1 人：队员8")
    assert chat.say("sec1", "请假名单").text == in_private.text  # not leave with a reason

    ended = chat.say("sec1", "结束", chat="g1")
    assert "参与 8/9（88.9%）" in ended.text and "请假 1 人" in ended.text
    # Absence is provisional: nothing is posted for 队员9 yet.
    assert _points_by_name(runtime.engine)["队员9"] == 0

    confirmed = chat.say("sec1", "确认缺席", chat="g1")
    assert "缺席 1 人" in confirmed.text and "队员9" not in confirmed.text

    activity = _only_activity(runtime.engine)
    assert activity.expected_count == 10 and activity.finalized_at is not None
    with Session(runtime.engine) as s:
        assert store.participation(s, activity=activity).summary() == "8/9（88.9%）"
        statuses = dict(
            s.exec(select(Attendance.status, func.count()).group_by(Attendance.status)).all()
        )
    assert statuses == {"present": 7, "late": 1, "leave": 1, "absent": 1}

    def expected(status: str) -> int:
        return runtime.rules.attendance_points("主题党日", status)[0]

    points = _points_by_name(runtime.engine)
    assert points["李书记"] == expected("present")
    assert all(points[f"队员{i}"] == expected("present") for i in range(1, 7))
    assert points["队员7"] == expected("late")
    assert points["队员8"] == expected("leave")
    assert points["队员9"] == expected("absent") < 0
    assert _count(runtime.engine, AuditEntry, AuditEntry.action == "absence.confirm") == 1


def test_each_entry_names_its_rule_and_rules_version(runtime, chat, bureau):
    chat.say("sec1", "开始 党日", chat="g1")
    chat.say("m1", "签到", chat="g1")
    with Session(runtime.engine) as s:
        entry = s.exec(select(PointEntry)).one()
    assert entry.rule == "attendance.present.主题党日"
    assert entry.ruleset_id is not None and entry.source_kind == "attendance"


def test_second_check_in_changes_nothing(runtime, chat, clock, bureau):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("m1", "签到", chat="g1")
    clock.advance(minutes=20)
    again = chat.say("m1", "打卡", chat="g1")
    assert "你已签到（出席 09:00）" in again.text
    assert _count(runtime.engine, Attendance) == 1
    assert _count(runtime.engine, PointEntry) == 1


def test_a_check_in_naming_another_activity_than_the_one_under_way_is_refused(
        runtime, chat, bureau):
    """签到 夜学 while the theme day ran checked the member in to the theme day, with its
    points: the activity named must be the one under way. Named right, it checks in, and
    neither goes by the quick lane, which cannot tell (it reads no words after 签到)."""
    import uuid

    from bot.core import IncomingMessage

    chat.say("sec1", "开始 主题党日", chat="g1")
    refused = chat.say("m1", "签到 夜学", chat="g1")
    assert refused.is_error and "现在进行的是主题党日" in refused.text, refused.text
    assert "不是政治夜学，没有签到" in refused.text
    assert _count(runtime.engine, Attendance) == 0
    assert "签到成功" in chat.say("m1", "签到 主题党日", chat="g1").text
    assert "签到成功" in chat.say("m2", "签到，党日", chat="g1").text
    assert _count(runtime.engine, Attendance) == 2

    def lane(text):
        return runtime.dispatcher.quick_plan(IncomingMessage(
            platform="wecom", chat_id="g1", sender_id="m3", text=text,
            message_id=uuid.uuid4().hex, at=runtime.clock.now()))
    assert lane("签到") is not None and lane("签到 夜学") is None


def test_repeated_delivery_gets_the_first_reply_and_one_row(runtime, chat, bureau):
    chat.say("sec1", "开始 主题党日", chat="g1")
    first = chat.say("m1", "签到", chat="g1", message_id="wx-42")
    again = chat.say("m1", "签到", chat="g1", message_id="wx-42")
    assert again == first and "签到成功" in first.text
    assert _count(runtime.engine, Attendance) == 1
    assert _count(runtime.engine, PointEntry) == 1


def test_member_of_another_branch_cannot_check_in(runtime, chat, bureau):
    chat.say("sec1", "开始 主题党日", chat="g1")
    reply = chat.say("o1", "签到", chat="g1")
    assert reply.is_error and "不是本支部" in reply.text
    assert _count(runtime.engine, Attendance) == 0


def test_checking_in_in_another_branchs_quiet_group_says_where_to_check_in(
        runtime, chat, bureau):
    """一支部's theme day is under way; its member writes 签到 in 二支部's group, where
    nothing is: told it is not their group and where to send it, not 「没有可以签到的活动」."""
    chat.say("sec1", "开始 主题党日", chat="g1")
    reply = chat.say("m1", "签到", chat="g2")
    assert reply.is_error and "不是你所在支部的群" in reply.text and "私聊" in reply.text
    assert _count(runtime.engine, Attendance) == 0
    assert "签到成功" in chat.say("m1", "签到", chat="g1").text


def test_private_check_in_finds_the_members_own_branch(runtime, chat, bureau):
    chat.say("sec1", "开始 主题党日", chat="g1")
    assert "签到成功" in chat.say("m1", "签到").text
    assert "没有可以签到" in chat.say("o1", "签到").text
    assert _count(runtime.engine, Attendance) == 1


def test_a_member_cannot_open_or_make_up(runtime, chat, bureau):
    refused = chat.say("m1", "开始 主题党日", chat="g1")
    assert refused.is_error and "仅限" in refused.text
    assert _count(runtime.engine, Activity) == 0
    chat.say("sec1", "开始 主题党日", chat="g1")
    assert chat.say("m1", "补签 队员2 他来了", chat="g1").is_error
    assert chat.say("m1", "未签到", chat="g1").is_error
    assert chat.say("m1", "结束", chat="g1").is_error
    assert _count(runtime.engine, Attendance) == 0
    assert _only_activity(runtime.engine).status == "open"


def test_a_secretary_cannot_act_in_another_branchs_group(runtime, chat, bureau):
    reply = chat.say("sec1", "开始 主题党日", chat="g2")
    assert reply.is_error and "二支部" in reply.text
    assert _count(runtime.engine, Activity) == 0
    chat.say("sec2", "开始 主题党日", chat="g2")
    assert chat.say("sec1", "补签 外支部党员 来了", chat="g2").is_error
    assert chat.say("sec1", "结束", chat="g2").is_error
    assert _count(runtime.engine, Attendance) == 0
    # In a private chat a secretary's branch is their own, so 补签 cannot reach branch two.
    chat.say("sec1", "开始 主题党日", chat="g1")
    assert "没有找到" in chat.say("sec1", "补签 外支部党员 来了").text


def test_no_open_activity_names_the_next_one(runtime, chat, clock, bureau):
    assert "现在没有可以签到的活动" in chat.say("m1", "签到", chat="g1").text
    with Session(runtime.engine) as s:
        from storage.models import ActivityType

        store.open_activity(
            s,
            activity_type=ActivityType.NIGHT_STUDY,
            branch_id=bureau["one"],
            starts_at=clock.now() + timedelta(days=2, hours=10, minutes=30),
            now=clock.now(),
            opens_minutes_before=runtime.settings.checkin_opens_minutes_before,
            tz=runtime.settings.tz,
        )
        s.commit()
    reply = chat.say("m1", "签到", chat="g1")
    assert "下一次是政治夜学（11月25日 19:30），11月25日 19:00 开始签到" in reply.text
    assert _count(runtime.engine, Attendance) == 0


def test_check_in_after_the_end_is_refused_until_made_up(runtime, chat, clock, bureau):
    chat.say("sec1", "开始 夜学", chat="g1")
    clock.advance(minutes=91)  # night study lasts 90 minutes; nobody has closed it yet
    reply = chat.say("m1", "签到", chat="g1")
    assert reply.is_error and "截止" in reply.text
    assert _count(runtime.engine, Attendance) == 0


def test_check_in_after_the_secretary_ended_it_says_it_ended_and_how_to_be_made_up(
        runtime, chat, clock, bureau):
    """队员1 types 签到 a few minutes after 结束 (or after the scheduler closed it): told
    that meeting has ended and to ask for a 补签, as when its window has passed, not
    「现在没有可以签到的活动」 as if there had been none."""
    chat.say("sec1", "开始 夜学", chat="g1")
    clock.advance(minutes=40)
    chat.say("sec1", "结束", chat="g1")
    clock.advance(minutes=3)
    reply = chat.say("m1", "签到", chat="g1")
    assert reply.is_error and "夜学" in reply.text and "已结束" in reply.text, reply.text
    assert "补签" in reply.text
    # Closed by the scheduler at its end, the next morning: the same answer.
    chat.say("sec2", "开始 夜学", chat="g2")
    clock.advance(minutes=91)
    with Session(runtime.engine) as s:
        store.close_due(s, now=runtime.clock.now())
        s.commit()
    clock.advance(hours=10)
    late = chat.say("o1", "签到", chat="g2")
    assert late.is_error and "已结束" in late.text and "补签" in late.text, late.text
    assert _count(runtime.engine, Attendance) == 0
    # Days later it is not raised: the 补签 window is the secretary's to tell.
    clock.advance(days=2)
    assert "现在没有可以签到的活动" in chat.say("m1", "签到", chat="g1").text


def test_started_again_after_an_early_end_it_is_the_same_meeting_not_a_second_one(
        runtime, chat, clock, bureau):
    """李书记 sent 结束 twenty minutes into the theme day by mistake and 开始 again: a second
    theme day was opened beside it, so those checked in to the first were missing from the
    second and the rest from the first (each a penalty once confirmed, the branch's rate
    halved). The same meeting takes check-ins again, late ones counted from its start."""
    chat.say("sec1", "开始 主题党日 学习新党章", chat="g1")
    chat.say("sec1", "签到", chat="g1")
    chat.say("m1", "签到", chat="g1")
    clock.advance(minutes=20)
    chat.say("sec1", "结束", chat="g1")
    clock.advance(minutes=1)

    again = chat.say("sec1", "开始 主题党日", chat="g1")

    assert not again.is_error and "重新开始" in again.text, again.text
    assert "已签到 2 人" in again.text
    assert _count(runtime.engine, Activity) == 1
    assert "迟到" in chat.say("m2", "签到", chat="g1").text
    assert "不用重复签到" in chat.say("m1", "签到", chat="g1").text
    ended = chat.say("sec1", "结束", chat="g1")
    assert "参与 3/10（30.0%）" in ended.text, ended.text
    confirmed = chat.say("sec1", "确认缺席", chat="g1")
    assert "缺席 7 人" in confirmed.text
    assert _points_by_name(runtime.engine)["队员1"] == 3

    # Confirmed already, it is not opened again, nor a second one beside it: 补签 is the way.
    refused = chat.say("sec1", "开始 主题党日", chat="g1")
    assert refused.is_error and "补签" in refused.text, refused.text
    assert _count(runtime.engine, Activity) == 1
    # Past its planned end another theme day is another meeting.
    clock.advance(hours=2)
    assert not chat.say("sec1", "开始 主题党日", chat="g1").is_error
    assert _count(runtime.engine, Activity) == 2


def test_end_said_twice_says_who_ended_it_and_when(runtime, chat, clock, bureau):
    """Two secretaries (or one whose first 结束 seemed lost) both send 结束: the second was
    told only 「现在没有进行中的活动」, as if the meeting had never been held."""
    chat.say("sec1", "开始 主题党日 学习新党章", chat="g1")
    chat.say("m1", "签到", chat="g1")
    clock.advance(minutes=50)
    chat.say("sec1", "结束", chat="g1")
    clock.advance(minutes=1)
    again = chat.say("sec1", "结束", chat="g1")
    assert again.text.startswith("主题党日「学习新党章」（09:00）已由李书记在 09:50 结束"), again.text
    assert "参与 1/10" in again.text
    assert not again.is_error
    clock.advance(days=1)
    assert chat.say("sec1", "结束", chat="g1").text == "现在没有进行中的活动。"


def test_open_rejects_an_unknown_type_and_a_second_running_activity(runtime, chat, bureau):
    unknown = chat.say("sec1", "开始 吃饭", chat="g1")
    assert unknown.is_error and "例如：开始" in unknown.text and "政治夜学" in unknown.text
    assert _count(runtime.engine, Activity) == 0
    chat.say("sec1", "开始 夜学", chat="g1")
    twice = chat.say("sec1", "开始 主题党日", chat="g1")
    assert twice.is_error and "正在进行" in twice.text
    activity = _only_activity(runtime.engine)
    assert activity.type == "政治夜学" and activity.ends_at - activity.starts_at == timedelta(
        minutes=90
    )
    assert activity.checkin_opens_at == activity.starts_at - timedelta(minutes=30)


def test_lecture_hall_keeps_its_lecturer(runtime, chat, bureau):
    reply = chat.say("sec1", "开始 党建大讲堂 新时代公安工作 主讲 王五", chat="g1")
    assert "主讲：王五" in reply.text
    activity = _only_activity(runtime.engine)
    assert (activity.topic, activity.lecturer) == ("新时代公安工作", "王五")


def test_activity_shows_the_figures(runtime, chat, bureau):
    assert "还没有活动记录" in chat.say("m1", "活动", chat="g1").text
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("m1", "签到", chat="g1")
    chat.say("m2", "请假 出差", chat="g1")
    reply = chat.say("m3", "活动", chat="g1")
    assert "进行中" in reply.text
    assert "参与 1/9（11.1%）：出席 1、迟到 0、补签 0、请假 1、未到 8" in reply.text


def test_committee_study_in_the_leaders_group_expects_the_bureau_committee(runtime, chat, bureau):
    def leaders(session):
        make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss", bureau_committee=True)
        make_member(session, None, "钱政委", role=Role.LEADER, wecom="boss2", bureau_committee=True)
        # The admin runs djbot; not being on the 党委, they are not counted missing.
        make_member(session, None, "孙管理", role=Role.ADMIN, wecom="admin")
        bind_chat(session, None, "leaders", leaders=True)

    seed(runtime.engine, leaders)
    opened = chat.say("boss", "开始 中心组 学习全会精神", chat="leaders")
    assert "应到：党委委员 2 人" in opened.text
    assert "签到成功" in chat.say("boss", "签到", chat="leaders").text
    # The committee's study is not a branch member's to check in to.
    assert "不需要你参加" in chat.say("m1", "签到").text
    assert "未签到 1 人：钱政委" in chat.say("boss", "未签到").text
    assert _only_activity(runtime.engine).branch_id is None


def test_a_bureau_wide_lecture_is_checked_in_from_the_branch_group(runtime, chat, bureau):
    def leader(session):
        make_member(session, None, "赵局长", role=Role.LEADER, wecom="boss")
        bind_chat(session, None, "leaders", leaders=True)

    seed(runtime.engine, leader)
    asked = chat.say("boss", "开始 大讲堂 全面从严治党 对象 全体 主讲 赵局长", chat="leaders").text
    assert "涉及 2 个支部" in asked and "确认" in asked  # nothing opens before 确认
    assert "现在没有" in chat.say("m1", "签到", chat="g1").text
    assert "开始了" in chat.say("boss", "确认", chat="leaders").text
    assert "签到成功" in chat.say("m1", "签到", chat="g1").text
    assert "签到成功" in chat.say("o1", "签到").text
    assert "仅限领导" in chat.say("sec1", "结束", chat="leaders").text
    assert _only_activity(runtime.engine).status == "open"


def test_a_party_group_meeting_expects_only_that_group(runtime, chat):
    from tests.factories import make_group

    def build(session):
        branch = make_branch(session, "一支部")
        bind_chat(session, branch, "g1")
        first, second = make_group(session, branch, "第一党小组"), make_group(session, branch, "第二党小组")
        make_member(session, branch, "书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "甲", wecom="a", party_group_id=first.id)
        make_member(session, branch, "乙", wecom="b", party_group_id=first.id)
        make_member(session, branch, "丙", wecom="c", party_group_id=second.id)
    seed(runtime.engine, build)

    unnamed = chat.say("sec", "开始 党小组会 学习新党章", chat="g1")  # the secretary is in no group
    assert unnamed.is_error and "写明是哪个党小组" in unnamed.text and "例如：开始 党小组会 第一党小组" in unnamed.text
    opened = chat.say("sec", "开始 党小组会 第一党小组 学习新党章", chat="g1")
    assert "党小组会·第一党小组「学习新党章」" in opened.text
    assert "签到成功" in chat.say("a", "签到", chat="g1").text
    other = chat.say("c", "签到", chat="g1")  # another group's member
    assert other.is_error and "党小组会·第一党小组" in other.text and "不需要你参加" in other.text
    assert chat.say("sec", "未签到", chat=None).text.endswith("未签到 1 人：乙")


def test_a_leader_asks_privately_who_is_missing_in_one_branch(runtime, chat):
    def build(session):
        one, two = make_branch(session, "一支部"), make_branch(session, "二支部")
        bind_chat(session, one, "g1")
        make_member(session, one, "书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, one, "甲", wecom="a")
        make_member(session, two, "二书记", role=Role.SECRETARY, wecom="sec2")
        make_member(session, None, "领导", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, build)
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("sec", "签到", chat="g1")

    assert chat.say("boss", "未签到 一支部").text.endswith("未签到 1 人：甲")
    assert "不是你的支部" in chat.say("sec2", "未签到 一支部").text  # not another branch's
    assert "没有找到支部「三支部」" in chat.say("boss", "未签到 三支部").text


def test_a_make_up_for_two_names_at_once_changes_nothing_and_says_how(runtime, chat, bureau):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("sec1", "结束", chat="g1")
    for text in ("补签 队员1、队员2 手机没电", "补签 队员1 队员2 手机没电"):
        reply = chat.say("sec1", text)
        assert reply.is_error, reply.text  # not 队员1 made up with the reason 「队员2 手机没电」
        assert "补签 队员1 手机没电" in reply.text and "补签 队员2 手机没电" in reply.text
    assert _count(runtime.engine, Attendance) == 0
    assert _count(runtime.engine, PointEntry) == 0
    made_up = chat.say("sec1", "补签 队员1 队员2带他来的")  # a reason that only starts with a name
    assert not made_up.is_error and "原因：队员2带他来的" in made_up.text


def test_a_make_up_said_with_ge_for_another_is_made(runtime, chat, bureau):
    """给队员1补个签 手机没电, as secretaries say it, was 没有这个指令 (给队员1补签 was read)."""
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("sec1", "结束", chat="g1")
    made_up = chat.say("sec1", "给队员1补个签 手机没电")
    assert not made_up.is_error and "原因：手机没电" in made_up.text, made_up.text
    assert _count(runtime.engine, Attendance) == 1


def test_the_words_members_type_reach_the_command_and_questions_record_nothing(
        runtime, chat, bureau):
    """签到👍 and qd check in; 请假条怎么写 is told how (no leave with the reason 条怎么写);
    请假取消 takes leave back (never leave asked with the reason 取消)."""
    chat.say("sec1", "开始 主题党日", chat="g1")
    assert "签到成功" in chat.say("m1", "签到👍", chat="g1").text
    assert "签到成功" in chat.say("m2", "qd", chat="g1").text
    how = chat.say("m3", "请假条怎么写", chat="g1")
    assert not how.is_error and how.text.startswith("请假："), how.text
    assert "已请假" not in how.text
    assert "已请假" in chat.say("m4", "请假 外出办案", chat="g1").text
    back = chat.say("m4", "请假取消", chat="g1")
    assert not back.is_error and back.text.startswith("已销假。"), back.text
    studied = chat.say("m5", "学习 党史 1 小时", chat="g1")
    assert "党史 60 分钟" in studied.text, studied.text


@pytest.mark.parametrize("said, topic", [
    ("主题党日开始 请大家签到", None), ("主题党日开始了，大家安静", None),
    ("开始 主题党日 @所有人", None), ("主题党日马上开始，请大家准时参加", None),
    ("开始 主题党日 学习新党章，请大家签到", "学习新党章"),
    ("开始 主题党日 学习新党章 @所有人", "学习新党章")])
def test_words_to_the_group_are_no_topic(runtime, chat, bureau, said, topic):
    """请大家签到, 大家安静, @所有人 said with 开始 were kept as the topic, and every later
    reply named the activity 主题党日「请大家签到」."""
    reply = chat.say("sec1", said, chat="g1")
    assert not reply.is_error and reply.text.startswith(
        f"主题党日「{topic}」" if topic else "主题党日（"), reply.text
    assert (_only_activity(runtime.engine).topic or None) == topic
    checked_in = chat.say("m1", "签到", chat="g1").text
    assert "大家" not in checked_in and "所有人" not in checked_in, checked_in


@pytest.mark.parametrize("said", ["签到开始了，大家签一下", "签到开始了，请大家签到", "开始，请大家签到"])
def test_words_to_the_group_in_place_of_the_activity_ask_which_one(runtime, chat, bureau, said):
    """签到开始了，请大家签到 was told 「没有「请大家签到」这种活动」: the secretary named no
    activity, and was blamed for one."""
    reply = chat.say("sec1", said, chat="g1")
    assert reply.is_error and "缺少活动类型" in reply.text and "这种活动" not in reply.text, reply.text


def test_a_second_theme_day_after_an_early_end_is_told_how_to_be_one(runtime, chat, clock,
                                                                      bureau):
    """The morning's theme day (学习新党章) ended at 09:50; at 10:30 李书记 opens the next
    one, a different matter, with 开始 主题党日. It goes on with the first (its planned
    end is 11:00), and every 结束 and 开始 again went on with it too: two meetings, one
    record (三会一课 counts one), and those who came at 10:30 late. The reply says how to
    make it a meeting of its own, and doing so opens one: on time at 10:31."""
    chat.say("sec1", "开始 主题党日 学习新党章", chat="g1")
    chat.say("m1", "签到", chat="g1")
    clock.advance(minutes=50)
    chat.say("sec1", "结束", chat="g1")
    clock.advance(minutes=40)

    again = chat.say("sec1", "开始 主题党日", chat="g1")
    assert "重新开始" in again.text
    assert "如果是另一次主题党日，请先发送「结束」，再发送「开始 主题党日 主题」" in again.text, again.text

    chat.say("sec1", "结束", chat="g1")
    second = chat.say("sec1", "开始 主题党日 讨论发展党员", chat="g1")
    assert not second.is_error and "重新开始" not in second.text, second.text
    assert _count(runtime.engine, Activity) == 2
    clock.advance(minutes=1)
    assert "迟到" not in chat.say("m2", "签到", chat="g1").text


def test_check_in_before_the_next_one_opens_is_told_when_it_does_not_only_that_the_last_ended(
        runtime, chat, clock):
    """李明 missed Tuesday's night study; Wednesday at 17:00 he sends 签到 for Wednesday's,
    which opens at 19:00. He was told only that Tuesday's had ended and to ask for a 补签,
    as if tonight's were not there: now he hears that too, and when tonight's opens."""
    from tests.conftest import local
    from tests.test_figures import night_studies, run_ticks

    night_studies(runtime, "每周二、周三 19:30")
    clock.set(local(2026, 12, 8, 18, 0))
    run_ticks(runtime, clock, local(2026, 12, 9, 17, 0))

    early = chat.say("li", "签到", chat="g1")

    assert "已结束" in early.text and "补签" in early.text, early.text
    assert "下一次是政治夜学（19:30），19:00 开始签到。" in early.text, early.text
