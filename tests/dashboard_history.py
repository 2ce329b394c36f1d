"""Weeks of branch life for the dashboard tests, written through the chat like real use:
a secretary opens a 政治夜学, members check in or ask for leave, one is made up, the
secretary ends it and confirms absences, someone rates it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from bot.core import IncomingMessage
from bot.demo import load_demo
from bot.runtime import Runtime
from tests.conftest import local
from tests.snapshots import built_once

# Demo branch chats, their secretary and members, and how many members usually come:
# the branches differ so the 红黄蓝榜 has all three tiers.
BRANCHES = [
    ("demo-g1", "cg01", [f"cg{i:02d}" for i in range(2, 11)], 9),
    ("demo-g2", "jj01", [f"jj{i:02d}" for i in range(2, 11)], 6),
    ("demo-g3", "xz01", [f"xz{i:02d}" for i in range(2, 11)], 3),
]


def say(runtime: Runtime, user: str, text: str, chat: str | None = None) -> str:
    return runtime.dispatcher.handle_sync(IncomingMessage(
        platform="wecom", chat_id=chat or user, sender_id=user, text=text,
        message_id=uuid.uuid4().hex, at=runtime.clock.now(), is_private=chat is None)).text


def build_history(runtime: Runtime, clock, *, weeks: int = 8, last_monday=(2026, 11, 23)) -> None:
    """The demo bureau, joined `weeks` weeks before `last_monday`, and a Wednesday night
    study in each branch every week since; the clock left at 10:00 on that Monday."""
    monday = local(*last_monday)
    built_once(runtime.engine, ("history", weeks, last_monday, _settings(runtime)),
               lambda: _play(runtime, clock, weeks, monday))
    clock.set(monday.replace(hour=10))


def demo_bureau(runtime: Runtime) -> None:
    """The demo bureau as `load_demo` leaves it at the clock's time."""
    built_once(runtime.engine, ("demo", runtime.clock.now(), _settings(runtime)),
               lambda: load_demo(runtime))


def _settings(runtime: Runtime) -> str:
    # Where djbot would reach the platforms (the tests' fake servers, on a new port each
    # time) does not change what the chat writes: nothing is sent while it is played.
    return runtime.settings.model_dump_json(exclude={
        "database_url": True, "wecom": {"api_base", "ws_url"},
        "dingtalk": {"api_base", "oapi_base"}, "web": {"oauth_base", "dingtalk_login_base"}})


def _play(runtime: Runtime, clock, weeks: int, monday) -> None:
    clock.set(monday - timedelta(days=7 * weeks + 1))
    load_demo(runtime)  # people are expected only at activities after they joined
    for back in range(weeks, 0, -1):
        wednesday = monday - timedelta(days=7 * back - 2)
        for index, (chat, secretary, members, usual) in enumerate(BRANCHES):
            clock.set(wednesday.replace(hour=19, minute=30 + index))
            say(runtime, secretary, f"开始 政治夜学 第{weeks - back + 1}次夜学", chat)
            coming = max(1, min(len(members), usual + (back % 3) - 1))
            say(runtime, members[-1], "请假 在岗值班", chat)
            for user in members[:coming]:
                say(runtime, user, "签到", chat)
            clock.set(clock.now() + timedelta(minutes=40))
            if coming < len(members) - 1:
                say(runtime, secretary, f"补签 {_name(runtime, members[coming])} 手机没电", chat)
            say(runtime, members[0], "评价 5 讲得实在", chat)
            say(runtime, secretary, "结束", chat)
            say(runtime, secretary, "确认缺席", chat)


def _name(runtime: Runtime, user_id: str) -> str:
    from sqlmodel import Session

    from storage import org

    with Session(runtime.engine) as session:
        member = org.member_by_identity(session, platform="wecom", user_id=user_id)
        return member.name if member else user_id
