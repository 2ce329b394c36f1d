"""One check-in through the dispatcher alone: SQL statements and milliseconds per check-in.

    python -m bench.profile_checkin [--members 2000] [--database-url URL] [--profile]

No HTTP and no adapter: a roster of members in one bound group, one open 主题党日, then
every member sends 签到 through `Dispatcher.handle_sync`, one after another. Each
check-in is a full committed transaction, as in production. Statements are counted with a
`before_cursor_execute` listener; `--profile` prints where the time goes (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event
from sqlmodel import Session, SQLModel

from bot.clock import ManualClock
from bot.config import Settings
from bot.core import IncomingMessage
from bot.runtime import build_runtime
from storage.db import make_engine
from storage.models import Branch, ChatBinding, Identity, Member, Role

CHAT = "grp-profile"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed(engine, members: int, platform: str = "wecom") -> None:
    with Session(engine) as session:
        branch = Branch(name="一支部", created_at=T0)
        session.add(branch)
        session.flush()
        session.add(ChatBinding(platform=platform, chat_id=CHAT, branch_id=branch.id,
                                bound_at=T0))
        people = [Member(name="书记", branch_id=branch.id, role=Role.SECRETARY, created_at=T0,
                         updated_at=T0)]
        people += [Member(name=f"党员{i:05d}", branch_id=branch.id, role=Role.MEMBER,
                          created_at=T0, updated_at=T0) for i in range(members)]
        session.add_all(people)
        session.flush()
        session.add_all([Identity(member_id=m.id, platform=platform,
                                  user_id="sec" if i == 0 else f"u{i - 1:05d}")
                         for i, m in enumerate(people)])
        session.commit()


def message(user: str, text: str, msgid: str) -> IncomingMessage:
    return IncomingMessage(platform="wecom", chat_id=CHAT, sender_id=user, text=text,
                           message_id=msgid, at=T0, is_private=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--database-url", help="an empty PostgreSQL database instead of SQLite")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="djbot-profile-"))
    url = args.database_url or f"sqlite:///{work / 'djbot.db'}"
    settings = Settings(database_url=url, _env_file=None)
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    seed(engine, args.members)
    clock = ManualClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    runtime = build_runtime(settings, clock=clock, engine=engine, migrate=False)
    dispatcher = runtime.dispatcher
    print("开始 →", dispatcher.handle_sync(message("sec", "开始 主题党日", "setup")).text[:30])

    statements: Counter[str] = Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        statements[" ".join(statement.split())[:90]] += 1

    # Warm up (statement caches, imports) on a few members, then measure the rest.
    warm = 50
    for i in range(warm):
        dispatcher.handle_sync(message(f"u{i:05d}", "签到", f"m{i}"))
    statements.clear()
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    for i in range(warm, args.members):
        reply = dispatcher.handle_sync(message(f"u{i:05d}", "签到", f"m{i}"))
    if profiler:
        profiler.disable()
    n = args.members - warm
    wall_ms = (time.perf_counter() - started) * 1000 / n
    cpu_ms = (time.process_time() - cpu) * 1000 / n
    assert "签到成功" in reply.text, reply.text
    first = dict(statements)
    repeat_started = time.perf_counter()
    for i in range(warm, args.members):
        dispatcher.handle_sync(message(f"u{i:05d}", "签到", f"m{i}"))
    repeat_ms = (time.perf_counter() - repeat_started) * 1000 / n

    print(f"{n} check-ins on {engine.dialect.name}: {wall_ms:.2f} ms wall, {cpu_ms:.2f} ms CPU,"
          f" {sum(first.values()) / n:.1f} statements each (first delivery);"
          f" a repeated delivery {repeat_ms:.2f} ms")
    for statement, times in Counter(first).most_common():
        print(f"  {times / n:4.1f} × {statement}")
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)
    engine.dispose()


if __name__ == "__main__":
    main()
