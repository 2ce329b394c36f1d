"""The core's checks, in the order a message meets them."""

from __future__ import annotations

from sqlmodel import Session, func, select

from storage.models import ProcessedMessage
from tests.factories import make_branch, make_member, seed


def test_help_lists_commands_for_a_stranger(chat):
    reply = chat.say("nobody", "帮助")
    assert "帮助" in reply.text
    assert "名册" in reply.text


def test_full_width_and_mention_are_tolerated(chat):
    reply = chat.say("nobody", "＠党建助手　　帮助")
    assert reply.text.startswith("党建助手可用指令")


def test_unknown_command_says_how_to_get_help(chat):
    reply = chat.say("nobody", "吃饭")
    assert reply.is_error and "「吃饭」" in reply.text and "帮助" in reply.text


def test_help_for_one_command_and_a_bad_topic(chat):
    assert "用法：帮助 [指令名]" in chat.say("nobody", "帮助 帮助").text
    assert chat.say("nobody", "帮助 不存在").is_error


def test_help_for_the_start_of_commands_or_a_slip_names_them(chat):
    """帮助 暂停, 帮助 取消 and 帮助 开使 were each told 没有这个指令, a dead end."""
    reply = chat.say("nobody", "帮助 暂停")
    assert "「暂停」开头的指令有：暂停提醒、暂停日程" in reply.text, reply.text
    assert chat.say("nobody", "帮助 取消").text.startswith("取消活动：")
    reply = chat.say("nobody", "帮助 开使")
    assert reply.is_error and "你是想查看「帮助 开始」吗" in reply.text, reply.text


def test_help_for_one_command_says_where_it_is_sent(chat):
    """帮助 看板 gave usage and example but not 仅私聊, which the command reference says and
    the command enforces (看板 in a group: 请私聊我发送); 绑定 likewise works in a group only."""
    assert "只能私聊我发送" in chat.say("nobody", "帮助 看板").text
    assert "只能在群里发送" in chat.say("nobody", "帮助 绑定").text
    assert "只能" not in chat.say("nobody", "帮助 签到").text


def test_unbound_group_is_told_to_bind(runtime, chat):
    seed(runtime.engine, lambda s: make_member(s, make_branch(s, "一支部"), wecom="u1"))
    # 帮助 works anywhere; a command that needs a bound group says how to bind.
    assert not chat.say("u1", "帮助", chat="g-unbound").is_error


def test_repeated_delivery_gets_the_same_reply_and_is_stored_once(runtime, chat):
    first = chat.say("nobody", "吃饭", message_id="m-1")
    again = chat.say("nobody", "帮助", message_id="m-1")
    assert again == first
    with Session(runtime.engine) as s:
        assert s.exec(select(func.count()).select_from(ProcessedMessage)).one() == 1
