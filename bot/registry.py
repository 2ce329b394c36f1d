"""The command registry: each command declares its name, aliases, who may use it and its
argument shape; parsing, usage lines and 帮助 are all derived from these declarations."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from storage.models import LEADER_ROLES, MANAGER_ROLES, Role

if TYPE_CHECKING:
    from bot.context import Ctx
    from bot.core import Reply

# Handlers are plain functions: the database is synchronous, and the dispatcher runs
# the whole transaction off the event loop (see Dispatcher.handle).
Handler = Callable[["Ctx", dict[str, Any]], "Reply"]
ArgKind = Literal["word", "int", "choice", "rest"]

MANAGERS = MANAGER_ROLES
LEADERS = LEADER_ROLES


@dataclass(frozen=True)
class Arg:
    key: str  # the handler's keyword
    label: str  # shown in usage, e.g. "原因"
    kind: ArgKind = "word"
    optional: bool = False
    choices: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None

    @property
    def usage(self) -> str:
        shown = "|".join(self.choices) if self.kind == "choice" else self.label
        return f"[{shown}]" if self.optional else f"<{shown}>"


# Every free text has a bound that fits its field; a longer one is refused with the limit.
WORD_MAX_CHARS = 30     # a name, a branch, an activity type
REST_MAX_CHARS = 200    # a reason, a topic; handlers may set their own
# An integer argument: ASCII digits, at most this many ("²" and 5,000 digits are not numbers).
_INTEGER = re.compile(r"-?[0-9]{1,9}")


def word(key: str, label: str, *, optional: bool = False) -> Arg:
    return Arg(key, label, "word", optional, max=WORD_MAX_CHARS)


def integer(key: str, label: str, *, min: int | None = None, max: int | None = None,
            optional: bool = False) -> Arg:
    return Arg(key, label, "int", optional, min=min, max=max)


def choice(key: str, label: str, choices: tuple[str, ...], *, optional: bool = False) -> Arg:
    return Arg(key, label, "choice", optional, choices=choices)


def rest(key: str, label: str, *, optional: bool = False,
         max_chars: int = REST_MAX_CHARS) -> Arg:
    """The rest of the message, spaces and all (a reason, a comment, a topic)."""
    return Arg(key, label, "rest", optional, max=max_chars)


@dataclass(frozen=True)
class Command:
    name: str
    summary: str  # one line, Chinese, shown by 帮助
    handler: Handler
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    # Who may use it; None means every member on the roster.
    roles: frozenset[Role] | None = None
    where: Literal["any", "group", "private"] = "any"
    example: str | None = None
    # 帮助 works for strangers; 绑定 works in a group that is not bound yet.
    needs_member: bool = True
    needs_binding: bool = True
    capability: str = ""

    @property
    def usage(self) -> str:
        return " ".join([self.name, *(a.usage for a in self.args)])

    def parse(self, text: str) -> tuple[dict[str, Any], str | None]:
        """Parse the argument text; return (args, None) or ({}, what is wrong)."""
        tokens = text.split(" ") if text else []
        values: dict[str, Any] = {}
        for index, arg in enumerate(self.args):
            if arg.kind == "rest":
                joined = " ".join(tokens[index:]).strip()
                if not joined and not arg.optional:
                    return {}, f"缺少{arg.label}"
                if arg.max is not None and len(joined) > arg.max:
                    return {}, f"{arg.label}最多 {arg.max} 字，这次有 {len(joined)} 字"
                values[arg.key] = joined or None
                return values, None
            if index >= len(tokens):
                if not arg.optional:
                    return {}, f"缺少{arg.label}"
                values[arg.key] = None
                continue
            token = tokens[index]
            if arg.kind == "int":
                if not _INTEGER.fullmatch(token):
                    return {}, f"{arg.label}应为数字，收到「{token[:20]}」"
                number = int(token)
                if arg.min is not None and number < arg.min:
                    return {}, f"{arg.label}不能小于 {arg.min}"
                if arg.max is not None and number > arg.max:
                    return {}, f"{arg.label}不能大于 {arg.max}"
                values[arg.key] = number
            elif arg.kind == "choice":
                if token not in arg.choices:
                    return {}, f"{arg.label}只能是 {'、'.join(arg.choices)}"
                values[arg.key] = token
            else:
                if arg.max is not None and len(token) > arg.max:
                    return {}, f"{arg.label}最多 {arg.max} 字，这次有 {len(token)} 字"
                values[arg.key] = token
        if len(tokens) > len(self.args):
            extra = " ".join(tokens[len(self.args):])
            return {}, f"多余的内容「{shorten(extra)}」"
        return values, None


@dataclass(frozen=True)
class Setting:
    """One `设置 <name> …` sub-command; its handler gets the text after the name."""

    name: str
    handler: Callable[["Ctx", str], "Reply"]
    usage: str
    roles: frozenset[Role]


@dataclass
class CommandRegistry:
    commands: list[Command] = field(default_factory=list)
    # 设置 dispatches on its first word; capabilities add their own words here.
    settings: dict[str, Setting] = field(default_factory=dict)
    _by_word: dict[str, Command] = field(default_factory=dict)

    def add_setting(self, setting: Setting) -> None:
        if setting.name in self.settings:
            raise ValueError(f"setting {setting.name!r} registered twice")
        self.settings[setting.name] = setting

    def add(self, command: Command) -> None:
        for word_ in (command.name, *command.aliases):
            if word_ in self._by_word:
                raise ValueError(f"command word {word_!r} registered twice")
            self._by_word[word_] = command
        self.commands.append(command)

    def get(self, name: str) -> Command | None:
        return self._by_word.get(name)

    def match(self, text: str) -> tuple[Command | None, str]:
        """Find the command a normalized message starts with; return it and the argument text.

        The first word is matched exactly; failing that, a command word of two or more
        characters glued to its argument ("请假家里有事") is accepted too.
        """
        head, _, tail = text.partition(" ")
        command = self._by_word.get(head)
        if command is not None:
            return command, tail.strip()
        for word_ in sorted(self._by_word, key=len, reverse=True):
            if len(word_) >= 2 and head.startswith(word_):
                rest_ = (head[len(word_):] + " " + tail).strip()
                return self._by_word[word_], rest_
        return None, text


def shorten(text: str, limit: int = 20) -> str:
    """A piece of what someone wrote, short enough to quote back in a group."""
    return text if len(text) <= limit else text[:limit] + "…"


def usage_text(command: Command, problem: str) -> str:
    """The answer to bad arguments: what is wrong, the right form, an example."""
    lines = [f"{problem.rstrip('。')}。", f"用法：{command.usage}"]
    if command.example:
        lines.append(f"例如：{command.example}")
    return "\n".join(lines)
