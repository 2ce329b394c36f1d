"""`djbot doctor database`: can djbot reach its database, and is the schema current?"""

from __future__ import annotations

from bot.config import Settings
from storage import db


def run(settings: Settings) -> list[tuple[bool, str]]:
    try:
        engine = db.make_engine(settings.database_url)
        current, head = db.current_revision(engine), db.head_revision(engine)
    except Exception as exc:
        return [(False, f"无法连接数据库（{type(exc).__name__}）：请检查 DJBOT_DATABASE_URL")]
    if current != head:
        return [(False, f"数据库结构是 {current}，最新是 {head}：请运行 djbot db upgrade")]
    if problem := db.write_problem(engine):
        return [(False, f"{problem}：djbot 需要写入签到和发件箱")]
    return [(True, f"数据库可用、可写，结构为最新 ({head})"), *ledger_lines(settings, engine)]


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


def unreached_lines(settings: Settings, platform: str) -> list[tuple[bool, str]]:
    """Recipients the platform refused for good (invalid user ids), as long as sent rows
    are kept."""
    from datetime import timedelta

    from bot.clock import SystemClock
    from bot.outbox import unreached
    from storage.db import session_scope

    try:
        engine = db.make_engine(settings.database_url)
        with session_scope(engine) as session:
            rows = unreached(session, platform=platform,
                             since=SystemClock().now() - timedelta(days=settings.retention_days))
        engine.dispose()
    except Exception:  # the database check reports an unreachable database
        return []
    # Unknown ids are the roster's to fix; someone DingTalk kept holding back is not.
    return [(False, f"发件箱 #{row.id} 已发出，但{row.last_error}"
                    + ("：请核对名册中的账号 ID" if "无效用户" in (row.last_error or "") else ""))
            for row in rows]
