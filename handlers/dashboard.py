"""看板: a member asks in a private chat for a link to the dashboard.

The link is for the sender only: signed with the server secret, valid for a few minutes,
and it opens what the sender's role may see (the bureau for leaders and admins, the own
branch for a secretary or committee member, the own record for a member). Asked in a
group it would be a link anyone there could open, so it is private-only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.registry import Command, CommandRegistry
from bot.web import tokens
from storage.models import LEADER_ROLES, MANAGER_ROLES, Role

SCOPES = {"bureau": "全局看板", "branch": "本支部看板", "member": "个人积分看板"}


def scope_of(role: Role, branch_id: int | None) -> str:
    if role in LEADER_ROLES:
        return "bureau"
    if role in MANAGER_ROLES and branch_id is not None:
        return "branch"
    return "member"


def dashboard_link(ctx: Ctx, args: dict[str, Any]) -> Reply:
    web = ctx.settings.web
    if not web.enabled or not web.base_url:
        return Reply.error("看板还没有开通：请管理员设置 DJBOT_WEB__SECRET 和 DJBOT_WEB__BASE_URL。")
    member = ctx.member
    assert member is not None and member.id is not None
    token = tokens.sign(web.secret, tokens.LINK, {"m": member.id},
                        expires=ctx.now + timedelta(minutes=web.link_minutes))
    scope = SCOPES[scope_of(Role(member.role), member.branch_id)]
    return Reply(
        f"{scope}：{web.url('/web/login?t=' + token)}\n"
        f"链接 {web.link_minutes} 分钟内有效，只给你本人使用，请勿转发；"
        f"打开后 {web.session_hours} 小时内无需再次获取。"
    )


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            name="看板",
            summary="获取数据看板链接（领导看全局，书记看本支部，党员看个人积分）",
            handler=dashboard_link,
            where="private",
            example="看板",
            capability="dashboard",
        )
    )
