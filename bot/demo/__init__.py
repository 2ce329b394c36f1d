"""The demo bureau: 3 branches of 10, two leaders and an admin, bound to demo group chats.

Loading it twice changes nothing: the roster import matches people by 编号, bindings are
only written when missing, and the bit of history goes through the dispatcher with fixed
message ids, which it counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core import IncomingMessage
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
# (message id, user, chat or None for private, text): a little history to look at.
DEMO_HISTORY = [
    ("demo-history-1", "cg03", None, "学习 理论 60 党章"),
    ("demo-history-2", "cg05", None, "学习 党史 30 《中国共产党简史》"),
    ("demo-history-3", "jj04", None, "学习 理论 90 二十届三中全会精神"),
    ("demo-history-4", "ld01", None, "调研 交警大队党支部 发现问题 2 解决 1 学习园地需更新"),
]
# The walkthrough shows a command only when this build has it.
WALKTHROUGH = [
    ("开始", "--user cg01 --chat demo-g1 \"开始 主题党日 学习新修订的党章\"", "书记开始一次主题党日"),
    ("签到", "--user cg03 --chat demo-g1 签到", "党员签到"),
    ("请假", "--user cg04 --chat demo-g1 \"请假 在岗值班\"", "请假"),
    ("未签到", "--user cg01 --chat demo-g1 未签到", "书记查看谁还没签到"),
    ("学习", "--user cg03 \"学习 理论 45 党章\"", "私聊记录自学"),
    ("积分", "--user cg03 积分", "私聊查看自己的积分"),
    ("排行榜", "--user cg03 --chat demo-g1 排行榜", "本支部排行榜"),
    ("红黄蓝榜", "--user ld01 --chat demo-leaders 红黄蓝榜", "领导看支部档次"),
    ("调研记录", "--user ld01 --chat demo-leaders 调研记录", "领导看调研达标情况"),
    ("我的信息", "--platform dingtalk --user ding-cg03 我的信息", "用钉钉账号查看自己的信息"),
]


@dataclass
class DemoResult:
    roster: ImportResult
    chats_bound: int


def load_demo(runtime: Runtime) -> DemoResult:
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        # Partial: a database that already holds real people keeps them active.
        roster = import_roster(session, DEMO_ROSTER, full=False, now=now, actor="demo")
        bound = 0
        for chat_id, branch_name in DEMO_CHATS.items():
            branch = org.branch_by_name(session, name=branch_name) if branch_name else None
            for platform in Platform:
                if org.binding_for(session, platform=platform.value, chat_id=chat_id):
                    continue
                org.bind(session, platform=platform.value, chat_id=chat_id,
                         branch_id=branch.id if branch else None, leaders=branch is None,
                         by=None, now=now)
                session.add(AuditEntry(at=now, actor="demo", action="bind",
                                       target=branch_name or "领导群",
                                       platform=platform.value, chat_id=chat_id))
                bound += 1
    for message_id, user, chat, text in DEMO_HISTORY:
        runtime.dispatcher.handle_sync(
            IncomingMessage(platform=Platform.WECOM.value, chat_id=chat or user, sender_id=user,
                            text=text, message_id=message_id, at=now, is_private=chat is None)
        )
    return DemoResult(roster=roster, chats_bound=bound)


def walkthrough(runtime: Runtime) -> str:
    lines = [
        "演示党委已就绪：",
        "  城关派出所党支部 → 群 demo-g1（书记 王建国 cg01，委员 李秀英 cg02，党员 cg03–cg10）",
        "  交警大队党支部   → 群 demo-g2（书记 徐海涛 jj01，党员 jj03–jj10）",
        "  刑侦大队党支部   → 群 demo-g3（书记 郑国庆 xz01，党员 xz03–xz10）",
        "  领导群           → 群 demo-leaders（领导 赵振华 ld01、钱卫东 ld02，管理员 孙红 admin01）",
        "以上是企业微信ID；钉钉ID是前面加 ding-，例如 --platform dingtalk --user ding-cg03。",
        "",
        "试试这些（不带 --chat 就是私聊；用 make demo 安装的，命令在 .venv/bin/djbot，或先 source .venv/bin/activate）：",
    ]
    for word_, arguments, what in WALKTHROUGH:
        if runtime.registry.get(word_) is not None:
            lines.append(f"  djbot chat {arguments}    # {what}")
    lines += [
        "  djbot chat --user cg03 --chat demo-g1    # 不带文字进入交互模式，Ctrl-D 退出",
        "  djbot audit                               # 查看操作记录",
    ]
    return "\n".join(lines)
