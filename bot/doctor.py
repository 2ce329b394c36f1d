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
    return [(True, f"数据库可用、可写，结构为最新 ({head})")]
