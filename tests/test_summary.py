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
