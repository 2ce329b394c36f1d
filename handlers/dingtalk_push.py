"""设置 钉钉推送: store a branch's DingTalk custom robot (webhook URL + SEC… secret), from a
private chat only. Like 设置 推送 for WeCom: the URL and secret are credentials, so they
are refused in a group, never echoed back, never logged and never audited."""

from __future__ import annotations

from sqlmodel import select

from bot.adapters.dingtalk.robots import robot_url_problem, save_robot, secret_problem
from bot.context import Ctx
from bot.core import Reply
from bot.registry import LEADERS, MANAGERS, CommandRegistry
from storage.models import Branch, Role

NAME = "钉钉推送"
USAGE = "设置 钉钉推送 <支部|领导> <Webhook地址> <SEC加签密钥>"
LEADERS_TARGET = "领导"


def set_robot(ctx: Ctx, text: str) -> Reply:
    """The handler behind `设置 钉钉推送 …`; text is "<支部> <url> <secret>"."""
    if not ctx.message.is_private:
        return Reply.error("机器人地址和密钥不能在群里发送。请私聊我设置；"
                           "已经发到群里的，请在群设置里重置该机器人的密钥。")
    words = text.split()
    if len(words) != 3:
        return Reply.error(f"需要支部、Webhook 地址和加签密钥三项。\n用法：{USAGE}")
    target, url, secret = words
    problem = (robot_url_problem(url, oapi_base=ctx.settings.dingtalk.oapi_base)
               or secret_problem(secret))
    if problem is not None:
        return Reply.error(f"{problem}。\n用法：{USAGE}")
    role = ctx.role
    if target == LEADERS_TARGET:
        if role not in LEADERS:
            return Reply.error("只有领导或管理员可以设置领导群的推送。")
        branch_id, label, leaders = None, "领导群", True
    else:
        branch = ctx.session.exec(select(Branch).where(Branch.name == target)).first()
        if branch is None:
            return Reply.error(f"没有名为「{target}」的支部。")
        if role not in MANAGERS:
            return Reply.error("只有书记、委员或管理员可以设置推送。")
        if role != Role.ADMIN and (ctx.member is None or ctx.member.branch_id != branch.id):
            return Reply.error(f"你只能设置本支部的推送，「{branch.name}」不是你的支部。")
        branch_id, label, leaders = branch.id, branch.name, False
    replaced = save_robot(ctx.session, branch_id=branch_id, is_leaders=leaders, url=url,
                          secret=secret, set_by=ctx.member.id if ctx.member else None, now=ctx.now)
    ctx.audit("push.set", target=label, detail={"platform": "dingtalk", "replaced": replaced})
    return Reply(f"{'已更新' if replaced else '已设置'}「{label}」的钉钉群推送（自定义机器人）。"
                 "提醒和排行榜将经它发到该群。")


def register(registry: CommandRegistry) -> None:
    # 设置 belongs to the schedule capability; it offers a table of sub-settings.
    from handlers.schedule import register_setting

    register_setting(NAME, set_robot, USAGE)
