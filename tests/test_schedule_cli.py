"""djbot schedule preview / list / set, djbot tick, djbot doctor schedule, and the service."""

from __future__ import annotations

from datetime import date, datetime

import chinese_calendar
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot import cli
from bot.scheduling import doctor
from bot.scheduling.holidays import HolidayCalendar
from bot.sender import SendResult
from storage.models import Activity, OutboxMessage, Role, Schedule
from tests.conftest import SHANGHAI, local
from tests.factories import bind_chat, make_branch, make_member, seed

runner = CliRunner()


@pytest.fixture
def djbot(runtime, monkeypatch):
    monkeypatch.setattr(cli, "get_runtime", lambda *a, **kw: runtime)

    def invoke(*args: str):
        return runner.invoke(cli.app, list(args))
    return invoke


def test_preview_prints_occurrences_as_the_scheduler_fires_them(djbot):
    result = djbot("schedule", "preview", "每周二、四 19:30", "--kind", "夜学",
                   "--from", "2026-09-28", "--count", "4")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "2026-09-29 周二 19:30",
        "2026-10-01 周四 19:30  ✗ 法定节假日，不举行",
        "2026-10-06 周二 19:30  ✗ 法定节假日，不举行",
        "2026-10-08 周四 19:30",
    ]
    moved = djbot("schedule", "preview", "每月第一个周五 14:30", "--from", "2026-10-01", "--count", "1")
    assert "2026-10-08 周四 14:30  （原定 10月2日，法定节假日，顺延到 10月8日）" in moved.output


def test_preview_explains_a_bad_rule(djbot):
    result = djbot("schedule", "preview", "每天 9点")
    assert result.exit_code == 2 and "应以「每月」或「每周」开头" in result.output


def test_preview_says_a_bad_day_or_setting_in_one_line(djbot):
    """Before, --from 2026-13-01 and DJBOT_TIMEZONE=Mars/Base ended in tracebacks: preview
    read the settings without the command line's one-line errors."""
    day = djbot("schedule", "preview", "每周三 19:30", "--from", "2026-13-01")
    assert day.exit_code == 2 and day.output.strip() == "--from 应写成 2027-01-15，收到「2026-13-01」"
    zone = runner.invoke(cli.app, ["schedule", "preview", "每周三 19:30"],
                         env={"DJBOT_TIMEZONE": "Mars/Base"})
    assert zone.exit_code == 2
    assert zone.output.strip() == "配置错误：DJBOT_TIMEZONE「Mars/Base」不是已知的时区：例如 Asia/Shanghai"


def _city_branch(session):
    """城关支部 (group g1): 王书记 (sec) and 小李 (li)."""
    branch = make_branch(session, "城关支部")
    make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
    make_member(session, branch, "小李", wecom="li")
    bind_chat(session, branch, "g1")


def test_set_and_list_from_the_command_line(djbot, engine):
    seed(engine, lambda s: make_branch(s, "城关支部"))
    result = djbot("schedule", "set", "--branch", "城关支部", "主题党日", "每月第一个周五 14:30",
                   "--duration", "90分钟")
    assert result.exit_code == 0, result.output
    listed = djbot("schedule", "list").output
    assert "城关支部 主题党日：每月第一个周五 14:30，90分钟，节假日顺延" in listed
    assert djbot("schedule", "set", "--branch", "无此支部", "夜学", "每周三 19:30").exit_code == 2


def test_the_bureaus_own_schedule_is_set_from_the_shell(djbot, engine):
    """中心组学习 is the 党委's own: no branch, as a leader sets it in chat. The shell asks
    for one of --branch or --bureau, and the bureau's own schedules are only the
    committee's studies."""
    seed(engine, lambda s: make_branch(s, "城关支部"))
    result = djbot("schedule", "set", "--bureau", "中心组学习", "每月第二个周四 9:00")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "已设置 局党委 理论学习中心组：每月第二个周四 09:00，120分钟"
    assert "全局 理论学习中心组：每月第二个周四 09:00，120分钟" in djbot("schedule", "list").output
    with Session(engine) as s:
        [saved] = s.exec(select(Schedule)).all()
        assert saved.branch_id is None
    neither = djbot("schedule", "set", "夜学", "每周三 19:30")
    both = djbot("schedule", "set", "--branch", "城关支部", "--bureau", "夜学", "每周三 19:30")
    assert neither.exit_code == both.exit_code == 2
    assert "二选一" in neither.output and "二选一" in both.output
    not_its_own = djbot("schedule", "set", "--bureau", "夜学", "每周三 19:30")
    assert not_its_own.exit_code == 2 and "请为各支部分别设置" in not_its_own.output


def test_a_schedule_changed_from_the_shell_tells_who_heard_of_what_it_calls_off(
        djbot, runtime, chat, engine, clock):
    """Wednesday 18:40 the operator moves 城关支部's night study to Thursdays from the shell.
    That evening's was announced to the group at 18:30 and 小李 had asked leave for it: as
    when the secretary says it in chat, the group and 小李 hear it is off, the secretary's
    【明日活动】 still waiting for the platform is not sent, and the operator is told so."""
    import asyncio

    from bot.outbox import OutboxWorker
    from bot.scheduling.tick import Ticker
    from tests.test_reminders_restart import Recorder

    class PrivateWait(Recorder):
        """A platform that tells djbot to wait with every private message."""

        async def send(self, message):
            if message.target_kind == "user":
                return SendResult.failed("api freq out of limit", retry_after=600)
            return await super().send(message)

    seed(engine, _city_branch)
    assert djbot("schedule", "set", "--branch", "城关支部", "夜学", "每周三 19:30").exit_code == 0
    ticker = Ticker(engine, runtime.settings, clock, runtime.rules)
    ticker.tick()  # Monday 09:00: Wednesday's is created
    assert "已请假" in chat.say("li", "请假 值班").text
    waiting = PrivateWait()
    # Tried again each morning and evening (a notice untried for a day is withdrawn as
    # stale before any schedule change could: bot.outbox.OUTLIVES).
    for moment in (local(2026, 11, 24, 9, 0), local(2026, 11, 25, 8, 0),
                   local(2026, 11, 25, 18, 30)):
        clock.set(moment)
        ticker.tick()
        asyncio.run(OutboxWorker(engine, clock, {"wecom": waiting}).drain())
    assert [(m.kind, m.target) for m in waiting.sent] == [("reminder.group_before", "g1")]

    clock.set(local(2026, 11, 25, 18, 40))
    result = djbot("schedule", "set", "--branch", "城关支部", "夜学", "每周四 19:30")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "按原日程已安排、已通知过或已有人请假的 1 次活动已取消，不再提醒，也不计出勤和缺席。" in lines
    assert "已撤回尚未发出的消息 1 条（djbot outbox 中为 withdrawn）：" in lines
    assert any(line.strip().endswith("reminder.day_before → wecom user sec") for line in lines)
    assert lines[-1] == "已通知收到过活动通知的群 1 个，已私信告知请过假的 1 人。"

    sender = Recorder()
    asyncio.run(OutboxWorker(engine, clock, {"wecom": sender}).drain())
    reason = "原因：日程已改为 每周四 19:30"
    sent = [(m.kind, m.target, m.payload["text"]) for m in sender.sent
            if m.kind != "reminder.meetings"]  # the month's 三会一课 reminder, beside the point
    assert sorted(sent) == [
        ("activity.cancel", "g1", f"【活动取消】政治夜学（19:30）已取消。{reason}"),
        ("activity.cancel", "li",
         f"【活动取消】你请过假的政治夜学（11月25日 19:30）已取消。{reason}"),
    ]
    # Said again, the rule changes nothing and nobody hears anything more.
    again = djbot("schedule", "set", "--branch", "城关支部", "夜学", "每周四 19:30")
    assert again.output.splitlines()[1:] == [], again.output
    sender.sent.clear()
    asyncio.run(OutboxWorker(engine, clock, {"wecom": sender}).drain())
    assert sender.sent == []


def test_tick_fast_forwards_and_prints_what_would_be_sent(djbot, engine):
    def build(session):
        branch = make_branch(session, "城关支部")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        bind_chat(session, branch, "g1")
    seed(engine, build)
    djbot("schedule", "set", "--branch", "城关支部", "夜学", "每周三 19:30")
    args = ("tick", "--from", "2026-11-24T08:00", "--until", "2026-11-25T21:00", "--step", "15")
    if engine.dialect.name == "sqlite":
        # By default a simulation: it runs on a copy and says so; the database is untouched.
        result = djbot(*args)
        assert result.exit_code == 0, result.output
        assert "副本" in result.output.splitlines()[0]
        lines = [line for line in result.output.splitlines() if line.startswith("📣")]
        assert lines[0].startswith("📣 11月24日 09:00 [wecom 私聊 sec] 【明日活动】政治夜学")
        with Session(engine) as session:
            assert not session.exec(select(OutboxMessage)).all()
            assert not session.exec(select(Activity)).all()
    else:
        refused = djbot(*args)
        assert refused.exit_code == 2 and "--commit" in refused.output
    result = djbot(*args, "--commit")
    assert result.exit_code == 0, result.output
    assert "写入真实数据库" in result.output.splitlines()[0]
    lines = [line for line in result.output.splitlines() if line.startswith("📣")]
    assert lines[0].startswith("📣 11月24日 09:00 [wecom 私聊 sec] 【明日活动】政治夜学")
    assert any(line.startswith("📣 11月25日 18:30 [wecom 群 g1] 【活动提醒】") for line in lines)
    assert any(line.startswith("📣 11月25日 21:00 [wecom 私聊 sec] 【活动结束】") for line in lines)
    with Session(engine) as session:
        assert {m.status for m in session.exec(select(OutboxMessage))} == {"sent"}


def test_tick_refuses_a_step_that_would_skip_reminders(djbot):
    result = djbot("tick", "--from", "2026-11-24T08:00", "--until", "2026-11-25T21:00",
                   "--step", "60")
    assert result.exit_code == 2 and "补发宽限" in result.output


def _known_until_2025(day: date):
    if day.year >= 2026:
        raise NotImplementedError
    return chinese_calendar.get_holiday_detail(day)


def test_doctor_reports_holiday_data_coverage(settings):
    calendar = HolidayCalendar(source=_known_until_2025)
    lines = doctor.run(settings, calendar=calendar, today=datetime(2026, 3, 1, tzinfo=SHANGHAI))
    assert lines[0][0] is False and "不含 2026 年" in lines[0][1]
    ok = doctor.run(settings, calendar=HolidayCalendar(), today=datetime(2026, 3, 1, tzinfo=SHANGHAI))
    assert ok[0] == (True, "节假日数据包含 2026 年（法定节假日与调休）")
    assert ok[1][0] is None and "2027" in ok[1][1]  # not announced yet in March: a note
    late = doctor.run(settings, calendar=HolidayCalendar(), today=datetime(2026, 12, 20, tzinfo=SHANGHAI))
    assert late[1][0] is None  # still a note in December; a failure once 2027 begins
    january = doctor.run(settings, calendar=HolidayCalendar(),
                         today=datetime(2027, 1, 2, tzinfo=SHANGHAI))
    assert january[0][0] is False and "不含 2027 年" in january[0][1]


async def test_the_service_beat_ticks_and_delivers(runtime, clock, engine):
    from bot.scheduling.service import SchedulerService
    from bot.sender import SendResult
    from storage.schedules import save_schedule

    sent = []

    class Recorder:
        platform = "wecom"

        async def send(self, message):
            sent.append(message)
            return SendResult.sent()

    def build(session):
        branch = make_branch(session, "城关支部")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        bind_chat(session, branch, "g1")
        save_schedule(session, branch_id=branch.id, kind="政治夜学", rule="每周三 19:30",
                      duration_minutes=90, policy="skip", now=clock.now())
    seed(engine, build)
    service = SchedulerService(runtime, {"wecom": Recorder()})
    clock.set(local(2026, 11, 25, 18, 0))
    await service.beat()
    clock.set(local(2026, 11, 25, 18, 30))
    await service.beat()
    assert [(m.kind, m.target) for m in sent] == [("reminder.group_before", "g1")]
    await service.start()
    await service.stop()


def test_a_schedule_is_deleted_paused_and_resumed_from_the_shell(djbot, runtime, chat, engine,
                                                                  clock):
    """The operator takes 城关支部's night study away from the shell as a secretary would
    in chat (删除日程, 暂停日程, 恢复日程), by the number `schedule list` gives it: what was
    planned goes, 小李 who asked leave for Wednesday's hears it is off, and the audit log
    says the shell did it."""
    import asyncio

    from bot.outbox import OutboxWorker
    from bot.scheduling.tick import Ticker
    from storage.models import AuditEntry
    from tests.test_reminders_restart import Recorder

    seed(engine, _city_branch)
    assert djbot("schedule", "set", "--branch", "城关支部", "夜学", "每周三、周五 19:30"
                 ).exit_code == 0
    with Session(engine) as s:
        number = str(s.exec(select(Schedule)).one().id)
    ticker = Ticker(engine, runtime.settings, clock, runtime.rules)
    ticker.tick()  # Monday 09:00: Wednesday's is created
    assert "已请假" in chat.say("li", "请假 值班").text

    paused = djbot("schedule", "pause", number, "--until", "2026-11-27")
    assert paused.exit_code == 0, paused.output
    assert paused.output.splitlines() == [
        "已暂停 城关支部 政治夜学（每周三、周五 19:30），至 2026-11-27（含）：这期间不举行、不提醒，"
        f"也不计缺席。djbot schedule resume {number} 可提前恢复。",
        "已安排、已通知过或已有人请假的 1 次活动已取消，不再提醒，也不计出勤和缺席。",
        "已通知收到过活动通知的群 0 个，已私信告知请过假的 1 人。"]
    assert "（暂停至 2026-11-27）" in djbot("schedule", "list").output
    sender = Recorder()
    asyncio.run(OutboxWorker(engine, clock, {"wecom": sender}).drain())
    assert [(m.kind, m.target) for m in sender.sent if m.kind != "reminder.meetings"] == [
        ("activity.cancel", "li")]
    clock.set(local(2026, 11, 25, 9, 0))
    ticker.tick()  # Friday the 27th is within the pause: not planned
    with Session(engine) as s:
        assert [a.status for a in s.exec(select(Activity))] == ["cancelled"]

    resumed = djbot("schedule", "resume", number)
    assert resumed.output.strip() == "已恢复 城关支部 政治夜学（每周三、周五 19:30）。"
    assert djbot("schedule", "resume", number).exit_code == 2  # not paused any more
    deleted = djbot("schedule", "delete", number)
    assert deleted.exit_code == 0, deleted.output
    assert deleted.output.splitlines()[0] == (
        "已删除 城关支部 政治夜学（每周三、周五 19:30），不再自动创建活动和提醒。"
        "已经举行的活动和积分不受影响。")
    assert "（停用）" in djbot("schedule", "list").output
    with Session(engine) as s:
        actions = [(a.actor, a.action) for a in s.exec(
            select(AuditEntry).where(AuditEntry.action.startswith("schedule.")))]
    assert actions == [("cli", "schedule.set"), ("cli", "schedule.pause"),
                       ("cli", "schedule.resume"), ("cli", "schedule.delete")]


def test_the_shell_refuses_a_schedule_it_cannot_find_or_a_day_gone_by(djbot, engine):
    seed(engine, lambda s: make_branch(s, "城关支部"))
    djbot("schedule", "set", "--branch", "城关支部", "夜学", "每周三 19:30")
    for args in (("delete", "99"), ("pause", "99", "--until", "2026-12-31"),
                 ("resume", "99")):
        result = djbot("schedule", *args)
        assert result.exit_code == 2 and "没有编号为 #99 的在用日程" in result.output, args
    gone = djbot("schedule", "pause", "1", "--until", "2026-11-01")
    assert gone.exit_code == 2 and "已经过去了" in gone.output
    bad = djbot("schedule", "pause", "1", "--until", "下周")
    assert bad.exit_code == 2 and "应写成 2027-01-15" in bad.output
    forever = djbot("schedule", "pause", "1", "--until", "2099-01-01")
    assert forever.exit_code == 2 and "暂停最长半年（至 2027-05-25）" in forever.output
    assert "djbot schedule delete 1" in forever.output
    with Session(engine) as s:
        assert s.exec(select(Schedule)).one().paused_until is None
