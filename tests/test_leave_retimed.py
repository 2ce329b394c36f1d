"""Leave asked for a night study whose hour the secretary then changes, on the same day.

李明 asks leave for Wednesday's 19:30 night study (请假 出差: away the whole day); the
secretary then sends 设置 夜学 每周三 20:00. Only the hour moved: his leave stands at 20:00,
with its reason and state, so he is not nudged there nor counted absent, and he is told
the study moved and his leave still counts, not only that it is cancelled. 批准请假 by name
decides the leave carried, 销假 takes it back, a move of branch treats it as any leave.
A change that moves the study to another day cancels it, as before
(tests/test_schedule_handlers.py).
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.domain.rules import DEFAULT_RULES_PATH
from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from storage.models import Activity, Attendance, AuditEntry
from tests.conftest import SHANGHAI, local
from tests.test_figures import (
    djbot,  # noqa: F401 - the fixture, used by name
    drain,
    ledger_lines,
    night_studies,
    run_ticks,
    weekly,
)
from tests.test_leave_moves import import_roster, to


@pytest.fixture
def settings(db_url, tmp_path, request):
    """An hour's catch-up grace (the ticks step an hour), granted leave worth a point (so a
    leave point posted twice, or on the wrong activity, shows), and leave waiting for
    approval when the test asks for it."""
    rules = tmp_path / "rules.toml"
    rules.write_text(DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "leave = 0", "leave = 1"), encoding="utf-8")
    return Settings(database_url=db_url, catchup_grace_minutes=60, rules_file=rules,
                    leave_requires_approval=getattr(request, "param", False), _env_file=None)


APPROVAL = pytest.mark.parametrize("settings", [True], indirect=True, ids=["approval"])

MOVED = "【活动时间调整】你请过假的政治夜学（11月25日 19:30）改为 20:00，"


def branch(runtime, clock) -> None:
    """城关支部 (g1): 王书记 (sec), 李明 (li), 张强 (zhang), night study 每周三 19:30.
    Monday 23 November: Wednesday's study is planned (three days ahead)."""
    night_studies(runtime, "每周三 19:30", zhang=True)
    clock.set(local(2026, 11, 23, 8, 30))
    run_ticks(runtime, clock, local(2026, 11, 23, 9, 30))


def secretary_at_eight(chat):
    """王书记 checks in when the study starts at 20:00 (the ticks fall on the hour)."""
    def before_tick(now):
        if now.astimezone(SHANGHAI).strftime("%m-%d %H:%M") == "11-25 20:00":
            chat.say("sec", "签到", chat="g1")
    return before_tick


def the_week(runtime, chat, clock):
    """From Monday 10:00 to Friday 10:00: the study held, its absences confirmed (24 hours
    after its end); returns what was sent."""
    clock.set(local(2026, 11, 23, 10, 0))
    return run_ticks(runtime, clock, local(2026, 11, 27, 10, 0),
                     before_tick=secretary_at_eight(chat))


def studies(runtime) -> list[tuple[str, str]]:
    with Session(runtime.engine) as session:
        return [(a.starts_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M"), a.status)
                for a in session.exec(select(Activity).order_by(Activity.starts_at))]


def test_leave_stands_at_the_new_hour_and_he_is_neither_nudged_nor_absent(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    assert chat.say("li", "请假 出差").text == "已请假：政治夜学（11月25日 19:30）。原因：出差"
    reply = chat.say("sec", "设置 夜学 每周三 20:00", chat="g1").text
    assert ("政治夜学（11月25日 19:30）改到当天 20:00，1 人的请假随之改到新时间。"
            "已私信告知请过假的 1 人。") in reply, reply
    assert "已取消" not in reply
    assert to(drain(runtime, clock), "li") == [MOVED + "请假仍然有效。"]
    assert studies(runtime) == [("11-25 19:30", "cancelled"), ("11-25 20:00", "open")]

    sent = the_week(runtime, chat, clock)
    assert to(sent, "li") == []  # no nudge, nothing about a study he is excused from
    assert to(sent, "zhang", "nudge") != []
    [day_before] = to(sent, "sec", "reminder.day_before")
    assert day_before.endswith("时间：11月25日 周三 20:00–21:30\n已请假 1 人：李明"), day_before
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["expected"], line["leave"], line["absent"], line["participation"]) == \
        (3, 1, 1, "1/2")
    assert ledger_lines(chat, "li") == ["11月25日 20:00 +1 政治夜学 请假"]
    with Session(runtime.engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "leave.carry")).one()
        assert audit.detail["carried"][0]["leave_state"] == "granted"


def test_a_group_told_of_the_old_hour_hears_the_new_one(runtime, chat, clock):
    """At 18:30 the group was told the study starts at 19:30; at 18:40 it moves to 20:00."""
    branch(runtime, clock)
    clock.set(local(2026, 11, 25, 10, 0))
    chat.say("li", "请假 出差")
    clock.set(local(2026, 11, 25, 17, 30))
    run_ticks(runtime, clock, local(2026, 11, 25, 18, 30))
    clock.set(local(2026, 11, 25, 18, 40))
    chat.say("sec", "设置 夜学 每周三 20:00", chat="g1")
    sent = drain(runtime, clock)
    assert to(sent, "g1") == ["【活动时间调整】政治夜学（19:30）改为 20:00。"]
    assert to(sent, "li") == [MOVED + "请假仍然有效。"]
    sent = run_ticks(runtime, clock, local(2026, 11, 25, 21, 40))
    [reminded] = to(sent, "g1", "reminder.group_before")
    assert "20:00 开始（11月25日 周三 20:00–21:30）" in reminded, reminded
    assert to(sent, "li") == []
    assert to(sent, "zhang", "nudge") != []
    [missing] = to(sent, "sec", "reminder.missing")
    assert "应到 3 人，签到 0 人，请假 1 人。\n未签到 2 人：张强、王书记。" in missing, missing


@APPROVAL
def test_a_request_the_secretary_has_is_decided_by_name_and_one_turned_down_stays_so(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("zhang", "请假 值班")
    assert "已驳回 张强 的请假" in chat.say("sec", "驳回请假 张强").text
    assert "等待书记批准" in chat.say("li", "请假 出差").text
    [asked] = to(drain(runtime, clock), "sec", "leave.ask")
    assert "李明请假：政治夜学（11月25日 19:30），原因：出差" in asked

    chat.say("sec", "设置 夜学 每周三 20:00", chat="g1")
    sent = drain(runtime, clock)
    assert to(sent, "li") == [MOVED + "请假仍在等待批准。"]
    assert to(sent, "zhang") == [
        "【活动时间调整】你请过假的政治夜学（11月25日 19:30）改为 20:00，请假未获批准，仍需参加。"]
    assert to(sent, "sec") == []  # the request they have is the one they decide
    assert chat.say("sec", "批准请假 李明").text == \
        "已批准 李明 的请假：政治夜学（11月25日 20:00）。"

    sent = the_week(runtime, chat, clock)
    assert to(sent, "li", "nudge") == [] and to(sent, "li", "leave.lapsed") == []
    assert to(sent, "zhang", "nudge") != []
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["leave"], line["absent"]) == (1, 1)
    assert ledger_lines(chat, "li") == ["11月25日 20:00 +1 政治夜学 请假"]
    assert ledger_lines(chat, "zhang") == ["11月25日 20:00 -1 政治夜学 缺席"]


@APPROVAL
def test_a_request_held_for_the_morning_is_asked_for_the_new_hour(runtime, chat, clock):
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 23, 10))
    assert "等待书记批准" in chat.say("li", "请假 出差").text
    clock.set(local(2026, 11, 23, 23, 20))
    chat.say("sec", "设置 夜学 每周三 20:00")
    assert drain(runtime, clock) == []  # quiet hours
    clock.set(local(2026, 11, 24, 7, 31))
    sent = drain(runtime, clock)
    [asked] = to(sent, "sec", "leave.ask")
    assert asked.startswith("【请假待批准】李明请假：政治夜学（11月25日 20:00），原因：出差"
                            "（活动由 19:30 改至 20:00）。"), asked
    assert to(sent, "li") == [MOVED + "请假仍在等待批准。"]
    assert chat.say("sec", "批准请假 李明").text == \
        "已批准 李明 的请假：政治夜学（11月25日 20:00）。"
    sent = drain(runtime, clock)
    assert to(sent, "li") == ["【请假已批准】王书记批准了你的请假：政治夜学（11月25日 20:00）。"]
    assert to(sent, "sec") == []  # asked once, for the hour it is held at


def test_back_after_all_he_is_expected_at_the_new_hour(runtime, chat, clock, djbot):  # noqa: F811
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("li", "请假 出差")
    chat.say("sec", "设置 夜学 每周三 20:00", chat="g1")
    back = chat.say("li", "销假").text
    assert "这些活动恢复为需要你参加，届时请签到：政治夜学（11月25日 20:00）" in back, back
    sent = the_week(runtime, chat, clock)
    assert to(sent, "li", "nudge") != []
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["leave"], line["absent"]) == (0, 2)
    assert ledger_lines(chat, "li") == ["11月25日 20:00 -1 政治夜学 缺席"]


def test_leave_a_move_withdrew_comes_back_at_the_new_hour_with_him(
        runtime, chat, clock, djbot, tmp_path):  # noqa: F811 - the fixture imported above
    """李明 asks leave, is moved to 二支部 by a roster imported by mistake (his leave is
    withdrawn), the study moves to 20:00, and the roster is put right: his leave stands
    again at 20:00, and meanwhile nobody counted or told him of the change."""
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("li", "请假 出差")
    import_roster(djbot, tmp_path, "城关支部,王书记,书记,sec,", "二支部,李明,党员,li,",
                  "城关支部,张强,党员,zhang,")
    drain(runtime, clock)
    reply = chat.say("sec", "设置 夜学 每周三 20:00", chat="g1").text
    assert "改到当天 20:00。" in reply and "请假随之" not in reply, reply
    assert to(drain(runtime, clock), "li") == []
    import_roster(djbot, tmp_path, "城关支部,王书记,书记,sec,", "城关支部,李明,党员,li,",
                  "城关支部,张强,党员,zhang,")
    assert to(drain(runtime, clock), "li") == [
        "【请假已恢复】你已调回城关支部，你对政治夜学（11月25日 20:00）的请假仍然有效。"]

    sent = the_week(runtime, chat, clock)
    assert to(sent, "li", "nudge") == []
    assert ledger_lines(chat, "li") == ["11月25日 20:00 +1 政治夜学 请假"]


def test_changed_from_the_command_line_and_ticked_by_two_replicas_it_is_carried_once(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("li", "请假 出差")
    printed = djbot("schedule", "set", "--branch", "城关支部", "夜学", "每周三 20:00")
    assert "政治夜学（11月25日 19:30）改到当天 20:00，1 人的请假随之改到新时间。" in printed, printed
    assert "改时间已告知收到过活动通知的群 0 个、请过假的 1 人。" in printed
    for _ in range(2):  # two replicas, the same moment
        Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
               calendar=HolidayCalendar()).tick()
    assert studies(runtime) == [("11-25 19:30", "cancelled"), ("11-25 20:00", "open")]
    with Session(runtime.engine) as session:
        rows = [(a.starts_at.astimezone(SHANGHAI).strftime("%H:%M"), r.status, r.leave_reason)
                for r, a in session.exec(select(Attendance, Activity).join(
                    Activity, Activity.id == Attendance.activity_id).order_by(Activity.starts_at))]
    assert rows == [("19:30", "leave", "出差"), ("20:00", "leave", "出差")]
    assert to(drain(runtime, clock), "li") == [MOVED + "请假仍然有效。"]


def test_moved_back_to_its_hour_the_study_is_held_there_with_his_leave(
        runtime, chat, clock, djbot):  # noqa: F811 - the fixture imported above
    """19:30 → 20:00 → back to 19:30, the secretary undoing a slip. Before, that Wednesday
    had no night study at all (the cancelled 19:30 one kept its place from being planned
    again, and the 20:00 one was cancelled too), while the reply listed 19:30 as coming:
    nobody was reminded, nobody counted. Now the 19:30 one is held again, with the leave."""
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("li", "请假 出差")
    chat.say("sec", "设置 夜学 每周三 20:00", chat="g1")
    back = chat.say("sec", "设置 夜学 每周三 19:30", chat="g1").text
    assert "政治夜学（11月25日 20:00）改到当天 19:30，1 人的请假随之改到新时间。" in back, back
    assert to(drain(runtime, clock), "li")[-1] == \
        "【活动时间调整】你请过假的政治夜学（11月25日 20:00）改为 19:30，请假仍然有效。"
    sent = the_week(runtime, chat, clock)
    assert studies(runtime) == [("11-25 19:30", "closed"), ("11-25 20:00", "cancelled")]
    assert to(sent, "li") == []
    assert to(sent, "zhang", "nudge") != []
    line = weekly(djbot, "2026-W48", "城关支部")
    assert (line["expected"], line["leave"], line["participation"]) == (3, 1, "1/2")
    assert ledger_lines(chat, "li") == ["11月25日 19:30 +1 政治夜学 请假"]


def test_a_group_told_of_the_hour_hears_it_is_back_and_the_study_is_held(runtime, chat, clock):
    """At 18:30 the group was told of 19:30; at 18:40 the secretary slips to 20:00 and at
    18:41 puts it back. Nobody had answered the 20:00 one, so the change back deleted it,
    and the 19:30 one stayed cancelled: no study that evening, nobody able to check in. The
    scheduler now holds the 19:30 one again, and the group hears it is on."""
    from datetime import timedelta

    branch(runtime, clock)
    clock.set(local(2026, 11, 25, 18, 0))
    run_ticks(runtime, clock, local(2026, 11, 25, 18, 40), step=timedelta(minutes=10))
    chat.say("sec", "设置 夜学 每周三 20:00", chat="g1")
    clock.set(local(2026, 11, 25, 18, 41))
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    assert studies(runtime) == [("11-25 19:30", "cancelled")]
    sent = run_ticks(runtime, clock, local(2026, 11, 25, 19, 11), step=timedelta(minutes=10))
    assert studies(runtime) == [("11-25 19:30", "open")]
    assert "【活动恢复】政治夜学（19:30）照常举行。" in to(sent, "g1"), to(sent, "g1")
    assert chat.say("zhang", "签到", chat="g1").text.startswith("张强 签到成功")


def test_leave_taken_back_between_is_not_restored_with_the_study(runtime, chat, clock):
    """李明 asked leave, the study moved to 20:00 (his leave with it), he took it back (销假),
    and the study moved back to 19:30: held again there, he is expected, not on leave."""
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("li", "请假 出差")
    chat.say("sec", "设置 夜学 每周三 20:00", chat="g1")
    assert chat.say("li", "销假").text.startswith("已销假。")
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 23, 12, 0))
    assert studies(runtime)[0] == ("11-25 19:30", "open")
    with Session(runtime.engine) as session:
        assert session.exec(select(Attendance)).all() == []  # nobody on leave there


def test_a_study_moved_to_another_day_and_back_is_held_with_the_leave(runtime, chat, clock):
    """Wednesday → Thursday → Wednesday: the Wednesday study, cancelled by the first change
    with 李明's leave on it, is held again by the scheduler with his leave, and he hears it."""
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("li", "请假 出差")
    chat.say("sec", "设置 夜学 每周四 19:30", chat="g1")
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    sent = run_ticks(runtime, clock, local(2026, 11, 25, 21, 30))
    assert studies(runtime)[0] == ("11-25 19:30", "closed")
    assert to(sent, "li") == [
        "【活动取消】你请过假的政治夜学（11月25日 19:30）已取消。原因：日程已改为 每周四 19:30",
        "【活动恢复】你请过假的政治夜学（11月25日 19:30）照常举行，请假仍然有效。"
        "如要参加，请发送「销假」。"]
    with Session(runtime.engine) as session:
        [row] = session.exec(select(Attendance).where(Attendance.status == "leave")).all()
        assert row.leave_reason == "出差"


def test_a_study_cancelled_by_hand_is_never_held_again_by_a_schedule_change(
        runtime, chat, clock):
    """取消活动 with a reason that reads like a schedule change's is still the secretary's
    cancellation: a later 设置 holding its hour does not bring it back."""
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("li", "请假 出差")
    chat.say("sec", "取消活动 日程已改为 20:00", chat="g1")
    chat.say("sec", "确认", chat="g1")
    chat.say("sec", "设置 夜学 每周三 20:00", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 23, 12, 0))
    chat.say("zhang", "请假 值班")
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 23, 14, 0))
    assert studies(runtime)[0] == ("11-25 19:30", "cancelled")


def test_a_pause_ended_early_holds_again_what_it_took_away(runtime, chat, clock):
    """暂停日程 夜学 至 11月30日, then 恢复日程 the same day: Wednesday's study, cancelled by
    the pause with 李明's leave on it, is held again, his leave with it."""
    branch(runtime, clock)
    clock.set(local(2026, 11, 23, 10, 0))
    chat.say("li", "请假 出差")
    assert "已暂停" in chat.say("sec", "暂停日程 夜学 至 11月30日", chat="g1").text
    assert studies(runtime) == [("11-25 19:30", "cancelled")]
    assert chat.say("sec", "恢复日程 夜学", chat="g1").text.startswith("已恢复")
    run_ticks(runtime, clock, local(2026, 11, 23, 12, 0))
    assert studies(runtime) == [("11-25 19:30", "open")]
    with Session(runtime.engine) as session:
        [row] = session.exec(select(Attendance)).all()
        assert (row.status, row.leave_reason) == ("leave", "出差")


def test_a_pause_ended_on_the_study_day_does_not_send_yesterdays_day_before_message(
        runtime, chat, clock):
    """王书记's 【明日活动】 for Wednesday's study, queued on Tuesday at 09:00, has not gone
    yet (the platform made it wait) when the study is paused; 恢复日程 on Wednesday morning
    held it again and queued the message again, so he was told on Wednesday of 明日's
    study. It stays withheld once the study's day has begun."""
    night_studies(runtime, "每周三 19:30", zhang=True)
    clock.set(local(2026, 11, 24, 8, 50))
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                    calendar=HolidayCalendar())
    ticker.tick()
    clock.set(local(2026, 11, 24, 9, 0))
    ticker.tick()  # queued, and not sent: nothing drains the outbox
    clock.set(local(2026, 11, 24, 10, 0))
    chat.say("li", "请假 出差")
    assert "已暂停" in chat.say("sec", "暂停日程 夜学 至 11月30日", chat="g1").text
    clock.set(local(2026, 11, 25, 8, 0))
    assert chat.say("sec", "恢复日程 夜学", chat="g1").text.startswith("已恢复")
    ticker.tick()
    assert studies(runtime) == [("11-25 19:30", "open")]
    assert [kind for _, kind, _, _ in drain(runtime, clock) if kind == "reminder.day_before"] == []
