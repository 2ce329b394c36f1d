"""`djbot dingtalk-push set`: store a branch's DingTalk custom robot from the command line."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

push_app = typer.Typer(help="钉钉群推送（自定义机器人，加签）。", no_args_is_help=True)


@push_app.command("set")
def push_set(
    url: Annotated[str, typer.Option("--url", help="自定义机器人的 Webhook 地址（不会回显）")],
    secret: Annotated[str, typer.Option("--secret", help="加签密钥 SEC…（不会回显）")],
    branch: Annotated[Optional[str], typer.Option("--branch", help="支部名称")] = None,
    leaders: Annotated[bool, typer.Option("--leaders", help="领导群，而不是某个支部")] = False,
) -> None:
    """设置一个支部群（或领导群）的钉钉自定义机器人；提醒和排行榜将经它发到群里。"""
    from bot.adapters.dingtalk.robots import robot_url_problem, save_robot, secret_problem
    from bot.cli import get_runtime
    from storage.db import session_scope
    from storage.models import AuditEntry
    from storage.org import branch_by_name

    if leaders == (branch is not None):
        typer.echo("请给出 --branch 支部名称，或 --leaders（二选一）。", err=True)
        raise typer.Exit(2)
    runtime = get_runtime()
    problem = (robot_url_problem(url, oapi_base=runtime.settings.dingtalk.oapi_base)
               or secret_problem(secret))
    if problem is not None:
        typer.echo(f"{problem}。", err=True)
        raise typer.Exit(2)
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        branch_id, label = None, "领导群"
        if branch is not None:
            found = branch_by_name(session, name=branch)
            if found is None:
                typer.echo(f"没有名为「{branch}」的支部。", err=True)
                raise typer.Exit(1)
            branch_id, label = found.id, found.name
        replaced = save_robot(session, branch_id=branch_id, is_leaders=leaders, url=url,
                              secret=secret, set_by=None, now=now)
        # Who set which group's robot, never the URL or the secret.
        session.add(AuditEntry(at=now, actor="cli", action="push.set", target=label,
                               detail={"platform": "dingtalk", "replaced": replaced}))
    typer.echo(f"{'已更新' if replaced else '已设置'}「{label}」的钉钉群推送（自定义机器人）。")


def register(app: typer.Typer) -> None:
    app.add_typer(push_app, name="dingtalk-push")
