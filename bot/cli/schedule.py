"""`djbot schedule …`, `djbot tick` and `djbot outbox …`: schedules, a fast-forward clock
to watch reminders go out, and the outbox with its dead letters."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Optional

import typer

from bot.scheduling.rules import WEEKDAY_NAMES, RuleError

schedule_app = typer.Typer(help="固定日程：预览规则、查看、设置、删除、暂停和恢复。", no_args_is_help=True)
outbox_app = typer.Typer(help="发件箱：djbot 主动发出的消息及其状态。", invoke_without_command=True)

KindOption = Annotated[str, typer.Option("--kind", help="活动类型，如 夜学、主题党日")]


def _runtime(**kwargs):
    # Looked up through bot.cli at call time, so tests can hand in their own runtime.
    from bot import cli

    return cli.get_runtime(**kwargs)


def _kind(word: str):
    """The activity type, by the words chat takes for it (夜学, 中心组学习 …)."""
    from bot.domain.attendance import parse_activity_type, type_list

    kind = parse_activity_type(word)
    if kind is None:
        typer.echo(f"未知的活动类型「{word}」，可选：{type_list()}（政治夜学也可写夜学）", err=True)
        raise typer.Exit(2)
    return kind


def _spec(kind_word: str, text: str):
    from handlers.schedule import parse_spec

    kind = _kind(kind_word)
    try:
        return kind, parse_spec(kind, text)
    except RuleError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _parse_when(text: str, tz, option: str, now: datetime | None = None) -> datetime:
    """2026-12-01, 2026-12-01T09:00, or from now: +2d, +12h, +90m."""
    if now is not None and (relative := re.fullmatch(r"\+(\d+)([dhm])", text.strip())):
        unit = {"d": "days", "h": "hours", "m": "minutes"}[relative.group(2)]
        return now + timedelta(**{unit: int(relative.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        typer.echo(f"{option} 应写成 2026-12-01、2026-12-01T09:00 或 +2d（从现在起两天），"
                   f"收到「{text}」", err=True)
        raise typer.Exit(2) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


@schedule_app.command("preview")
def preview(
    rule: Annotated[str, typer.Argument(help="规则，如「每月第一个周五 14:30」（含空格请加引号）")],
    kind: KindOption = "主题党日",
    start: Annotated[Optional[str], typer.Option("--from", help="从哪天起，YYYY-MM-DD；默认今天")] = None,
    count: Annotated[int, typer.Option("--count", min=1, max=200, help="列出几次")] = 10,
) -> None:
    """按调度器的算法列出接下来的几次活动（已计入节假日的跳过或顺延）。"""
    from bot.cli import load_settings
    from bot.scheduling.holidays import default_calendar, occurrences

    tz = load_settings().tz
    activity_type, spec = _spec(kind, rule)
    try:
        first = date.fromisoformat(start) if start else datetime.now(tz).date()
    except ValueError:
        typer.echo(f"--from 应写成 2027-01-15，收到「{start}」", err=True)
        raise typer.Exit(2) from None
    calendar = default_calendar()
    policy = "遇节假日顺延" if spec.policy == "move" else "遇节假日不举行"
    typer.echo(f"{activity_type.value}：{spec.rule.describe()}，{spec.minutes}分钟，{policy}")
    shown = 0
    years: set[int] = set()
    last = first
    while shown < count and last < first + timedelta(days=3660):
        window_end = last + timedelta(days=62)
        for occ in occurrences(spec.rule, spec.policy, calendar, last, window_end, tz):
            if shown >= count:
                break
            when = occ.starts_at or occ.nominal
            line = f"{when:%Y-%m-%d} 周{WEEKDAY_NAMES[when.weekday()]} {when:%H:%M}"
            if occ.moved:
                line += f"  （原定 {occ.nominal.month}月{occ.nominal.day}日，{occ.note}）"
            elif occ.note:
                line += f"  ✗ {occ.note}"
            typer.echo(line)
            years.add(occ.nominal.year)
            shown += 1
        last = window_end + timedelta(days=1)
    for year in sorted(years):
        if not calendar.covers(year):
            typer.echo(f"注意：节假日数据不含 {year} 年，该年只按周末和元旦、劳动节、国庆的固定日期计算（请升级 chinesecalendar）。")


@schedule_app.command("list")
def list_schedules() -> None:
    """列出全部固定日程。"""
    from storage.db import session_scope
    from storage.schedules import all_schedules

    runtime = _runtime()
    with session_scope(runtime.engine) as session:
        rows = all_schedules(session)
    if not rows:
        typer.echo("还没有固定日程。用 djbot schedule set 或在群里「设置 主题党日 每月15日 14:30」。")
    for schedule, branch in rows:
        state = "" if schedule.active else "（停用）"
        if schedule.active and schedule.paused_until is not None \
                and schedule.paused_until >= runtime.clock.now().astimezone(
                    runtime.settings.tz).date():
            state = f"（暂停至 {schedule.paused_until:%Y-%m-%d}）"
        policy = "顺延" if schedule.holiday_policy == "move" else "跳过"
        typer.echo(f"#{schedule.id} {branch or '全局'} {schedule.activity_type}：{schedule.rule}，"
                   f"{schedule.duration_minutes}分钟，节假日{policy}{state}")


@schedule_app.command("set")
def set_schedule(
    kind: Annotated[str, typer.Argument(help="活动类型，如 夜学、主题党日")],
    rule: Annotated[str, typer.Argument(help="规则，如「每周三 19:30」")],
    branch: Annotated[Optional[str], typer.Option("--branch", help="支部名称")] = None,
    bureau: Annotated[bool, typer.Option(
        "--bureau", help="党委自己的日程（中心组学习、第一议题），应到党委委员")] = False,
    duration: Annotated[Optional[str], typer.Option("--duration", help="时长，如 2小时、90分钟")] = None,
) -> None:
    """为某支部（--branch）或党委（--bureau）设置（或修改）一项固定日程。原日程已安排、
    新日程不再举行的活动撤下，有关的待发消息撤回；已通知过或已有人请假的活动取消，
    并像群里「设置」一样通知收到过活动通知的群和请过假的人。新日程当天仍举行、只是
    时间变了的，请假随之改到新时间。"""
    from sqlmodel import select

    from bot.domain.attendance import BUREAU_SCOPE, COMMITTEE_TYPES
    from bot.scheduling.called_off import CalledOff, tell_cancelled
    from bot.scheduling.holidays import default_calendar, holds, rule_holds
    from bot.scheduling.retimed import carry_leave, moved_to
    from storage.db import session_scope
    from storage.models import AuditEntry, Branch
    from storage.schedules import save_schedule

    if (branch is None) == (not bureau):
        typer.echo("请用 --branch 支部名称 指明支部，或用 --bureau 设置党委自己的日程（二选一）。",
                   err=True)
        raise typer.Exit(2)
    activity_type, spec = _spec(kind, f"{rule} {duration}" if duration else rule)
    if bureau and activity_type not in COMMITTEE_TYPES:
        # As in chat: the bureau's own schedules are the committee's studies; a bureau-wide
        # 主题党日 is opened by hand and confirmed (docs/points.md).
        typer.echo(f"党委自己的固定日程只有{'、'.join(t.value for t in COMMITTEE_TYPES)}；"
                   f"{activity_type.value}请为各支部分别设置（--branch）。", err=True)
        raise typer.Exit(2)
    scope = branch or BUREAU_SCOPE
    runtime = _runtime()
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        found = (session.exec(select(Branch).where(Branch.name == branch)).first()
                 if branch is not None else None)
        if branch is not None and found is None:
            typer.echo(f"没有名为「{branch}」的支部", err=True)
            raise typer.Exit(2)
        saved, replaced = save_schedule(session, branch_id=found.id if found else None,
                                        kind=activity_type.value,
                                        rule=spec.rule.describe(), duration_minutes=spec.minutes,
                                        policy=spec.policy, now=now,
                                        holds=holds(spec.rule, spec.policy, default_calendar(),
                                                    runtime.settings.tz),
                                        held=rule_holds(runtime.settings.tz))
        off = CalledOff(session, runtime.settings, now)
        # Still held that day at another hour: the leave asked for it stands at the new hour.
        retimed = carry_leave(off, saved, replaced.cancelled)
        cancelled = [a for a in replaced.cancelled if a.id not in retimed]
        groups, members = tell_cancelled(off, cancelled)
        moved = [moved_to(off, a, retimed[a.id]) for a in replaced.cancelled  # type: ignore[index]
                 if a.id in retimed]
        moved_groups, moved_members = tell_cancelled(
            off, [a for a in replaced.cancelled if a.id in retimed], retimed)
        carried = sum(r.carried for r in retimed.values())
        withheld = [f"#{row.id} {row.kind} → {row.platform} {row.target_kind} {row.target}"
                    for row in replaced.withheld]
        session.add(AuditEntry(at=now, actor="cli", action="schedule.set", target=scope,
                               detail={"kind": activity_type.value, "rule": saved.rule,
                                       "removed": replaced.removed,
                                       "cancelled": len(cancelled),
                                       "moved": [r.to.id for r in retimed.values()],
                                       "withheld": [row.id for row in replaced.withheld],
                                       "groups_told": groups, "members_told": members}))
    typer.echo(f"已设置 {scope} {activity_type.value}：{saved.rule}，{saved.duration_minutes}分钟")
    _echo_taken(replaced.removed, cancelled, withheld, groups, members, source="按原日程",
                moved=moved, carried=carried, moved_told=(moved_groups, moved_members))


def _echo_taken(removed: int, cancelled: list, withheld: list[str], groups: int, members: int,
                *, source: str, moved: list[str] | None = None, carried: int = 0,
                moved_told: tuple[int, int] = (0, 0)) -> None:
    """What a schedule change took away (or moved to another hour of its day), as chat's
    replies say it, and whom it told."""
    if removed:
        typer.echo(f"{source}已安排、无人回应的 {removed} 次活动已撤下。")
    if cancelled:
        typer.echo(f"{source}已安排、已通知过或已有人请假的 {len(cancelled)} 次活动已取消，"
                   "不再提醒，也不计出勤和缺席。")
    if moved:
        typer.echo("、".join(moved) + (f"，{carried} 人的请假随之改到新时间" if carried else "")
                   + "。")
    if withheld:
        typer.echo(f"已撤回尚未发出的消息 {len(withheld)} 条（djbot outbox 中为 withdrawn）：")
        for line in withheld:
            typer.echo(f"  {line}")
    if cancelled:
        typer.echo(f"已通知收到过活动通知的群 {groups} 个，已私信告知请过假的 {members} 人。")
    if moved:
        typer.echo(f"改时间已告知收到过活动通知的群 {moved_told[0]} 个、"
                   f"请过假的 {moved_told[1]} 人。")


def _schedule_by_id(session, schedule_id: int):
    """The active schedule #id (as `djbot schedule list` numbers them) and whose it is."""
    from bot.domain.attendance import BUREAU_SCOPE
    from storage.models import Branch, Schedule

    schedule = session.get(Schedule, schedule_id)
    if schedule is None or not schedule.active:
        typer.echo(f"没有编号为 #{schedule_id} 的在用日程；djbot schedule list 列出全部日程。",
                   err=True)
        raise typer.Exit(2)
    branch = session.get(Branch, schedule.branch_id) if schedule.branch_id else None
    return schedule, branch.name if branch else BUREAU_SCOPE


def _take_away(schedule_id: int, action: str, change) -> tuple:
    """Delete or pause schedule #id from the shell as 删除日程 and 暂停日程 do in chat:
    `change(session, schedule, now)` takes its activities away; the groups told of them
    and whoever asked leave hear it, and the audit log records it (actor cli)."""
    from bot.scheduling.called_off import CalledOff, tell_cancelled
    from storage.db import session_scope
    from storage.models import AuditEntry

    runtime = _runtime()
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        schedule, scope = _schedule_by_id(session, schedule_id)
        said = f"{scope} {schedule.activity_type}（{schedule.rule}）"
        taken, detail = change(session, schedule, now)
        groups, members = tell_cancelled(CalledOff(session, runtime.settings, now),
                                         taken.cancelled)
        withheld = [f"#{row.id} {row.kind} → {row.platform} {row.target_kind} {row.target}"
                    for row in taken.withheld]
        session.add(AuditEntry(at=now, actor="cli", action=action, target=scope,
                               detail={"schedule_id": schedule.id,
                                       "kind": schedule.activity_type, "rule": schedule.rule,
                                       **detail, "removed": taken.removed,
                                       "cancelled": len(taken.cancelled),
                                       "withheld": [row.id for row in taken.withheld],
                                       "groups_told": groups, "members_told": members}))
    return said, taken, withheld, groups, members


@schedule_app.command("delete")
def delete_schedule(
    schedule_id: Annotated[int, typer.Argument(help="日程编号（djbot schedule list 中的 #）")],
) -> None:
    """删除一项固定日程（同群里「删除日程」）：不再自动创建活动和提醒；尚未开始的活动
    撤下或取消，并通知收到过活动通知的群和请过假的人。已经举行的活动和积分不受影响。"""
    from storage import corrections

    def change(session, schedule, now):
        return corrections.delete_schedule(session, schedule=schedule, by=None,
                                           reason=f"删除日程 {schedule.activity_type}",
                                           now=now), {}
    said, taken, withheld, groups, members = _take_away(schedule_id, "schedule.delete", change)
    typer.echo(f"已删除 {said}，不再自动创建活动和提醒。已经举行的活动和积分不受影响。")
    _echo_taken(taken.removed, taken.cancelled, withheld, groups, members, source="")


@schedule_app.command("pause")
def pause_schedule(
    schedule_id: Annotated[int, typer.Argument(help="日程编号（djbot schedule list 中的 #）")],
    until: Annotated[str, typer.Option("--until", help="暂停到哪天（含），如 2027-01-15")],
) -> None:
    """暂停一项固定日程到某天（含，同群里「暂停日程」）：这期间不举行、不提醒，也不计缺席；
    已安排的撤下或取消，并通知收到过活动通知的群和请过假的人。"""
    from storage import corrections

    runtime = _runtime()
    try:
        last = date.fromisoformat(until)
    except ValueError:
        typer.echo(f"--until 应写成 2027-01-15，收到「{until}」", err=True)
        raise typer.Exit(2) from None
    today = runtime.clock.now().astimezone(runtime.settings.tz).date()
    if last < today:
        typer.echo(f"{last:%Y-%m-%d} 已经过去了", err=True)
        raise typer.Exit(2)
    if last > (latest := today + corrections.LONGEST_PAUSE):
        typer.echo(f"暂停最长半年（至 {latest:%Y-%m-%d}）；不再举行请用 djbot schedule delete "
                   f"{schedule_id}", err=True)
        raise typer.Exit(2)

    def change(session, schedule, now):
        return corrections.pause_schedule(session, schedule=schedule, until=last, by=None,
                                          reason=f"暂停日程 {schedule.activity_type}", now=now,
                                          tz=runtime.settings.tz), {"until": last.isoformat()}
    said, taken, withheld, groups, members = _take_away(schedule_id, "schedule.pause", change)
    typer.echo(f"已暂停 {said}，至 {last:%Y-%m-%d}（含）：这期间不举行、不提醒，也不计缺席。"
               f"djbot schedule resume {schedule_id} 可提前恢复。")
    _echo_taken(taken.removed, taken.cancelled, withheld, groups, members, source="")


@schedule_app.command("resume")
def resume_schedule(
    schedule_id: Annotated[int, typer.Argument(help="日程编号（djbot schedule list 中的 #）")],
) -> None:
    """恢复暂停的固定日程（同群里「恢复日程」）。"""
    from storage.db import session_scope
    from storage.models import AuditEntry

    runtime = _runtime()
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        schedule, scope = _schedule_by_id(session, schedule_id)
        if schedule.paused_until is None:
            typer.echo(f"{scope} {schedule.activity_type}没有暂停。", err=True)
            raise typer.Exit(2)
        schedule.paused_until = None
        schedule.updated_at = now
        session.add(schedule)
        session.add(AuditEntry(at=now, actor="cli", action="schedule.resume", target=scope,
                               detail={"schedule_id": schedule.id,
                                       "kind": schedule.activity_type}))
        said = f"{scope} {schedule.activity_type}（{schedule.rule}）"
    typer.echo(f"已恢复 {said}。")


def _simulation_copy(engine, directory: str):
    """An engine on a copy of a SQLite database (None for any other database)."""
    import sqlite3
    from pathlib import Path

    from storage import db

    if engine.dialect.name != "sqlite":
        return None
    target = Path(directory) / "djbot-simulation.db"
    raw = engine.raw_connection()
    try:
        with sqlite3.connect(target) as copy:
            raw.driver_connection.backup(copy)  # consistent even while djbot is writing
    finally:
        raw.close()
    return db.make_engine(f"sqlite:///{target}")


def tick(
    until: Annotated[str, typer.Option("--until", help="快进到何时，如 2026-12-07T09:00，或 +2d（从现在起两天）")],
    start: Annotated[Optional[str], typer.Option("--from", help="从何时开始；默认现在")] = None,
    step: Annotated[int, typer.Option("--step", min=1, help="每步几分钟")] = 5,
    commit: Annotated[bool, typer.Option("--commit", help="真的写入数据库（默认只在副本上模拟）")] = False,
) -> None:
    """用手动时钟快进，逐步运行调度器，打印将要发出的每条消息。默认在数据库副本上模拟，
    真实数据不变；加 --commit 才写入真实数据库。"""
    import tempfile

    # As in `djbot chat`, the output is what would be sent: log lines (a year without holiday
    # data, which doctor says in Chinese) stay out of it unless DJBOT_LOG_LEVEL asks for them.
    runtime = _runtime(default_log_level="ERROR")
    _span(runtime, until, start, step)  # refuse bad options before copying anything
    if commit:
        typer.echo("--commit：写入真实数据库，创建的活动和提醒会保留。")
        _tick(runtime, runtime.engine, until, start, step)
        return
    with tempfile.TemporaryDirectory(prefix="djbot-tick-") as directory:
        engine = _simulation_copy(runtime.engine, directory)
        if engine is None:
            typer.echo("模拟要在数据库副本上运行，自动复制只支持 SQLite。PostgreSQL 上可先 "
                       "djbot backup，再以 DJBOT_DATABASE_URL=sqlite:///模拟.db 运行 djbot restore "
                       "和 djbot tick；确要写入真实数据库时加 --commit。", err=True)
            raise typer.Exit(2)
        typer.echo("模拟：在数据库副本上运行，真实数据不变（加 --commit 才写入）。")
        try:
            _tick(runtime, engine, until, start, step)
        finally:
            engine.dispose()


def _span(runtime, until: str, start: str | None, step: int) -> tuple[datetime, datetime]:
    tz = runtime.settings.tz
    first = _parse_when(start, tz, "--from") if start else runtime.clock.now()
    last = _parse_when(until, tz, "--until", now=first)
    if last <= first:
        typer.echo("--until 应晚于开始时间", err=True)
        raise typer.Exit(2)
    if step > runtime.settings.catchup_grace_minutes:
        # A gap longer than the grace looks like downtime to the scheduler, which would
        # then skip reminders instead of showing them.
        typer.echo(f"--step 不能超过补发宽限（{runtime.settings.catchup_grace_minutes} 分钟），"
                   "否则步与步之间到期的提醒会被当作停机错过", err=True)
        raise typer.Exit(2)
    return first, last


def _tick(runtime, engine, until: str, start: str | None, step: int) -> None:
    from bot.clock import ManualClock
    from bot.outbox import OutboxWorker, OutputClosed, console_senders, raise_closed
    from bot.scheduling.plan import QuietHours
    from bot.scheduling.tick import Ticker

    tz = runtime.settings.tz
    first, last = _span(runtime, until, start, step)
    clock = ManualClock(first)
    ticker = Ticker(engine, runtime.settings, clock, runtime.rules)
    ticker.last = first  # a running service: nothing before --from counts as missed
    worker = OutboxWorker(engine, clock, console_senders(typer.echo, clock, tz),
                          quiet=QuietHours.of(runtime.settings), tz=tz)
    typer.echo(f"从 {first.astimezone(tz):%Y-%m-%d %H:%M} 快进到 {last.astimezone(tz):%Y-%m-%d %H:%M}，"
               f"每步 {step} 分钟")
    loop = asyncio.new_event_loop()
    delivered = 0
    try:
        while clock.now() < last:
            clock.set(min(last, clock.now() + timedelta(minutes=step)))
            ticker.tick()
            delivered += loop.run_until_complete(worker.drain())
    except OutputClosed as closed:  # djbot tick … | head
        raise_closed(closed)
    finally:
        loop.close()
    typer.echo(f"共发出 {delivered} 条。")


@outbox_app.callback()
def outbox_list(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(
        "--status", help="pending、sending、sent、dead 或 withdrawn（撤回未发）")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多显示几条")] = 50,
) -> None:
    """列出发件箱中的消息（最新的在前）。"""
    if ctx.invoked_subcommand is not None:
        return
    from bot.outbox import list_messages
    from storage.db import session_scope

    if status not in (None, "pending", "sending", "sent", "dead", "withdrawn"):
        typer.echo("--status 只能是 pending、sending、sent、dead 或 withdrawn", err=True)
        raise typer.Exit(2)
    runtime = _runtime()
    tz = runtime.settings.tz
    with session_scope(runtime.engine) as session:
        rows = list_messages(session, status=status, limit=limit)
    if not rows:
        typer.echo("发件箱为空。")
    for row in rows:
        # A picture (the weekly push's) has no text: its title says what it is.
        shown = row.payload.get("text") or row.payload.get("title") or ""
        text = (shown.splitlines() or [""])[0][:40]
        error = ""
        if row.last_error:  # on a sent row: recipients the platform refused for good
            # On a withdrawn row: why it was taken back (已销假, 活动已取消), no error.
            label = {"sent": "注意", "withdrawn": "撤回"}.get(row.status, "错误")
            error = f" {label}：{row.last_error}"
        typer.echo(f"#{row.id} {row.status} {row.kind} → {row.platform} {row.target_kind} "
                   f"{row.target} 尝试{row.attempts}次 "
                   f"{row.next_attempt_at.astimezone(tz):%m-%d %H:%M}「{text}」{error}")


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[Optional[list[int]], typer.Argument(help="消息编号")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="重试全部死信")] = False,
) -> None:
    """让失败的消息重新投递（尝试次数清零）。"""
    from bot.outbox import DEAD, PENDING, retry
    from storage.db import session_scope

    if not ids and not all_dead:
        typer.echo("请给出消息编号，或使用 --all-dead", err=True)
        raise typer.Exit(2)
    from sqlmodel import select

    from storage.models import OutboxMessage

    runtime = _runtime()
    with session_scope(runtime.engine) as session:
        before = dict(session.exec(select(OutboxMessage.id, OutboxMessage.status)
                                   .where(OutboxMessage.id.in_(ids or []))).all())
        count = retry(session, ids=ids, all_dead=all_dead, now=runtime.clock.now())
    typer.echo(f"已重新排队 {count} 条。")
    # A mistyped number, or one already sent, was counted in the 0 without a word.
    left = [f"#{i} 不存在" if i not in before else f"#{i} 状态为 {before[i]}，不用重发"
            for i in dict.fromkeys(ids or []) if before.get(i) not in (DEAD, PENDING)]
    if left and not all_dead:
        typer.echo("未重发：" + "；".join(left), err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
    app.command("tick")(tick)
    app.add_typer(outbox_app, name="outbox")
