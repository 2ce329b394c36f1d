"""The fifth round of words people type, end to end: what a member, a secretary and a
leader send, and what they read back."""

from __future__ import annotations

from tests.conftest import local
from tests.test_figures import night_studies


def test_remind_everyone_says_what_djbot_already_does(runtime, chat, clock):
    """提醒一下大家签到 from the secretary was 没有这个指令. djbot reminds once by itself,
    privately (no nagging, nobody named in the group): it says so and how to see who is
    missing, and sends nothing."""
    night_studies(runtime, "每周二 19:30", zhang=True)
    clock.set(local(2026, 12, 8, 19, 35))
    for said in ("提醒一下大家签到", "提醒大家签到。", "@党建助手 催一下签到"):
        reply = chat.say("sec", said, chat="g1")
        assert not reply.is_error, reply.text
        assert "15 分钟" in reply.text and "私聊提醒" in reply.text, reply.text
        assert "「未签到」" in reply.text
    assert chat.say("li", "提醒大家签到", chat="g1").is_error  # a member reminds nobody

