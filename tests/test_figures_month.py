"""A month simulated for a 30-member branch with 2 夜学 a week and one 主题党日: the figures
djbot reports equal a count made by hand here, no member is listed publicly where fewer
than 3 scored, and no empty board is posted."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlmodel import Session, select

from storage.models import Activity, Branch, Role, Schedule
from tests.conftest import SHANGHAI, local
from tests.factories import bind_chat, make_branch, make_member, seed
from tests.test_figures import djbot, ledger_lines, run_ticks, settings  # noqa: F401 (fixtures)

# Who does what at every activity (index 0 is the secretary):
ON_TIME = range(0, 20)  # check in at the start
LATE = range(20, 25)  # check in an hour after the start
TRAINEE = 25  # on time, except on leave 11-09..11-13 (请假 11月9日至11月13日)
SILENT = range(26, 30)  # never come: nudged once per activity, absent once confirmed
NIGHT_STUDIES = [date(2026, 11, d) for d in (3, 5, 10, 12, 17, 19, 24, 26)]  # 周二、周四
THEME_DAY = date(2026, 11, 20)  # 每月20日, a Friday
LEAVE = (date(2026, 11, 9), date(2026, 11, 13))


def bureau(session):
    city = make_branch(session, "城关支部")
    bind_chat(session, city, "g1")
    make_member(session, city, "书记", role=Role.SECRETARY, wecom="p0")
    for i in range(1, 30):
        make_member(session, city, f"党员{i:02d}", wecom=f"p{i}")
    for kind, rule, minutes in (("政治夜学", "每周二、周四 19:30", 90),
                                ("主题党日", "每月20日 14:30", 120)):
        session.add(Schedule(branch_id=city.id, activity_type=kind, rule=rule,
                             duration_minutes=minutes, holiday_policy="move",
                             created_at=local(2026, 10, 1, 0, 0), updated_at=local(2026, 10, 1, 0, 0)))
    # A small branch where only two ever score: its board would name them and, by
    # elimination, the one who did not.
    small = make_branch(session, "交警支部")
    bind_chat(session, small, "g2")
    for i in range(3):
        make_member(session, small, f"交警{i}", wecom=f"q{i}")
    session.add(Schedule(branch_id=small.id, activity_type="政治夜学", rule="每周三 19:30",
                         duration_minutes=90, created_at=local(2026, 10, 1, 0, 0),
                         updated_at=local(2026, 10, 1, 0, 0)))


def on_leave(day: date) -> bool:
    return LEAVE[0] <= day <= LEAVE[1]


def hand_count(days: list[date]) -> dict[str, int]:
    """The figures for these activities of 城关支部, counted from the plan above."""
    count = dict(activities=0, expected=0, present=0, late=0, leave=0, absent=0)
    for day in days:
        count["activities"] += 1
        count["expected"] += 30
        count["present"] += len(ON_TIME) + (0 if on_leave(day) else 1)
        count["leave"] += 1 if on_leave(day) else 0
        count["late"] += len(LATE)
        count["absent"] += len(SILENT)
    return count


def hand_points(days: list[date], rules) -> int:
    total = 0
    for day in days:
        kind = "主题党日" if day == THEME_DAY else "政治夜学"
        c = hand_count([day])
        for status in ("present", "late", "leave", "absent"):
            total += c[status] * rules.attendance_points(kind, status)[0]
    return total


def test_a_month_of_night_studies_and_a_theme_day_adds_up(
        runtime, chat, djbot, clock):  # noqa: F811
    seed(runtime.engine, bureau)
    with Session(runtime.engine) as session:
        city_id = session.exec(select(Branch.id).where(Branch.name == "城关支部")).one()
    clock.set(local(2026, 11, 1, 0, 30))
    assert "已请假：11月9日至11月13日" in chat.say("p25", "请假 11月9日至11月13日 外出培训").text
    starts: dict[date, str] = {}

    def people(now):
        local_now = now.astimezone(SHANGHAI)
        with Session(runtime.engine) as session:
            started = session.exec(select(Activity).where(
                Activity.starts_at.in_([now, now - timedelta(hours=1)]))).all()
        for activity in started:
            day = activity.starts_at.astimezone(SHANGHAI).date()
            if activity.branch_id != city_id:
                if activity.starts_at == now:
                    for user in ("q0", "q1"):
                        chat.say(user, "签到", chat="g2")
                continue
            if activity.starts_at == now:
                users = [f"p{i}" for i in ON_TIME] + ([] if on_leave(day) else [f"p{TRAINEE}"])
            else:
                users = [f"p{i}" for i in LATE]
            for user in users:
                reply = chat.say(user, "签到", chat="g1")
                assert "签到成功" in reply.text, (local_now, user, reply.text)
            starts[day] = activity.type

    sent = run_ticks(runtime, clock, local(2026, 12, 1, 0, 30), before_tick=people)
    assert sorted(starts) == sorted(NIGHT_STUDIES + [THEME_DAY])

    month = json.loads(djbot("report", "--from", "2026-11-01", "--to", "2026-11-30", "--json"))
    city = next(b for b in month["branches"] if b["name"] == "城关支部")
    expected = hand_count(NIGHT_STUDIES + [THEME_DAY])
    assert {k: city[k] for k in expected} == expected
    assert city["unconfirmed"] == 0  # every absence was confirmed a day after its end
    assert city["participation"] == "232/268"
    assert city["points"] == hand_points(NIGHT_STUDIES + [THEME_DAY], runtime.rules) == 405
    assert city["score"] == round(100 * (0.6 * 232 / 268 + 0.4 * min(1, 405 / 30 / 10)), 1)
    assert city["tier"] == "红"

    week = json.loads(djbot("report", "weekly", "--week", "2026-W47", "--json"))
    city = next(b for b in week["branches"] if b["name"] == "城关支部")
    expected = hand_count([date(2026, 11, 17), date(2026, 11, 19), THEME_DAY])
    assert {k: city[k] for k in expected} == expected

    nudged = [target for _, kind, target, _ in sent if kind == "nudge"]
    assert sorted(set(nudged)) == sorted({f"p{i}" for i in SILENT} | {"q2"})
    assert all(nudged.count(f"p{i}") == 9 for i in SILENT) and f"p{TRAINEE}" not in nudged

    boards = [(at, target, text) for at, kind, target, text in sent if kind == "leaderboard"]
    # Mondays after a week with activities; 交警支部 never (only two ever scored).
    assert [(at.date().isoformat(), target) for at, target, _ in boards] == [
        ("2026-11-09", "g1"), ("2026-11-16", "g1"), ("2026-11-23", "g1"), ("2026-11-30", "g1")]
    for _, _, text in boards:
        named = [line for line in text.splitlines() if line[:1].isdigit()]
        assert len(named) <= 9 and "暂无" not in text  # 30% of 30
    assert not [line for line in boards[0][2].splitlines() if line[:1].isdigit()]
    # 20 on time and 党员25, twice 2; nobody named above them, so not 「另有」.
    assert "\n共 21 人并列第 1 名（4分）" in boards[0][2] and "另有" not in boards[0][2]

    silent = ledger_lines(chat, "p26")
    assert [x.split()[2] for x in silent] == ["-1", "-1", "-2", "-1", "-1", "-1", "-1", "-1", "-1"]
    assert sum("主题党日 缺席" in x for x in silent) == 1
