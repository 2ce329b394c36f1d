"""`djbot push set`: store a group's WeCom push webhook from the command line."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

push_app = typer.Typer(help="群推送地址（企业微信群机器人 webhook）。", no_args_is_help=True)


@push_app.command("set")
def push_set(
    key: Annotated[str, typer.Option("--key", help="群机器人的 webhook 地址或其中的 key（不会回显）")],
    branch: Annotated[Optional[str], typer.Option("--branch", help="支部名称")] = None,
    leaders: Annotated[bool, typer.Option("--leaders", help="领导群，而不是某个支部")] = False,
    platform: Annotated[str, typer.Option("--platform", help="目前只支持 wecom")] = "wecom",
) -> None:
    """设置一个支部群（或领导群）的推送地址。"""
    from bot.adapters.wecom.senders import webhook_key
    from bot.cli import get_runtime
    from handlers.push import save_push_channel
    from storage.db import session_scope
    from storage.models import AuditEntry
    from storage.org import branch_by_name

    if platform != "wecom":
        typer.echo("钉钉群推送请用 `djbot dingtalk-push set`。", err=True)
        raise typer.Exit(2)
    if leaders == (branch is not None):
        typer.echo("请给出 --branch 支部名称，或 --leaders（二选一）。", err=True)
        raise typer.Exit(2)
    parsed = webhook_key(key)
    if parsed is None:
        typer.echo("--key 应是群机器人的 webhook 地址（…/webhook/send?key=…）或其中的 key。", err=True)
        raise typer.Exit(2)
    runtime = get_runtime()
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        branch_id, label = None, "领导群"
        if branch is not None:
            found = branch_by_name(session, name=branch)
            if found is None:
                typer.echo(f"没有名为「{branch}」的支部。", err=True)
                raise typer.Exit(1)
            branch_id, label = found.id, found.name
        replaced = save_push_channel(session, branch_id=branch_id, is_leaders=leaders,
                                     key=parsed, set_by=None, now=now)
        session.add(AuditEntry(at=now, actor="cli", action="push.set", target=label,
                               detail={"platform": "wecom", "replaced": replaced}))
    typer.echo(f"{'已更新' if replaced else '已设置'}「{label}」的企业微信群推送。")


def register(app: typer.Typer) -> None:
    app.add_typer(push_app, name="push")
