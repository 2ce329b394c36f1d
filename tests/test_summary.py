"""周报 on demand: leaders only, the same figures the Monday push and `djbot report` give."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import branch_with_a_leader, seed


def test_leader_asks_for_the_weekly_summary_privately(runtime, chat, clock):
    seed(runtime.engine, branch_with_a_leader)
    chat.say("sec", "开始 政治夜学", chat="g1")
    chat.say("a", "签到", chat="g1")

    this_week = chat.say("boss", "周报 本周")
    assert this_week.markdown and "一支部" in this_week.text
    assert "活动 0 次" in this_week.text  # still running: counts nowhere yet
    chat.say("sec", "结束", chat="g1")
    # The 书记's absence is not final yet (补签 may come): out of the rate, and said so.
    assert "参与 1/1（100.0%，1 人缺席待确认）" in chat.say("boss", "周报 本周").text
    chat.say("sec", "确认缺席", chat="g1")
    confirmed = chat.say("boss", "周报 本周").text
    assert "参与 1/2（50.0%）" in confirmed and "待确认" not in confirmed

    clock.advance(timedelta(days=7))
    last_week = chat.say("boss", "周报")  # by default the last complete week
    assert "参与 1/2（50.0%）" in last_week.text

    assert chat.say("a", "周报").is_error  # members don't get it
    assert chat.say("boss", "周报 去年").is_error  # bad argument: usage


def two_branches_one_blue(session):
    """一支部 (group g1): its 书记, three members with 5, 4 and 4 points last week and six
    silent at a theme day; 二支部: three members with 6 points each. A leader."""
    from storage.models import Role
    from tests.conftest import local
    from tests.factories import bind_chat, make_branch, make_member
    from tests.test_reports import attend, award, hold

    one = make_branch(session, "一支部")
    bind_chat(session, one, "g1")
    make_member(session, one, "书记", role=Role.SECRETARY, wecom="sec")
    members = [make_member(session, one, name) for name in ("甲", "乙", "丙", "丁", "戊", "己",
                                                            "庚", "辛", "壬")]
    day = hold(session, one, local(2026, 11, 17, 14, 30))  # Tuesday of the week before
    for m, points in zip(members, (5, 4, 4)):
        attend(session, day, m, "present", points=3)
        award(session, m, points - 3, local(2026, 11, 18, 20, 0))
    two = make_branch(session, "二支部")
    for name in ("子", "丑", "寅"):
        award(session, make_member(session, two, name), 6, local(2026, 11, 18, 20, 0))
    make_member(session, None, "领导", role=Role.LEADER, wecom="boss")


def test_a_secretary_reads_the_own_branch_board_ranked_in_the_branch(runtime, chat):
    seed(runtime.engine, two_branches_one_blue)
    bureau = chat.say("boss", "周报").text
    assert "4. 甲（一支部）5 分" in bureau  # bureau-wide: after 二支部's three
    for where in (None, "g1"):
        own = chat.say("sec", "周报", chat=where).text
        top = own.split("**积分前列**\n")[1]
        assert top.split("\n")[:3] in (["1. 甲 5 分", "2. 乙 4 分", "2. 丙 4 分"],
                                        ["1. 甲 5 分", "2. 丙 4 分", "2. 乙 4 分"]), own
        assert "二支部" not in own and "子" not in top


def test_a_blue_branch_reads_its_tier_in_the_weekly_report_without_the_talk(runtime, chat):
    seed(runtime.engine, two_branches_one_blue)  # 一支部: 3 of 10 at its theme day
    assert "**一支部** 🔵蓝（约谈）" in chat.say("boss", "周报").text  # leaders: flagged
    for where in (None, "g1"):
        own = chat.say("sec", "周报", chat=where).text
        assert "**一支部** 🔵蓝" in own and "约谈" not in own, own  # as 红黄蓝榜 says it


def test_a_leader_in_a_branch_group_reads_that_branch_only(runtime, chat):
    """周报 by a leader in a branch group answered with the bureau's list there: 一支部
    🔵蓝（约谈）, 蓝档待约谈, other branches' overdue 三会一课, read by the whole group. As
    红黄蓝榜 does, a branch group gets its own branch's figures, without the talk."""
    seed(runtime.engine, two_branches_one_blue)
    in_group = chat.say("boss", "周报", chat="g1")
    assert not in_group.is_error
    text = in_group.text
    assert "**一支部** 🔵蓝" in text and "活动 1 次 · 参与 3/10（30.0%）" in text
    for leak in ("约谈", "二支部", "三会一课", "子"):
        assert leak not in text, (leak, text)
    assert text == chat.say("sec", "周报", chat="g1").text  # what its 书记 reads there
    privately = chat.say("boss", "周报").text  # where leaders read the list: all of it
    assert "🔵蓝（约谈）" in privately and "**蓝档待约谈**" in privately
