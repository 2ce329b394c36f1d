"""`djbot push set`: store a group's push channel (WeCom webhook or DingTalk custom robot).

The server-side twin of `设置 推送` / `设置 钉钉推送` in a private chat; the value is a
credential, so it is never echoed, logged or written into the audit.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

push_app = typer.Typer(help="群推送（企业微信群机器人 webhook，钉钉自定义机器人）。", no_args_is_help=True)


@push_app.command("set")
def push_set(
    url: Annotated[str, typer.Option("--url", "--key",
                                     help="webhook 地址（企业微信也可只给 key）；不会回显")],
    platform: Annotated[str, typer.Option("--platform", help="wecom 或 dingtalk")] = "wecom",
    secret: Annotated[Optional[str], typer.Option("--secret", help="钉钉加签密钥 SEC…（不会回显）")] = None,
    branch: Annotated[Optional[str], typer.Option("--branch", help="支部名称")] = None,
    leaders: Annotated[bool, typer.Option("--leaders", help="领导群，而不是某个支部")] = False,
) -> None:
    """设置一个支部群（或领导群）的推送渠道；提醒和排行榜将经它发到群里。"""
    from bot.cli import get_runtime
    from bot.domain.push import (
        dingtalk_robot_url_problem,
        dingtalk_secret_problem,
        wecom_webhook_key,
    )
    from storage.db import session_scope
    from storage.models import AuditEntry
    from storage.org import branch_by_name, set_push_channel

    def fail(text: str, code: int = 2) -> None:
        typer.echo(text, err=True)
        raise typer.Exit(code)

    if leaders == (branch is not None):
        fail("请给出 --branch 支部名称，或 --leaders（二选一）。")
    runtime = get_runtime()
    if platform == "wecom":
        key = wecom_webhook_key(url)
        if key is None:
            fail("--url 应是群机器人的 webhook 地址（…/webhook/send?key=…）或其中的 key。")
        url, secret = key, None
    elif platform == "dingtalk":
        problem = dingtalk_robot_url_problem(url, oapi_base=runtime.settings.dingtalk.oapi_base)
        problem = problem or dingtalk_secret_problem(secret or "")
        if problem is not None:
            fail(f"{problem}。")
    else:
        fail("--platform 只能是 wecom 或 dingtalk。")
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        branch_id, label = None, "领导群"
        if branch is not None:
            found = branch_by_name(session, name=branch)
            if found is None:
                fail(f"没有名为「{branch}」的支部。", 1)
            branch_id, label = found.id, found.name
        replaced = set_push_channel(session, platform=platform, branch_id=branch_id,
                                    is_leaders=leaders, url=url, secret=secret, set_by=None,
                                    now=now)
        session.add(AuditEntry(at=now, actor="cli", action="push.set", target=label,
                               detail={"platform": platform, "replaced": replaced}))
    name = "企业微信群推送" if platform == "wecom" else "钉钉群推送（自定义机器人）"
    typer.echo(f"{'已更新' if replaced else '已设置'}「{label}」的{name}。")


def register(app: typer.Typer) -> None:
    app.add_typer(push_app, name="push")
