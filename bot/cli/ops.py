"""Operator's commands: `djbot backup`, `djbot restore`, `djbot export`, `djbot forget`,
`djbot repair-ledger`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def _engine(*, existing: bool = True):
    """The database's engine; `existing` (all but restore): one djbot has migrated."""
    from bot.cli import database_engine, load_settings

    return database_engine(load_settings(), existing=existing)


def _remove_sqlite_file(path: str) -> None:
    """A SQLite database file and the journal files SQLite keeps beside it."""
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        Path(name).unlink(missing_ok=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def backup(
        file: Annotated[Path, typer.Argument(help="备份文件路径（JSON lines）；- 为标准输出")],
    ) -> None:
        """把整个数据库导出为可移植的备份文件（SQLite 与 PostgreSQL 通用，运行中也可备份）。"""
        import io
        import sys

        from bot.cli import write_file
        from bot.clock import SystemClock
        from storage.backup import dump
        from storage.files import open_private

        engine = _engine()
        if str(file) == "-":
            # For a replica whose filesystem is read-only (deploy/k8s): the operator's shell
            # keeps the file (kubectl exec … djbot backup - > b.jsonl); the count goes aside.
            # UTF-8 whatever the locale, as restore reads it.
            out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
            counts_out = dump(engine, out, now=SystemClock().now())
            out.detach()  # flushed; sys.stdout keeps its buffer
            typer.echo(f"已备份 {sum(counts_out.values())} 行（{len(counts_out)} 张表）到标准输出",
                       err=True)
            return
        partial = file.with_name(file.name + ".partial")
        counts: dict[str, int] = {}

        def write() -> None:
            # Written aside and renamed, so a crash never leaves a half file under the real
            # name. A backup holds every member's data and the push secrets: the owner's eyes.
            with open_private(partial) as out:
                counts.update(dump(engine, out, now=SystemClock().now()))
            partial.replace(file)

        write_file(write, file, what="备份")
        typer.echo(f"已备份 {sum(counts.values())} 行（{len(counts)} 张表）到 {file}")

    @app.command()
    def restore(
        file: Annotated[Path, typer.Argument(help="djbot backup 生成的文件")],
    ) -> None:
        """把备份恢复到一个空数据库（可以是另一种数据库），然后升级到最新结构。"""
        from bot.checks import missing_sqlite_file
        from bot.cli import database_engine, load_settings
        from storage.backup import RestoreRefused, check, read_header
        from storage.backup import restore as load

        if not file.is_file():
            typer.echo(f"找不到备份文件 {file}", err=True)
            raise typer.Exit(2)
        settings = load_settings()
        engine = None
        try:
            # Read whole before the engine opens (a new SQLite file is made then): a file
            # refused leaves no empty database behind to be mistaken for a restored one.
            header = read_header(file)
            check(file, header)
            made = missing_sqlite_file(settings.database_url)
            engine = database_engine(settings)
            counts = load(engine, file, checked=header)
        except RestoreRefused as exc:
            if engine is not None and made:
                # Refused as the rows went in (a version 2 backup has no checksum to find a
                # bad row first): the file this restore made holds a schema and no rows.
                engine.dispose()
                _remove_sqlite_file(made)
            typer.echo(f"未恢复：{exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"已恢复 {sum(counts.values())} 行（{len(counts)} 张表）")

    @app.command()
    def export(
        who: Annotated[str, typer.Argument(help="党员的编号或姓名")],
        out: Annotated[Optional[Path], typer.Option("--out", help="写入文件；不给则打印")] = None,
    ) -> None:
        """导出一名党员本人的全部数据（名册信息、账号、考勤、学习、积分、评价），JSON 格式。"""
        from sqlmodel import Session

        from storage.privacy import export_member

        with Session(_engine()) as session:
            member = _find(session, who)
            text = json.dumps(export_member(session, member=member), ensure_ascii=False, indent=2)
        if out is None:
            typer.echo(text)
        else:
            from bot.cli import write_file
            from storage.files import open_private

            def write() -> None:
                with open_private(out) as fh:
                    fh.write(text + "\n")

            write_file(write, out, what="导出")
            typer.echo(f"已导出到 {out}")

    @app.command()
    def forget(
        who: Annotated[str, typer.Argument(help="党员的编号或姓名")],
        yes: Annotated[bool, typer.Option("--yes", help="不再确认")] = False,
    ) -> None:
        """注销一名党员：删除姓名、编号和平台账号，保留其积分流水（支部合计不变）。不可撤销。"""
        from bot import cli
        from bot.scheduling.moves import asks_held_by, hand_over
        from bot.scheduling.plan import QuietHours
        from storage.db import session_scope
        from storage.privacy import forget_member, pseudonym

        # Looked up at call time (tests hand in their own), on the database as it is.
        runtime = cli.get_runtime(engine=_engine(), migrate=False)
        now = runtime.clock.now()
        with session_scope(runtime.engine) as session:
            member = _find(session, who)
            if member.forgotten:
                typer.echo(f"{pseudonym(member.id)} 已经注销过了")
                return
            if not yes:
                typer.confirm(f"注销「{member.name}」（#{member.id}）？此操作不可撤销", abort=True)
            # Requests for a leave decision put to them go with their account: undecided,
            # they are put to whoever decides now (or the member told), or they lapse
            # into absences nobody was asked about.
            held = asks_held_by(session, member)
            forget_member(session, member=member, now=now)
            quiet = QuietHours.of(runtime.settings).held_until(now.astimezone(runtime.settings.tz))
            handed, told = hand_over(session, held, settings=runtime.settings, now=now,
                                     not_before=quiet)
            typer.echo(f"已注销，今后显示为「{pseudonym(member.id)}」；积分流水保留")
            if handed:
                typer.echo(f"  其待审批的请假 {handed} 件已改请现任书记、委员或领导审批。")
            if told:
                typer.echo(f"  另有 {told} 件无人可审批，已私信告知请假的同志。")


    @app.command("repair-ledger")
    def repair_ledger(
        apply: Annotated[bool, typer.Option("--apply", help="写入更正；不给则只列出")] = False,
    ) -> None:
        """查找旧版本销假留下的孤立积分流水（所属考勤记录已删除或已是他人的）并以冲销更正。"""
        from bot.cli import get_runtime
        from storage.db import session_scope
        from storage.ledger_repair import find, repair
        from storage.models import AuditEntry

        runtime = get_runtime()
        with session_scope(runtime.engine) as session:
            findings = find(session, rules=runtime.rules)
            for line in _repair_lines(session, findings, runtime.settings.tz):
                typer.echo(line)
            if not findings:
                typer.echo("积分流水无需修复。")
                return
            if not apply:
                typer.echo("以上为将写入的更正；加 --apply 写入"
                           "（只追加冲销和补记，不改动原有流水）。")
                return
            now = runtime.clock.now()
            written = repair(session, findings=findings, now=now, rules=runtime.rules)
            # Members' points changed: on record as every correction is (djbot audit).
            session.add(AuditEntry(at=now, actor="cli", action="ledger.repair",
                                   target=f"{len(findings.members)} 名党员",
                                   detail=_repair_detail(session, findings, written)))
        typer.echo(f"已写入 {written} 笔更正，涉及 {len(findings.members)} 名党员；"
                   "各人「积分明细」可见。")


def _name_of(session, member_id: int) -> str:
    from storage.models import Member

    member = session.get(Member, member_id)
    return member.name if member is not None else f"#{member_id}"


def _repair_detail(session, findings, written: int) -> dict:
    """What the repair wrote, per member and line, for the audit entry."""
    def who(member_id: int) -> str:
        return _name_of(session, member_id)

    # member_ids: whom `djbot forget` finds the entry is about, to take their names out.
    return {"written": written, "member_ids": sorted(findings.members),
            "reversed": [{"member": who(r.entry.member_id), "member_id": r.entry.member_id,
                          "entry_id": r.entry.id, "rule": r.rule, "points": -r.points}
                         for r in findings.reversals],
            "posted": [{"member": who(s.attendance.member_id),
                        "member_id": s.attendance.member_id, "attendance_id": s.attendance.id,
                        "rule": s.rule, "points": s.points} for s in findings.swallowed]}


def _repair_lines(session, findings, tz) -> list[str]:
    """What the repair found and would write, a line each, for the operator."""
    def who(member_id: int) -> str:
        return _name_of(session, member_id)

    def day(moment) -> str:
        local = moment.astimezone(tz)
        return f"{local.month}月{local.day}日 {local:%H:%M}"

    lines = []
    if findings.orphans:
        lines.append(f"孤立的积分流水 {len(findings.orphans)} 笔（所属考勤记录已删除、已是他人的"
                     "或属另一次活动）；其中仍计分的冲销，已相抵的不动：")
    for r in findings.reversals:
        lines.append(f"  冲销 {who(r.entry.member_id)} {day(r.entry.occurred_at)} {r.rule} "
                     f"{-r.points:+d}（流水 #{r.entry.id}）")
    if findings.swallowed:
        lines.append(f"签到积分未记入的考勤记录 {len(findings.swallowed)} 条"
                     "（与旧流水冲突），补记：")
    for s in findings.swallowed:
        lines.append(f"  补记 {who(s.attendance.member_id)} {day(s.activity.starts_at)} "
                     f"{s.activity.type} {s.rule} {s.points:+d}（考勤记录 #{s.attendance.id}）")
    return lines


def _find(session, who: str):
    from storage.privacy import AmbiguousMember, MemberNotFound, find_member

    try:
        return find_member(session, key=who)
    except MemberNotFound:
        typer.echo(f"名册中没有编号或姓名为「{who}」的党员", err=True)
        raise typer.Exit(1) from None
    except AmbiguousMember as exc:
        ids = "、".join(f"#{m.id}（编号 {m.staff_no or '无'}）" for m in exc.candidates)
        typer.echo(f"有 {len(exc.candidates)} 人叫「{who}」：{ids}。请用编号或 #序号", err=True)
        raise typer.Exit(1) from None
