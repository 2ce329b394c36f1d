"""帮助: the command list, generated from the registry so it can never drift from the code."""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.registry import Command, CommandRegistry, word
from storage.models import ROLE_LABELS, Role


def handle(ctx: Ctx, args: dict[str, Any]) -> Reply:
    topic = args.get("command")
    if topic:
        command = ctx.registry.get(topic) or ctx.registry.match(topic)[0]
        if command is None:
            return Reply.error(f"没有「{topic}」这个指令。发送「帮助」查看全部指令。")
        text = describe(command)
        if command.name == "设置" and ctx.registry.settings:
            text += "\n还可以设置：" + "；".join(s.usage for s in ctx.registry.settings.values())
        return Reply(text)
    role = ctx.role
    usable = [c for c in ctx.registry.commands if c.roles is None or role in c.roles]
    lines = ["党建助手可用指令（发送「帮助 指令名」看详细说明）："]
    lines += [f"· {c.name} — {c.summary}" for c in usable]
    if ctx.member is None:
        lines.append("你还不在党员名册中，请联系支部书记加入后再使用。")
    return Reply("\n".join(lines))


_WHERE = {"private": "只能私聊我发送，不要在群里发。", "group": "只能在群里发送。"}


def describe(command: Command) -> str:
    lines = [f"{command.name}：{command.summary}", f"用法：{command.usage}"]
    if command.aliases:
        lines.append(f"也可以说：{'、'.join(command.aliases)}")
    if command.example:
        lines.append(f"例如：{command.example}")
    if command.where in _WHERE:  # as the command reference's 在哪里 column says
        lines.append(_WHERE[command.where])
    if command.roles is not None:
        who = "、".join(ROLE_LABELS[r] for r in Role if r in command.roles)
        lines.append(f"谁可以用：{who}")
    return "\n".join(lines)


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            name="帮助",
            aliases=("help", "?", "菜单", "功能", "你能做什么", "能做什么", "怎么用", "使用说明",
                     "指令", "命令", "指令列表", "有哪些指令", "有什么指令"),
            summary="查看指令列表",
            args=(word("command", "指令名", optional=True),),
            handler=handle,
            example="帮助 签到",
            needs_member=False,
            needs_binding=False,
            capability="help",
        )
    )
