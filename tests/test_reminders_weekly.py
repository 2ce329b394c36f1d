"""Monday 09:00: the branch leaderboard (top 10, never a bottom list) and the leader summary."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from storage import ledger
from storage.models import OutboxMessage, Role
from tests.conftest import SHANGHAI, local
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


def test_the_monday_board_lists_the_top_30_percent_of_last_week(runtime, clock, engine):
    seed(engine, bureau)
    clock.set(local(2026, 11, 23, 8, 59))
    t = ticker(runtime, clock)
    clock.set(local(2026, 11, 23, 9, 0))
    t.tick()
    [board] = sent(engine, "leaderboard")
    assert (board.target_kind, board.target) == ("group", "g1")
    ranked = [line for line in board.payload["text"].splitlines() if line[:1].isdigit()]
    # 11 members on the public board: 30% is 3, so the 8 left off are not named by a
    # list that stops just above them.
    assert ranked == ["1. 党员10 20分", "2. 党员09 19分", "3. 党员08 18分"]
    assert "党员07" not in board.payload["text"]  # 党员11 (21 points) left the board


def test_a_big_branch_board_stops_at_ten_and_a_quiet_week_posts_nothing(runtime, clock, engine):
    def scene(session):
        bureau(session)
        big = make_branch(session, "交警支部")
        bind_chat(session, big, "g2")
        for i in range(40):
            member = make_member(session, big, f"交警{i:02d}")
            ledger.post(session, member_id=member.id, branch_id=big.id, points=1 + i,
                        rule="study.per_30min", source_kind="study", source_id=f"b{i}",
                        occurred_at=local(2026, 11, 18, 10, 0), now=local(2026, 11, 18, 10, 0))
        quiet = make_branch(session, "巡特警支部")
        bind_chat(session, quiet, "g3")
        for i in range(10):
            make_member(session, quiet, f"巡警{i:02d}")
    seed(engine, scene)
    clock.set(local(2026, 11, 23, 8, 59))
    t = ticker(runtime, clock)
    clock.set(local(2026, 11, 23, 9, 0))
    t.tick()
    boards = {b.target: b for b in sent(engine, "leaderboard")}
    assert sorted(boards) == ["g1", "g2"]  # nobody scored in 巡特警支部: no empty board
    ranked = [line for line in boards["g2"].payload["text"].splitlines() if line[:1].isdigit()]
    assert len(ranked) == 10 and ranked[-1] == "10. 交警30 31分"


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


def test_down_over_monday_morning_the_board_and_summary_still_go_out_that_day(
        runtime, clock, engine, caplog):
    """A restart (or an outage) from 08:50 to 10:15 on Monday: the board and the leaders'
    summary are still worth reading at 10:15. With only the 30-minute catch-up grace they
    were logged as missed and that week's summary never came."""
    seed(engine, bureau)
    clock.set(local(2026, 11, 23, 8, 50))
    ticker(runtime, clock).tick()
    clock.set(local(2026, 11, 23, 10, 15))
    with caplog.at_level("WARNING", logger="djbot.tick"):
        Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
               calendar=HolidayCalendar()).tick()  # a fresh process: no earlier tick
    assert [(s.target_kind, s.target) for s in sent(engine, "leaderboard")] == [("group", "g1")]
    assert sorted(s.target for s in sent(engine, "summary")) == ["boss", "pc"]
    assert "missed while down" not in caplog.text
    # Back only on Tuesday morning, last week's board is no news any more: not sent.
    with Session(engine) as session:
        for row in session.exec(select(OutboxMessage)).all():
            session.delete(row)
        session.commit()
    clock.set(local(2026, 11, 24, 8, 30))
    with caplog.at_level("WARNING", logger="djbot.tick"):
        Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
               calendar=HolidayCalendar()).tick()
    assert sent(engine, "leaderboard") == [] and sent(engine, "summary") == []
    assert "missed while down, not sent: leaderboard" in caplog.text


def test_spring_festival_monday_messages_go_on_the_first_working_day_not_a_sunday(
        runtime, clock, engine):
    """春节 2026 runs from Monday 02-16 to Monday 02-23, Sunday 02-22 a day off like the
    rest. The search for a working day stopped six days after the Monday, so the board and
    summary of 02-16 went out on that holiday Sunday. Both weeks' now go on Tuesday 02-24,
    each once."""
    seed(engine, bureau)
    clock.set(local(2026, 2, 21, 8, 0))
    t = ticker(runtime, clock)
    while clock.now() < local(2026, 2, 24, 12, 0):
        clock.advance(minutes=30)
        t.tick()
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind.in_(["leaderboard", "summary"]))).all()  # type: ignore[attr-defined]
    weeks = {}
    for row in rows:
        weeks.setdefault(row.dedupe_key.split("|")[-1][:10], set()).add(
            row.created_at.astimezone(SHANGHAI).date())
    assert weeks == {"2026-02-16": {date(2026, 2, 24)}, "2026-02-23": {date(2026, 2, 24)}}


def test_the_monday_board_waits_for_quiet_hours_set_to_end_after_nine(runtime, clock, engine):
    # DJBOT_QUIET_END=10:00: every other message waits until then, yet the board and the
    # summary went to the groups at 09:00, inside the quiet hours the bureau chose.
    from datetime import time

    seed(engine, bureau)
    settings = runtime.settings.model_copy(update={"quiet_end": time(10, 0)})
    clock.set(local(2026, 11, 23, 8, 59))
    t = Ticker(runtime.engine, settings, clock, runtime.rules, calendar=HolidayCalendar())
    t.last = clock.now()
    clock.set(local(2026, 11, 23, 9, 30))
    t.tick()
    assert sent(engine, "leaderboard") == []
    clock.set(local(2026, 11, 23, 10, 0))
    t.tick()
    assert len(sent(engine, "leaderboard")) == 1 and sent(engine, "summary")
