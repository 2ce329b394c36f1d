"""设置 推送: store a group's WeCom push webhook (消息推送/群机器人), from a private chat only.

The webhook key is a credential: anyone holding it can post into the group. So it is
never accepted in a group chat, never echoed back, never logged and never audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.adapters.wecom.senders import webhook_key
from bot.context import Ctx
from bot.core import Reply
from bot.registry import LEADERS, MANAGERS, Command, CommandRegistry, choice, rest, word
from storage.models import Branch, PushChannel, Role

LEADERS_TARGET = "领导"  # `设置 推送 领导 <key>`: the leaders' group
USAGE = "设置 推送 <支部|领导> <key或webhook地址>"
EXAMPLE = "设置 推送 第一支部 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"


def save_push_channel(session: Session, *, branch_id: int | None, is_leaders: bool, key: str,
                      set_by: int | None, now: datetime, platform: str = "wecom") -> bool:
    """Create or replace the group's push channel; True when one existed before."""
    existing = session.exec(
        select(PushChannel).where(
            PushChannel.platform == platform,
            PushChannel.branch_id == branch_id,
            PushChannel.is_leaders == is_leaders,
        )
    ).first()
    channel = existing or PushChannel(platform=platform, branch_id=branch_id,
                                      is_leaders=is_leaders, url=key, set_at=now)
    channel.url, channel.set_by, channel.set_at = key, set_by, now
    session.add(channel)
    return existing is not None


def set_push(ctx: Ctx, branch_name: str, key_or_url: str) -> Reply:
    """The handler behind `设置 推送 <支部> <key>`."""
    if not ctx.message.is_private:
        return Reply.error("推送地址是密钥，不能在群里发送。请私聊我设置；"
                           "已经发到群里的地址请在群设置里删除该机器人并重新添加。")
    key = webhook_key(key_or_url)
    if key is None:
        return Reply.error(f"推送地址看不懂：应是群机器人的 webhook 地址或其中的 key。\n用法：{USAGE}")
    role = ctx.role
    if branch_name == LEADERS_TARGET:
        if role not in LEADERS:
            return Reply.error("只有领导或管理员可以设置领导群的推送。")
        branch_id, label, leaders = None, "领导群", True
    else:
        branch = ctx.session.exec(select(Branch).where(Branch.name == branch_name)).first()
        if branch is None:
            return Reply.error(f"没有名为「{branch_name}」的支部。")
        if role not in MANAGERS:
            return Reply.error("只有书记、委员或管理员可以设置推送。")
        if role != Role.ADMIN and (ctx.member is None or ctx.member.branch_id != branch.id):
            return Reply.error(f"你只能设置本支部的推送，「{branch.name}」不是你的支部。")
        branch_id, label, leaders = branch.id, branch.name, False
    replaced = save_push_channel(ctx.session, branch_id=branch_id, is_leaders=leaders, key=key,
                                 set_by=ctx.member.id if ctx.member else None, now=ctx.now)
    # The audit names who and which group, never the key.
    ctx.audit("push.set", target=label, detail={"platform": "wecom", "replaced": replaced})
    verb = "已更新" if replaced else "已设置"
    return Reply(f"{verb}「{label}」的企业微信群推送。提醒和排行榜将发到该群。")


def handle(ctx: Ctx, args: dict[str, Any]) -> Reply:
    return set_push(ctx, args["target"], args["key"])


def push_setting(ctx: Ctx, text: str) -> Reply:
    """`设置 推送 …` through the schedule capability's setting table: text is "<支部> <key>"."""
    target, _, key = text.strip().partition(" ")
    if not target or not key.strip():
        if not ctx.message.is_private:  # even a malformed attempt must not stay in a group
            return set_push(ctx, target, key)
        missing = "支部" if not target else "key或webhook地址"
        return Reply.error(f"缺少{missing}。\n用法：{USAGE}\n例如：{EXAMPLE}")
    return set_push(ctx, target, key.strip())


def register(registry: CommandRegistry) -> None:
    # When the schedule capability owns 设置 it offers a sub-setting table; until then
    # (or without it) 设置 推送 is a command of its own.
    try:
        from handlers.schedule import register_setting  # type: ignore[attr-defined]
    except ImportError:
        register_setting = None
    if register_setting is not None:
        register_setting("推送", push_setting, USAGE)
        return
    if registry.get("设置") is not None:
        return
    registry.add(
        Command(
            name="设置",
            summary="设置本支部群的企业微信推送地址（私聊）",
            args=(choice("what", "设置项", ("推送",)), word("target", "支部"),
                  rest("key", "key或webhook地址")),
            handler=handle,
            roles=MANAGERS | LEADERS,
            where="private",
            example=EXAMPLE,
            capability="push",
        )
    )
