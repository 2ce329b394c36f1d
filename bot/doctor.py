"""`djbot doctor database`: can djbot reach its database, and is the schema current?"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.checks import PLATFORM_NAMES, database_problems, missing_sqlite_file, rules_problems
from bot.config import Settings
from storage import db


def run(settings: Settings) -> list[tuple[bool | None, str]]:
    if problems := database_problems(settings.database_url):
        return [(False, line) for line in problems]
    if (missing := missing_sqlite_file(settings.database_url)) is not None:
        # A check creates nothing: connecting would leave an empty file behind.
        return [(False, f"数据库文件 {missing} 还不存在：请运行 djbot db upgrade 创建它"
                        "（或先用 djbot demo 试用）")]
    try:
        engine = db.make_engine(settings.database_url)
        current, head = db.current_revision(engine), db.head_revision(engine)
    except Exception as exc:
        return [(False, f"无法连接数据库（{type(exc).__name__}）：请检查 DJBOT_DATABASE_URL")]
    if current is None:
        return [(False, f"数据库还没有建表（最新结构是 {head}）：请运行 djbot db upgrade")]
    if newer := db.newer_schema(engine):
        return [(False, newer)]
    if current != head:
        return [(False, f"数据库结构是 {current}，最新是 {head}：请运行 djbot db upgrade")]
    if problem := db.write_problem(engine):
        return [(False, f"{problem}：djbot 需要写入签到和发件箱")]
    if problems := rules_problems(settings.rules_file):  # the checks below count by them
        return [(True, f"数据库可用、可写，结构为最新 ({head})"),
                *((False, line) for line in problems)]
    return [(True, f"数据库可用、可写，结构为最新 ({head})"), *roster_lines(engine),
            *clock_lines(engine), *ledger_lines(settings, engine),
            *expected_lines(settings, engine)]


def roster_lines(engine) -> list[tuple[bool | None, str]]:
    """On a first run, what every message would be answered until there is a roster and a
    bound group: a note, since a database is rightly empty before the import."""
    from sqlmodel import Session, select

    from storage.models import ChatBinding, Member

    with Session(engine) as session:
        someone = session.exec(select(Member.id).where(Member.active).limit(1)).first()
        bound = session.exec(select(ChatBinding.id).limit(1)).first()
    if someone is None:
        return [(None, "名册还是空的，发消息的人都会被告知不在名册中：用 djbot import-roster "
                       "导入名册（见 docs/roster.md），或用 djbot demo 试用")]
    if bound is None:
        return [(None, "还没有绑定任何群，群里发「签到」只会收到「本群还没有绑定支部」："
                       "书记在支部群里发送「绑定 支部名称」，领导在领导群里发送「绑定 领导」")]
    return []


# A replica's clock this far from the database server's is said: about a beat of the
# scheduler (DJBOT_TICK_SECONDS, 30).
CLOCK_TOLERANCE = timedelta(seconds=30)


def clock_lines(engine, *, now: datetime | None = None) -> list[tuple[bool, str]]:
    """Whether this server's clock agrees with the PostgreSQL server's. Every replica
    decides by its own clock when a reminder is due, when check-in opens and closes, and
    when another replica's lease has lapsed: one that runs fast sends the start notice
    early and takes the long connection over. SQLite: one process, one clock."""
    if engine.dialect.name != "postgresql":
        return []
    from sqlalchemy import func, select

    from bot.clock import SystemClock

    with engine.connect() as connection:
        server = connection.execute(select(func.statement_timestamp())).scalar_one()
    ours = now or SystemClock().now()
    off = (ours - server).total_seconds()
    if abs(off) < CLOCK_TOLERANCE.total_seconds():
        return []
    way = "快" if off > 0 else "慢"
    return [(False, f"本机时钟比数据库服务器{way}约 {abs(round(off))} 秒：各副本按本机时钟发提醒、"
                    "判断签到时间和长连接租约，请用 NTP 校准每台服务器的时钟")]


def ledger_lines(settings: Settings, engine) -> list[tuple[bool, str]]:
    """Ledger lines an earlier version's 销假 left behind that still change someone's points
    (storage.ledger_repair): the repair is the operator's to run, and says what it writes."""
    from sqlmodel import Session

    from bot.domain.rules import load_rules
    from storage.ledger_repair import find

    with Session(engine) as session:
        findings = find(session, rules=load_rules(settings.rules_file))
    if not findings:
        return []
    return [(False, f"积分流水中有旧版本销假留下的记录，{len(findings.members)} 名党员的积分不准"
                    f"（{len(findings.reversals)} 笔待冲销，{len(findings.swallowed)} 笔待补记）："
                    "运行 djbot repair-ledger 查看，djbot repair-ledger --apply 修复")]


def expected_lines(settings: Settings, engine, *, now: datetime | None = None
                   ) -> list[tuple[bool | None, str]]:
    """Check-ins and 补签 of members their activity did not expect (versions before 02ef51d
    let a secretary 补签 a newcomer into what was held before they came): they count as
    attended and keep their points until a secretary's 更正 withdraws each, which is said
    for the first few. Those 更正 can no longer reach are a note: the window the rules set
    has passed, and a database from before spells were kept (0012) shows there too members
    who moved or left before then, whom the rule cannot place."""
    from sqlmodel import Session, select

    from bot.clock import SystemClock
    from bot.domain.rules import load_rules
    from bot.domain.text import show_date
    from storage.attendance import not_expected
    from storage.models import Branch

    days = load_rules(settings.rules_file).makeup_window_days
    now = now or SystemClock().now()
    with Session(engine) as session:
        found = not_expected(session, reachable_since=now - timedelta(days=days))
        branches = dict(session.exec(select(Branch.id, Branch.name)).all())
    today = now.astimezone(settings.tz).date()

    def fix(name: str, activity) -> str:
        who = f"{branches.get(activity.branch_id, '')}书记" if activity.branch_id else "领导"
        day = show_date(activity.starts_at.astimezone(settings.tz).date(), today=today)
        return f"{who}发送「更正 {name} 缺席 {day} {activity.type} 原因」"

    lines: list[tuple[bool | None, str]] = []
    if found.reachable:
        each = "；".join(fix(name, activity) for name, activity in found.first)
        more = f"，共 {found.reachable} 条" if found.reachable > len(found.first) else ""
        lines.append((False, f"{found.reachable} 条签到或补签记录的党员在活动举行时不在应到名单中，"
                             f"仍计入实到和积分：请在活动后 {days} 天内用「更正」撤销"
                             f"（{each}{more}）"))
    if older := found.count - found.reachable:
        lines.append((None, f"另有 {older} 条这样的记录已过更正期限（活动后 {days} 天），保持不变；"
                            "其中也有 0012 版以前调动或离开名册的同志，当时没有记下任职经历"))
    return lines


def disabled_lines(settings: Settings, platform: str) -> list[tuple[bool | None, str]]:
    """Messages queued for a platform that is not enabled (members and chats still on it):
    no replica sends them; those past their use are withdrawn (bot.outbox.drop_stale), the
    rest wait for it. A note, not a failure, as a platform may be off by choice: it says
    what enabling it would send."""
    from bot.outbox import queued_for
    from storage.db import session_scope

    if missing_sqlite_file(settings.database_url) is not None:
        return []
    try:
        engine = db.make_engine(settings.database_url)
        with session_scope(engine) as session:
            queued = queued_for(session, platform=platform)
        engine.dispose()
    except Exception:  # the database check reports an unreachable database
        return []
    if not queued.count or queued.oldest is None:
        return []
    name = PLATFORM_NAMES.get(platform, platform)
    oldest = queued.oldest.astimezone(settings.tz)
    return [(None, f"发件箱中有 {queued.count} 条发往{name}的消息在排队（最早 "
                   f"{oldest.month}月{oldest.day}日 {oldest:%H:%M}），{name}未启用，不会发出："
                   f"启用后其中 {queued.lasting} 条（请假审批、通知等）无论多晚都会发出，"
                   "其余（活动提醒、周报等）过了时效即撤回，不会补发")]


def unreached_lines(settings: Settings, platform: str, *,
                    now: datetime | None = None) -> list[tuple[bool, str]]:
    """Messages given up on (dead: nobody reached) over the last DJBOT_RETENTION_DAYS,
    those the platform has kept waiting for over an hour, and recipients the platform
    refused for good (invalid user ids) on sent ones."""
    from bot.clock import SystemClock
    from bot.outbox import given_up, kept_waiting, unreached
    from storage.db import session_scope

    if missing_sqlite_file(settings.database_url) is not None:
        return []  # nothing sent yet; the database check says the file is missing
    now = now or SystemClock().now()
    since = now - timedelta(days=settings.retention_days)
    try:
        engine = db.make_engine(settings.database_url)
        with session_scope(engine) as session:
            dead, more = given_up(session, platform=platform, since=since)
            waiting = kept_waiting(session, platform=platform, now=now)
            rows = unreached(session, platform=platform, since=since)
        engine.dispose()
    except Exception:  # the database check reports an unreachable database
        return []
    lines = [(False, f"发件箱 #{row.id}（{row.kind} → {row.target_kind} {row.target}）未能送达，"
                     f"已放弃：{row.last_error or '-'}。问题解决后运行 djbot outbox retry {row.id}")
             for row in dead]
    if more:
        lines.append((False, f"另有 {more} 条未能送达：djbot outbox --status dead 列出全部，"
                             "djbot outbox retry --all-dead 全部重发"))
    for row in waiting:  # a platform's "wait" uses up no try: nothing gives these up
        hours = (now - row.created_at).total_seconds() / 3600
        lines.append((False, f"发件箱 #{row.id}（{row.kind} → {row.target_kind} {row.target}）"
                             f"排队 {hours:.1f} 小时仍未送达（{row.last_error}）：平台一直要求等待，"
                             "不会自动放弃，请查明原因"))
    # Unknown ids are the roster's to fix; someone DingTalk kept holding back is not.
    return lines + [(False, f"发件箱 #{row.id} 已发出，但{row.last_error}"
                            + ("：请核对名册中的账号 ID" if "无效用户" in (row.last_error or "") else ""))
                    for row in rows]
