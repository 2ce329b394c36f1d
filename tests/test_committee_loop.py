"""The committee's loop in chat and in the scheduler: roles, usage replies, 先锋党员 honours,
整改 items, 结对 suggestions, 三会一课 standing and reminders, the summary's lines."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlmodel import Session, select

from bot.domain.meetings import Held, due_reminders, required_meetings, standing
from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from handlers.committee import parse_talk, suggest_pairs
from storage.models import (
    Activity,
    Attendance,
    BranchPairing,
    Member,
    OutboxMessage,
    PioneerNomination,
    PointEntry,
    ReadingClass,
    Rectification,
    ResearchVisit,
    Role,
    Talk,
)
from tests.conftest import SHANGHAI, local
from tests.factories import T0, bind_chat, make_branch, make_group, make_member, seed


def hold(session, branch, starts_at, type_: str, *, group=None, status: str = "closed") -> Activity:
    activity = Activity(type=type_, topic="", branch_id=branch.id if branch else None,
                        party_group_id=group.id if group else None, starts_at=starts_at,
                        ends_at=starts_at + timedelta(hours=2),
                        checkin_opens_at=starts_at - timedelta(minutes=30),
                        checkin_closes_at=starts_at + timedelta(hours=2), status=status,
                        # A closed record has had its absences confirmed (确认缺席 or a day on).
                        finalized_at=starts_at + timedelta(hours=2) if status == "closed" else None,
                        created_at=T0)
    session.add(activity)
    session.flush()
    return activity


def record_at(s, activity, statuses: dict[str, str]) -> None:
    """Each named member's attendance row on the activity, with the status given."""
    from storage.models import Member

    names = {m.name: m for m in s.exec(select(Member)).all()}
    for name, status in statuses.items():
        s.add(Attendance(activity_id=activity.id, member_id=names[name].id, status=status,
                         updated_at=activity.starts_at))


@pytest.fixture
def bureau(runtime):
    def build(s):
        one, two = make_branch(s, "一支部"), make_branch(s, "二支部")
        make_group(s, one, "一组")
        bind_chat(s, None, "lg", leaders=True)
        bind_chat(s, one, "g1")
        bind_chat(s, two, "g2")
        make_member(s, None, "赵领导", role=Role.LEADER, wecom="lead")
        make_member(s, one, "王书记", role=Role.SECRETARY, wecom="sec1")
        make_member(s, two, "李书记", role=Role.SECRETARY, wecom="sec2")
        make_member(s, one, "张三", wecom="zs")
        make_member(s, one, "李四", wecom="ls")
        make_member(s, two, "赵六", wecom="zl")
        return one, two

    return seed(runtime.engine, build)


def rows(runtime, model):
    with Session(runtime.engine) as s:
        return list(s.exec(select(model)).all())


def outbox(runtime, kind):
    with Session(runtime.engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)
                           .order_by(OutboxMessage.id)).all())


# --- roles and usage -----------------------------------------------------------------------


def test_members_and_secretaries_cannot_record_talks_pairs_or_confirm_pioneers(runtime, chat, bureau):
    assert "仅限领导" in chat.say("zs", "约谈 二支部 问题 参与率低").text
    assert "仅限领导" in chat.say("sec1", "约谈 二支部 问题 参与率低").text
    assert "仅限领导" in chat.say("sec1", "结对 一支部 二支部").text
    assert chat.say("zs", "推荐 先锋党员 李四 好").is_error
    chat.say("sec1", "推荐 先锋党员 张三 带头值守")
    assert "仅限领导" in chat.say("sec1", "确认 先锋党员 张三").text
    assert "仅限领导" in chat.say("zs", "确认 先锋党员 张三").text
    assert chat.say("zs", "三会一课").is_error
    assert rows(runtime, Talk) == []
    [nomination] = rows(runtime, PioneerNomination)
    assert nomination.confirmed_at is None


def test_a_leader_in_a_branch_group_is_told_where_to_send_talks_and_pairs(runtime, chat,
                                                                          bureau):
    """约谈 二支部 … sent by a leader in 一支部's group would have told 一支部 what 二支部 was
    talked to about; 结对 and 调研记录 name weak branches too, and 整改 a branch's problem
    and its owner (the list of them is not shown in a group either). Refused there,
    nothing kept; the leaders' group and a private chat still work."""
    chat.say("lead", "约谈 二支部 问题 参与率低", chat="lg")
    for text in ("约谈 二支部 问题 夜学到课率低", "约谈记录", "结对 一支部 二支部", "结对",
                 "调研记录", "整改 二支部 赵六 台账不全"):
        reply = chat.say("lead", text, chat="g1")
        assert reply.is_error and "请在领导群或私聊我发送" in reply.text, (text, reply.text)
        assert "二支部" not in reply.text and "参与率低" not in reply.text
    assert [t.problems for t in rows(runtime, Talk)] == ["参与率低"]
    assert rows(runtime, BranchPairing) == [] and rows(runtime, Rectification) == []
    assert "已结对帮扶 #1" in chat.say("lead", "结对 一支部 二支部").text
    assert "已登记整改事项 #1" in chat.say("lead", "整改 二支部 赵六 台账不全", chat="lg").text


@pytest.mark.parametrize("text, problem", [
    ("约谈 二支部", "缺少问题和整改要求（日期可省，写在最前，如 昨天、上周四、3月5日）"),
    ("约谈 二支部 整改 下月补开", "请写明约谈指出的问题"),
    ("约谈 五支部 问题 参与率低", "没有找到支部「五支部」"),
    ("约谈 二支部 12月30日 问题 参与率低", "约谈日期不能晚于今天"),
    ("约谈 二支部 明天 问题 参与率低", "约谈日期不能晚于今天"),
    ("约谈 二支部 下周一 问题 参与率低", "约谈日期不能晚于今天"),
    ("约谈 二支部 2月30日 问题 参与率低", "日期「2月30日」不存在"),
    # Asked, or still to come: it was recorded as a talk today, the question its problem.
    ("约谈 二支部 要约谈吗", "没有记录"),
    ("约谈 二支部 约谈过吗", "没有记录"),
    ("约谈 二支部 下周", "没有记录"),
    ("约谈 二支部 准备约谈", "没有记录"),
    ("结对 一支部", "请写出两个支部"),
    ("结对 一支部 一支部", "不能和自己结对"),
    ("整改完成 十二", "没有编号为 12 的整改事项"),
    ("整改完成 第十二", "编号应是数字"),
    ("整改完成 99", "没有编号为 99 的整改事项"),
    ("整改 二支部 赵六", "请写出责任人和问题"),
    # Asked of the item: it was registered, and its owner told privately.
    ("整改 二支部 赵六 台账不全吗", "没有记录"),
    ("整改 二支部 赵六 要整改吗", "没有记录"),
    ("确认 先锋 张三", "类别只能是 先锋党员"),
    ("确认 先锋党员", "缺少姓名"),
    ("结束结对", "缺少编号"),
    ("结束结对 9 已见效", "没有编号为 9 的结对"),
    ("结束结对 第一", "编号应是数字"),
])
def test_bad_arguments_get_a_chinese_usage_reply_and_change_nothing(runtime, chat, bureau, text,
                                                                     problem):
    reply = chat.say("lead", text, chat="lg")
    assert reply.is_error and problem in reply.text, reply.text
    if "缺少" in problem:
        assert "例如：" in reply.text
    assert rows(runtime, Talk) == [] and rows(runtime, Rectification) == []


@pytest.mark.parametrize("said", ["推荐 先锋党员 张三 可以吗", "推荐 先锋党员 张三 行吗",
                                  "推荐 先锋党员 张三 够格吗"])
def test_asking_whether_one_may_be_nominated_nominates_nobody(runtime, chat, bureau, said):
    """推荐 先锋党员 张三 可以吗 nominated 张三 with the 事迹 「可以吗」, and the leaders'
    group was told to confirm it."""
    reply = chat.say("sec1", said, chat="g1")
    assert reply.is_error and "没有记录" in reply.text and "事迹" in reply.text, reply.text
    assert rows(runtime, PioneerNomination) == []


def test_usage_lines_carry_an_example(runtime, chat, bureau):
    reply = chat.say("lead", "约谈 二支部", chat="lg")
    assert "缺少问题和整改要求" in reply.text and "<" not in reply.text
    assert "例如：约谈 刑侦 3月5日 问题" in reply.text
    nominate = chat.say("sec1", "推荐 先锋党员 王麻子 好")
    assert "本支部没有找到「王麻子」" in nominate.text and "例如：推荐 先锋党员" in nominate.text


def test_parse_talk_reads_date_problems_and_remedy():
    today = date(2026, 11, 23)
    assert parse_talk("3月5日 问题 主题党日参与率低 整改 下月补开", today) == (
        (date(2026, 3, 5), "主题党日参与率低", "下月补开"), None)
    assert parse_talk("问题：学习记录不全", today) == ((today, "学习记录不全", ""), None)
    assert parse_talk("2025-12-01 组织生活不规范", today)[0] == (date(2025, 12, 1), "组织生活不规范", "")
    assert parse_talk("3-5 问题 记录不全", today)[0] == (date(2026, 3, 5), "记录不全", "")


@pytest.mark.parametrize(("said", "day"), [
    ("昨天", date(2026, 11, 22)),
    ("前天", date(2026, 11, 21)),
    ("上周四", date(2026, 11, 19)),
    ("周五", date(2026, 11, 20)),  # the last Friday: a talk is recorded after it was held
    ("20号", date(2026, 11, 20)),
    ("12月30日", date(2026, 12, 30)),  # said on 2 January 2027
])
def test_a_talk_is_of_a_day_past_as_people_say_it(said, day):
    today = date(2027, 1, 2) if said == "12月30日" else date(2026, 11, 23)
    assert parse_talk(f"{said} 问题 参与率低", today) == ((day, "参与率低", ""), None)


def test_a_talk_said_to_be_yesterday_is_recorded_on_yesterday(runtime, chat, bureau):
    reply = chat.say("lead", "约谈 二支部 昨天 问题 夜学到课率低 整改 按时开展", chat="lg")

    assert "已记录约谈 #1：二支部，11月22日" in reply.text, reply.text
    assert "问题：夜学到课率低" in reply.text and "整改：按时开展" in reply.text
    [talk] = rows(runtime, Talk)
    assert (talk.talked_on, talk.problems) == (date(2026, 11, 22), "夜学到课率低")


# --- 约谈 and the summary ------------------------------------------------------------------------


def two_blue_in_november(one, two):
    """A seed: 一支部's theme day was full; 二支部 held one nobody came to: blue this month."""
    def quiet_month(s):
        full = hold(s, one, local(2026, 11, 10, 14, 30), "主题党日")
        for member in s.exec(select(Member).where(Member.branch_id == one.id)).all():
            s.add(Attendance(activity_id=full.id, member_id=member.id, status="present",
                             updated_at=full.starts_at))
            s.add(PointEntry(member_id=member.id, branch_id=one.id, points=12, rule="test",
                             source_kind="study", source_id=f"t{member.id}",
                             occurred_at=full.starts_at, created_at=full.starts_at))
        empty = hold(s, two, local(2026, 11, 12, 14, 30), "主题党日")
        # Absences count once confirmed (确认缺席, or automatically a day later).
        for member in s.exec(select(Member).where(Member.branch_id == two.id)).all():
            s.add(Attendance(activity_id=empty.id, member_id=member.id, status="absent",
                             updated_at=empty.ends_at))

    return quiet_month


def test_a_talk_records_the_tier_then_and_the_summary_stops_asking(runtime, chat, clock, bureau):
    seed(runtime.engine, two_blue_in_november(*bureau))
    summary = chat.say("lead", "周报 本周", chat="lg").text
    assert "**蓝档待约谈**\n· 二支部（11月起蓝档）" in summary
    assert "张三" not in summary and "赵六" not in summary  # branches only, no member named

    reply = chat.say("lead", "约谈 二支部 问题 主题党日无人参加 整改 下周补开", chat="lg")
    assert "已记录约谈 #1：二支部，11月23日（本月蓝档）" in reply.text
    [talk] = rows(runtime, Talk)
    assert (talk.tier_then, talk.problems, talk.remedy) == ("蓝", "主题党日无人参加", "下周补开")

    summary = chat.say("lead", "周报 本周", chat="lg").text
    assert "蓝档待约谈" not in summary
    assert "· 二支部 11-23 约谈：前 蓝档 参与率0% → 后 暂无活动" in summary
    assert "· #1 11-23 二支部：前 蓝档 参与率0% → 后 暂无活动" in chat.say("lead", "约谈记录").text


def test_a_talk_recorded_in_error_is_withdrawn_and_counts_nowhere(runtime, chat, clock, bureau):
    """约谈 一支部 … typed for 二支部, the blue one: the talk stayed on record for good (撤销
    answered only that a 约谈 cannot be undone), in 约谈记录 and the year's 约谈, and 二支部
    looked talked to. 撤销约谈 <编号> takes it back: kept with who and why, counted nowhere."""
    seed(runtime.engine, two_blue_in_november(*bureau))
    assert "已记录约谈 #1：二支部" in chat.say("lead", "约谈 二支部 问题 参与率低", chat="lg").text
    assert "蓝档待约谈" not in chat.say("lead", "周报 本周", chat="lg").text
    hint = chat.say("lead", "撤销 约谈 1", chat="lg")
    assert hint.is_error and "撤销约谈 编号 原因" in hint.text, hint.text
    refused = chat.say("lead", "撤销约谈 1 支部记错", chat="g1")
    assert refused.is_error and "请在领导群或私聊我发送" in refused.text
    assert "仅限领导" in chat.say("sec2", "撤销约谈 1").text
    assert rows(runtime, Talk)[0].withdrawn_at is None

    reply = chat.say("lead", "撤销约谈 1 支部记错", chat="lg")
    assert "已撤销约谈 #1：二支部，11月23日（原因：支部记错）" in reply.text, reply.text
    [talk] = rows(runtime, Talk)
    assert talk.withdrawn_at is not None and talk.withdraw_reason == "支部记错"
    assert "还没有约谈记录" in chat.say("lead", "约谈记录", chat="lg").text
    assert "**蓝档待约谈**\n· 二支部（11月起蓝档）" in chat.say("lead", "周报 本周", chat="lg").text
    again = chat.say("lead", "撤销约谈 1", chat="lg")
    assert again.is_error and "没有编号为 1 的约谈" in again.text
    # The day's real talk is not asked about as a second one.
    assert "已记录约谈 #2" in chat.say("lead", "约谈 二支部 问题 参与率低", chat="lg").text


def test_a_last_years_talk_stays_once_its_figures_have_gone_out(runtime, chat, clock, bureau):
    chat.say("lead", "约谈 二支部 问题 参与率低", chat="lg")
    clock.set(local(2027, 1, 20, 9, 0))
    refused = chat.say("lead", "撤销约谈 1", chat="lg")
    assert refused.is_error and "是 2026 年的" in refused.text and "不能撤销" in refused.text
    assert rows(runtime, Talk)[0].withdrawn_at is None


def test_after_a_talk_a_branch_that_held_something_unconfirmed_is_not_said_to_hold_nothing(
        runtime, chat, clock, bureau):
    """The afternoon after the talk 二支部 held its theme day; nobody checked in and the
    absences wait for confirmation. 约谈前后 said 后 暂无活动, as if the branch had done
    nothing since, where 红黄蓝榜 says it held one and has no rate yet."""
    one, two = bureau
    reply = chat.say("lead", "约谈 二支部 问题 主题党日无人参加 整改 下周补开", chat="lg")
    assert "已记录约谈 #1" in reply.text, reply.text
    seed(runtime.engine, lambda s: hold(s, two, local(2026, 11, 23, 14, 30), "主题党日",
                                        status="open"))
    clock.set(local(2026, 11, 23, 17, 0))
    said = "· 二支部 11-23 约谈：前 暂无活动 → 后 暂无参与率（活动 1 次，2 人缺席待确认）"
    assert said in chat.say("lead", "周报 本周", chat="lg").text
    assert "→ 后 暂无参与率（活动 1 次，2 人缺席待确认）" in chat.say("lead", "约谈记录").text


def test_a_branch_blue_last_month_is_still_asked_about_in_the_new_months_first_days(
        runtime, chat, clock, bureau):
    """The month's tier decides the talk. On the first Monday of December, with nothing held
    yet that month, 二支部 (blue all November, no talk) fell off 蓝档待约谈: the list read
    December's tiers to date, and there were none."""
    one, two = bureau

    def blue_november(s):
        empty = hold(s, two, local(2026, 11, 12, 14, 30), "主题党日")
        for member in s.exec(select(Member).where(Member.branch_id == two.id)).all():
            s.add(Attendance(activity_id=empty.id, member_id=member.id, status="absent",
                             updated_at=empty.ends_at))

    seed(runtime.engine, blue_november)
    clock.set(local(2026, 12, 7, 9, 0))
    summary = chat.say("lead", "周报 本周", chat="lg").text
    assert "**蓝档待约谈**\n· 二支部（11月起蓝档）" in summary, summary
    assert "已记录约谈" in chat.say("lead", "约谈 二支部 问题 主题党日无人参加", chat="lg").text
    assert "蓝档待约谈" not in chat.say("lead", "周报 本周", chat="lg").text


def test_a_branch_flagged_for_a_talk_in_the_summarys_table_is_on_its_waiting_list(
        runtime, chat, clock, bureau):
    """二支部 came in full with its points early in November, and nobody came to its theme
    day last week: the week's table said 🔵蓝（约谈）, while 蓝档待约谈 (the month's tier,
    yellow so far) did not name it. A leader reading one summary could not tell whether a
    talk was owed. The list names a branch the table flags, until a talk since."""
    one, two = bureau

    def early_then_empty(s):
        full = hold(s, two, local(2026, 11, 3, 14, 30), "主题党日")
        for member in s.exec(select(Member).where(Member.branch_id == two.id)).all():
            s.add(Attendance(activity_id=full.id, member_id=member.id, status="present",
                             updated_at=full.starts_at))
            s.add(PointEntry(member_id=member.id, branch_id=two.id, points=12, rule="test",
                             source_kind="study", source_id=f"t{member.id}",
                             occurred_at=full.starts_at, created_at=full.starts_at))
        empty = hold(s, two, local(2026, 11, 18, 14, 30), "主题党日")
        for member in s.exec(select(Member).where(Member.branch_id == two.id)).all():
            s.add(Attendance(activity_id=empty.id, member_id=member.id, status="absent",
                             updated_at=empty.ends_at))

    seed(runtime.engine, early_then_empty)
    summary = chat.say("lead", "周报", chat="lg").text
    assert "**二支部** 🔵蓝（约谈）" in summary, summary
    assert "**蓝档待约谈**\n· 二支部（本期蓝档）" in summary, summary
    assert "已记录约谈" in chat.say("lead", "约谈 二支部 问题 主题党日无人参加", chat="lg").text
    assert "蓝档待约谈" not in chat.say("lead", "周报", chat="lg").text


def test_a_branch_blue_all_month_and_talked_to_is_not_asked_again_each_week(
        runtime, chat, clock, bureau):
    """Blue all November and talked to on 10 November: the week's table still flags it,
    and 蓝档待约谈 asked for a talk again, every week it stayed blue. One talk answers a
    run of blue months, as 蓝档待约谈 has always read it."""
    seed(runtime.engine, two_blue_in_november(*bureau))
    seed(runtime.engine, lambda s: record_at(
        s, hold(s, bureau[1], local(2026, 11, 18, 14, 30), "主题党日"), {"赵六": "absent",
                                                                        "李书记": "absent"}))
    clock.set(local(2026, 11, 10, 18, 0))
    assert "已记录约谈" in chat.say("lead", "约谈 二支部 问题 主题党日无人参加", chat="lg").text
    clock.set(local(2026, 11, 23, 9, 0))
    summary = chat.say("lead", "周报", chat="lg").text
    assert "**二支部** 🔵蓝（约谈）" in summary, summary
    assert "蓝档待约谈" not in summary, summary


def test_a_talk_written_for_an_earlier_month_records_that_months_tier(runtime, chat, clock,
                                                                     bureau):
    """约谈 二支部 11月20日 … typed in December: the tier on record (当时档次 on the bureau
    page) is November's, when the branch was blue, not December's."""
    one, two = bureau

    def blue_november(s):
        full = hold(s, one, local(2026, 11, 10, 14, 30), "主题党日")
        for member in s.exec(select(Member).where(Member.branch_id == one.id)).all():
            s.add(Attendance(activity_id=full.id, member_id=member.id, status="present",
                             updated_at=full.starts_at))
        empty = hold(s, two, local(2026, 11, 12, 14, 30), "主题党日")
        for member in s.exec(select(Member).where(Member.branch_id == two.id)).all():
            s.add(Attendance(activity_id=empty.id, member_id=member.id, status="absent",
                             updated_at=empty.ends_at))

    seed(runtime.engine, blue_november)
    clock.set(local(2026, 12, 3, 10, 0))
    reply = chat.say("lead", "约谈 二支部 11月20日 问题 主题党日无人参加", chat="lg")
    assert "已记录约谈 #1：二支部，11月20日（11月蓝档）" in reply.text, reply.text
    [talk] = rows(runtime, Talk)
    assert talk.tier_then == "蓝"


def test_a_back_dated_talk_counts_the_years_talks_as_the_talks_list_does(runtime, chat, clock,
                                                                          bureau):
    """约谈 typed for an earlier day says how many talks the branch has had this year, all of
    them, as 约谈记录 lists them: not only those up to that day."""
    clock.set(local(2026, 12, 3, 10, 0))
    assert "约谈二支部 1 次" in chat.say("lead", "约谈 二支部 问题 记录不全", chat="lg").text
    earlier = chat.say("lead", "约谈 二支部 11月20日 问题 主题党日无人参加", chat="lg").text
    assert "2026 年约谈二支部 2 次" in earlier, earlier
    assert "2026 年约谈 2 次" in chat.say("lead", "约谈记录").text


def test_an_ended_branch_is_not_left_waiting_for_a_talk_it_cannot_have(runtime, chat, clock,
                                                                       bureau):
    """A 临时党支部 blue in the month it ended: 约谈 no longer finds it, so 周报 must not ask
    for that talk week after week (蓝档待约谈 names standing branches only)."""
    from datetime import date

    def month(s):
        task = make_branch(s, "专项临时支部", temporary=True, ends_on=date(2026, 11, 20))
        make_member(s, task, "孙七", wecom="sq")
        for branch in bureau:
            full = hold(s, branch, local(2026, 11, 10, 14, 30), "主题党日")
            for member in s.exec(select(Member).where(Member.branch_id == branch.id)).all():
                s.add(Attendance(activity_id=full.id, member_id=member.id, status="present",
                                 updated_at=full.starts_at))
        empty = hold(s, task, local(2026, 11, 12, 14, 30), "主题党日")
        for member in s.exec(select(Member).where(Member.branch_id == task.id)).all():
            s.add(Attendance(activity_id=empty.id, member_id=member.id, status="absent",
                             updated_at=empty.ends_at))
        task.active = False  # ended on 20 November
        s.add(task)

    seed(runtime.engine, month)
    clock.set(local(2026, 11, 25, 9, 0))
    assert "没有找到支部「专项临时支部」" in chat.say("lead", "约谈 专项临时支部 问题 无人参加",
                                                   chat="lg").text
    summary = chat.say("lead", "周报 本周", chat="lg").text
    assert "蓝档待约谈" not in summary and "专项临时支部" not in summary, summary
    # 红黄蓝榜 still shows its month, but asks for no talk with it either.
    board = chat.say("lead", "红黄蓝榜", chat="lg").text
    [line] = [x for x in board.splitlines() if "专项临时支部" in x]
    assert "（已撤销）" in line and "约谈" not in line, board
    assert "🔵 蓝榜（1 个）" in board


def test_a_talk_sent_again_the_same_day_is_asked_about_before_it_counts(runtime, chat, bureau):
    """约谈 typed twice (no answer seen, sent again) was two talks in 约谈记录 and the year's
    约谈支部N次; now the second is asked about, as 调研 is, and counts only on 确认."""
    assert "已记录约谈 #1" in chat.say("lead", "约谈 二支部 问题 参与率低", chat="lg").text
    again = chat.say("lead", "约谈 二支部 问题 参与率低", chat="lg")
    assert not again.is_error and "11月23日对二支部的约谈已有记录（#1）" in again.text, again.text
    assert len(rows(runtime, Talk)) == 1
    assert "2026 年约谈 1 次" in chat.say("lead", "约谈记录", chat="lg").text
    chat.say("lead", "约谈 二支部 问题 记录不全", chat="lg")
    assert "约谈二支部 2 次" in chat.say("lead", "确认", chat="lg").text
    assert [t.problems for t in rows(runtime, Talk)] == ["参与率低", "记录不全"]


def test_a_problem_sent_again_is_asked_about_before_it_is_a_second_item(runtime, chat, clock,
                                                                       bureau):
    """整改 typed twice made two items for one problem (two in 整改, two in the year's
    发现问题); the second is now asked about while the first is open, and counts on 确认."""
    assert "已登记整改事项 #1" in chat.say("lead", "整改 二支部 李书记 记录不全", chat="lg").text
    again = chat.say("lead", "整改 二支部 李书记 记录不全", chat="lg")
    assert not again.is_error and "二支部已有这项未完成的整改（#1，责任人 李书记）" in again.text
    assert len(rows(runtime, Rectification)) == 1
    assert "已登记整改事项 #2" in chat.say("lead", "确认", chat="lg").text
    for item in (1, 2):
        assert "已完成" in chat.say("lead", f"整改完成 {item} 已补齐", chat="lg").text
    # Once none is open, the same problem found again is a new item at once.
    assert "已登记整改事项 #3" in chat.say("lead", "整改 二支部 李书记 记录不全", chat="lg").text


def test_another_branchs_item_is_not_closed_in_a_branchs_group(runtime, chat, bureau):
    """整改完成 1 sent by a leader in 一支部's group answered there with 二支部's problem.
    Refused there, still open; the owner in the branch's own group closes it."""
    chat.say("lead", "整改 二支部 赵六 学习室资料陈旧", chat="lg")
    refused = chat.say("lead", "整改完成 1", chat="g1")
    assert refused.is_error and "不是本支部的" in refused.text and "资料" not in refused.text
    assert rows(runtime, Rectification)[0].closed_on is None
    assert "整改事项 #1 已完成" in chat.say("zl", "整改完成 1 已更新", chat="g2").text


def test_a_number_copied_from_a_list_with_its_hash_is_read(runtime, chat, bureau):
    """整改, 结对 and 约谈记录 list items as #1; 整改完成 #1 (copied as shown) was refused
    with 「编号应是数字，收到「#1」」. Now it is the number."""
    chat.say("lead", "整改 二支部 赵六 学习室资料陈旧", chat="lg")
    assert "· #1 二支部" in chat.say("lead", "整改", chat="lg").text
    assert "整改事项 #1 已完成" in chat.say("zl", "整改完成 #1 已更新").text
    chat.say("lead", "结对 一支部 二支部", chat="lg")
    assert "已结束结对帮扶 #1" in chat.say("lead", "结束结对 ＃1 见效", chat="lg").text
    chat.say("lead", "约谈 二支部 问题 参与率低", chat="lg")
    assert "已撤销约谈 #1" in chat.say("lead", "撤销约谈 #1 记错", chat="lg").text
    assert [r.closed_on is not None for r in rows(runtime, Rectification)] == [True]


def test_done_typed_apart_from_its_command_closes_the_item(runtime, chat, bureau):
    """整改 完成 1 (the space people type inside a word) was 整改 for a branch called 完成,
    refused with the list of branches; it closes item 1, and 整改 已完成 points to how."""
    assert "已登记整改事项 #1" in chat.say("lead", "整改 二支部 李书记 记录不全", chat="lg").text
    told = chat.say("lead", "整改 已完成 1", chat="lg")
    assert told.is_error and "整改事项完成请写它的编号" in told.text
    assert "例如：整改完成 1" in told.text
    assert rows(runtime, Rectification)[0].closed_on is None
    assert "已完成" in chat.say("lead", "整改 完成 1 已补齐", chat="lg").text
    assert rows(runtime, Rectification)[0].closed_on is not None


def test_the_summary_names_an_ended_branchs_open_rectification(runtime, chat, clock, bureau):
    """A 临时党支部 that ended with 整改 still open: 周报 names it as 整改 does, not「?」."""
    from storage.models import Branch

    assert "已登记整改事项 #1" in chat.say("lead", "整改 二支部 李书记 记录不全", chat="lg").text
    with Session(runtime.engine) as s:
        two = s.exec(select(Branch).where(Branch.name == "二支部")).one()
        two.active = False
        s.add(two)
        s.commit()
    assert "#1 二支部：记录不全" in chat.say("lead", "整改", chat="lg").text
    summary = chat.say("lead", "周报 本周", chat="lg").text
    assert "**整改未完成**\n· 二支部 1 项" in summary, summary


# --- 结对 ------------------------------------------------------------------------------------------


def test_suggest_pairs_takes_the_strongest_with_the_weakest():
    ranked = [(1, 95.0), (2, 40.0), (3, 88.0), (4, 55.0), (5, 70.0)]
    assert suggest_pairs(ranked, set()) == [(1, 2), (3, 4)]
    assert suggest_pairs(ranked, {1}) == [(3, 2), (5, 4)]


def test_pair_suggestions_leave_out_a_branch_that_has_ended(runtime, chat, clock, bureau):
    """A 临时党支部 that led this month and then ended is ranked in the month's tiers, but it
    cannot be paired: 结对 suggests among branches still there, and answers."""
    one, two = bureau

    def month(s):
        task = make_branch(s, "专项临时支部", temporary=True)
        people = [make_member(s, task, f"临时{i}") for i in range(3)]
        for branch, members, status, points in (
                (task, people, "present", 20),
                (one, s.exec(select(Member).where(Member.branch_id == one.id)).all(), "present", 6),
                (two, s.exec(select(Member).where(Member.branch_id == two.id)).all(), "absent", 0)):
            held = hold(s, branch, local(2026, 11, 10, 14, 30), "主题党日")
            for member in members:
                s.add(Attendance(activity_id=held.id, member_id=member.id, status=status,
                                 updated_at=held.ends_at))
                if points:
                    s.add(PointEntry(member_id=member.id, branch_id=branch.id, points=points,
                                     rule="test", source_kind="study", source_id=f"p{member.id}",
                                     occurred_at=held.starts_at, created_at=held.starts_at))
        task.active = False  # ended after the theme day
        s.add(task)

    seed(runtime.engine, month)
    reply = chat.say("lead", "结对", chat="lg")
    assert not reply.is_error and "专项临时支部" not in reply.text, reply.text
    assert "结对 一支部 二支部" in reply.text, reply.text


def test_a_pair_ends_with_its_temporary_branch_and_the_partner_can_pair_again(
        runtime, chat, clock, bureau):
    """结对 一支部 with a 临时党支部: when the task force ends, so does the pair; 一支部 is
    not left「已在结对中」with a branch that is gone, with no way to pair it again."""
    from datetime import date

    from storage.temporary import end_due

    seed(runtime.engine, lambda s: make_branch(s, "专项临时支部", temporary=True,
                                               ends_on=date(2026, 11, 20)))
    assert "已结对帮扶 #1" in chat.say("lead", "结对 一支部 专项临时支部", chat="lg").text
    with Session(runtime.engine) as s:
        end_due(s, today=date(2026, 11, 23), now=clock.now(), tz=SHANGHAI)
        s.commit()
    listing = chat.say("lead", "结对", chat="lg").text
    assert "专项临时支部" not in listing, listing
    paired = chat.say("lead", "结对 一支部 二支部", chat="lg")
    assert "已结对帮扶 #2" in paired.text, paired.text


def test_two_replicas_ending_one_temporary_branch_record_it_once(runtime, clock, bureau):
    """Two replicas' ticks both read the task force as due to end; the second, finishing
    after the first had committed, ended it again: two 「branch.end」 entries in the audit
    log for one end. The second finds it ended and leaves it."""
    from datetime import date
    from types import SimpleNamespace

    from storage.models import AuditEntry, Branch
    from storage.temporary import end_due

    seed(runtime.engine, lambda s: make_member(s, make_branch(
        s, "专项临时支部", temporary=True, ends_on=date(2026, 11, 20)), "队员甲",
        return_branch_id=bureau[0].id))
    today = date(2026, 11, 23)
    with Session(runtime.engine) as second:
        real, read = second.exec, []

        def other_replica_ends_it_meanwhile(statement, *args, **kwargs):
            if read:
                return real(statement, *args, **kwargs)
            read.append(real(statement, *args, **kwargs).all())  # the due branches, as read
            with Session(runtime.engine) as first:
                assert [e.branch.name for e in end_due(first, today=today, now=clock.now(),
                                                       tz=SHANGHAI)] == ["专项临时支部"]
                first.commit()
            return SimpleNamespace(all=lambda: read[0])

        second.exec = other_replica_ends_it_meanwhile  # type: ignore[method-assign]
        assert end_due(second, today=today, now=clock.now(), tz=SHANGHAI) == []
        second.commit()
    ended = [e for e in rows(runtime, AuditEntry) if e.action == "branch.end"]
    assert len(ended) == 1 and ended[0].detail["moved"] == [{"member": "队员甲", "to": "一支部"}]
    assert not [b for b in rows(runtime, Branch) if b.name == "专项临时支部" and b.active]

def test_pairs_are_listed_with_trend_and_one_pair_per_branch(runtime, chat, bureau):
    assert "已结对帮扶 #1：一支部（暂无档次） 带 二支部" in chat.say("lead", "结对 一支部 二支部").text
    again = chat.say("lead", "结对 二支部 一支部")
    assert again.is_error and "已在结对中" in again.text
    listing = chat.say("lead", "结对", chat="lg").text
    assert "结对中" in listing and "一支部 — —" in listing and "↔ 二支部" in listing


@pytest.mark.parametrize("text, hint", [("撤销结对 1", "结束结对 编号 原因"),
                                        ("撤销 结对 1", "结束结对 编号 原因"),
                                        ("撤销讲师 王书记", "讲师 移出 姓名")])
def test_undo_said_of_a_pair_or_a_lecturer_leaves_the_leaders_visit(runtime, chat, bureau,
                                                                    text, hint):
    """撤销结对 1 (meaning 结束结对 1) and 撤销讲师 王书记 took back the leader's last 调研 of
    the day, a record they did not name. Now refused, saying how that is done, nothing
    changed."""
    chat.say("lead", "结对 一支部 二支部", chat="lg")
    chat.say("lead", "调研 二支部 发现问题 1", chat="lg")
    reply = chat.say("lead", text, chat="lg")
    assert reply.is_error and "什么也没有改" in reply.text and hint in reply.text, reply.text
    assert rows(runtime, ResearchVisit)[0].withdrawn_at is None
    assert rows(runtime, BranchPairing)[0].ended_on is None


def test_the_summarys_pairs_say_their_scores_are_the_months(runtime, chat, clock, bureau):
    """周报's table scores last week; its 结对帮扶 lines score the month so far. 二支部 read
    0 分 above and 蓝 18.4 below, unlabelled, in one summary: the lines now say whose
    figures they are, as 结对 does."""
    seed(runtime.engine, two_blue_in_november(*bureau))
    chat.say("lead", "结对 一支部 二支部", chat="lg")
    summary = chat.say("lead", "周报 本周", chat="lg").text
    assert "**结对帮扶**（本月档次、得分、较上月）\n· 一支部 红" in summary, summary

def test_a_leader_ends_a_pair_and_both_branches_can_pair_again(runtime, chat, clock, bureau):
    """Only a temporary branch's end closed a pair: once 二支部 had improved, neither branch
    could ever be paired again. 结束结对 closes it (leaders, not in a branch group), says who
    and why in the audit log, and the pair leaves 结对 and the weekly summary."""
    from bot.web.committee import pairs as dashboard_pairs
    from storage.models import AuditEntry

    seed(runtime.engine, lambda s: make_branch(s, "三支部"))
    assert "已结对帮扶 #1" in chat.say("lead", "结对 一支部 二支部", chat="lg").text
    taken = chat.say("lead", "结对 一支部 三支部", chat="lg")
    assert taken.is_error and "（#1）" in taken.text and "「结束结对 1 原因」" in taken.text
    listing = chat.say("lead", "结对", chat="lg").text
    assert "· #1 一支部" in listing and "结束结对 编号 原因" in listing, listing
    assert "**结对帮扶**" in chat.say("lead", "周报 本周", chat="lg").text

    assert "仅限领导" in chat.say("sec1", "结束结对 1 已见效").text
    elsewhere = chat.say("lead", "结束结对 1 已见效", chat="g1")
    assert elsewhere.is_error and "请在领导群或私聊我发送" in elsewhere.text
    assert [p.ended_on for p in rows(runtime, BranchPairing)] == [None]

    clock.set(local(2026, 12, 8, 10, 0))
    ended = chat.say("lead", "结束结对 1 二支部连续两月黄档", chat="lg")
    assert not ended.is_error, ended.text
    assert ("已结束结对帮扶 #1：一支部（暂无档次） 带 二支部（暂无档次），11月23日结对至今天。"
            in ended.text), ended.text
    assert "原因：二支部连续两月黄档" in ended.text
    [pair] = rows(runtime, BranchPairing)
    assert pair.ended_on == date(2026, 12, 8)
    [entry] = [a for a in rows(runtime, AuditEntry) if a.action == "pair.end"]
    assert (entry.actor, entry.target) == ("赵领导", "一支部↔二支部")
    assert entry.detail == {"pairing_id": 1, "reason": "二支部连续两月黄档"}
    again = chat.say("lead", "解除结对 1", chat="lg")
    assert "结对 #1（一支部 带 二支部）已于 12月8日结束" in again.text, again.text
    # Typed with a space, 结对 结束 is still 结对结束: 结束 is no branch for 结对 to pair.
    spaced = chat.say("lead", "结对 结束 1", chat="lg")
    assert spaced.text == again.text, spaced.text

    listing = chat.say("lead", "结对", chat="lg").text
    assert "结对中" not in listing and "#1" not in listing, listing
    assert "**结对帮扶**" not in chat.say("lead", "周报 本周", chat="lg").text
    assert "已结对帮扶 #2：三支部" in chat.say("lead", "结对 三支部 一支部", chat="lg").text
    with Session(runtime.engine) as s:
        shown = dashboard_pairs(s, clock.now(), runtime.settings)
    assert shown is not None and [r[:2] for r in shown["rows"]] == [["三支部", "一支部"]]


# --- 整改 -------------------------------------------------------------------------------------------


def test_problems_are_items_with_owners_closed_by_the_people_entitled(runtime, chat, clock, bureau):
    chat.say("lead", "调研 二支部 发现问题 1", chat="lg")
    added = chat.say("lead", "整改 二支部 赵六 学习室资料陈旧", chat="lg")
    assert "已登记整改事项 #1：二支部，责任人 赵六" in added.text
    [item] = rows(runtime, Rectification)
    assert item.visit_id is not None and item.owner_id is not None
    clock.set(local(2026, 11, 30, 9, 0))
    assert "整改未完成**\n· 二支部 1 项（最久 7 天）" in chat.say("lead", "周报 本周", chat="lg").text
    refused = chat.say("sec1", "整改完成 1")  # another branch's secretary
    assert refused.is_error and "只能由领导、责任人或本支部书记" in refused.text
    assert "#1 二支部" not in chat.say("sec1", "整改").text  # 一支部 sees only its own items
    assert "#1 二支部：学习室资料陈旧（责任人 赵六" in chat.say("sec2", "整改").text
    assert chat.say("sec2", "整改", chat="g2").is_error  # owners are not named in a group
    assert "已完成（用时 7 天）" in chat.say("zl", "整改完成 1 已更新").text
    assert "已于 11月30日 登记完成" in chat.say("lead", "整改完成 1").text
    assert "整改未完成" not in chat.say("lead", "周报 本周", chat="lg").text


def test_a_problems_owner_is_told_privately_with_the_number_to_close_it(runtime, chat, bureau):
    """整改 names 赵六 as its owner and asks him to send 整改完成 <编号>, but he was never
    told, and a member cannot list the items (整改 is for managers): the item sat open. Now
    he hears it privately, once; a leader owning the item hears nothing of their own."""
    added = chat.say("lead", "整改 二支部 赵六 学习室资料陈旧", chat="lg")
    assert "已私聊告知责任人" in added.text, added.text
    [told] = outbox(runtime, "rectification.owner")
    assert (told.target_kind, told.target) == ("user", "zl")
    assert "整改事项 #1" in told.payload["text"] and "学习室资料陈旧" in told.payload["text"]
    assert "整改完成 1" in told.payload["text"]
    assert "已完成" in chat.say("zl", "整改完成 1 已更新").text
    assert "已私聊告知" not in chat.say("lead", "整改 二支部 赵领导 台账不全", chat="lg").text
    assert len(outbox(runtime, "rectification.owner")) == 1


def test_a_problem_recorded_in_error_is_withdrawn_and_counts_nowhere(runtime, chat, bureau):
    """整改 二支部 … meant for 一支部: the item could only be closed (整改完成), which counted
    it as a problem found and solved in 调研记录 and the year's figures, and 撤销 整改 1
    took back the leader's last 调研 instead. 撤销整改 <编号> takes the item back: kept with
    who and why, counted nowhere; its owner, who was told it was theirs, hears it is not."""
    chat.say("lead", "调研 二支部 走访值班室", chat="lg")
    chat.say("lead", "整改 二支部 赵六 学习室资料陈旧", chat="lg")
    assert "发现问题 1 个，解决 0 个" in chat.say("lead", "调研记录", chat="lg").text
    slip = chat.say("lead", "撤销 整改 1", chat="lg")
    assert slip.is_error and "撤销整改 编号 原因" in slip.text, slip.text
    assert rows(runtime, ResearchVisit)[0].withdrawn_at is None
    refused = chat.say("lead", "撤销整改 1 支部记错", chat="g2")
    assert refused.is_error and "请在领导群或私聊我发送" in refused.text
    assert "仅限领导" in chat.say("sec2", "撤销整改 1").text

    reply = chat.say("lead", "撤销整改 1 支部记错", chat="lg")
    assert "已撤销整改事项 #1：二支部，学习室资料陈旧（原因：支部记错）" in reply.text, reply.text
    assert "已私聊告知责任人" in reply.text
    [item] = rows(runtime, Rectification)
    assert item.withdrawn_at is not None and item.withdraw_reason == "支部记错"
    [told] = outbox(runtime, "rectification.owner")[1:]
    assert told.target == "zl" and "不用再办理" in told.payload["text"]
    assert "没有未完成的整改事项" in chat.say("lead", "整改", chat="lg").text
    assert "整改未完成" not in chat.say("lead", "周报 本周", chat="lg").text
    assert chat.say("zl", "整改完成 1").is_error
    assert "没有编号为 1 的整改事项" in chat.say("lead", "撤销整改 1", chat="lg").text
    # Found on the visit, the item no longer counts: a second one is no duplicate.
    assert "发现问题 0 个，解决 0 个" in chat.say("lead", "调研记录", chat="lg").text
    assert "已登记整改事项 #2" in chat.say("lead", "整改 二支部 赵六 学习室资料陈旧",
                                        chat="lg").text


def test_a_problem_given_a_deadline_shows_it_and_is_flagged_once_past(runtime, chat, clock,
                                                                      bureau):
    """整改 二支部 李书记 台账不全 12月底前: the leader said by when, and the item kept the
    words as its problem, with no deadline: nothing was ever overdue, nobody reminded. The
    deadline is kept and shown; once past, 整改 and the leaders' 周报 say it is overdue."""
    added = chat.say("lead", "整改 二支部 李书记 台账不全 12月底前", chat="lg")
    assert "已登记整改事项 #1：二支部，责任人 李书记，限 12月31日前完成" in added.text, added.text
    [item] = rows(runtime, Rectification)
    assert (item.problem, item.due_on) == ("台账不全", date(2026, 12, 31))
    [told] = outbox(runtime, "rectification.owner")
    assert "限 12月31日前完成" in told.payload["text"]
    assert "#1 二支部：台账不全（责任人 李书记，已 0 天，限 12月31日前）" in chat.say(
        "lead", "整改", chat="lg").text
    chat.say("lead", "整改 一支部 张三 学习资料陈旧", chat="lg")  # no deadline said

    clock.set(local(2027, 1, 4, 10, 0))
    listed = chat.say("lead", "整改", chat="lg").text
    assert "#1 二支部：台账不全（责任人 李书记，已 42 天，逾期 4 天）" in listed, listed
    assert "#2 一支部：学习资料陈旧（责任人 张三，已 42 天）" in listed, listed
    summary = chat.say("lead", "周报", chat="lg").text
    assert "· 二支部 1 项（最久 42 天，逾期 1 项）" in summary, summary
    assert "· 一支部 1 项（最久 42 天）" in summary, summary


def test_the_bureau_page_shows_an_items_deadline_as_the_chat_does(runtime, chat, clock, bureau):
    """整改 and 周报 said an item was 逾期; the bureau page's open 整改 showed only its age."""
    from bot.web.committee import open_rectifications

    chat.say("lead", "整改 二支部 李书记 台账不全 12月底前", chat="lg")
    chat.say("lead", "整改 一支部 张三 学习资料陈旧", chat="lg")
    with Session(runtime.engine) as s:
        table = open_rectifications(s, clock.now(), runtime.settings)
    assert table is not None and table["columns"][-1] == "期限"
    assert [row[-1] for row in table["rows"]] == ["限 12月31日前", "—"]
    clock.set(local(2027, 1, 4, 10, 0))
    with Session(runtime.engine) as s:
        table = open_rectifications(s, clock.now(), runtime.settings)
    assert [row[-1] for row in table["rows"]] == ["逾期 4 天", "—"]

@pytest.mark.parametrize("said,day", [
    ("台账不全 12月20日前", date(2026, 12, 20)),
    ("台账不全，限12月20号之前完成", date(2026, 12, 20)),
    ("台账不全 月底前", date(2026, 11, 30)),
    ("台账不全 年底前完成", date(2026, 12, 31)),
    ("台账不全 下周五前", date(2026, 12, 4)),
    ("台账不全 限期12月底", date(2026, 12, 31)),
    ("台账不全，12月15日前整改到位", date(2026, 12, 15)),
])
def test_a_deadline_is_read_as_leaders_say_it(said, day):
    from handlers.committee import take_deadline

    assert take_deadline(said, date(2026, 11, 23)) == (day, "台账不全")


def test_a_deadline_that_cannot_be_is_refused_and_records_nothing(runtime, chat, bureau):
    for said, why in (("整改 二支部 赵六 台账不全 12月32日前", "没有 12月32日 这一天"),
                      ("整改 二支部 赵六 12月底前", "请依次写出责任人和问题"),
                      ("整改 二支部 台账不全 12月底前", "请依次写出责任人和问题")):
        reply = chat.say("lead", said, chat="lg")
        assert reply.is_error and why in reply.text, reply.text
    assert rows(runtime, Rectification) == []


def test_a_month_end_gone_by_is_refused_as_the_day_is(runtime, chat, clock, bureau):
    """In December, 11月30日前 was refused as past, and 11月底前 (the same day) was taken for
    next November: the item showed no deadline missed for eleven months, nobody reminded."""
    clock.set(local(2026, 12, 7, 10, 0))
    for said in ("整改 二支部 赵六 台账不全 11月30日前", "整改 二支部 赵六 台账不全 11月底前"):
        reply = chat.say("lead", said, chat="lg")
        assert reply.is_error and "整改期限 11月30日已过" in reply.text, reply.text
    assert rows(runtime, Rectification) == []
    # Next year's, as 1月5日 in December is: this year's was more than half a year ago.
    chat.say("lead", "整改 二支部 赵六 台账不全 1月底前", chat="lg")
    assert [i.due_on for i in rows(runtime, Rectification)] == [date(2027, 1, 31)]


def test_words_that_are_no_deadline_stay_the_problem():
    from handlers.committee import take_deadline

    for said in ("11月台账不全", "前台无人值守", "12月底的会议记录缺失"):
        assert take_deadline(said, date(2026, 11, 23)) == (None, said)


def test_a_problems_owner_must_be_on_the_branchs_roster(runtime, chat, bureau):
    """整改 二支部 赵陆 … (a slip for 赵六), or 一支部's 张三 for 二支部's item: the item was
    kept under a name nobody could close it as. Now refused, saying how; a leader may own one."""
    for text, said in (("整改 二支部 赵陆 学习室资料陈旧", "二支部名册中没有「赵陆」"),
                       ("整改 二支部 张三 学习室资料陈旧", "二支部名册中没有「张三」")):
        reply = chat.say("lead", text, chat="lg")
        assert reply.is_error and said in reply.text, reply.text
        assert "例如：整改 刑侦 郑国庆" in reply.text
    assert rows(runtime, Rectification) == []
    assert "责任人 赵领导" in chat.say("lead", "整改 二支部 赵领导 资料陈旧", chat="lg").text
    [item] = rows(runtime, Rectification)
    assert item.owner_id is not None
    assert "已完成" in chat.say("lead", "整改完成 1").text


def test_a_problem_is_not_attached_to_a_withdrawn_visit(runtime, chat, clock, bureau):
    """调研 on the 23rd, another on the 25th withdrawn (记错了): the 整改 item found is the
    23rd's visit's, not the one that was not made."""
    chat.say("lead", "调研 二支部 发现问题 1", chat="lg")
    clock.set(local(2026, 11, 25, 9, 0))
    chat.say("lead", "调研 二支部 发现问题 2", chat="lg")
    assert "已撤销调研记录（编号 2）" in chat.say("lead", "撤销调研 2 记错了", chat="lg").text
    assert "已登记整改事项 #1" in chat.say("lead", "整改 二支部 赵六 资料陈旧", chat="lg").text
    [item] = rows(runtime, Rectification)
    assert item.visit_id == 1


def test_a_visit_withdrawn_by_another_is_told_to_its_recorder_and_last_years_stay(
        runtime, chat, clock, bureau):
    """撤销调研 by the visited branch's 书记 lowered the leader's count without a word to the
    leader; and a visit of a past year, counted in that year's 周报 and 述职报告, could be
    withdrawn any time after. 撤销调研 ٣ (not an ASCII number) finds nothing."""
    clock.set(local(2026, 12, 28, 9, 0))
    chat.say("lead", "调研 二支部 发现问题 1", chat="lg")
    chat.say("lead", "调研 一支部", chat="lg")
    assert "没有编号为「٣」" in chat.say("sec2", "撤销调研 ٣ 记错了").text
    taken = chat.say("sec2", "撤销调研 1 那天没有来").text
    assert "已撤销调研记录（编号 1）" in taken and "已私聊告知记录人" in taken, taken
    [told] = outbox(runtime, "visit.withdraw")
    assert told.target == "lead" and "李书记撤销了你记录的调研记录（编号 1）" in \
        told.payload["text"] and "那天没有来" in told.payload["text"]
    assert "已私聊告知记录人" not in chat.say("lead", "撤销调研 2 重复").text  # the recorder
    chat.say("lead", "调研 二支部", chat="lg")
    clock.set(local(2027, 1, 3, 9, 0))  # within the window: still put right
    assert "已撤销调研记录（编号 3）" in chat.say("lead", "撤销调研 3 重复").text
    chat.say("lead", "调研 二支部 12月30日", chat="lg")
    clock.set(local(2027, 1, 20, 9, 0))
    late = chat.say("lead", "撤销调研 4 重复")
    assert late.is_error and "是 2026 年的，已计入当年的调研统计和年度报告" in late.text
    with Session(runtime.engine) as s:
        assert s.get(ResearchVisit, 4).withdrawn_at is None


# --- 先锋党员 ----------------------------------------------------------------------------------------


def test_leaders_see_whom_to_confirm(runtime, chat, bureau):
    """先锋党员 told a leader only 「待确认推荐 1 人。」: nobody tells a leader who was nominated,
    and 确认 先锋党员 needs the name. Leaders now see each nomination waiting and how to
    confirm it, privately or in the leaders' group; a branch group is not shown them."""
    chat.say("sec1", "推荐 先锋党员 张三 带头值守")
    for where in (None, "lg"):
        roll = chat.say("lead", "先锋党员", chat=where).text
        assert "待确认推荐 1 人。\n· 11月 一支部 张三：带头值守\n确认请发送「确认 先锋党员 姓名」" in roll
    assert "张三" not in chat.say("lead", "先锋党员", chat="g1").text
    assert "已确认 张三" in chat.say("lead", "确认 先锋党员 张三", chat="lg").text
    assert "待确认" not in chat.say("lead", "先锋党员").text


def test_rewriting_a_nominations_deeds_keeps_the_first_text_on_record(runtime, chat, bureau):
    """A secretary may rewrite the 事迹 until a leader confirms; what was replaced stays in
    the audit log (the nomination keeps only the latest text)."""
    from storage.models import AuditEntry

    assert "已推荐 张三" in chat.say("sec1", "推荐 先锋党员 张三 带头值守").text
    again = chat.say("sec1", "推荐 先锋党员 张三 连续值守破获电诈案件")
    assert "已更新事迹" in again.text
    [nomination] = rows(runtime, PioneerNomination)
    assert nomination.deeds == "连续值守破获电诈案件"
    with Session(runtime.engine) as s:
        logged = [e.detail for e in s.exec(select(AuditEntry).where(
            AuditEntry.action == "pioneer.nominate").order_by(AuditEntry.id)).all()]
    assert [d.get("deeds") for d in logged] == ["带头值守", "连续值守破获电诈案件"], logged
    assert logged[1].get("was") == "带头值守"


def test_an_absence_after_the_nomination_stops_the_confirmation(runtime, chat, clock, bureau):
    """The rule that keeps a member with an unexcused absence off the month's 先锋党员 holds
    when a leader confirms too: an absence confirmed after the nomination stops the honour
    (nothing is announced in the groups)."""
    one, _ = bureau
    clock.set(local(2026, 11, 12, 10, 0))
    assert "已推荐 张三" in chat.say("sec1", "推荐 先锋党员 张三 带头值守").text

    def absence(s):
        day = hold(s, one, local(2026, 11, 18, 14, 30), "主题党日")
        record_at(s, day, {"张三": "absent"})

    seed(runtime.engine, absence)
    clock.set(local(2026, 11, 25, 10, 0))
    reply = chat.say("lead", "确认 先锋党员 张三")
    assert reply.is_error and "11 月有未请假的缺席记录" in reply.text, reply.text
    [nomination] = rows(runtime, PioneerNomination)
    assert nomination.confirmed_at is None
    assert outbox(runtime, "pioneer.honour") == []


def test_a_member_with_an_unexcused_absence_cannot_be_nominated(runtime, chat, bureau):
    one, _ = bureau

    def absence(s):
        day = hold(s, one, local(2026, 11, 10, 14, 30), "主题党日")
        zhang = s.exec(select(Attendance)).first()
        from storage.models import Member
        member = s.exec(select(Member).where(Member.name == "张三")).one()
        s.add(Attendance(activity_id=day.id, member_id=member.id, status="absent",
                         updated_at=day.starts_at))
        return zhang

    seed(runtime.engine, absence)
    reply = chat.say("sec1", "推荐 先锋党员 张三 事迹")
    assert reply.is_error and "11 月有未请假的缺席记录" in reply.text
    assert rows(runtime, PioneerNomination) == []


def test_an_absence_from_a_cancelled_activity_does_not_count_against_a_pioneer(runtime, chat,
                                                                               clock, bureau):
    """取消活动 says its absences no longer count: not for 先锋党员 either, neither when a
    secretary nominates nor in the month-end shortlist."""
    one, _ = bureau

    def cancelled_absence(s):
        day = hold(s, one, local(2026, 11, 10, 14, 30), "主题党日")
        record_at(s, day, {"张三": "absent", "李四": "present"})
        held = hold(s, one, local(2026, 11, 12, 14, 30), "政治夜学")
        record_at(s, held, {"张三": "present"})
        day.status = "cancelled"

    seed(runtime.engine, cancelled_absence)
    clock.set(local(2026, 12, 2, 10, 0))
    ticker(runtime, clock).tick()
    [shortlist] = outbox(runtime, "pioneer.shortlist")
    assert "1. 张三 0分 出勤1次" in shortlist.payload["text"]
    assert "李四" not in shortlist.payload["text"]  # came only to the cancelled one
    nominated = chat.say("sec1", "推荐 先锋党员 张三 带头值守")
    assert not nominated.is_error and "已推荐 张三" in nominated.text


def test_the_leaders_group_hears_of_a_nomination_waiting_for_them(runtime, chat, clock, bureau):
    """A secretary's 推荐 was answered 「待领导确认」 and told no leader: the nomination
    waited until one happened to send 先锋党员, and the month's honour was never given. The
    leaders' group now hears of it once, with how to confirm; nothing goes to a branch."""
    clock.set(local(2026, 12, 2, 22, 0))  # nominated at night: the leaders hear in the morning
    chat.say("sec1", "推荐 先锋党员 张三 连续值守破获电诈案件", chat="g1")
    [told] = outbox(runtime, "pioneer.nominated")
    assert (told.target_kind, told.target) == ("leaders", "lg")
    assert told.payload["text"] == ("【先锋党员待确认】2026年11月 一支部 张三（王书记推荐）\n"
                                    "事迹：连续值守破获电诈案件\n确认请发送「确认 先锋党员 张三」。")
    assert told.next_attempt_at.astimezone(SHANGHAI) == local(2026, 12, 3, 7, 30)
    chat.say("sec1", "推荐 先锋党员 张三 连续值守破获电诈案件")  # the same again: told once
    assert len(outbox(runtime, "pioneer.nominated")) == 1
    refused = chat.say("zs", "推荐 先锋党员 李四 好")
    assert refused.is_error and len(outbox(runtime, "pioneer.nominated")) == 1


def test_confirming_honours_the_member_in_the_branch_and_leaders_groups_once(runtime, chat, clock,
                                                                             bureau):
    nominated = chat.say("sec1", "推荐 先锋党员 张三 连续值守破获电诈案件")
    assert "已推荐 张三 为 2026年11月先锋党员，待领导确认" in nominated.text
    clock.set(local(2026, 11, 23, 22, 30))  # a leader confirms late at night
    assert "已确认 张三 为 2026年11月先锋党员" in chat.say("lead", "确认 先锋党员 张三").text
    honours = outbox(runtime, "pioneer.honour")
    assert sorted((h.target_kind, h.target) for h in honours) == [("group", "g1"), ("leaders", "lg")]
    assert all("【先锋党员】2026年11月 一支部 张三" in h.payload["text"] for h in honours)
    # Quiet hours: the praise waits for the morning.
    assert {h.next_attempt_at.astimezone(SHANGHAI) for h in honours} == {local(2026, 11, 24, 7, 30)}
    again = chat.say("lead", "确认 先锋党员 张三")
    assert again.is_error and len(outbox(runtime, "pioneer.honour")) == 2
    assert "张三 已是 2026年11月先锋党员：赵领导 11月23日 22:30 已确认，不用再确认。" in again.text
    assert "没有待确认" not in again.text and "推荐新的月份" not in again.text
    # Next month, November's honour is still named, and how December's starts.
    clock.set(local(2026, 12, 15, 10, 0))
    later = chat.say("lead", "确认 先锋党员 张三").text
    assert "已是 2026年11月先锋党员" in later and "「推荐 先锋党员 张三 事迹」" in later, later
    assert "11月 一支部 张三：连续值守破获电诈案件" in chat.say("zl", "先锋党员").text


def test_a_member_who_moved_is_praised_in_the_branch_that_nominated_him(runtime, chat, bureau):
    """张三 nominated by 一支部 for November, moved to 二支部 before 确认: the honour is for
    his work in 一支部, as 先锋党员 lists it, and goes to 一支部's group naming 一支部."""
    one, two = bureau
    assert "待领导确认" in chat.say("sec1", "推荐 先锋党员 张三 带头值守").text
    with Session(runtime.engine) as s:
        zhang = s.exec(select(Member).where(Member.name == "张三")).one()
        zhang.branch_id = two.id
        s.add(zhang)
        s.commit()
    assert "已确认 张三" in chat.say("lead", "确认 先锋党员 张三", chat="lg").text
    sent = {m.target: m.payload["text"] for m in outbox(runtime, "pioneer.honour")}
    assert set(sent) == {"g1", "lg"}, sent
    assert all("一支部 张三" in text for text in sent.values()), sent
    assert "11月 一支部 张三" in chat.say("zs", "先锋党员").text


def test_early_in_a_month_a_nomination_is_for_the_month_just_ended(runtime, chat, clock, bureau):
    clock.set(local(2026, 12, 3, 9, 0))
    assert "2026年11月先锋党员" in chat.say("sec1", "推荐 先锋党员 张三 事迹").text
    clock.set(local(2026, 12, 11, 9, 0))
    assert "2026年12月先锋党员" in chat.say("sec1", "推荐 先锋党员 李四 事迹").text


def _moves(runtime, name: str, *, to: int | None = None, on=None) -> None:
    """The member named moves to branch `to`, or leaves the roster when `to` is None."""
    from storage import moves

    def move(s):
        member = s.exec(select(Member).where(Member.name == name)).one()
        if to is None:
            moves.leave_roster(s, member=member, now=on)
        else:
            moves.move(s, member=member, branch_id=to, now=on, tz=SHANGHAI)

    seed(runtime.engine, move)


def test_last_months_pioneer_who_moved_since_is_nominated_by_the_branch_he_worked_in(
        runtime, chat, clock, bureau):
    """张三 did November's work in 一支部 and moved to 二支部 on 3 December. Before, on
    5 December (nominations still for November) 一支部's secretary got 「本支部没有找到「张三」」
    while 二支部's could nominate him, the honour stamped 二支部 and praised in its group.
    Now the branch he was in at November's end nominates, and the honour is 一支部's."""
    one, two = bureau
    _moves(runtime, "张三", to=two.id, on=local(2026, 12, 3, 9, 0))
    clock.set(local(2026, 12, 5, 10, 0))
    refused = chat.say("sec2", "推荐 先锋党员 张三 十一月带头值守", chat="g2")
    assert refused.is_error and "11月底还不在本支部" in refused.text, refused.text
    nominated = chat.say("sec1", "推荐 先锋党员 张三 十一月带头值守", chat="g1")
    assert "已推荐 张三 为 2026年11月先锋党员" in nominated.text, nominated.text
    [nomination] = rows(runtime, PioneerNomination)
    assert nomination.branch_id == one.id
    assert "已确认 张三" in chat.say("lead", "确认 先锋党员 张三", chat="lg").text
    sent = {m.target: m.payload["text"] for m in outbox(runtime, "pioneer.honour")}
    assert set(sent) == {"g1", "lg"} and all("一支部 张三" in t for t in sent.values()), sent


def test_a_refused_nomination_in_the_group_does_not_say_whose_absence_it_is(
        runtime, chat, clock, bureau):
    """Before, 推荐 in the branch group of someone with an unexcused absence answered there
    「张三 11 月有未请假的缺席记录…」, and a leader's 确认 in the leaders' group the same: an
    absence named to a group. Now a group hears only that it cannot be done; the private
    chat says why."""
    one, _ = bureau

    def absence(s):
        record_at(s, hold(s, one, local(2026, 11, 10, 14, 30), "主题党日"), {"张三": "absent"})

    clock.set(local(2026, 11, 12, 10, 0))
    assert "已推荐 张三" in chat.say("sec1", "推荐 先锋党员 张三 带头值守", chat="g1").text
    seed(runtime.engine, absence)
    clock.set(local(2026, 11, 25, 10, 0))
    for user, text, group in (("sec1", "推荐 先锋党员 张三 带头值守", "g1"),
                              ("lead", "确认 先锋党员 张三", "lg")):
        public = chat.say(user, text, chat=group)
        assert public.is_error and "缺席" not in public.text and "私聊" in public.text, \
            public.text
        private = chat.say(user, text)
        assert private.is_error and "11 月有未请假的缺席记录" in private.text, private.text
    assert outbox(runtime, "pioneer.honour") == []


def test_a_nomination_can_be_confirmed_after_the_member_left_the_roster(
        runtime, chat, clock, bureau):
    """Nominated for November on 28 November, 张三 left the roster (retired) on 2 December.
    Before, the leader's 确认 answered 「名册没有找到「张三」」 and November's honour could
    never be given. Now the nomination waiting is found among everyone nominated."""
    clock.set(local(2026, 11, 28, 10, 0))
    assert "已推荐 张三" in chat.say("sec1", "推荐 先锋党员 张三 带头值守", chat="g1").text
    _moves(runtime, "张三", on=local(2026, 12, 2, 9, 0))
    clock.set(local(2026, 12, 3, 10, 0))
    confirmed = chat.say("lead", "确认 先锋党员 张三", chat="lg")
    assert "已确认 张三 为 2026年11月先锋党员" in confirmed.text, confirmed.text
    assert "11月 一支部 张三" in chat.say("zl", "先锋党员").text


def test_the_shortlist_of_a_month_lists_who_was_in_the_branch_as_it_ended(
        runtime, chat, clock, bureau):
    """张三 did November's work in 一支部 and moved to 二支部 on 1 December, before the
    shortlist of November went out: it put him on 二支部's list (whose 推荐 is refused: not
    theirs in November) and left him off 一支部's, the branch that may nominate him."""
    one, two = bureau

    def record(s):
        record_at(s, hold(s, one, local(2026, 11, 10, 14, 30), "主题党日"),
                  {"张三": "present", "李四": "present"})
        record_at(s, hold(s, two, local(2026, 11, 11, 14, 30), "主题党日"), {"赵六": "present"})

    seed(runtime.engine, record)
    _moves(runtime, "张三", to=two.id, on=local(2026, 12, 1, 9, 0))
    clock.set(local(2026, 12, 2, 9, 59))
    t = ticker(runtime, clock)
    clock.set(local(2026, 12, 2, 10, 0))
    t.tick()
    lists = {m.target: m.payload["text"] for m in outbox(runtime, "pioneer.shortlist")}
    assert "张三" in lists["sec1"] and "李四" in lists["sec1"], lists
    assert "张三" not in lists["sec2"] and "赵六" in lists["sec2"], lists
    assert "已推荐 张三" in chat.say("sec1", "推荐 先锋党员 张三 带头值守").text


def test_in_january_the_roll_shows_last_decembers_pioneers(runtime, chat, clock, bureau):
    """December's 先锋党员 are nominated and confirmed in January's first days. Before,
    `先锋党员` in January listed only the new year's months: December's honours appeared in
    no list the chat shows. Now January's roll begins with last December."""
    clock.set(local(2026, 12, 20, 10, 0))
    assert "2026年12月先锋党员" in chat.say("sec1", "推荐 先锋党员 张三 带头值守").text
    clock.set(local(2027, 1, 5, 10, 0))
    assert "已确认 张三" in chat.say("lead", "确认 先锋党员 张三", chat="lg").text
    roll = chat.say("zl", "先锋党员").text
    assert "2026年12月 一支部 张三：带头值守" in roll, roll


def ticker(runtime, clock):
    t = Ticker(runtime.engine, runtime.settings, clock, runtime.rules, calendar=HolidayCalendar())
    t.last = clock.now()
    return t


def test_an_items_owner_is_told_once_the_morning_after_its_deadline(runtime, chat, clock,
                                                                    bureau):
    """The deadline passed and nobody heard of it: the owner is told once, privately, the
    morning after, not at night and not again day after day."""
    chat.say("lead", "整改 二支部 赵六 台账不全 11月25日前", chat="lg")
    chat.say("lead", "整改 二支部 赵六 学习室资料陈旧 11月25日前", chat="lg")
    chat.say("lead", "整改 一支部 张三 记录不全 11月25日前", chat="lg")
    assert "已完成" in chat.say("zs", "整改完成 3").text
    clock.set(local(2026, 11, 26, 8, 58))
    t = ticker(runtime, clock)
    for day, hour, minute in ((26, 8, 59), (26, 9, 0), (26, 9, 1), (27, 9, 0), (27, 9, 1)):
        clock.set(local(2026, 11, day, hour, minute))
        t.tick()
    ticker(runtime, clock).tick()  # another replica
    [late] = [o for o in outbox(runtime, "rectification.owner") if "整改到期" in o.payload["text"]]
    assert (late.target_kind, late.target) == ("user", "zl")
    text = late.payload["text"]
    assert "#1 台账不全" in text and "#2 学习室资料陈旧" in text and "记录不全" not in text


def test_the_month_end_shortlist_goes_privately_to_each_secretary_once(runtime, clock, bureau):
    one, two = bureau

    def record(s):
        day = hold(s, one, local(2026, 11, 10, 14, 30), "主题党日")
        record_at(s, day, {"张三": "present", "李四": "absent"})

    seed(runtime.engine, record)
    clock.set(local(2026, 12, 2, 9, 59))
    t = ticker(runtime, clock)
    for minute in (0, 1, 2):
        clock.set(local(2026, 12, 2, 10, minute))
        t.tick()
    ticker(runtime, clock).tick()  # another replica
    [shortlist] = outbox(runtime, "pioneer.shortlist")
    assert (shortlist.target_kind, shortlist.target) == ("user", "sec1")
    text = shortlist.payload["text"]
    assert "1. 张三 0分 出勤1次" in text and "李四" not in text  # absent: not listed
    assert "另有" not in text  # one eligible, one listed
    # 二支部 had no record this month: no empty list sent.


def test_the_shortlist_comes_when_the_month_is_whole_and_its_absences_confirmed(
        runtime, chat, clock, bureau):
    """The shortlist came at 10:00 on the month's last day: the night study that evening was
    not in it, 张三, absent from it, was put forward, and the secretary who nominated him
    from it was refused (未请假的缺席). It comes once the last day's absences are confirmed,
    on the 2nd, from the whole month, with the days left to nominate in."""
    one, _ = bureau

    def record(s):
        record_at(s, hold(s, one, local(2026, 11, 10, 14, 30), "主题党日"),
                  {"张三": "present", "李四": "present"})

    seed(runtime.engine, record)
    clock.set(local(2026, 11, 30, 9, 59))
    t = ticker(runtime, clock)
    clock.set(local(2026, 11, 30, 10, 0))
    t.tick()
    assert outbox(runtime, "pioneer.shortlist") == []
    clock.set(local(2026, 11, 30, 19, 30))
    chat.say("sec1", "开始 政治夜学", chat="g1")
    chat.say("ls", "签到", chat="g1")
    clock.set(local(2026, 11, 30, 21, 0))
    chat.say("sec1", "结束", chat="g1")
    for moment in (local(2026, 12, 1, 10, 0), local(2026, 12, 1, 21, 30),
                   local(2026, 12, 2, 9, 59)):
        clock.set(moment)
        t.tick()
    assert outbox(runtime, "pioneer.shortlist") == []
    clock.set(local(2026, 12, 2, 10, 0))
    t.tick()
    [shortlist] = outbox(runtime, "pioneer.shortlist")
    text = shortlist.payload["text"]
    assert text.startswith("【先锋党员推荐】一支部 11月候选（按11月积分、出勤、学习；"), text
    assert "1. 李四" in text and "出勤2次" in text and "张三" not in text, text
    assert "（12月10日前有效）" in text, text
    assert "暂不能推荐" not in chat.say("sec1", "推荐 先锋党员 李四 带头值守").text


def test_the_shortlist_says_how_many_more_are_eligible_than_it_names(runtime, clock, bureau):
    one, _ = bureau
    names = ["张三", *(f"队员{i}" for i in range(7))]

    def record(s):
        for name in names[1:]:
            make_member(s, one, name)
        s.flush()
        day = hold(s, one, local(2026, 11, 10, 14, 30), "主题党日")
        record_at(s, day, {name: "present" for name in names})

    seed(runtime.engine, record)
    clock.set(local(2026, 12, 2, 9, 59))
    t = ticker(runtime, clock)
    clock.set(local(2026, 12, 2, 10, 0))
    t.tick()
    [shortlist] = outbox(runtime, "pioneer.shortlist")
    text = shortlist.payload["text"]
    assert "5. " in text and "6. " not in text
    assert "……另有 3 人符合条件，未列出。" in text, text


# --- 三会一课 -----------------------------------------------------------------------------------------


def test_meeting_standing_pure():
    required = required_meetings("")
    held = [Held("支委会", date(2026, 10, 9)), Held("党小组会", date(2026, 11, 5), "一组"),
            Held("支部党员大会", date(2026, 8, 1)), Held("党课", date(2026, 12, 4))]
    states = {s.label: s.state for s in standing(required, held, ["一组"], date(2026, 11, 23),
                                                 date(2026, 1, 1))}
    # 党员大会 was held last quarter and this one ends in December; 主题党日 missed October.
    assert states == {"支部党员大会": "open", "支委会": "due", "党小组会（一组）": "done",
                      "党课": "scheduled", "主题党日": "overdue"}
    # A branch set up in November cannot have missed October.
    new = standing(required, [], [], date(2026, 11, 23), date(2026, 11, 2))
    assert {s.label: s.state for s in new}["主题党日"] == "due"
    early = standing(required, held, ["一组"], date(2026, 11, 20), date(2026, 1, 1))
    assert due_reminders(early, date(2026, 11, 20)) == []
    assert required_meetings('[meetings]\n"支委会" = "quarter"\n"党课" = "none"')["支委会"] == "quarter"


def test_a_secretary_asks_privately_and_a_group_gets_no_list(runtime, chat, bureau):
    one, _ = bureau
    seed(runtime.engine, lambda s: hold(s, one, local(2026, 11, 3, 16, 0), "支委会"))
    reply = chat.say("sec1", "三会一课")
    assert reply.text.startswith("一支部 三会一课")
    assert "· 支委会（每月）：已开（本期 11-01–11-30，上次 11-03）" in reply.text
    assert "· 党小组会（一组）（每月）：逾期" in reply.text  # none in October either
    assert chat.say("sec1", "三会一课", chat="g1").is_error
    assert "二支部 三会一课" in chat.say("lead", "三会一课 二支部", chat="lg").text
    assert chat.say("sec1", "三会一课 二支部").is_error


def test_a_meeting_later_today_is_planned_not_held(runtime, chat, clock, bureau):
    """At 09:00 the 支委会 set for 19:30 today was listed 已开, its 上次 today: a meeting that
    may yet be called off counted as held, and the month's reminder had nothing to say."""
    one, _ = bureau
    seed(runtime.engine, lambda s: hold(s, one, local(2026, 11, 23, 19, 30), "支委会",
                                        status="open"))
    clock.set(local(2026, 11, 23, 9, 0))
    assert "· 支委会（每月）：已安排（本期 11-01–11-30，下次 11-23）" in \
        chat.say("sec1", "三会一课").text
    clock.set(local(2026, 11, 23, 19, 30))
    assert "· 支委会（每月）：已开（本期 11-01–11-30，上次 11-23）" in \
        chat.say("sec1", "三会一课").text


def test_a_task_force_ending_before_its_schedules_next_meeting_has_none_planned(
        runtime, chat, clock):
    """A 临时党支部 ending on the 25th with 支委会 set for the 27th read 已安排 (下次 11-27), and
    its secretary was not reminded, of a meeting that is never held."""
    from datetime import date

    def build(s):
        force = make_branch(s, "专项临时支部", temporary=True)
        force.ends_on = date(2026, 11, 25)
        bind_chat(s, force, "g9")
        make_member(s, force, "周书记", role=Role.SECRETARY, wecom="sec9")
    seed(runtime.engine, build)
    clock.set(local(2026, 11, 20, 9, 0))
    chat.say("sec9", "设置 支委会 每月27日 15:00", chat="g9")
    [line] = [x for x in chat.say("sec9", "三会一课").text.splitlines()
              if x.startswith("· 支委会")]
    assert "已安排" not in line and "下次" not in line, line
    # Nor does 日程 list it, or any after the end; 请假 支委会 finds none to excuse.
    agenda = chat.say("sec9", "日程", chat="g9").text
    assert "支委会" in agenda and "11月27日" not in agenda and "1月27日" not in agenda, agenda
    assert "近期没有需要你参加的支委会" in chat.say("sec9", "请假 支委会 出差").text


def test_a_secretary_naming_the_own_branch_gets_its_meetings(runtime, chat, bureau):
    """三会一课 一支部 from 一支部's secretary was refused as 查看其他支部的三会一课仅限领导."""
    reply = chat.say("sec1", "三会一课 一支部")
    assert not reply.is_error and reply.text.startswith("一支部 三会一课"), reply.text
    other = chat.say("sec1", "三会一课 二支部")
    assert other.is_error and "二支部 三会一课" not in other.text


def test_a_leader_in_a_branch_group_gets_no_meetings_list_either(runtime, chat, bureau):
    """A leader's 三会一课 in 一支部's group listed 一支部's (or 二支部's) overdue meetings to
    the whole group: the shortfall is the committee's business, refused there as 约谈 is."""
    for text in ("三会一课", "三会一课 二支部"):
        reply = chat.say("lead", text, chat="g1")
        assert reply.is_error and "请在领导群或私聊我发送" in reply.text, (text, reply.text)
        assert "逾期" not in reply.text and "本月到期" not in reply.text
    assert "二支部 三会一课" in chat.say("lead", "三会一课 二支部").text
    assert "各支部三会一课" in chat.say("lead", "三会一课", chat="lg").text


def test_the_meeting_reminder_comes_once_per_secretary_and_not_when_scheduled(runtime, clock, bureau):
    one, two = bureau
    # 二支部 has its 支委会 planned for the 27th; 一支部 has nothing planned.
    seed(runtime.engine, lambda s: hold(s, two, local(2026, 11, 27, 15, 0), "支委会", status="open"))
    clock.set(local(2026, 11, 23, 8, 59))
    t = ticker(runtime, clock)
    for when in (local(2026, 11, 23, 9, 0), local(2026, 11, 23, 9, 1), local(2026, 11, 24, 9, 0)):
        clock.set(when)
        t.tick()
    ticker(runtime, clock).tick()  # a restarted replica
    reminders = outbox(runtime, "reminder.meetings")
    assert [(r.target_kind, r.target) for r in reminders] == [("user", "sec1"), ("user", "sec2")]
    first, second = (r.payload["text"] for r in reminders)
    assert "一支部：支委会、党小组会（一组）、主题党日 须在 11月30日前召开" in first
    assert "二支部：主题党日 须在 11月30日前召开" in second  # the planned 支委会 is not asked for


def test_a_meeting_set_as_a_fixed_schedule_counts_as_planned(runtime, chat, clock, bureau):
    """三会一课 says 可用「设置」定好日程; a secretary who did (设置 支委会 每月27日 …) still saw
    支委会 本月到期 and was reminded 须在 11月30日前召开: only activity rows counted as
    planned, and the scheduler makes those half an hour before the start."""
    one, two = bureau

    def october(s):  # held in October: November's are due, not overdue
        for branch in (one, two):
            for type_ in ("支委会", "主题党日"):
                hold(s, branch, local(2026, 10, 20, 15, 0), type_)
    seed(runtime.engine, october)
    clock.set(local(2026, 11, 23, 8, 0))
    assert not chat.say("sec1", "设置 支委会 每月27日 15:00 1小时").is_error
    shown = chat.say("sec1", "三会一课").text
    assert "· 支委会（每月）：已安排（本期 11-01–11-30，上次 10-20，下次 11-27）" in shown, shown
    assert "· 主题党日（每月）：本月到期" in shown
    clock.set(local(2026, 11, 23, 8, 59))
    t = ticker(runtime, clock)
    clock.set(local(2026, 11, 23, 9, 0))
    t.tick()
    texts = {r.target: r.payload["text"] for r in outbox(runtime, "reminder.meetings")}
    assert "支委会" not in texts["sec1"] and "主题党日" in texts["sec1"], texts["sec1"]
    assert "支委会" in texts["sec2"]  # 二支部 set nothing
    # As an activity made ahead does: 已安排, and no reminder, after a missed period too.
    plan = [Held("支委会", date(2026, 11, 27))]
    [row] = [r for r in standing(required_meetings(""), [], [], date(2026, 11, 23),
                                 date(2026, 1, 1), plan) if r.type == "支委会"]
    assert (row.state, row.planned) == ("scheduled", date(2026, 11, 27))
    assert due_reminders([row], date(2026, 11, 23)) == []


def test_a_meeting_reminder_waits_for_quiet_hours_to_end(runtime, clock, bureau):
    # A site whose quiet hours run to 09:30: the 09:00 reminder goes at 09:30 instead.
    settings = runtime.settings.model_copy(update={"quiet_end": time(9, 30)})
    clock.set(local(2026, 11, 23, 8, 0))
    t = Ticker(runtime.engine, settings, clock, runtime.rules, calendar=HolidayCalendar())
    t.last = clock.now()
    clock.set(local(2026, 11, 23, 9, 15))
    t.tick()
    assert outbox(runtime, "reminder.meetings") == []
    clock.set(local(2026, 11, 23, 9, 30))
    t.tick()
    assert len(outbox(runtime, "reminder.meetings")) == 2


def test_a_reminder_missed_while_down_is_not_sent_late(runtime, clock, bureau):
    clock.set(local(2026, 11, 24, 8, 0))  # started the day after the reminder was due
    t = ticker(runtime, clock)
    t.last = None
    t.tick()
    assert outbox(runtime, "reminder.meetings") == []


def test_the_weekly_summary_names_overdue_branches_only(runtime, chat, clock, bureau):
    one, two = bureau

    def history(s):
        for month in (9, 10, 11):
            hold(s, one, local(2026, month, 8, 14, 30), "主题党日")
        hold(s, two, local(2026, 9, 8, 14, 30), "主题党日")

    seed(runtime.engine, history)
    summary = chat.say("lead", "周报 本周", chat="lg").text
    overdue = summary.split("**三会一课逾期**")[1].split("**", 1)[0].splitlines()
    [mine] = [x for x in overdue if "一支部" in x]
    [theirs] = [x for x in overdue if "二支部" in x]
    assert "主题党日" in theirs and "主题党日" not in mine  # 一支部 held October's
    assert "张三" not in summary and "赵六" not in summary


# --- 讲师 and 读书班 ---------------------------------------------------------------------------------


def test_lecturers_roster_counts_the_years_lectures(runtime, chat, clock, bureau):
    assert "仅限领导" in chat.say("sec1", "讲师 添加 王书记").text
    empty = chat.say("lead", "讲师 移出 王书记").text
    assert "还没有党建讲师。\n例如：讲师 添加 王建国" in empty, empty
    assert "已将 王书记 加入党建讲师队伍（一支部书记）" in chat.say("lead", "讲师 添加 王书记 一支部书记").text
    assert "只能是 添加、移出" in chat.say("lead", "讲师 王书记").text
    unknown = chat.say("lead", "讲师 移出 王树记")
    assert unknown.is_error
    assert ("讲师队伍中没有「王树记」。移出请写讲师队伍中的姓名，现有讲师：王书记。\n"
            "例如：讲师 移出 王书记") == unknown.text, unknown.text
    clock.set(local(2026, 11, 23, 14, 0))
    assert not chat.say("sec1", "开始 党课 新党章 主讲 王书记", chat="g1").is_error
    clock.set(local(2026, 11, 24, 14, 0))
    assert not chat.say("sec1", "开始 党课 廉政 主讲 赵领导", chat="g1").is_error
    roster = chat.say("zs", "讲师").text
    assert "· 王书记（一支部书记）：1 场" in roster and "· 赵领导（不在讲师队伍）：1 场" in roster
    # A lecture cancelled (取消活动) was not given.
    chat.say("sec1", "取消活动 临时勤务", chat="g1")
    assert "已取消" in chat.say("sec1", "确认", chat="g1").text
    roster = chat.say("zs", "讲师").text
    assert "· 赵领导（不在讲师队伍）" not in roster and "· 王书记（一支部书记）：1 场" in roster


def test_a_lecturer_added_by_staff_number_is_named_and_removed_by_it(runtime, chat, bureau):
    """讲师 添加 1001 answered 「已将 1001 加入」 and 讲师 移出 1001 found no 「1001」: the
    roster keeps the member's name, so the 编号 is read as that member both ways."""
    from storage.models import Lecturer, Member

    with Session(runtime.engine) as s:
        secretary = s.exec(select(Member).where(Member.name == "王书记")).one()
        secretary.staff_no = "1001"
        s.add(secretary)
        s.commit()
    added = chat.say("lead", "讲师 添加 1001 一支部书记", chat="lg")
    assert "已将 王书记 加入党建讲师队伍（一支部书记）" in added.text, added.text
    removed = chat.say("lead", "讲师 移出 1001", chat="lg")
    assert not removed.is_error and "已将 王书记 移出讲师队伍" in removed.text, removed.text
    assert [x.active for x in rows(runtime, Lecturer)] == [False]


def test_a_staff_number_nobody_has_is_not_made_a_lecturer(runtime, chat, bureau):
    """讲师 添加 9999 (a 编号 not on the roster) answered 已将 9999 加入党建讲师队伍: a lecturer
    named 9999 on the roster for good. A number is refused; an outside lecturer's name is not."""
    from storage.models import Lecturer

    refused = chat.say("lead", "讲师 添加 9999", chat="lg")
    assert refused.is_error and "编号 9999" in refused.text, refused.text
    assert rows(runtime, Lecturer) == []
    assert not chat.say("lead", "讲师 添加 王建国 市委党校教授", chat="lg").is_error


def test_a_reading_class_enrols_members_and_counts_its_sessions(runtime, chat, clock, bureau):
    assert chat.say("sec1", "读书班 第一期 报名 张三").is_error  # leaders only
    enrolled = chat.say("lead", "读书班 第一期 报名 张三 李四", chat="lg")
    assert "读书班「第一期」：报名 2 人，已开课 0 次" in enrolled.text
    bad = chat.say("lead", "读书班 第一期 报名 张三 王麻子", chat="lg")
    assert bad.is_error and "王麻子" in bad.text and "例如：读书班" in bad.text
    clock.set(local(2026, 11, 23, 9, 0))
    assert not chat.say("sec1", "开始 读书班 第一期", chat="g1").is_error
    assert not chat.say("zs", "签到", chat="g1").is_error
    clock.set(local(2026, 11, 23, 12, 0))
    overview = chat.say("lead", "读书班", chat="lg").text
    assert "· 第一期：1 次课，报名 2 人，参训率 50%" in overview
    # A name looked up that nothing was done under is a slip, not a new class.
    slip = chat.say("lead", "读书班 第一斯", chat="lg")
    assert slip.is_error and "还没有读书班「第一斯」" in slip.text and "现有：第一期" in slip.text
    with Session(runtime.engine) as s:
        assert s.exec(select(ReadingClass.name)).all() == ["第一期"]
    # A class opened before anyone enrolled is looked up by its name, and then set up.
    assert not chat.say("sec1", "开始 读书班 第二期", chat="g1").is_error
    clock.set(local(2026, 11, 23, 16, 0))
    assert "现有：第一期、第二期。" in chat.say("lead", "读书班 第三期").text
    assert "读书班「第二期」：报名 0 人，已开课 1 次" in chat.say("lead", "读书班 第二期").text


def test_a_reading_class_expects_a_member_from_enrolment_while_on_the_roster(
        runtime, chat, clock, bureau):
    """参训率 took every session times everyone ever enrolled: one enrolled after the first
    session was absent from it, one who left the roster absent from what was held since.
    Each is expected from enrolment while on the roster, and whatever they came to counts."""
    from storage.models import Member

    assert not chat.say("lead", "读书班 第一期 报名 张三 李四", chat="lg").is_error
    clock.set(local(2026, 11, 23, 9, 0))
    chat.say("sec1", "开始 读书班 第一期", chat="g1")
    for who in ("zs", "ls"):
        assert not chat.say(who, "签到", chat="g1").is_error
    clock.set(local(2026, 11, 24, 9, 0))
    assert not chat.say("lead", "读书班 第一期 报名 赵六", chat="lg").is_error  # late
    with Session(runtime.engine) as s:  # 李四 leaves the roster, as an import would say
        from storage import membership

        li = s.exec(select(Member).where(Member.name == "李四")).one()
        membership.end_spell(s, member=li, now=local(2026, 11, 25, 9, 0))
        li.active = False
        s.add(li)
        s.commit()
    clock.set(local(2026, 11, 30, 9, 0))
    chat.say("sec1", "开始 读书班 第一期", chat="g1")
    assert not chat.say("zs", "签到", chat="g1").is_error
    clock.set(local(2026, 11, 30, 12, 0))
    # Expected: 张三 twice, 李四 once (then gone), 赵六 once (the second): 2 + 1 of 4.
    overview = chat.say("lead", "读书班", chat="lg").text
    assert "· 第一期：2 次课，报名 3 人，参训率 75%" in overview, overview


def test_a_reading_classs_rate_is_rounded_as_the_years_report_rounds_it(runtime, chat, clock,
                                                                         bureau):
    """1 of 8 came: 参训率 12.5%, as `report year` writes it; chat said 12% (a tie rounded
    to even, to a whole percent), a figure the report contradicted and 四舍五入 does not give."""
    one, _ = bureau
    readers = ["孙一", "孙二", "孙三", "孙四", "孙五", "孙六", "孙七", "孙八"]
    seed(runtime.engine, lambda s: [make_member(s, one, n, wecom=n) for n in readers])
    assert not chat.say("lead", "读书班 第一期 报名 " + " ".join(readers), chat="lg").is_error
    clock.set(local(2026, 11, 23, 9, 0))
    assert not chat.say("sec1", "开始 读书班 第一期", chat="g1").is_error
    assert not chat.say("孙一", "签到", chat="g1").is_error
    clock.set(local(2026, 11, 23, 12, 0))
    overview = chat.say("lead", "读书班", chat="lg").text
    assert "· 第一期：1 次课，报名 8 人，参训率 12.5%" in overview, overview
    assert "参训率 12.5%" in chat.say("lead", "读书班 第一期", chat="lg").text


@pytest.mark.parametrize("text", ["读书班 报名 张三 李四", "读书班 报名"])
def test_enrolling_without_the_class_name_asks_for_it(runtime, chat, bureau, text):
    """读书班 报名 张三 李四 was answered 「张三」看不懂, and 读书班 报名 with 还没有读书班「报名」,
    例如「读书班 报名 报名 张伟 李秀英」: the class name is what is missing."""
    reply = chat.say("lead", text, chat="lg")
    assert reply.is_error and "缺少期名" in reply.text, reply.text
    assert "看不懂" not in reply.text and "报名 报名" not in reply.text
    assert rows(runtime, ReadingClass) == []


def test_enrolling_glued_to_the_class_name_enrols(runtime, chat, bureau):
    reply = chat.say("lead", "读书班 第一期报名 张三 李四", chat="lg")
    assert not reply.is_error and "读书班「第一期」：报名 2 人" in reply.text, reply.text
    assert [c.name for c in rows(runtime, ReadingClass)] == ["第一期"]


def test_the_loop_works_the_same_on_dingtalk(runtime, chat, bureau):
    one, _ = bureau

    def dingtalk_people(s):
        bind_chat(s, one, "dg1", platform="dingtalk")
        make_member(s, None, "钱领导", role=Role.LEADER, wecom="lead2", dingtalk="ding-lead")
        make_member(s, one, "孙委员", role=Role.COMMITTEE, wecom="c1", dingtalk="ding-c1")

    seed(runtime.engine, dingtalk_people)
    nominated = chat.say("ding-c1", "推荐 先锋党员 张三 带头值守", platform="dingtalk")
    assert "已推荐 张三" in nominated.text
    assert "已确认" in chat.say("ding-lead", "确认 先锋党员 张三", platform="dingtalk").text
    targets = {(h.platform, h.target) for h in outbox(runtime, "pioneer.honour")}
    assert targets == {("wecom", "g1"), ("dingtalk", "dg1"), ("wecom", "lg")}
    assert "例如：约谈" in chat.say("ding-lead", "约谈 一支部", platform="dingtalk").text


def test_leaders_see_every_branchs_meetings_in_one_reply(runtime, chat, bureau):
    one, _ = bureau
    seed(runtime.engine, lambda s: hold(s, one, local(2026, 11, 3, 16, 0), "支委会"))
    reply = chat.say("lead", "三会一课", chat="lg").text
    # Nothing on record since the branches were set up in January: Q3's meetings were missed.
    assert "· 一支部：逾期 支部党员大会、党小组会（一组）、党课、主题党日；到期 无" in reply
    assert "· 二支部：逾期 支部党员大会、支委会、党课、主题党日；到期 无" in reply
