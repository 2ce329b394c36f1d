"""The demo bureau: 3 branches of 10, two leaders and an admin, bound to demo group chats,
with eight weeks of history and a schedule for every branch.

The history is played through the dispatcher with a clock set to the past, the way the
people would have written it: secretaries open and close a weekly 政治夜学 and a monthly
主题党日, members check in, ask for leave and log study, leaders log visits. The three
branches differ on purpose (one keeps up, one mostly, one hardly), so the weekly report
and 红黄蓝榜 show a red, a yellow and a blue branch on the first try. `djbot demo` removes
an earlier demo database first (bot/cli/org.py), so each run starts from the same place.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from bot.clock import ManualClock
from bot.core import IncomingMessage
from bot.dispatcher import Dispatcher
from bot.runtime import Runtime
from storage import org
from storage.db import session_scope
from storage.models import AuditEntry, Platform
from storage.roster import ImportResult, import_roster

DEMO_ROSTER = Path(__file__).with_name("roster.csv")
# chat id -> branch name; None is the leaders' group. Bound on both platforms.
DEMO_CHATS: dict[str, str | None] = {
    "demo-g1": "城关派出所党支部",
    "demo-g2": "交警大队党支部",
    "demo-g3": "刑侦大队党支部",
    "demo-leaders": None,
}
BRANCH_CHATS = {name: chat for chat, name in DEMO_CHATS.items() if name}
HISTORY_WEEKS = 8
# How many of each branch's 10 turn up, and the share who log study in a week: a red, a
# yellow and a blue branch (scores about 95, 70 and 30), whichever week is looked at.
TURNOUT = {"城关派出所党支部": 10, "交警大队党支部": 7, "刑侦大队党支部": 3}
LEAVE_TAKERS = {"城关派出所党支部"}  # one asks leave each time, and it is granted
STUDY = {"城关派出所党支部": 0.9, "交警大队党支部": 0.5, "刑侦大队党支部": 0.05}
NIGHT_STUDY_TOPICS = ["学习二十届三中全会精神", "新修订的《中国共产党纪律处分条例》", "公安工作现代化",
                      "枫桥经验在派出所", "党史中的公安英模", "全面从严治党", "廉洁自律准则",
                      "执法规范化建设"]
STUDY_MATERIALS = ["党章", "《习近平谈治国理政》第四卷", "《中国共产党简史》", "二十届三中全会公报"]
# What the secretaries set: the same schedules `日程` and `djbot tick` work from.
DEMO_SCHEDULES = ["设置 夜学 每周三 19:30", "设置 主题党日 每月15日 14:30 2小时"]
# (leader, branch, weeks ago, text after the branch name)
DEMO_VISITS = [
    ("ld01", "城关派出所党支部", 7, "发现问题 2 解决 2 学习园地更新及时"),
    ("ld02", "城关派出所党支部", 3, "发现问题 1 解决 1"),
    ("ld01", "交警大队党支部", 5, "发现问题 2 解决 1 学习园地需更新"),
    ("ld02", "刑侦大队党支部", 6, "发现问题 3 解决 0 夜学到课率低，需约谈书记"),
]
# The walkthrough shows a command only when this build has it.
WALKTHROUGH = [
    ("开始", "--user cg01 --chat demo-g1 开始 主题党日 学习新修订的党章", "书记开始一次主题党日"),
    ("签到", "--user cg03 --chat demo-g1 签到", "党员签到"),
    ("请假", "--user cg04 --chat demo-g1 请假 在岗值班", "请假"),
    ("未签到", "--user cg01 未签到", "书记私聊查看谁还没签到"),
    ("学习", "--user cg03 学习 理论 45分钟 党章", "私聊记录自学"),
    ("积分", "--user cg03 积分", "私聊查看自己的积分"),
    ("积分明细", "--user cg03 积分明细", "每一笔积分的来历"),
    ("排行榜", "--user cg03 --chat demo-g1 排行榜", "本支部排行榜"),
    ("日程", "--user cg03 --chat demo-g1 日程", "本支部接下来的活动"),
    ("红黄蓝榜", "--user ld01 --chat demo-leaders 红黄蓝榜", "领导看支部档次"),
    ("周报", "--user ld01 周报", "领导私聊要上周的周报"),
    ("调研记录", "--user ld01 --chat demo-leaders 调研记录", "领导看调研达标情况"),
    ("我的信息", "--platform dingtalk --user ding-cg03 我的信息", "用钉钉账号查看自己的信息"),
]


@dataclass
class DemoResult:
    roster: ImportResult
    chats_bound: int
    messages: int = 0


def load_demo(runtime: Runtime) -> DemoResult:
    now = runtime.clock.now()
    # The bureau existed before its history: a member is only expected at activities held
    # after joining, so the roster and the groups date from before the first week.
    since = now - timedelta(weeks=HISTORY_WEEKS + 1)
    with session_scope(runtime.engine) as session:
        # Partial: a database that already holds real people keeps them active.
        roster = import_roster(session, DEMO_ROSTER, full=False, now=since,
                               tz=runtime.settings.tz, actor="demo")
        bound = 0
        for chat_id, branch_name in DEMO_CHATS.items():
            branch = org.branch_by_name(session, name=branch_name) if branch_name else None
            for platform in Platform:
                if org.binding_for(session, platform=platform.value, chat_id=chat_id):
                    continue
                org.bind(session, platform=platform.value, chat_id=chat_id,
                         branch_id=branch.id if branch else None, leaders=branch is None,
                         by=None, now=since)
                session.add(AuditEntry(at=since, actor="demo", action="bind",
                                       target=branch_name or "领导群",
                                       platform=platform.value, chat_id=chat_id))
                bound += 1
    history = play_history(runtime, now)
    for n, (secretary, branch_name) in enumerate(_secretaries().items()):
        for m, text in enumerate(DEMO_SCHEDULES):
            _say(runtime.dispatcher, now, f"demo-schedule-{n}-{m}", secretary,
                 BRANCH_CHATS[branch_name], text)
    return DemoResult(roster=roster, chats_bound=bound, messages=history)


def demo_staff_numbers() -> set[str]:
    """The 编号 of everyone on the demo roster: a database holding only these is a demo."""
    with DEMO_ROSTER.open(encoding="utf-8") as f:
        return {row["编号"] for row in csv.DictReader(f)}


def _people() -> dict[str, list[tuple[str, str]]]:
    """Branch name → [(WeCom id, role)] from the demo roster."""
    found: dict[str, list[tuple[str, str]]] = {}
    with DEMO_ROSTER.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["支部"]:
                found.setdefault(row["支部"], []).append((row["企业微信ID"], row["角色"]))
    return found


def _secretaries() -> dict[str, str]:
    return {next(u for u, role in people if role == "书记"): name
            for name, people in _people().items()}


def _say(dispatcher: Dispatcher, at: datetime, message_id: str, user: str, chat: str | None,
         text: str) -> None:
    reply = dispatcher.handle_sync(IncomingMessage(
        platform=Platform.WECOM.value, chat_id=chat or user, sender_id=user, text=text,
        message_id=message_id, at=at, is_private=chat is None))
    if reply.is_error and "已" not in reply.text:
        raise RuntimeError(f"demo history: {text!r} by {user} was refused: {reply.text}")


def play_history(runtime: Runtime, now: datetime) -> int:
    """Eight weeks of branch life before `now`, through the dispatcher; returns messages sent."""
    tz = runtime.settings.tz
    clock = ManualClock(now)
    past = Dispatcher(engine=runtime.engine, settings=runtime.settings, clock=clock,
                      registry=runtime.registry, rules=runtime.rules)
    rng = random.Random(2024)  # the same history every time
    people = _people()
    secretaries = {branch: user for user, branch in _secretaries().items()}
    sent = 0

    def say(at: datetime, user: str, chat: str | None, text: str) -> None:
        nonlocal sent
        if at >= now:
            return
        clock.set(at)
        sent += 1
        _say(past, at, f"demo-history-{sent}", user, chat, text)

    held = 0

    def hold(kind: str, topic: str, starts: datetime, hours: float) -> None:
        nonlocal held
        held += 1
        for branch, members in people.items():
            chat, secretary = BRANCH_CHATS[branch], secretaries[branch]
            others = [u for u, _ in members if u != secretary]
            # Who stays away rotates from one activity to the next; the count does not.
            away = {others[(held + j) % len(others)] for j in range(len(members) - TURNOUT[branch])}
            on_leave = {others[held % len(others)]} if branch in LEAVE_TAKERS else set()
            say(starts, secretary, chat, f"开始 {kind} {topic}")
            for user in sorted(on_leave):  # leave is open until a check-in would count as late
                say(starts + timedelta(minutes=2), user, chat,
                    rng.choice(["请假 值班", "请假 出差", "请假 在岗执勤"]))
            for i, (user, _) in enumerate(members):
                if user in away | on_leave and user != secretary:
                    continue
                late = rng.random() < 0.1
                say(starts + timedelta(minutes=15 if late else 1 + i % 5), user, chat,
                    rng.choice(["签到", "签到！", "到", "签到了"]))
            ends = starts + timedelta(hours=hours)
            say(ends + timedelta(minutes=5), secretary, chat, "结束")
            say(ends + timedelta(hours=14), secretary, chat, "确认缺席")

    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    for weeks_ago in range(HISTORY_WEEKS, -1, -1):
        week = monday - timedelta(weeks=weeks_ago)
        wednesday = datetime.combine(week + timedelta(days=2), time(19, 30), tzinfo=tz)
        hold("夜学", NIGHT_STUDY_TOPICS[weeks_ago % len(NIGHT_STUDY_TOPICS)], wednesday, 1.5)
        theme_day = _fifteenth_in(week)
        if theme_day is not None:
            hold("主题党日", "重温入党誓词", datetime.combine(theme_day, time(14, 30), tzinfo=tz), 2)
        for branch, members in people.items():
            for i, (user, _) in enumerate(members):
                if rng.random() < STUDY[branch]:
                    day = week + timedelta(days=3 + i % 3)
                    minutes = rng.choice([30, 45, 60, 90])
                    say(datetime.combine(day, time(20, 15), tzinfo=tz), user, None,
                        f"学习 理论 {minutes}分钟 {rng.choice(STUDY_MATERIALS)}")
    for leader, branch, weeks_ago, details in DEMO_VISITS:
        day = monday - timedelta(weeks=weeks_ago) + timedelta(days=1)
        say(datetime.combine(day, time(10, 0), tzinfo=tz), leader, None, f"调研 {branch} {details}")
    return sent


def _fifteenth_in(monday: date) -> date | None:
    """The 15th of a month if it falls on a weekday of this week (the monthly 主题党日)."""
    for offset in range(5):
        day = monday + timedelta(days=offset)
        if day.day == 15:
            return day
    return None


def walkthrough(runtime: Runtime) -> str:
    lines = [
        "演示党委已就绪（最近 8 周的活动、签到、学习和调研，各支部的日程）：",
        "  城关派出所党支部 → 群 demo-g1（书记 王建国 cg01，委员 李秀英 cg02，党员 cg03–cg10）",
        "  交警大队党支部   → 群 demo-g2（书记 徐海涛 jj01，委员 孙丽娟 jj02，党员 jj03–jj10）",
        "  刑侦大队党支部   → 群 demo-g3（书记 郑国庆 xz01，委员 梁玉梅 xz02，党员 xz03–xz10）",
        "  领导群           → 群 demo-leaders（领导 赵振华 ld01、钱卫东 ld02，管理员 孙红 admin01）",
        "以上是企业微信ID；钉钉ID是前面加 ding-，例如 --platform dingtalk --user ding-cg03。",
        "",
        "试试这些（不带 --chat 就是私聊；用 make demo 安装的，命令在 .venv/bin/djbot，或先 source .venv/bin/activate）：",
    ]
    for word_, arguments, what in WALKTHROUGH:
        if runtime.registry.get(word_) is not None:
            lines.append(f"  djbot chat {arguments}    # {what}")
    lines += [
        "  djbot chat --user cg03 --chat demo-g1    # 不带文字进入交互模式，输入「退出」结束",
        "  djbot report weekly    # 上周各支部的活动、参与率、得分和红黄蓝档",
        "  djbot tick --until +7d --step 30    # 快进一周，看调度器发出的提醒和积分榜",
        "  djbot audit    # 查看操作记录",
        "再运行一次 make demo（或 djbot demo）会清空演示数据，从头开始。",
    ]
    return "\n".join(lines)
