"""设置 推送 / 设置 钉钉推送: store a group's push channel, from a private chat only.

A WeCom group webhook key, or a DingTalk custom robot's URL and SEC… secret, lets anyone
who holds it post into the group. So these are refused in a group chat, never echoed
back, never logged and never audited (the audit names who set which group's channel).
Both are sub-settings of 设置, which the schedule capability owns.
"""

from __future__ import annotations

import re

from bot.context import Ctx
from bot.core import Reply
from bot.domain.push import (
    dingtalk_robot_url_problem,
    dingtalk_secret_problem,
    looks_like_wecom_key,
    wecom_webhook_key,
)
from bot.domain.text import match_name
from bot.registry import LEADERS, MANAGERS, CommandRegistry, Setting
from storage.models import Role
from storage.org import branch_by_name, branches, set_push_channel

LEADERS_TARGET = "领导"  # `设置 推送 领导 …`: the leaders' group
WECOM_USAGE = "设置 推送 支部 群机器人地址"
WECOM_EXAMPLE = "设置 推送 第一支部 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
DINGTALK_USAGE = "设置 钉钉推送 支部 Webhook地址 加签密钥"
DINGTALK_EXAMPLE = "设置 钉钉推送 第一支部 https://oapi.dingtalk.com/robot/send?access_token=… SEC…"


def _target(ctx: Ctx, name: str) -> tuple[int | None, str, bool] | Reply:
    """(branch id, label, is the leaders' group) the sender may set, or why not."""
    role = ctx.role
    if name == LEADERS_TARGET:
        if role not in LEADERS:
            return Reply.error("只有领导或管理员可以设置领导群的推送。")
        return None, "领导群", True
    names = [b.name for b in branches(ctx.session)]
    found = match_name(name, names)
    branch = branch_by_name(ctx.session, name=found.name) if found.name else None
    if branch is None:
        known = "、".join(names) or "还没有支部"
        return Reply.error(f"没有找到支部「{name}」。现有支部：{known}")
    if role not in MANAGERS:
        return Reply.error("只有书记、委员或管理员可以设置推送。")
    if role != Role.ADMIN and (ctx.member is None or ctx.member.branch_id != branch.id):
        return Reply.error(f"你只能设置本支部的推送，「{branch.name}」不是你的支部。")
    return branch.id, branch.name, False


def _save(ctx: Ctx, platform: str, target: str, *, url: str, secret: str | None,
          label_suffix: str) -> Reply:
    found = _target(ctx, target)
    if isinstance(found, Reply):
        return found
    branch_id, label, leaders = found
    replaced = set_push_channel(
        ctx.session, platform=platform, branch_id=branch_id, is_leaders=leaders, url=url,
        secret=secret, set_by=ctx.member.id if ctx.member else None, now=ctx.now,
    )
    ctx.audit("push.set", target=label, detail={"platform": platform, "replaced": replaced})
    verb = "已更新" if replaced else "已设置"
    return Reply(f"{verb}「{label}」的{label_suffix}。提醒和排行榜将发到该群。")


def set_wecom_push(ctx: Ctx, text: str) -> Reply:
    """`设置 推送 <支部|领导> <key>`; text is what follows 推送."""
    if not ctx.message.is_private:  # even a malformed attempt must not stay in a group
        return Reply.error("推送地址是密钥，不能在群里发送。请私聊我设置；"
                           "已经发到群里的地址请在群设置里删除该机器人并重新添加。")
    target, key_or_url = _branch_and_address(text)
    if not target or not key_or_url.strip():
        missing = "支部（或写「领导」）" if not target else "群机器人的 webhook 地址"
        return Reply.error(f"缺少{missing}。\n例如：{WECOM_EXAMPLE}")
    key = wecom_webhook_key(key_or_url)
    if key is None or not looks_like_wecom_key(key):
        return Reply.error(
            "这不是群机器人的推送地址：请在群设置→群机器人里复制整条 webhook 地址"
            f"（…/webhook/send?key=…）发给我。\n例如：{WECOM_EXAMPLE}"
        )
    return _save(ctx, "wecom", target, url=key, secret=None, label_suffix="企业微信群推送")


def _branch_and_address(text: str) -> tuple[str, str]:
    """The branch and the pasted address, however they came: 一支部 https://…, the address
    glued on (一支部：https://…, 一支部https://…) or before the branch (https://… 一支部)."""
    target, _, rest = text.strip().partition(" ")
    glued = re.search(r"https?://", target)
    if glued is not None and glued.start() > 0:
        target, rest = target[:glued.start()], f"{target[glued.start():]} {rest}"
    target = target.rstrip("：:，,、")
    if _is_address(target) and not _is_address(rest):
        target, rest = rest.strip(), target
    return target, rest


def _is_address(text: str) -> bool:
    key = wecom_webhook_key(text)
    return key is not None and looks_like_wecom_key(key)


def set_dingtalk_robot(ctx: Ctx, text: str) -> Reply:
    """`设置 钉钉推送 <支部|领导> <url> <secret>`; text is what follows 钉钉推送."""
    if not ctx.message.is_private:
        return Reply.error("机器人地址和密钥不能在群里发送。请私聊我设置；"
                           "已经发到群里的，请在群设置里重置该机器人的密钥。")
    words = text.split()
    if len(words) != 3:
        return Reply.error("需要支部、Webhook 地址和加签密钥三项，用空格隔开。"
                           f"\n例如：{DINGTALK_EXAMPLE}")
    target, url, secret = words
    problem = dingtalk_robot_url_problem(
        url, oapi_base=ctx.settings.dingtalk.oapi_base
    ) or dingtalk_secret_problem(secret)
    if problem is not None:
        return Reply.error(f"{problem}。\n例如：{DINGTALK_EXAMPLE}")
    return _save(ctx, "dingtalk", target, url=url, secret=secret,
                 label_suffix="钉钉群推送（自定义机器人）")


def register(registry: CommandRegistry) -> None:
    who = MANAGERS | LEADERS  # the handlers check which group each may set
    registry.add_setting(Setting("推送", set_wecom_push, WECOM_USAGE, who))
    registry.add_setting(Setting("钉钉推送", set_dingtalk_robot, DINGTALK_USAGE, who))
