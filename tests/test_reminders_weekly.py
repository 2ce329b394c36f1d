"""Monday 09:00: the branch leaderboard (top 10, never a bottom list) and the leader summary."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from storage import ledger
from storage.models import OutboxMessage, Role
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed


def bureau(session):
    branch = make_branch(session, "城关支部")
    bind_chat(session, branch, "g1")
    for i in range(12):
        member = make_member(session, branch, f"党员{i:02d}", wecom=f"m{i}",
                             leaderboard_opt_out=(i == 11))
        ledger.post(session, member_id=member.id, branch_id=branch.id, points=10 + i,
                    rule="study.per_30min", source_kind="study", source_id=i,
                    occurred_at=local(2026, 11, 18, 10, 0), now=local(2026, 11, 18, 10, 0))
    make_member(session, None, "局长", role=Role.LEADER, wecom="boss")
    make_member(session, None, "政委", role=Role.LEADER, wecom="pc")


def ticker(runtime, clock):
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                    calendar=HolidayCalendar())
    ticker.last = clock.now()
    return ticker


def sent(engine, kind):
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                 .order_by(OutboxMessage.id)).all())


def test_the_monday_board_lists_the_top_ten_of_last_week(runtime, clock, engine):
    seed(engine, bureau)
    clock.set(local(2026, 11, 23, 8, 59))
    t = ticker(runtime, clock)
    clock.set(local(2026, 11, 23, 9, 0))
    t.tick()
    [board] = sent(engine, "leaderboard")
    assert (board.target_kind, board.target) == ("group", "g1")
    ranked = [line for line in board.payload["text"].splitlines() if line[:1].isdigit()]
    assert len(ranked) == 10
    assert ranked[0] == "1. 党员10 20分"  # 党员11 (21 points) left the public board
    assert ranked[-1] == "10. 党员01 11分" and "党员00" not in board.payload["text"]  # no bottom


def test_without_a_leaders_group_each_leader_gets_the_summary_privately_once(runtime, clock, engine):
    seed(engine, bureau)
    clock.set(local(2026, 11, 23, 8, 59))
    t = ticker(runtime, clock)
    for minute in (0, 1, 2):
        clock.set(local(2026, 11, 23, 9, minute))
        t.tick()
    ticker(runtime, clock).tick()  # a restarted replica, inside the grace
    summaries = sent(engine, "summary")
    assert sorted((s.target_kind, s.target) for s in summaries) == [("user", "boss"), ("user", "pc")]
    assert "城关支部" in summaries[0].payload["text"] and summaries[0].payload["markdown"]
