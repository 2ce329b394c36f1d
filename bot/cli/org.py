"""Organisation commands: import-roster, members, bind, audit, demo, branch close."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Optional

import typer


def _runtime():
    # Looked up through bot.cli at call time, so tests can hand in their own runtime.
    from bot import cli

    return cli.get_runtime()


SHOWN_PROBLEMS = 20  # a bad roster's problems printed before "另有 N 处"


def import_roster_command(
    file: Annotated[Path, typer.Argument(help="名册文件：.csv（UTF-8 或 GBK）或 .xlsx", exists=True,
                                         dir_okay=False, readable=True)],
    full: Annotated[bool, typer.Option(
        "--full/--partial",
        help="--full（默认）：名册里没有的人设为停用；--partial：只新增和更新，空着的格子不改动",
    )] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run",
                                          help="只预览：列出将新增、更新、停用的人，不改动任何数据")] = False,
) -> None:
    """导入党员名册（支部,姓名,角色,企业微信ID,钉钉ID[,编号,党小组,临时,结束日期]）。"""
    from sqlmodel import Session

    from bot.scheduling.moves import hand_over_from_former
    from bot.scheduling.plan import QuietHours
    from storage.roster import RosterError, import_roster

    runtime = _runtime()
    mode = "完整导入" if full else "部分导入"
    now = runtime.clock.now()
    with Session(runtime.engine, expire_on_commit=False) as session:
        try:
            result = import_roster(session, file, full=full, now=now, tz=runtime.settings.tz)
        except RosterError as exc:
            session.rollback()
            typer.echo(f"名册有问题，没有导入任何数据（{file.name}）：", err=True)
            lines = exc.lines()
            # A column wrong from top to bottom is one mistake: a screenful of it, not a
            # line for each of 5,000 rows that pushes the first ones out of sight.
            for line in lines[:SHOWN_PROBLEMS]:
                typer.echo(f"  {line}", err=True)
            if len(lines) > SHOWN_PROBLEMS:
                typer.echo(f"  ……另有 {len(lines) - SHOWN_PROBLEMS} 处问题没有列出"
                           f"（共 {len(lines)} 处）：改正后重新导入会列出其余的", err=True)
            raise typer.Exit(1) from None
        # A dry run applies the file inside the transaction, reads what changed, and
        # rolls it all back: the preview is exactly what the import would do.
        told: list[bool] = []
        if dry_run:
            session.rollback()
        else:
            told = tell_of_moves(session, result.leave_changes, runtime, now)
            # Requests for a leave decision put to one who no longer decides (off the
            # roster, another role or branch) go to whoever decides now.
            hand_over_from_former(session, settings=runtime.settings, now=now,
                                  not_before=QuietHours.of(runtime.settings).held_until(
                                      now.astimezone(runtime.settings.tz)))
            session.commit()
    if dry_run:
        typer.echo(f"预览（--dry-run，{mode}）：没有改动任何数据。如果导入，将会：{result.summary()}。")
    else:
        typer.echo(f"导入完成（{mode}）：{result.summary()}。")
    for line in result.details():
        typer.echo(f"  {line}")
    if any(told):
        typer.echo(f"  撤回请假或改由新支部审批的 {sum(told)} 人已私信告知（服务运行时发出）。")
    if dry_run:
        typer.echo("确认无误后，去掉 --dry-run 再运行一次即可导入。")


def tell_of_moves(session, changes, runtime, now) -> list[bool]:
    """Whose leave a change of place withdrew (storage.leave.Changed) hears it
    privately, by the outbox: the service sends it, in quiet hours when they end. The
    command prints it for the operator. Returns, for each, whether they were written to."""
    from bot.scheduling.moves import tell_of_move
    from bot.scheduling.plan import QuietHours

    tz = runtime.settings.tz
    quiet = QuietHours.of(runtime.settings).held_until(now.astimezone(tz))
    return [tell_of_move(session, changed, settings=runtime.settings, now=now, not_before=quiet)
            for changed in changes]


def members_command(
    branch: Annotated[Optional[str], typer.Option("--branch", help="只列出这个支部")] = None,
    include_inactive: Annotated[bool, typer.Option("--all", help="包括已停用的人")] = False,
) -> None:
    """列出名册中的人：支部、姓名、角色、编号、账号。"""
    from storage import org
    from storage.db import session_scope
    from storage.models import ROLE_LABELS, Role

    runtime = _runtime()
    with session_scope(runtime.engine) as session:
        branch_id = None
        if branch is not None:
            found = org.branch_by_name(session, name=branch)
            if found is None:
                names = "、".join(b.name for b in org.branches(session))
                typer.echo(f"没有支部「{branch}」。现有支部：{names}", err=True)
                raise typer.Exit(1)
            branch_id = found.id
        names_by_id = {b.id: b.name for b in org.branches(session, include_inactive=True)}
        people = org.members(session, branch_id=branch_id, include_inactive=include_inactive)
        for m in people:
            identities = org.identities_of(session, member_id=m.id)  # type: ignore[arg-type]
            ids = " ".join(f"{i.platform}:{i.user_id}" for i in identities)
            cells = [names_by_id.get(m.branch_id, "局机关"), m.name,
                     ROLE_LABELS[Role(m.role)], m.staff_no or "-", ids]
            if not m.active:
                cells.append("（已停用）")
            typer.echo("  ".join(cells))
        typer.echo(f"共 {len(people)} 人")


def bind_command(
    platform: Annotated[str, typer.Option("--platform", help="wecom 或 dingtalk")],
    chat: Annotated[str, typer.Option("--chat", help="群聊 ID")],
    branch: Annotated[Optional[str], typer.Option("--branch", help="支部名称")] = None,
    leaders: Annotated[bool, typer.Option("--leaders", help="绑定为领导群")] = False,
) -> None:
    """把一个群绑定到支部（--branch）或绑定为领导群（--leaders）。"""
    from storage import org
    from storage.db import session_scope
    from storage.models import AuditEntry, Platform

    if platform not in {p.value for p in Platform}:
        typer.echo("--platform 只能是 wecom 或 dingtalk", err=True)
        raise typer.Exit(2)
    if (branch is None) == (not leaders):
        typer.echo("请给出 --branch 支部名称 或 --leaders 其中之一", err=True)
        raise typer.Exit(2)
    runtime = _runtime()
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        found = None
        if branch is not None:
            found = org.branch_by_name(session, name=branch)
            if found is None:
                names = "、".join(b.name for b in org.branches(session)) or "（无，请先导入名册）"
                typer.echo(f"没有支部「{branch}」。现有支部：{names}", err=True)
                raise typer.Exit(1)
        before = org.binding_for(session, platform=platform, chat_id=chat)
        previous = org.describe_binding(session, before) if before else None
        target = found.name if found else "领导群"
        if before is not None and before.is_leaders == leaders and before.branch_id == (
                found.id if found else None):
            typer.echo(f"{platform} 群 {chat} 已经绑定到{org.describe_binding(session, before)}。")
            return
        org.bind(session, platform=platform, chat_id=chat, branch_id=found.id if found else None,
                 leaders=leaders, by=None, now=now)
        session.add(AuditEntry(at=now, actor="cli", action="bind", target=target,
                               detail={"branch_id": found.id if found else None,
                                       "leaders": leaders, "previous": previous},
                               platform=platform, chat_id=chat))
    moved = f"（原为{previous}）" if previous else ""
    typer.echo(f"已将 {platform} 群 {chat} 绑定到{'领导群' if leaders else f'「{target}」'}{moved}。")


def audit_command(
    since: Annotated[Optional[str],
                     typer.Option("--since", help="从这天起（YYYY-MM-DD，本地日期）")] = None,
    action: Annotated[Optional[str],
                      typer.Option("--action", help="只看这类操作，如 bind、role.change、leave")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多显示几条")] = 50,
) -> None:
    """列出操作记录（最新的在前）：时间、操作人、操作、对象、群。"""
    from storage import org
    from storage.db import session_scope

    runtime = _runtime()
    tz = runtime.settings.tz
    start = None
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), time(0), tzinfo=tz)
        except ValueError:
            typer.echo(f"--since 应为 YYYY-MM-DD 格式的日期，收到「{since}」", err=True)
            raise typer.Exit(2) from None
    with session_scope(runtime.engine) as session:
        entries = org.audit_entries(session, since=start, action=action, limit=limit)
    if not entries:
        typer.echo("没有符合条件的操作记录。")
        return
    for e in entries:
        where = f"{e.platform}:{e.chat_id}" if e.chat_id else "-"
        detail = json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else ""
        typer.echo("  ".join([f"{e.at.astimezone(tz):%Y-%m-%d %H:%M}", e.actor, e.action,
                              e.target or "-", where, detail]).rstrip())


def demo_command() -> None:
    """载入演示党委（3 个支部 30 人、领导群、8 周历史、各支部日程），并打印试用步骤。再次运行会清空演示数据重新开始。"""
    from bot import cli
    from bot.demo import load_demo, walkthrough

    settings = cli.load_settings()
    cli.database_engine(settings).dispose()  # an unusable URL: one line, before looking in
    started_over = _start_demo_over(settings.database_url)
    runtime = cli.get_runtime(settings, default_log_level="ERROR")  # the walkthrough, no log lines
    result = load_demo(runtime)
    # The URL as the operator would show it to someone else: never its password.
    shown = cli.shown_url(runtime.settings.database_url)
    typer.echo(f"数据库：{shown}")
    if started_over:
        typer.echo("已清空上次的演示数据，演示重新开始。")
    typer.echo(f"名册：{result.roster.summary()}；新绑定的群 {result.chats_bound} 个；"
               f"重放了 {result.messages} 条历史消息（最近 8 周）。")
    typer.echo(walkthrough(runtime))


def _start_demo_over(url: str) -> bool:
    """Remove an earlier demo's SQLite file so the demo starts clean; True if one was removed.

    Only a file that holds nothing but the demo bureau is removed. A database with anyone
    not on the demo roster is real, whatever its kind (PostgreSQL, or SQLite by any URL),
    and the demo refuses to touch it: its made-up people and history would join the real
    bureau's figures.
    """
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session, select

    from bot.demo import demo_staff_numbers
    from storage import db
    from storage.models import Member

    parsed = make_url(url)
    path = (Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database
            and parsed.database != ":memory:" and not parsed.database.startswith("file:")
            else None)
    if path is not None and not path.exists():
        return False
    engine = db.make_engine(url)
    try:
        if not inspect(engine).has_table("member"):
            return False
        with Session(engine) as session:
            numbers = session.exec(select(Member.staff_no)).all()
    except SQLAlchemyError:
        return False  # unreachable: the database check that follows says so in one line
    finally:
        engine.dispose()
    if not numbers:
        return False
    strangers = [n for n in numbers if n not in demo_staff_numbers()]
    if strangers:
        from bot.cli import shown_url

        where = path or shown_url(url)
        typer.echo(f"数据库 {where} 里有不属于演示党委的人（{len(strangers)} 人），不会清空它，"
                   "也不会加入演示数据。请用 DJBOT_DATABASE_URL=sqlite:///demo.db 指向另一个文件"
                   "再运行 djbot demo。", err=True)
        raise typer.Exit(1)
    if path is None:
        return False  # only the demo bureau in it: loaded again over itself
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    return True


branch_app = typer.Typer(help="支部：撤销已没有在册人员的支部（机构调整后）。", no_args_is_help=True)


@branch_app.command("close")
def close_branch_command(
    name: Annotated[str, typer.Argument(help="支部名称（与 djbot members 显示的一致）")],
    yes: Annotated[bool, typer.Option("--yes", help="不再确认")] = False,
) -> None:
    """撤销一个已没有在册人员的支部：从今天起不再举行活动、不再提醒，不再参加红黄蓝榜，
    调研目标按撤销前的月份计；历史活动、考勤和积分保留。临时党支部到结束日期自动撤销，不用此命令。"""
    from sqlmodel import Session, func, select

    from bot.scheduling.called_off import CalledOff, tell_cancelled
    from storage import temporary
    from storage.models import AuditEntry, Branch, Member

    runtime = _runtime()
    now = runtime.clock.now()
    with Session(runtime.engine) as session:
        branch = session.exec(select(Branch).where(Branch.name == name.strip())).first()
        if branch is None or not branch.active:
            closed = (f"：它已于 {branch.ends_on.isoformat()} 撤销，如撤销有误，在名册里把人员"
                      "填回该支部后导入即重新启用" if branch is not None and branch.ends_on else
                      "（djbot members 列出现有支部）")
            typer.echo(f"没有在用的支部「{name}」{closed}", err=True)
            raise typer.Exit(2)
        if branch.temporary:
            typer.echo(f"「{branch.name}」是临时党支部：到结束日期自动撤销；提前结束请在名册里改结束日期",
                       err=True)
            raise typer.Exit(2)
        people = session.exec(select(func.count()).select_from(Member).where(
            Member.branch_id == branch.id, Member.active == True)).one()  # noqa: E712
        if people:
            # Closing it with people on its roster would leave them expected nowhere.
            typer.echo(f"「{branch.name}」还有 {people} 名在册人员：请先用名册把他们调到新支部"
                       "（djbot import-roster），再撤销", err=True)
            raise typer.Exit(2)
        # Named as their 原支部, or the branch they came from when the roster names none.
        away = temporary.awaited(session).get(branch.id, [])  # type: ignore[arg-type]
        if away:
            # Their temporary branch's end would send them into a closed branch, or (the
            # roster naming no 原支部) into none: expected nowhere, in no ranking.
            names = "、".join(f"{person}（{temp}）" for person, temp in away)
            typer.echo(f"「{branch.name}」是 {names} 的原支部，临时党支部结束后会回到这里："
                       "请先在名册的「原支部」列改为他们要回的支部并导入，再撤销", err=True)
            raise typer.Exit(2)
        if not yes:
            typer.confirm(f"撤销支部「{branch.name}」？", abort=True)
        closed = temporary.close(session, branch=branch, now=now, tz=runtime.settings.tz)
        # A group told of one of its activities hears it is off (支部已撤销), as ever.
        groups, _ = tell_cancelled(CalledOff(session, runtime.settings, now),
                                   closed.withdrawn.cancelled)
        session.add(AuditEntry(at=now, actor="cli", action="branch.close", target=branch.name,
                               detail={"activities_removed": closed.withdrawn.removed,
                                       "activities_cancelled": [
                                           a.id for a in closed.withdrawn.cancelled]}))
        session.commit()
        taken = closed.withdrawn.removed + len(closed.withdrawn.cancelled)
    typer.echo(f"已撤销支部「{name.strip()}」：从今天起不再举行活动、不再提醒，不再参加红黄蓝榜；"
               f"历史记录保留。" + (f"已撤下已安排的 {taken} 次活动。" if taken else "")
               + (f"已通知收到过活动通知的 {groups} 个群。" if groups else "")
               + "如撤销有误：在名册里把人员填回该支部后导入，即重新启用。")


def register(app: typer.Typer) -> None:
    app.add_typer(branch_app, name="branch")
    app.command("import-roster")(import_roster_command)
    app.command("members")(members_command)
    app.command("bind")(bind_command)
    app.command("audit")(audit_command)
    app.command("demo")(demo_command)
