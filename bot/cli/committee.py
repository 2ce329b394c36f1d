"""`djbot committee …`: the bureau's party committee (党委委员), who alone are expected at
理论学习中心组 and 第一议题 (an explicit list, so an admin who runs djbot or a leader who
is not on the committee is never counted missing), and a 结对 pair's joint activities,
which count for both branches in `report year`."""

from __future__ import annotations

from typing import Annotated

import typer

committee_app = typer.Typer(help="党委委员名单（中心组学习、第一议题的应到人员）和结对联合活动。",
                            no_args_is_help=True)
NamesArgument = Annotated[list[str], typer.Argument(help="姓名或编号，可写多个")]


def _runtime():
    from bot import cli

    return cli.get_runtime()


def _change(names: list[str], on: bool) -> None:
    from storage import moves, org
    from storage.db import session_scope
    from storage.models import AuditEntry

    runtime = _runtime()
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        chosen = []
        for text in names:
            found = [m for m in org.members_by_name_or_staff_no(session, text=text) if m.active]
            if len(found) != 1:
                problem = "没有找到" if not found else f"有 {len(found)} 人同名，请改用编号"
                typer.echo(f"「{text}」{problem}，名单未改动。", err=True)
                raise typer.Exit(2)
            chosen.append(found[0])
        changed = [m for m in chosen if m.bureau_committee != on]
        withdrawn = []
        for member in changed:
            # Kept as a spell that has ended: earlier 中心组学习 still expect them as they were.
            refitted = moves.change(session, member=member, now=now, tz=runtime.settings.tz,
                                    bureau_committee=on)
            member.updated_at = now
            session.add(member)
            if refitted is not None and refitted.withdrawn:
                withdrawn.append(refitted)
        if changed:
            session.add(AuditEntry(at=now, actor="cli",
                                   action="committee.add" if on else "committee.remove",
                                   target="、".join(m.name for m in changed),
                                   detail={"member_ids": [m.id for m in changed]}))
        lines = []
        if changed:
            verb = "加入" if on else "移出"
            lines.append(f"已将 {'、'.join(m.name for m in changed)} {verb}党委委员名单。")
        unchanged = [m.name for m in chosen if m not in changed]
        if unchanged:
            lines.append(f"{'、'.join(unchanged)} {'已是' if on else '不是'}党委委员，未改动。")
        lines += _tell_of_moves(session, withdrawn, runtime, now)
    typer.echo("\n".join(lines))


def _tell_of_moves(session, changes, runtime, now) -> list[str]:
    """Leave a change took back: each member hears it privately, and the operator reads
    who and what."""
    from bot.cli.org import tell_of_moves
    from bot.scheduling.called_off import label

    lines = []
    for changed, told in zip(changes, tell_of_moves(session, changes, runtime, now)):
        labels = "、".join(label(session, a, runtime.settings) for a in changed.withdrawn)
        lines.append(f"已撤回 {changed.member.name} 对{labels}的请假（不再需要其参加）"
                     + ("，已私信告知本人。" if told else "。"))
    return lines


@committee_app.command("add")
def add(names: NamesArgument) -> None:
    """把党员加入党委委员名单。"""
    _change(names, True)


@committee_app.command("remove")
def remove(names: NamesArgument) -> None:
    """把党员移出党委委员名单。"""
    _change(names, False)


@committee_app.command("list")
def list_committee() -> None:
    """列出党委委员。"""
    from sqlmodel import select

    from storage.db import session_scope
    from storage.models import Member

    runtime = _runtime()
    with session_scope(runtime.engine) as session:
        names = [m.name for m in session.exec(select(Member).where(
            Member.bureau_committee == True, Member.active == True)  # noqa: E712
            .order_by(Member.name)).all()]
    if not names:
        typer.echo("党委委员名单为空：中心组学习、第一议题没有应到人员。"
                   "用 djbot committee add 姓名 添加。")
        return
    typer.echo(f"党委委员 {len(names)} 人：{'、'.join(names)}")


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
        # After 结束结对 the two branches work apart: a later activity is not the pair's.
        held_on = held.starts_at.astimezone(runtime.settings.tz).date()
        if record.ended_on is not None and held_on > record.ended_on:
            typer.echo(f"结对 #{pair} 已于 {record.ended_on.month}月{record.ended_on.day}日结束，"
                       f"活动 {activity} 在那之后举行，不是联合活动", err=True)
            raise typer.Exit(2)
        marked = session.get(JointActivity, activity)
        if marked is not None and marked.pairing_id == pair:
            typer.echo(f"活动 {activity} 已是结对 #{pair} 的联合活动，没有改动")
            return
        # Given to another pair before (a slip being put right): it moves, on record, and
        # the year's figures credit the pair named now.
        was = marked.pairing_id if marked is not None else None
        if marked is None:
            marked = JointActivity(activity_id=activity, pairing_id=pair)
        marked.pairing_id = pair
        session.add(marked)
        session.add(AuditEntry(at=runtime.clock.now(), actor="cli", action="pair.joint",
                               target=str(activity),
                               detail={"pairing_id": pair, "was_pairing_id": was}))
    before = f"（原记为结对 #{was}）" if was is not None else ""
    typer.echo(f"活动 {activity} 已记为结对 #{pair} 的联合活动{before}，计入双方支部")


def register(app: typer.Typer) -> None:
    app.add_typer(committee_app, name="committee")
