"""`djbot committee`: the bureau party committee's seats (who 中心组学习 and 第一议题 are for)
and a 结对 pair's joint activities, which count for both branches in `report year`."""

from __future__ import annotations

from typing import Annotated

import typer

committee_app = typer.Typer(help="党委委员名单（中心组学习、第一议题的参加人）和结对联合活动。",
                            no_args_is_help=True)


def _runtime():
    from bot import cli

    return cli.get_runtime()


def _one_member(session, name: str):
    from storage import org

    found = org.members_by_name_or_staff_no(session, text=name)
    if len(found) != 1:
        problem = "名册中没有" if not found else f"名册中有 {len(found)} 位"
        typer.echo(f"{problem}「{name}」（重名请用编号）", err=True)
        raise typer.Exit(2)
    return found[0]


@committee_app.command("add")
def add(name: Annotated[str, typer.Argument(help="姓名或编号")]) -> None:
    """把一名党员列为党委委员。"""
    from storage import committee
    from storage.db import session_scope
    from storage.models import AuditEntry

    runtime = _runtime()
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        member = _one_member(session, name)
        added = committee.add_seat(session, member_id=member.id, since=now.astimezone(
            runtime.settings.tz).date(), added_by="cli", now=now)
        if added:
            session.add(AuditEntry(at=now, actor="cli", action="committee.add", target=member.name))
    typer.echo(f"已将 {member.name} 列为党委委员" if added else f"{member.name} 已是党委委员")


@committee_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="姓名或编号")]) -> None:
    """把一名党委委员移出名单（已有的出勤记录保留）。"""
    from storage import committee
    from storage.db import session_scope
    from storage.models import AuditEntry

    runtime = _runtime()
    with session_scope(runtime.engine) as session:
        member = _one_member(session, name)
        removed = committee.remove_seat(session, member_id=member.id)
        if removed:
            session.add(AuditEntry(at=runtime.clock.now(), actor="cli", action="committee.remove",
                                   target=member.name))
    typer.echo(f"已将 {member.name} 移出党委委员名单" if removed else f"{member.name} 不是党委委员")


@committee_app.command("list")
def list_() -> None:
    """列出党委委员。"""
    from storage import committee
    from storage.db import session_scope

    runtime = _runtime()
    with session_scope(runtime.engine) as session:
        names = [m.name for m in committee.committee_members(session)]
    typer.echo("党委委员：" + ("、".join(names) if names else "（还没有，用 djbot committee add 姓名）"))


@committee_app.command("joint")
def joint(
    pair: Annotated[int, typer.Argument(help="结对编号（「结对」回复中的 #）")],
    activity: Annotated[int, typer.Argument(help="活动编号")],
) -> None:
    """把一次活动记为结对双方的联合活动：在年度数据中计入两个支部。"""
    from storage.db import session_scope
    from storage.models import Activity, AuditEntry, BranchPairing, JointActivity

    runtime = _runtime()
    with session_scope(runtime.engine) as session:
        record = session.get(BranchPairing, pair)
        held = session.get(Activity, activity)
        if record is None or held is None:
            typer.echo(f"没有编号为 {pair} 的结对" if record is None else f"没有编号为 {activity} 的活动",
                       err=True)
            raise typer.Exit(2)
        if held.branch_id not in (record.strong_branch_id, record.weak_branch_id):
            typer.echo("这次活动不属于结对中的任何一个支部", err=True)
            raise typer.Exit(2)
        if session.get(JointActivity, activity) is None:
            session.add(JointActivity(activity_id=activity, pairing_id=pair))
            session.add(AuditEntry(at=runtime.clock.now(), actor="cli", action="pair.joint",
                                   target=str(activity), detail={"pairing_id": pair}))
    typer.echo(f"活动 {activity} 已记为结对 #{pair} 的联合活动，计入双方支部")


def register(app: typer.Typer) -> None:
    app.add_typer(committee_app, name="committee")
