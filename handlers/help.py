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
        starting = [c for c in ctx.registry.commands if c.name.startswith(topic)]
        if command is None and len(starting) == 1:
            command = starting[0]  # 帮助 取消: 取消活动, the one command it begins
        if command is None:
            return Reply.error(_not_a_command(ctx.registry, topic))
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


def _not_a_command(registry: CommandRegistry, topic: str) -> str:
    """帮助 暂停 names the start of 暂停日程 and 暂停提醒, 帮助 开使 a slip for 开始: those are
    named, where the reply was only that there is no such command."""
    starting = [c.name for c in registry.commands if c.name.startswith(topic)]
    if starting:
        return (f"「{topic}」开头的指令有：{'、'.join(starting)}。"
                f"发送「帮助 {starting[0]}」查看写法。")
    meant = registry.suggest(topic)
    command = registry.get(meant) if meant is not None else None
    if command is not None:  # by its name: 帮助 开使 is 开始, not its alias 开启
        return f"没有「{topic}」这个指令。你是想查看「帮助 {command.name}」吗？"
    return f"没有「{topic}」这个指令。发送「帮助」查看全部指令。"


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
