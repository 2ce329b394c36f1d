"""What the committee's loop asks in chat of a day or a month gone by: 昨天谁没来, 红黄蓝榜 9月,
and a leader's 明天有活动吗, end to end through the chat core."""

from __future__ import annotations

from storage.models import Role
from tests.conftest import local
from tests.factories import bind_chat, make_member, seed
from tests.test_figures import night_studies, run_ticks


def _monday_night_then_tuesday(runtime, chat, clock):
    """城关支部's 政治夜学 on Monday 7 December: 李明 checked in, 张强 did not; on Tuesday
    the secretary opens a 主题党日, 张强 checks in and 李明 does not."""
    night_studies(runtime, "每周一 19:30", zhang=True)

    def leaders(session):
        bind_chat(session, None, "g-leaders", leaders=True)
        make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, leaders)
    clock.set(local(2026, 12, 5, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 19, 35))
    assert not chat.say("li", "签到", chat="g1").is_error
    assert not chat.say("sec", "签到", chat="g1").is_error
    run_ticks(runtime, clock, local(2026, 12, 8, 10, 0))
    assert not chat.say("sec", "开始 主题党日 学习党章", chat="g1").is_error
    assert not chat.say("zhang", "签到", chat="g1").is_error


def test_who_was_missing_yesterday_is_answered_privately(runtime, chat, clock):
    """昨天谁没来 was answered 你是想发送「谁没来」吗, and 谁没来 gives the activity under way
    today: the secretary is told, privately, who missed yesterday's, and only that."""
    _monday_night_then_tuesday(runtime, chat, clock)
    for said in ("昨天谁没来", "昨天谁没签到？", "昨晚谁没来"):
        reply = chat.say("sec", said)
        assert not reply.is_error, reply.text
        assert reply.text == "政治夜学（12月7日 19:30）未签到 1 人（缺席待确认）：张强", \
            (said, reply.text)
    # Today's list is still today's.
    assert "未签到 2 人：李明、王书记" in chat.say("sec", "谁没来").text


def test_who_was_missing_yesterday_is_not_named_in_the_group(runtime, chat, clock):
    _monday_night_then_tuesday(runtime, chat, clock)
    group = chat.say("sec", "昨天谁没来", chat="g1").text
    assert "张强" not in group
    assert group == ("政治夜学（12月7日 19:30）：未签到 1 人（缺席待确认）。"
                     "名单请私聊我发送「未签到 昨天」查看。")
    # The words it gives read as it says.
    assert chat.say("sec", "未签到 昨天").text == "政治夜学（12月7日 19:30）未签到 1 人（缺席待确认）：张强"


def test_once_confirmed_the_missing_of_a_day_gone_by_are_said_absent(runtime, chat, clock):
    """前天谁没来 after the absences were confirmed said 未签到 1 人 (还有 1 人未签到 in the
    group), as if one could still check in: they are absent, and said so."""
    _monday_night_then_tuesday(runtime, chat, clock)
    run_ticks(runtime, clock, local(2026, 12, 9, 10, 0))  # confirmed 24 hours after the end
    assert chat.say("sec", "前天谁没来").text == "政治夜学（12月7日 19:30）缺席 1 人：张强"
    group = chat.say("sec", "前天谁没来", chat="g1").text
    assert group == "政治夜学（12月7日 19:30）：缺席 1 人。名单请私聊我发送「未签到 前天」查看。"


def test_a_member_asking_who_was_missing_yesterday_is_told_no_names(runtime, chat, clock):
    _monday_night_then_tuesday(runtime, chat, clock)
    for where in (None, "g1"):
        reply = chat.say("li", "昨天谁没来", chat=where) if where else chat.say("li", "昨天谁没来")
        assert reply.is_error and "张强" not in reply.text
        assert "仅限" in reply.text


def test_a_day_that_held_nothing_says_so_rather_than_another_days_list(runtime, chat, clock):
    """前天谁没来 on Tuesday (Sunday held nothing) gave Monday's names under 前天."""
    _monday_night_then_tuesday(runtime, chat, clock)
    reply = chat.say("sec", "前天谁没来").text
    assert reply.startswith("前天（12月6日）没有活动。"), reply
    assert "张强" not in reply and "李明" not in reply


def test_a_leader_asking_who_was_missing_yesterday_sees_each_branch_count(runtime, chat, clock):
    _monday_night_then_tuesday(runtime, chat, clock)
    for where in (None, "g-leaders"):
        reply = chat.say("boss", "昨天谁没来", chat=where) if where else chat.say("boss", "昨天谁没来")
        assert reply.text.splitlines() == [
            "昨天（12月7日）的活动（1 个）：",
            "· 城关支部 政治夜学（12月7日 19:30）：未签到 1 人（缺席待确认）",
            "发送「未签到 支部名称 昨天」查看名单，例如：未签到 城关 昨天"], reply.text
    named = chat.say("boss", "未签到 城关 昨天").text
    assert named == "政治夜学（12月7日 19:30）未签到 1 人（缺席待确认）：张强"


def test_a_leader_is_told_the_absent_of_a_day_gone_by_as_the_secretary_is(runtime, chat, clock):
    """前天谁没来 from a leader once the absences were confirmed still said 未签到 1 人, as if
    one could check in yet, where the secretary's list says 缺席 1 人."""
    _monday_night_then_tuesday(runtime, chat, clock)
    run_ticks(runtime, clock, local(2026, 12, 9, 10, 0))  # confirmed 24 hours after the end
    assert chat.say("sec", "前天谁没来").text == "政治夜学（12月7日 19:30）缺席 1 人：张强"
    assert chat.say("boss", "前天谁没来").text.splitlines()[1] == \
        "· 城关支部 政治夜学（12月7日 19:30）：缺席 1 人"


# --- 红黄蓝榜 of a month before last -----------------------------------------------------


def _september_bureau(session):
    """红星 and 远山, four members each, a 主题党日 each on 5 September: all of 红星 came
    (and studied), one of 远山. Since then 远山1, absent that day, moved to 红星 (10
    November) and 红星 took on a new member: September's tiers are of September's branches."""
    from storage import moves
    from tests.conftest import SHANGHAI
    from tests.factories import make_branch
    from tests.test_reports import attend, award, hold

    red, far = make_branch(session, "红星支部"), make_branch(session, "远山支部")
    reds = [make_member(session, red, f"红星{i}", wecom=f"红星{i}") for i in range(4)]
    fars = [make_member(session, far, f"远山{i}", wecom=f"远山{i}") for i in range(4)]
    day = hold(session, red, local(2026, 9, 5, 14, 30))
    for m in reds:
        attend(session, day, m, "present", points=3)
        award(session, m, 5, local(2026, 9, 6, 20, 0))
    attend(session, hold(session, far, local(2026, 9, 5, 14, 30)), fars[0], "present", points=3)
    bind_chat(session, far, "g-far")
    bind_chat(session, None, "g-leaders", leaders=True)
    make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    moves.move(session, member=fars[1], branch_id=red.id, now=local(2026, 11, 10, 9, 0),
               tz=SHANGHAI)
    newcomer = make_member(session, red, "新同志", wecom="new")
    newcomer.created_at = newcomer.branch_since = local(2026, 11, 20, 9, 0)


def test_a_leader_sees_the_tiers_of_any_month_gone_by(runtime, chat, clock):
    """红黄蓝榜 9月 (and 2026年9月, 9月的红黄蓝榜) in December was refused: 时间只能是 本月、
    本周、上月、上周. The month is scored whole, with its own members: 远山1, who moved to
    红星 since, is 远山's absentee, and 红星's newcomer is in no September average."""
    seed(runtime.engine, _september_bureau)
    clock.set(local(2026, 12, 10, 9, 0))
    for said in ("红黄蓝榜 9月", "红黄蓝榜 2026年9月", "9月的红黄蓝榜", "红黄蓝榜 九月份"):
        reply = chat.say("boss", said, chat="g-leaders")
        assert not reply.is_error, (said, reply.text)
        text = reply.text
        assert text.startswith("红黄蓝榜（2026年9月，按分数线分档）\n🔴"), text
        # September whole: 30 days, the points reference 10 a member.
        assert "🔴 红榜（1 个）\n· 红星支部 92 分：活动 1 次，参与率 100.0%（4/4），人均 8 分" in text
        assert "🔵 蓝榜（1 个）\n· 远山支部 18 分（约谈）：活动 1 次，参与率 25.0%（1/4），" \
               "人均 0.8 分" in text
        assert text.endswith("人均积分÷10))"), text


def test_a_branch_sees_its_own_score_of_a_month_gone_by(runtime, chat, clock):
    seed(runtime.engine, _september_bureau)
    clock.set(local(2026, 12, 10, 9, 0))
    text = chat.say("远山0", "红黄蓝榜 9月", chat="g-far").text
    assert "🔵 蓝榜：远山支部" in text and "约谈" not in text
    assert "本支部得分 18（参与率 25.0%，人均 0.8 分）" in text


def test_a_month_to_come_or_before_any_record_is_refused_with_the_reason(runtime, chat, clock):
    seed(runtime.engine, _september_bureau)
    clock.set(local(2026, 12, 10, 9, 0))
    ahead = chat.say("boss", "红黄蓝榜 2027年1月", chat="g-leaders")
    assert ahead.is_error and ahead.text.startswith("2027年1月还没到，没有红黄蓝榜。"), ahead.text
    # The branches were set up on 1 January 2026 (tests.factories.T0).
    before = chat.say("boss", "红黄蓝榜 2025年9月", chat="g-leaders")
    assert before.is_error, before.text
    assert before.text == ("2025年9月党建助手还没有启用，没有这段时间的记录，最早的记录在 2026年1月，"
                           "无法排红黄蓝榜。"), before.text
    # A month with records but no activity is a month, not a refusal.
    october = chat.say("boss", "红黄蓝榜 10月", chat="g-leaders")
    assert not october.is_error
    assert "本期未开展活动：红星支部、远山支部" in october.text
    wrong = chat.say("boss", "红黄蓝榜 去年", chat="g-leaders")
    assert wrong.is_error and "或某月（如 9月、2026年9月）" in wrong.text


# --- a leader's 明天有活动吗 -----------------------------------------------------------------


def _two_branches_with_night_studies(runtime):
    """城关支部 studies on Tuesdays, 交警支部 on Tuesdays and Wednesdays; 王局 leads."""
    from storage.models import Schedule
    from tests.factories import make_branch

    night_studies(runtime, "每周二 19:30")

    def scene(session):
        traffic = make_branch(session, "交警支部")
        make_member(session, traffic, "赵书记", role=Role.SECRETARY, wecom="zhao")
        session.add(Schedule(branch_id=traffic.id, activity_type="政治夜学", rule="每周二、三 20:00",
                             duration_minutes=90, created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
        bind_chat(session, None, "g-leaders", leaders=True)
        make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, scene)


def test_a_leader_asking_whether_tomorrow_holds_an_activity_is_answered_first(runtime, chat, clock):
    """明天有活动吗 from a leader gave the bureau's agenda with no answer to it (a secretary's
    begins 明天（…）有：…): the leader's begins with every branch holding one that day."""
    _two_branches_with_night_studies(runtime)
    clock.set(local(2026, 12, 7, 20, 0))  # Monday
    for where in (None, "g-leaders"):
        reply = chat.say("boss", "明天有活动吗", chat=where) if where else chat.say("boss", "明天有活动吗")
        lines = reply.text.splitlines()
        assert lines[0] == ("明天（12月8日 周二）共 2 个支部有活动："
                            "城关支部 19:30 政治夜学；交警支部 20:00 政治夜学。"), reply.text
        assert "各支部接下来的活动：" in lines  # the agenda as before
    wednesday = chat.say("boss", "后天有什么活动").text.splitlines()[0]
    assert wednesday == "后天（12月9日 周三）共 1 个支部有活动：交警支部 20:00 政治夜学。"
    thursday = chat.say("boss", "周四有活动吗").text.splitlines()[0]
    assert thursday == ("12月10日（周四）各支部都没有活动，"
                        "下一次是城关支部 12月15日 周二 19:30 政治夜学。"), thursday
    # Asked of no day, the agenda is as it was.
    assert chat.say("boss", "日程").text.splitlines()[0] == "各支部接下来的活动："
    # A secretary's answer is their branch's, as before.
    assert chat.say("sec", "明天有活动吗").text.startswith("明天（12月8日 周二）有：19:30 政治夜学。")


def test_last_month_before_any_record_says_there_was_none(runtime, chat, clock):
    """红黄蓝榜 上月 in djbot's first month gave three empty tiers (🔴 红榜（0 个）…) and a
    formula, nothing saying there was nothing to count."""
    seed(runtime.engine, _september_bureau)  # branches set up on 1 January 2026
    clock.set(local(2026, 1, 1, 10, 0))  # a Thursday, two hours after
    month = chat.say("boss", "红黄蓝榜 上月", chat="g-leaders")
    assert month.is_error and month.text == (
        "上月（2025年12月）党建助手还没有启用，没有这段时间的记录，最早的记录在 2026年1月，"
        "无法排红黄蓝榜。"), month.text
    week = chat.say("boss", "红黄蓝榜 上周", chat="g-leaders")
    assert week.is_error and week.text.startswith("上周（12月22日—12月28日）党建助手还没有启用"), week.text
    # This month has its records: its board, as ever.
    assert not chat.say("boss", "红黄蓝榜", chat="g-leaders").is_error


# --- 明天谁请假了 -------------------------------------------------------------------------


def test_who_asked_leave_for_tomorrow_is_tomorrows_not_the_last_ones(runtime, chat, clock):
    """明天谁请假了 the day before a night study answered 12月9日没有活动，以下是最近一次活动
    的情况 and last week's names, though the agenda shows it: it is that study's leave."""
    night_studies(runtime, "每周三 19:30", zhang=True)
    clock.set(local(2026, 11, 30, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 2, 12, 0))
    assert not chat.say("zhang", "请假 值班", chat="g1").is_error  # last week's
    run_ticks(runtime, clock, local(2026, 12, 8, 12, 0))  # Tuesday
    assert not chat.say("li", "请假 出差", chat="g1").is_error  # tomorrow's
    assert chat.say("sec", "明天谁请假了").text == "政治夜学（12月9日 19:30）还没开始。已请假 1 人：李明"
    group = chat.say("sec", "明天谁请假了", chat="g1").text
    assert group == ("政治夜学（12月9日 19:30）还没开始，已请假 1 人。"
                     "名单请私聊我发送「未签到 明天」查看。"), group
    assert chat.say("sec", "未签到 明天").text.endswith("已请假 1 人：李明")
    clock.set(local(2026, 12, 9, 10, 0))  # the day itself, before it begins
    assert chat.say("sec", "今天谁请假了").text == "政治夜学（19:30）还没开始。已请假 1 人：李明"
    assert chat.say("sec", "后天谁请假了").text.startswith("12月11日没有活动")  # as before


def test_two_party_groups_meeting_the_same_day_are_told_apart(runtime, chat, clock):
    """明天有活动吗 with both party groups meeting said 有：19:30 党小组会、19:30 党小组会: which
    group is which, as the agenda's own lines name them."""
    from tests.factories import make_branch, make_group

    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        first = make_group(session, branch, "第一党小组")
        make_group(session, branch, "第二党小组")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec",
                    party_group_id=first.id)
        bind_chat(session, None, "g-leaders", leaders=True)
        make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, scene)
    clock.set(local(2026, 12, 7, 20, 0))  # Monday
    for group, at in (("第一党小组", "19:30"), ("第二党小组", "20:00")):
        assert not chat.say("sec", f"设置 党小组会 {group} 每周二 {at}", chat="g1").is_error
    said = chat.say("sec", "明天有活动吗", chat="g1").text.splitlines()[0]
    assert said == "明天（12月8日 周二）有：19:30 党小组会·第一党小组、20:00 党小组会·第二党小组。", said
    leader = chat.say("boss", "明天有活动吗").text.splitlines()[0]
    assert leader == ("明天（12月8日 周二）共 1 个支部有活动："
                      "城关支部 19:30 党小组会·第一党小组、20:00 党小组会·第二党小组。"), leader


def test_a_leader_asking_who_asked_leave_for_tomorrow_is_told_per_branch(runtime, chat, clock):
    """明天谁请假了 from a leader was answered 现在没有进行中的活动, the day unread."""
    night_studies(runtime, "每周三 19:30", zhang=True)

    def leaders(session):
        bind_chat(session, None, "g-leaders", leaders=True)
        make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, leaders)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 12, 0))  # Tuesday
    assert not chat.say("li", "请假 出差", chat="g1").is_error
    for where in (None, "g-leaders"):
        reply = chat.say("boss", "明天谁请假了", chat=where) if where else chat.say("boss", "明天谁请假了")
        assert reply.text.splitlines() == [
            "明天（12月9日）的活动（1 个）：",
            "· 城关支部 政治夜学（12月9日 19:30）：已请假 1 人",
            "发送「未签到 支部名称 明天」查看名单，例如：未签到 城关 明天"], reply.text
    assert chat.say("boss", "未签到 城关 明天").text == \
        "政治夜学（12月9日 19:30）还没开始。已请假 1 人：李明"


def test_a_leader_asking_who_was_missing_today_after_it_ended_is_told(runtime, chat, clock):
    """今天谁没来 from a leader once the evening's study had ended was answered 现在没有进行中
    的活动: today's, as 昨天谁没来 is answered."""
    night_studies(runtime, "每周一 19:30", zhang=True)

    def leaders(session):
        bind_chat(session, None, "g-leaders", leaders=True)
        make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, leaders)
    clock.set(local(2026, 12, 5, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 19, 35))
    assert not chat.say("li", "签到", chat="g1").is_error
    run_ticks(runtime, clock, local(2026, 12, 7, 22, 0))  # ended at 21:00
    assert chat.say("boss", "今天谁没来").text.splitlines() == [
        "今天（12月7日）的活动（1 个）：",
        "· 城关支部 政治夜学（19:30）：未签到 2 人",
        "发送「未签到 支部名称 今天」查看名单，例如：未签到 城关 今天"]
    assert chat.say("boss", "未签到 城关 今天").text == "政治夜学（19:30）未签到 2 人：张强、王书记"
    assert "现在没有进行中的活动" in chat.say("boss", "谁没来").text  # no day said: as before


def test_a_leader_asking_who_asked_leave_today_before_it_begins_is_told(runtime, chat, clock):
    """今天谁请假了 from a leader on the morning of a night study said 今天（12月9日）没有活动。
    (only what had begun was counted), though a secretary asking the same is told of it."""
    night_studies(runtime, "每周三 19:30", zhang=True)

    def leaders(session):
        bind_chat(session, None, "g-leaders", leaders=True)
        make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, leaders)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 12, 0))  # Tuesday
    assert not chat.say("li", "请假 出差", chat="g1").is_error
    run_ticks(runtime, clock, local(2026, 12, 9, 10, 0))  # the day itself, before it begins
    for where in (None, "g-leaders"):
        reply = chat.say("boss", "今天谁请假了", chat=where) if where else chat.say("boss", "今天谁请假了")
        assert reply.text.splitlines() == [
            "今天（12月9日）的活动（1 个）：",
            "· 城关支部 政治夜学（19:30）：已请假 1 人",
            "发送「未签到 支部名称 今天」查看名单，例如：未签到 城关 今天"], reply.text
    assert chat.say("boss", "未签到 城关 今天").text == "政治夜学（19:30）还没开始。已请假 1 人：李明"
