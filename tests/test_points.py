"""积分, 排行榜, 不参与排行/参与排行, 红黄蓝榜 and 积分明细, spoken through the chat core."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.models import AuditEntry, Branch, Member, PointEntry, Role
from tests.conftest import SHANGHAI, local
from tests.factories import bind_chat, branch_with_a_leader, make_branch, make_member, seed
from tests.test_reports import attend, award, hold


def branch_with_points(session):
    """一支部 in chat g1: 甲 and 乙 tie on 5 this month, 丙 has 3, 丁 (opted out) has 9."""
    branch = make_branch(session, "一支部")
    bind_chat(session, branch, "g1")
    people = {
        "甲": make_member(session, branch, "甲", wecom="jia"),
        "乙": make_member(session, branch, "乙", wecom="yi"),
        "丙": make_member(session, branch, "丙", wecom="bing"),
        "丁": make_member(session, branch, "丁", wecom="ding", leaderboard_opt_out=True),
        "戊": make_member(session, branch, "戊", wecom="wu"),
    }
    when = local(2026, 11, 10, 10, 0)
    for name, points in (("甲", 5), ("乙", 5), ("丙", 3), ("丁", 9), ("戊", -1)):
        award(session, people[name], points, when)
    return people


def test_leaderboard_shows_top_with_shared_ranks_and_my_own_line(runtime, chat):
    seed(runtime.engine, branch_with_points)
    reply = chat.say("bing", "排行榜", chat="g1")
    assert not reply.is_error
    lines = reply.text.splitlines()
    # Five members: a public board names at most 3 (30%, at least 3), so nobody left off
    # can be worked out by elimination from a longer list.
    assert lines[0] == "一支部 本月积分排行（前 3 名）"
    # Ties share a rank and are listed by name.
    assert lines[1:4] == ["1. 乙 5 分", "1. 甲 5 分", "3. 丙 3 分"]
    assert lines[-1] == "你：第 3 名，3 分。"
    # The opted-out member is not shown, and nobody below zero is listed (no bottom list).
    assert "丁" not in reply.text and "戊" not in reply.text
    # 帮助 said 至多三成: 3 of these 4 ranked members is three quarters.
    told = chat.say("bing", "帮助 排行榜", chat="g1").text
    assert "至多三成" not in told and "至少 3 人" in told, told


def test_last_week_and_last_month_boards_are_the_whole_period_just_ended(runtime, chat, clock):
    """The Monday post is 【上周积分榜】, and 先锋党员 for a month are nominated in the next
    month's first days: 上周排行榜 and 排行榜 上月 were refused (时间只能是 本周、本月、本年)."""
    seed(runtime.engine, branch_with_points)  # every point earned on 10 November
    clock.set(local(2026, 11, 16, 10, 0))  # the Monday after
    last_week = chat.say("bing", "上周排行榜", chat="g1")
    assert not last_week.is_error, last_week.text
    assert last_week.text.splitlines() == [
        "一支部 上周积分排行（前 3 名）", "1. 乙 5 分", "1. 甲 5 分", "3. 丙 3 分",
        "你：第 3 名，3 分。"]
    assert "本周还没有人获得积分" in chat.say("bing", "排行榜 本周", chat="g1").text

    clock.set(local(2026, 12, 2, 10, 0))
    last_month = chat.say("jia", "排行榜 上月", chat="g1").text
    assert last_month.startswith("一支部 上月积分排行（前 3 名）\n1. 乙 5 分\n1. 甲 5 分\n3. 丙 3 分")
    assert last_month.endswith("你：第 1 名，5 分。")
    assert "本月还没有人获得积分" in chat.say("jia", "排行榜", chat="g1").text


def test_on_the_first_of_the_month_nobody_is_first_among_zeros(runtime, chat, clock):
    """积分 on 1 December, nobody in the branch has a point this month yet: each member who
    asked was told 「本月支部排名：第 1 名（共 4 人）」."""
    seed(runtime.engine, branch_with_points)  # every point earned on 10 November
    clock.set(local(2026, 12, 1, 9, 0))
    for who in ("jia", "bing"):
        mine = chat.say(who, "积分").text
        assert "第 1 名" not in mine, mine
        assert "本月：0 分" in mine and "本月支部排名：本月支部还没有人获得积分，暂不排名。" in mine
    chat.say("jia", "学习 党章 30")
    assert "本月支部排名：第 1 名（共 4 人）" in chat.say("jia", "积分").text
    assert "本月支部排名：第 2 名（共 4 人）" in chat.say("bing", "积分").text


def test_my_points_rank_asked_with_my_is_the_board(runtime, chat):
    """我的积分排名 was 「时间只能是 本周、本月…，收到「排名」」: read as 我的积分 and a period."""
    seed(runtime.engine, branch_with_points)
    reply = chat.say("bing", "我的积分排名")
    assert not reply.is_error, reply.text
    assert reply.text.splitlines()[-1] == "你：第 3 名，3 分。", reply.text


def test_asked_whether_the_board_is_out_it_is_shown(runtime, chat):
    """排行榜出来了吗 was 「时间只能是 本周、本月…，收到「出来了吗」」."""
    seed(runtime.engine, branch_with_points)
    for said in ("排行榜出来了吗", "积分出来了没"):
        reply = chat.say("bing", said)
        assert not reply.is_error, reply.text
    assert chat.say("bing", "排行榜出来了吗").text == chat.say("bing", "排行榜").text


def test_member_below_zero_sees_only_their_own_rank(runtime, chat):
    seed(runtime.engine, branch_with_points)
    reply = chat.say("wu", "排行榜 本月")
    assert reply.text.splitlines()[-1] == "你：第 4 名，-1 分。"


def test_a_week_of_absences_ranks_nobody(runtime, chat, clock):
    """排行榜 上周 after a week everyone missed: the group read 「上周还没有人获得积分」 and the
    member, privately, 「你第 3 名，-3 分」."""
    def scene(session):
        branch = make_branch(session, "一支部")
        bind_chat(session, branch, "g1")
        for name, wecom, points in (("甲", "jia", -1), ("乙", "yi", -2), ("丙", "bing", -3)):
            award(session, make_member(session, branch, name, wecom=wecom), points,
                  local(2026, 12, 16, 21, 0), rule="attendance.absent", kind="attendance")
    seed(runtime.engine, scene)
    clock.set(local(2026, 12, 21, 9, 0))
    board = chat.say("bing", "排行榜 上周").text
    assert "上周还没有人获得积分" in board
    assert "第 3 名" not in board and "你上周 -3 分；支部上周还没有人获得积分，暂不排名。" in board, board
    group = chat.say("bing", "排行榜 上周", chat="g1").text
    assert "-3" not in group and "私聊" in group  # the figure still goes to them alone


def test_my_points_rank_nobody_when_nobody_is_above_zero(runtime, chat, clock):
    """积分 in a month everyone missed: 「本月支部排名：第 3 名（共 3 人）」 among -1, -2, -3,
    where 排行榜 says nobody has points and ranks nobody. 上月积分 the same."""
    def scene(session):
        branch = make_branch(session, "一支部")
        bind_chat(session, branch, "g1")
        for name, wecom, points in (("甲", "jia", -1), ("乙", "yi", -2), ("丙", "bing", -3)):
            award(session, make_member(session, branch, name, wecom=wecom), points,
                  local(2026, 12, 16, 21, 0), rule="attendance.absent", kind="attendance")
    seed(runtime.engine, scene)
    clock.set(local(2026, 12, 21, 9, 0))
    for who in ("jia", "bing"):
        mine = chat.say(who, "积分").text
        assert "名（共" not in mine, mine
        assert "本月支部排名：本月支部还没有人获得积分，暂不排名。" in mine, mine
    assert "本月：-3 分" in chat.say("bing", "积分").text
    clock.set(local(2027, 1, 4, 9, 0))
    last = chat.say("bing", "上月积分").text
    assert "-3 分" in last and "名（共" not in last, last
    assert "上月支部排名：上月支部没有人获得积分，不排名。" in last, last
    # One point earned by anyone, and the ranks are the ranks again.
    chat.say("jia", "学习 党章 30")
    assert "本月支部排名：第 2 名（共 3 人）" in chat.say("yi", "积分").text


def test_opted_out_member_is_hidden_but_sees_own_points(runtime, chat):
    seed(runtime.engine, branch_with_points)
    mine = chat.say("ding", "积分")
    assert "本月：9 分" in mine.text and "不参与排行" in mine.text
    assert "排名" not in mine.text
    board = chat.say("ding", "排行榜")
    assert board.text.splitlines()[-1] == "你未参与排行，本月 9 分。"
    # Out of the public ranking, in the group their points are not read out either.
    assert chat.say("ding", "排行榜", chat="g1").text.splitlines()[-1] == "你的积分已私聊发给你。"


def test_my_points_this_week_month_year_and_rank(runtime, chat):
    def scene(session):
        people = branch_with_points(session)
        jia = people["甲"]
        award(session, jia, 2, local(2026, 11, 23, 8, 0))  # this week (Monday)
        award(session, jia, 4, local(2026, 3, 1, 10, 0))  # this year
        award(session, jia, 7, local(2025, 12, 31, 23, 0))  # last year: not counted
        award(session, jia, 1, local(2026, 11, 22, 23, 59))  # last Sunday: month, not week
    seed(runtime.engine, scene)
    reply = chat.say("jia", "积分")
    assert "本周：2 分" in reply.text
    assert "本月：8 分" in reply.text
    assert "本年：12 分" in reply.text
    assert "本月支部排名：第 1 名（共 4 人）" in reply.text


def test_week_board_starts_on_monday(runtime, chat):
    def scene(session):
        people = branch_with_points(session)
        award(session, people["丙"], 1, local(2026, 11, 23, 8, 0))
    seed(runtime.engine, scene)
    # One person scored since Monday: naming them would name the rest as idle.
    reply = chat.say("jia", "排行榜 本周", chat="g1")
    assert "丙" not in reply.text and "暂不公布" in reply.text
    seed(runtime.engine, lambda session: [
        award(session, session.exec(select(Member).where(Member.name == n)).one(), 1,
              local(2026, 11, 23, 8, 0)) for n in ("甲", "乙")])
    reply = chat.say("jia", "排行榜 本周", chat="g1")
    assert reply.text.splitlines()[1:4] == ["1. 丙 1 分", "1. 乙 1 分", "1. 甲 1 分"]
    assert reply.text.splitlines()[-1] == "你：第 1 名，1 分。"


def test_opting_out_and_back_in_is_audited_and_changes_the_board(runtime, chat):
    seed(runtime.engine, branch_with_points)
    assert "已退出公开排行" in chat.say("jia", "不参与排行").text
    assert "甲" not in chat.say("bing", "排行榜", chat="g1").text
    assert "已经不在" in chat.say("jia", "不参与排行").text
    assert "已恢复" in chat.say("jia", "参与排行").text
    assert "1. 甲 5 分" in chat.say("bing", "排行榜", chat="g1").text.splitlines()
    with Session(runtime.engine) as s:
        actions = s.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert [a for a in actions if a.startswith("leaderboard")] == [
            "leaderboard.opt_out", "leaderboard.opt_in"]
        assert s.exec(select(Member).where(Member.name == "甲")).one().leaderboard_opt_out is False


def test_bad_leaderboard_period_answers_with_usage_and_changes_nothing(runtime, chat):
    seed(runtime.engine, branch_with_points)
    reply = chat.say("jia", "排行榜 明年", chat="g1")
    assert reply.is_error
    assert "时间只能是 本周、本月、本年" in reply.text and "例如：排行榜 本周" in reply.text
    assert chat.say("jia", "积分 多余").is_error


def test_ledger_lines_name_their_activity(runtime, chat):
    def scene(session):
        people = branch_with_points(session)
        branch = session.get(Branch, people["甲"].branch_id)
        day = hold(session, branch, local(2026, 11, 20, 14, 30))
        attend(session, day, people["甲"], "late", points=2)
    seed(runtime.engine, scene)
    reply = chat.say("jia", "积分明细")
    lines = reply.text.splitlines()
    assert lines[0] == "甲 最近 2 笔积分："
    assert lines[1] == "11月20日 14:30 +2 主题党日「测试」迟到"
    assert lines[2].startswith("11月10日 10:00 +5 自学")
    assert "attendance." not in reply.text


@pytest.mark.parametrize("said", ["积分怎么扣了？", "为什么扣我分", "我被扣了一分"])
def test_asking_why_points_were_taken_shows_the_entries(runtime, chat, said):
    """积分怎么扣了？ was 「你是想发送「积分怎么算」吗」 (how points are counted, in general)
    and 为什么扣我分 a suggestion too: the member's own entries say why."""
    def scene(session):
        branch = make_branch(session, "一支部")
        jia = make_member(session, branch, "甲", wecom="jia")
        award(session, jia, -1, local(2026, 11, 20, 21, 0), rule="attendance.absent",
              kind="attendance")
    seed(runtime.engine, scene)
    reply = chat.say("jia", said)
    assert not reply.is_error, reply.text
    assert reply.text.splitlines()[0] == "甲 最近 1 笔积分：", reply.text
    assert "-1" in reply.text


def test_the_ledger_asked_in_a_group_goes_privately(runtime, chat):
    """积分明细 in the branch group listed the member's absences and the secretary's reason
    (更正为缺席：他人代签) to everyone, where the secretary's own 更正 said nothing of it:
    the entries go privately, and the group hears only that they did."""
    from sqlmodel import Session, select

    from storage.models import OutboxMessage

    def scene(session):
        branch = make_branch(session, "城关支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "李明", wecom="li")
    seed(runtime.engine, scene)
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("li", "签到", chat="g1")
    chat.say("sec", "更正 李明 缺席 他人代签")
    said = chat.say("li", "扣分原因", chat="g1").text
    assert said == "李明，积分明细涉及个人出勤，已私聊发给你。", said
    with Session(runtime.engine) as session:
        [sent] = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "points.ledger")).all()
    assert (sent.target_kind, sent.target) == ("user", "li")
    assert "他人代签" in sent.payload["text"] and sent.next_attempt_at <= runtime.clock.now()
    assert "他人代签" in chat.say("li", "积分明细").text  # privately, as before


def test_ledger_is_empty_for_a_new_member(runtime, chat):
    seed(runtime.engine, lambda s: make_member(s, make_branch(s), wecom="new"))
    assert "还没有积分记录" in chat.say("new", "积分明细").text


def tiered_bureau(session, came=(4, 4, 1)):
    """Three branches of 4, one theme day each this month; 红星's members also studied."""
    branches = []
    for (name, study), turnout in zip((("红星支部", 5), ("平安支部", 0), ("远山支部", 0)), came):
        branch = make_branch(session, name)
        members = [make_member(session, branch, f"{name}{i}", wecom=f"{name}{i}") for i in range(4)]
        day = hold(session, branch, local(2026, 11, 5, 14, 30))
        for m in members[:turnout]:
            attend(session, day, m, "present", points=3)
        for m in members if study else ():
            award(session, m, study, local(2026, 11, 6, 20, 0))
        branches.append(branch)
    bind_chat(session, branches[2], "g-far")
    bind_chat(session, None, "g-leaders", leaders=True)
    make_member(session, None, "王局", role=Role.LEADER, wecom="boss")


# Month to date on 23 Nov 09:00 is 22.375 days, so the points reference is
# 10 × 22.375 / 30 ≈ 7.46 points a member:
#   红星 4/4 and 8 points each:   100 × (0.6 × 1    + 0.4 × 1)           = 100   red
#   平安 4/4 and 3 points each:   100 × (0.6 × 1    + 0.4 × 3/7.46)      ≈ 76.1  yellow
#   远山 1/4 and 0.75 each:       100 × (0.6 × 0.25 + 0.4 × 0.75/7.46)   ≈ 19    blue


def test_leaders_see_every_branch_with_figures_and_blue_marked_for_a_talk(runtime, chat):
    seed(runtime.engine, tiered_bureau)
    text = chat.say("boss", "红黄蓝榜", chat="g-leaders").text
    assert "🔴 红榜（1 个）\n· 红星支部 100 分：活动 1 次，参与率 100.0%（4/4），人均 8 分" in text
    assert "🟡 黄榜（1 个）\n· 平安支部 76.1 分" in text
    assert "🔵 蓝榜（1 个）\n· 远山支部 19 分（约谈）：活动 1 次，参与率 25.0%（1/4）" in text


def test_branch_group_sees_tiers_without_talk_wording(runtime, chat):
    seed(runtime.engine, tiered_bureau)
    reply = chat.say("远山支部0", "红黄蓝榜", chat="g-far")
    assert "约谈" not in reply.text
    assert "🔵 蓝榜：远山支部" in reply.text
    assert "本支部得分 19（参与率 25.0%，人均 0.8 分）" in reply.text


def test_absolute_mode_a_good_month_has_no_blue(runtime, chat):
    seed(runtime.engine, lambda s: tiered_bureau(s, came=(4, 4, 4)))
    reply = chat.say("boss", "红黄蓝榜", chat="g-leaders")
    assert "🔵 蓝榜（0 个）" in reply.text and "约谈" not in reply.text


def test_quota_mode_always_names_a_top_and_bottom_share(runtime, chat):
    from dataclasses import replace

    runtime.dispatcher.rules = replace(
        runtime.rules, tiers=replace(runtime.rules.tiers, mode="quota", red_share=0.34,
                                     blue_share=0.34))
    # 远山 scores about 67: yellow by the thresholds, but the bottom third by quota.
    seed(runtime.engine, lambda s: tiered_bureau(s, came=(4, 4, 3)))
    text = chat.say("boss", "红黄蓝榜", chat="g-leaders").text
    assert "按比例分档" in text
    assert "🔴 红榜（1 个）\n· 红星支部" in text
    assert "🟡 黄榜（1 个）\n· 平安支部" in text
    assert "🔵 蓝榜（1 个）\n· 远山支部" in text and "（约谈）" in text


def test_a_branch_that_held_nothing_is_listed_not_scored(runtime, chat):
    def scene(session):
        tiered_bureau(session)
        make_branch(session, "新建支部")
    seed(runtime.engine, scene)
    text = chat.say("boss", "红黄蓝榜", chat="g-leaders").text
    assert text.count("新建支部") == 1 and "本期未开展活动：新建支部" in text


def test_a_leader_gets_the_bureau_board_and_may_name_a_branch(runtime, chat):
    seed(runtime.engine, tiered_bureau)
    for where in ("g-leaders", None):  # the leaders' group, or a private chat
        reply = chat.say("boss", "排行榜", chat=where)
        assert not reply.is_error and reply.text.startswith("全局 本月积分排行")
        assert "1. 红星支部0（红星支部）8 分" in reply.text and "排行榜 支部名称" in reply.text
    one = chat.say("boss", "排行榜 红星")
    assert not one.is_error and one.text.startswith("红星支部 本月积分排行")
    week = chat.say("boss", "排行榜 本周 红星")
    assert not week.is_error and week.text.startswith("红星支部 本周积分排行")


def test_a_leader_on_a_branch_roster_reads_the_bureau_board_privately(runtime, chat):
    """王局 is on 红星支部's roster: privately 排行榜 gave 红星支部's board, and the bureau's
    could not be had; in the branch's group it is still that branch's."""
    def scene(session):
        tiered_bureau(session)
        red = session.exec(select(Branch).where(Branch.name == "红星支部")).one()
        leader = session.exec(select(Member).where(Member.name == "王局")).one()
        leader.branch_id = red.id
        session.add(leader)
        bind_chat(session, red, "g-red")
    seed(runtime.engine, scene)
    private = chat.say("boss", "排行榜").text
    assert private.startswith("全局 本月积分排行（前 10 名）"), private
    assert "（平安支部）" in private and "（红星支部）" in private
    assert chat.say("boss", "排行榜 红星").text.startswith("红星支部 本月积分排行")
    assert chat.say("boss", "排行榜", chat="g-red").text.startswith("红星支部 本月积分排行")


def test_a_leader_without_a_branch_sees_points_and_no_rank(runtime, chat):
    def scene(session):
        leader = make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
        award(session, leader, 4, local(2026, 11, 20, 10, 0))
    seed(runtime.engine, scene)
    reply = chat.say("boss", "积分")
    assert not reply.is_error
    assert "本月：4 分" in reply.text and "排名" not in reply.text


def test_worked_example_in_the_docs(runtime, chat):
    """docs/points.md: Li Ming's week is 9 points under the shipped rules."""
    rules = runtime.rules
    week = [
        rules.attendance_points("主题党日", "present"),
        rules.attendance_points("政治夜学", "late"),
        (rules.study_points(50, 0), "study.per_30min"),
        (rules.study_points(150, 0), "study.per_30min"),
        rules.attendance_points("政治夜学", "leave"),
    ]
    assert [points for points, _ in week] == [3, 1, 1, 4, 0]
    assert week[0][1] == "attendance.present.主题党日" and week[1][1] == "attendance.late"

    def scene(session):
        branch = make_branch(session, "一支部")
        li = make_member(session, branch, "李明", wecom="liming")
        for day, (points, rule) in enumerate(week):
            if points:
                award(session, li, points, local(2026, 11, 23 + day, 20, 0), rule=rule)
    seed(runtime.engine, scene)
    assert "本周：9 分" in chat.say("liming", "积分").text
    # Silent at the 主题党日 instead: −2 rather than +3.
    assert rules.attendance_points("主题党日", "absent")[0] == -2


def test_leaders_tier_line_gives_the_rates_own_base_and_who_is_pending(runtime, chat, clock):
    """Until absences are confirmed (补签 may still come) they are out of the rate: the line
    says so, rather than 100% beside a count that shows someone missing."""
    def build(session):
        branch_with_a_leader(session)
        bind_chat(session, None, "g-leaders", leaders=True)
    seed(runtime.engine, build)
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("a", "签到", chat="g1")
    clock.advance(minutes=30)
    chat.say("sec", "结束", chat="g1")

    pending = chat.say("boss", "红黄蓝榜", chat="g-leaders").text
    assert "一支部 68 分：活动 1 次，参与率 100.0%（1/1，1 人缺席待确认），人均 1.5 分" in pending
    chat.say("sec", "确认缺席", chat="g1")
    confirmed = chat.say("boss", "红黄蓝榜", chat="g-leaders").text
    assert "参与率 50.0%（1/2），" in confirmed and "待确认" not in confirmed


def test_leaders_can_look_at_the_month_or_week_just_ended(runtime, chat, clock):
    """红黄蓝榜 上月: the whole of last month, as it stood when it ended (what the plain
    command falls back to while nothing has been held this month); 上周 likewise."""
    seed(runtime.engine, tiered_bureau)
    clock.set(local(2026, 12, 10, 9, 0))
    text = chat.say("boss", "红黄蓝榜 上月", chat="g-leaders").text
    assert text.startswith("红黄蓝榜（上月，按分数线分档）\n🔴")
    # November whole: the points reference is 10 a member (30 of 30 days).
    assert "🔴 红榜（1 个）\n· 红星支部 92 分：活动 1 次，参与率 100.0%（4/4）" in text
    assert "🔵 蓝榜（1 个）\n· 远山支部 18 分（约谈）" in text and "人均积分÷10))" in text
    fallback = chat.say("boss", "红黄蓝榜", chat="g-leaders").text
    assert fallback.replace("本期还没有开展活动，先看上月的。\n", "") == text
    last_week = chat.say("boss", "红黄蓝榜 上周", chat="g-leaders").text
    assert last_week.startswith("红黄蓝榜（上周")
    assert "本期未开展活动：平安支部、红星支部、远山支部" in last_week
    assert chat.say("boss", "红黄蓝榜 去年", chat="g-leaders").is_error


def test_a_reversal_in_the_ledger_names_the_activity_it_corrects(runtime, chat, clock):
    seed(runtime.engine, branch_with_a_leader)
    chat.say("sec", "开始 政治夜学 枫桥经验", chat="g1")
    chat.say("sec", "结束", chat="g1")
    chat.say("sec", "确认缺席", chat="g1")
    chat.say("sec", "补签 甲 手机没电")
    lines = chat.say("a", "积分明细").text.splitlines()
    # The penalty and the 补签's reversal of it cancel out: one line that says so, the
    # make-up on its own. Not 「冲销 活动 缺席」: the activity, named.
    assert lines[1:] == ["11月23日 09:00 +2 政治夜学「枫桥经验」补签",
                         "11月23日 09:00 ±0 政治夜学「枫桥经验」缺席 -1，已冲销（补签：手机没电）",
                         "以上 3 笔记录合计 +2 分；原记录与抵消它的冲销合为一行。"], lines
    chat.say("sec", "取消活动 临时勤务")
    chat.say("sec", "确认")
    lines = chat.say("a", "积分明细").text.splitlines()
    assert lines[1] == ("11月23日 09:00 ±0 政治夜学「枫桥经验」已取消：原记 缺席 -1、冲销缺席 +1、"
                        "补签 +2，已全部冲销，不计分（书记取消活动：临时勤务）"), lines
    assert len(lines) == 3 and "冲销 冲销" not in "\n".join(lines)


def test_a_cancelled_activity_is_one_line_and_hides_nothing_the_member_did(runtime, chat, clock):
    """Cancelling an activity reverses its entries (here 6 with the 补签's); 积分明细 showed
    each of them and its reversal, 「冲销 冲销 …」 among them, and the member's studies fell
    off the 10 lines. It is one line now, saying what was posted, that it is all reversed
    and why; each line says what it was for, and the figures add up to the ledger."""
    def scene(session):
        branch_with_a_leader(session)
        jia = session.exec(select(Member).where(Member.name == "甲")).one()
        for day in range(16, 23):  # a study a day, last week
            award(session, jia, 2, local(2026, 11, day, 20, 0))
    seed(runtime.engine, scene)
    chat.say("a", "学习 党史 60", chat="g1")
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("sec", "结束", chat="g1")
    chat.say("sec", "确认缺席", chat="g1")
    chat.say("sec", "补签 甲 手机没电")
    chat.say("sec", "取消活动 下雨改期")
    chat.say("sec", "确认")
    chat.say("a", "撤销 时长记错了")

    lines = chat.say("a", "积分明细").text.splitlines()
    assert "冲销 冲销" not in "\n".join(lines)
    # The latest first: the 撤销, then the cancellation.
    assert lines[1] == "11月23日 09:00 ±0 自学「党史」60分钟 +2，已冲销（甲撤销学习：时长记错了）"
    assert lines[2] == ("11月23日 09:00 ±0 主题党日「学习新党章」已取消：原记 缺席 -2、"
                        "冲销缺席 +2、补签 +3，已全部冲销，不计分（书记取消活动：下雨改期）")
    # Every study of last week is still in sight.
    assert [line for line in lines if line.startswith("11月16日")] == \
        ["11月16日 20:00 +2 自学（每30分钟）"]
    assert len(lines) == 1 + 9 + 1
    # The lines' figures add up to the ledger's: 7 studies of 2, the rest 0.
    assert lines[-1] == "以上 15 笔记录合计 +14 分；原记录与抵消它的冲销合为一行。"
    with Session(runtime.engine) as s:
        assert sum(s.exec(select(PointEntry.points)).all()) == 14
    assert "本年：14 分" in chat.say("a", "积分").text


def test_the_points_rules_are_the_ones_loaded_and_explain_the_ledger(runtime, chat):
    """积分规则 answers "how are points counted" from the rules djbot runs on, with the
    version each ledger entry names, so a member can check 积分明细 against it."""
    seed(runtime.engine, branch_with_points)
    reply = chat.say("bing", "积分怎么算的")

    rules = runtime.rules
    assert f"版本 {rules.digest[:8]}" in reply.text
    assert f"出席 {rules.attendance['present']:+d}" in reply.text
    theme_day = rules.attendance_by_type["主题党日"]
    assert f"主题党日：出席 {theme_day['present']:+d}" in reply.text
    assert f"每 30 分钟 {rules.study_points_per_30_minutes:+d}" in reply.text
    assert f"每天最多 {rules.study_daily_cap} 分" in reply.text
    assert f"{rules.tiers.blue_below:g} 分以下蓝档" in reply.text
    assert "积分明细" in reply.text


def test_a_week_nobody_has_scored_in_ranks_nobody_first(runtime, chat):
    seed(runtime.engine, branch_with_points)  # every point earned weeks ago
    lines = chat.say("jia", "排行榜 本周", chat="g1").text.splitlines()
    assert lines[1] == "本周还没有人获得积分，签到和学习都能得分。"
    assert lines[-1] == "你本周也还没有积分。"
    assert not any("第 1 名" in line for line in lines)


def test_a_tie_with_nobody_named_above_it_is_not_said_to_be_more():
    from storage.reports import LeaderRow, PublicBoard, board_lines

    assert board_lines(PublicBoard([], 7, (1, 7, 3))) == ["共 7 人并列第 1 名（3 分）"]
    above = [LeaderRow(rank=1, member_id=1, name="甲", points=5)]
    assert board_lines(PublicBoard(above, 8, (2, 7, 3)), unit="分") == [
        "1. 甲 5分", "另有 7 人并列第 2 名（3分）"]


def a_member_who_moved(session):
    """甲 earned 9 in 一支部 this month, moved to 二支部 (g2) on the 20th and earned 1 there;
    二支部's 乙, 丙, 丁 earned 5, 4 and 3 there."""
    from storage import moves

    first, second = make_branch(session, "一支部"), make_branch(session, "二支部")
    bind_chat(session, second, "g2")
    bind_chat(session, None, "g-leaders", leaders=True)
    make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    jia = make_member(session, first, "甲", wecom="jia")
    award(session, jia, 9, local(2026, 11, 10, 10, 0))
    moves.move(session, member=jia, branch_id=second.id, now=local(2026, 11, 20, 9, 0),
                    tz=SHANGHAI)
    session.add(jia)
    session.flush()
    award(session, jia, 1, local(2026, 11, 21, 10, 0))
    for name, points in (("乙", 5), ("丙", 4), ("丁", 3)):
        award(session, make_member(session, second, name, wecom=name), points,
              local(2026, 11, 21, 10, 0))
    return second


def test_a_member_who_moved_is_ranked_in_the_new_branch_by_what_they_earned_there(
        runtime, chat):
    """The month's rank and board of 二支部 counted 甲's 9 points from 一支部: 甲 was first
    there with 10, ahead of those who earned their points in it. A branch ranks by the
    points posted to it (those its average counts); 甲's own 积分 and the bureau's board
    still show all 10."""
    from storage.committee_report import pioneer_shortlist

    second = seed(runtime.engine, a_member_who_moved)
    mine = chat.say("jia", "积分").text
    assert "本月：10 分" in mine
    assert "本月支部排名：第 4 名（共 4 人），按在本支部所得 1 分排名" in mine, mine
    board = chat.say("jia", "排行榜").text.splitlines()
    assert board[1:4] == ["1. 乙 5 分", "2. 丙 4 分", "3. 丁 3 分"], board
    assert board[-1] == "你：第 4 名，10 分，按在本支部所得 1 分排名。"
    bureau = chat.say("boss", "排行榜", chat="g-leaders").text
    assert "1. 甲（二支部）10 分" in bureau
    with Session(runtime.engine) as s:
        shortlist = pioneer_shortlist(s, branch_id=second.id, start=local(2026, 11, 1),
                                      end=local(2026, 12, 1))
    assert [(c.name, c.points) for c in shortlist] == [("乙", 5), ("丙", 4), ("丁", 3),
                                                       ("甲", 1)]


def test_points_counted_by_earlier_rules_say_which_version_in_the_ledger(
        runtime, chat, clock, settings, engine, tmp_path):
    """The bureau counts a theme day 6 from December: 甲's November +3 beside 积分规则's
    出席 +6 could not be checked against it. The line names the version it was counted by,
    as 积分规则 names the one loaded now; lines of the rules loaded now say nothing more."""
    from bot.domain.rules import DEFAULT_RULES_PATH
    from bot.runtime import build_runtime
    from tests.conftest import ChatDriver

    seed(runtime.engine, branch_with_a_leader)
    chat.say("sec", "开始 主题党日", chat="g1")
    assert "积分 +3" in chat.say("a", "签到", chat="g1").text
    chat.say("sec", "结束", chat="g1")
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "present = 3\nlate = 2", "present = 6\nlate = 4"), encoding="utf-8")
    later = build_runtime(settings.model_copy(update={"rules_file": path}), clock=clock,
                          engine=engine, migrate=False)
    chat = ChatDriver(later)
    clock.advance(days=2)
    chat.say("sec", "开始 主题党日", chat="g1")
    assert "积分 +6" in chat.say("a", "签到", chat="g1").text

    old, new = runtime.rules.digest[:8], later.rules.digest[:8]
    assert f"版本 {new}" in chat.say("a", "积分规则").text
    assert chat.say("a", "积分明细").text.splitlines()[1:] == [
        "11月25日 09:00 +6 主题党日 出席",
        f"11月23日 09:00 +3 主题党日 出席（按规则版本 {old}）",
        f"旧版本的规则：发送「积分规则 {old}」查看。"]


def test_last_months_points_are_last_months_not_this_months(runtime, chat, clock):
    """上月积分 in the days 先锋党员 are nominated answered with this month's points (上月
    was dropped): 甲 was told 0 for a November in which they had 5 and were first."""
    seed(runtime.engine, branch_with_points)  # every point earned on 10 November
    clock.set(local(2026, 12, 2, 10, 0))
    chat.say("bing", "学习 党章 60")  # December: 丙 2
    for said in ("上月积分", "积分 上月", "上个月的积分"):
        reply = chat.say("jia", said)
        assert not reply.is_error, reply.text
        assert reply.text.splitlines()[:3] == [
            "甲 上月（11月）的积分：5 分", "上月支部排名：第 1 名（共 4 人）",
            "发送「积分明细」查看每一笔积分的来源。"], reply.text
    assert "本月：0 分" in chat.say("jia", "积分").text
    assert chat.say("bing", "上月积分").text.splitlines()[:2] == [
        "丙 上月（11月）的积分：3 分", "上月支部排名：第 3 名（共 4 人）"]
    assert "上周（11月23日—11月29日）的积分：0 分" in chat.say("jia", "上周积分").text
    assert "时间只能是" in chat.say("jia", "积分 去年").text


def test_the_whole_ledger_is_in_reach_by_month_and_a_late_correction_is_pointed_to(
        runtime, chat, clock):
    """积分明细 showed the newest 10 lines by date, and nothing more: 甲, corrected in December
    to 缺席 at a theme day of 5 November (its 出席 reversed, the penalty posted), saw their
    total fall and had no way to the lines that said why. Now the 10 lines say how to see
    the rest, name the month a recent correction is in, and 积分明细 11月 shows that month
    whole, the correction beside the entry it reverses, adding up to 上月积分."""
    def scene(session):
        branch_with_a_leader(session)
        jia = session.exec(select(Member).where(Member.name == "甲")).one()
        for day in range(10, 22):  # twelve studies after the theme day
            award(session, jia, 2, local(2026, 11, day, 20, 0))
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 5, 14, 30))
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("a", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    clock.set(local(2026, 12, 2, 9, 0))
    chat.say("a", "学习 党史 60")
    told = chat.say("sec", "更正 甲 缺席 11月5日 他人代签")
    assert not told.is_error, told.text

    recent = chat.say("a", "积分明细").text.splitlines()
    assert len(recent) == 1 + 10 + 2, recent
    assert "他人代签" not in "\n".join(recent[:11])  # 5 November is not among the newest
    assert recent[-2] == "11月的记录近期有更正或补签：发送「积分明细 11月」查看。", recent
    assert recent[-1] == "更早的记录按月查看，如「积分明细 11月」；各月合计：「积分明细 全部」。"

    november = chat.say("a", "积分明细 11月").text.splitlines()
    assert november[0] == "甲 2026年11月的积分明细（13 项）：", november
    said = "\n".join(november)
    assert said.count("自学") == 12 and "他人代签" in said
    # The 出席 and its reversal are one line, with the reason (the penalty comes with the
    # activity's 确认缺席, not yet made).
    assert any(line.startswith("11月5日 14:30 ±0 主题党日「学习新党章」出席") and "已冲销" in line
               for line in november), said
    total = int(chat.say("a", "上月积分").text.splitlines()[0].split("：")[1].removesuffix(" 分"))
    assert november[-1].startswith(f"11月合计 {total:+d} 分"), november
    assert chat.say("a", "积分明细 上月").text == chat.say("a", "积分明细 11月").text
    # The month said first, as 上月积分明细 is, or in words: 没有这个指令, and 月份请写….
    for said in ("11月积分明细", "十一月的积分明细", "11月份的积分明细", "积分明细 十一月"):
        assert chat.say("a", said).text.splitlines() == november, said

    overview = chat.say("a", "积分明细 全部").text.splitlines()
    assert overview[0] == "甲 各月积分合计："
    assert overview[1:3] == ["2026年12月 +2 分（1 笔）", f"2026年11月 {total:+d} 分（14 笔）"]
    assert "本年：" + str(total + 2) + " 分" in chat.say("a", "积分").text

    for wrong in ("积分明细 13月", "积分明细 明年"):
        reply = chat.say("a", wrong)
        assert reply.is_error and "积分明细 11月" in reply.text, reply.text
    assert "11月还没有积分记录" in chat.say("sec", "积分明细 11月").text


def test_a_members_own_figures_asked_in_the_group_go_privately(runtime, chat):
    """戊, at -1 (an absence) and last, sent 排行榜 or 积分 in the branch group: the group read
    「你：第 4 名，-1 分。」 and 「本月：-1 分 … 第 4 名（共 4 人）」, the bottom of the branch
    named in public, which the board itself never does. What only the asker's own figures
    say goes to them privately; the board, and the line of one it names, stay in the group."""
    from storage.models import OutboxMessage

    seed(runtime.engine, branch_with_points)
    board = chat.say("wu", "排行榜", chat="g1").text
    assert board.splitlines()[1:4] == ["1. 乙 5 分", "1. 甲 5 分", "3. 丙 3 分"]
    assert "-1" not in board and "第 4 名" not in board, board
    assert board.splitlines()[-1] == "你的名次已私聊发给你。"
    mine = chat.say("wu", "积分", chat="g1").text
    assert mine == "戊，你的积分已私聊发给你。", mine
    with Session(runtime.engine) as s:
        sent = [m.payload["text"] for m in s.exec(select(OutboxMessage).where(
            OutboxMessage.target == "wu").order_by(OutboxMessage.id)).all()]
    assert sent[0] == "一支部 本月积分排行：你第 4 名，-1 分。", sent
    assert "本月：-1 分" in sent[1] and "第 4 名（共 4 人）" in sent[1], sent
    # Named on the board already, the asker's line tells the group nothing new.
    assert chat.say("bing", "排行榜", chat="g1").text.splitlines()[-1] == "你：第 3 名，3 分。"
    # Privately, as before.
    assert chat.say("wu", "排行榜 一支部").text.splitlines()[-1] == "你：第 4 名，-1 分。"
    assert "本月：-1 分" in chat.say("wu", "积分").text


def test_an_earlier_rules_version_named_in_the_ledger_can_be_read(
        runtime, chat, clock, settings, engine, tmp_path):
    """积分明细 said 「+3 主题党日 出席（按规则版本 …）」 and 积分规则 showed only the rules
    loaded now (出席 +6): the version the line names could not be read anywhere in the chat,
    so the +3 could not be checked. 积分规则 <版本> shows that version, kept on record."""
    from bot.domain.rules import DEFAULT_RULES_PATH
    from bot.runtime import build_runtime
    from tests.conftest import ChatDriver

    seed(runtime.engine, branch_with_a_leader)
    chat.say("sec", "开始 主题党日", chat="g1")
    chat.say("a", "签到", chat="g1")
    chat.say("sec", "结束", chat="g1")
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "present = 3\nlate = 2", "present = 6\nlate = 4"), encoding="utf-8")
    later = build_runtime(settings.model_copy(update={"rules_file": path}), clock=clock,
                          engine=engine, migrate=False)
    chat = ChatDriver(later)
    clock.advance(days=2)
    old, new = runtime.rules.digest[:8], later.rules.digest[:8]
    ledger = chat.say("a", "积分明细").text
    assert ledger.splitlines()[-1] == f"旧版本的规则：发送「积分规则 {old}」查看。", ledger
    assert chat.say("a", "积分明细 本月").text.splitlines()[-1] == ledger.splitlines()[-1]
    now_in_force = chat.say("a", "积分规则").text
    then = chat.say("a", f"积分规则 {old}")
    assert not then.is_error, then.text
    assert then.text.splitlines()[0] == f"积分规则（版本 {old}，11月23日启用；现行版本 {new}）："
    # The old version says 出席 +3 where the one in force says +6.
    assert "主题党日：出席 +3，" in then.text and "主题党日：出席 +6，" in now_in_force, \
        (then.text, now_in_force)
    assert chat.say("a", f"积分规则 {new}").text == now_in_force
    wrong = chat.say("a", "积分规则 abcdef12")
    assert wrong.is_error and "没有版本「abcdef12」" in wrong.text, wrong.text


def test_words_after_the_rules_command_are_refused_without_contradicting_themselves(
        runtime, chat):
    """积分规则 学习 (a member asking how study is counted) was refused with 「「积分规则」后面
    不用写别的（版本号，如 1106f742）」: nothing may follow, and in the same breath a version
    may. The refusal says a version is for reading an older one, and how to write it."""
    seed(runtime.engine, branch_with_points)
    reply = chat.say("bing", "积分规则 学习")
    assert reply.is_error, reply.text
    assert "（版本号，如" not in reply.text, reply.text
    assert "旧版本" in reply.text and "积分规则 1106f742" in reply.text, reply.text
