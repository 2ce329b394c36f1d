"""读书班: a class (期) over several sessions for an enrolled list; its 参训率 is per class.

Leaders enrol members (`读书班 第一期 报名 张三 李四`); each session is opened with the class's
name as topic (`开始 读书班 第一期`) and is counted for that class.
"""

from __future__ import annotations

import re

from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.registry import LEADERS, Command, CommandRegistry, rest, usage_text, word
from storage import committee, org
from storage.yearly import class_line, rate_text

MAX_CLASS_NAME = 30
ENROL = "报名"


def reading_class(ctx: Ctx, args: dict[str, Any]) -> Reply:
    name, more = args.get("name"), args.get("rest") or ""
    if name is None:
        return _overview(ctx)
    if name == ENROL:
        # 读书班 报名 张三: the class name left out, not a class called 报名.
        return Reply.error(usage_text(COMMAND_CLASS, "缺少期名（如 主题教育第一期），写在「报名」前"))
    if name.endswith(ENROL):  # 读书班 第一期报名 张三
        name, more = name.removesuffix(ENROL), f"{ENROL} {more}"
    if len(name) > MAX_CLASS_NAME:
        return Reply.error(usage_text(COMMAND_CLASS, f"期名请写短一些（不超过 {MAX_CLASS_NAME} 个字）"))
    # 报名 张三、李四, 报名：张三，李四: names apart however they are listed.
    rest_ = re.split(r"[\s,，、;；:：]+", more.strip())
    rest_ = [word_ for word_ in rest_ if word_]
    if rest_ and rest_[0] != ENROL:
        return Reply.error(usage_text(COMMAND_CLASS, f"「{rest_[0]}」看不懂，报名请写「报名 姓名…」"))
    if not rest_ and not committee.class_known(ctx.session, name=name):
        # A look-up of a name nothing was done under (a slip, or a class not set up yet)
        # makes no class: the class is set up by enrolling its members.
        return Reply.error(f"还没有读书班「{name}」：建班请同时报名，"
                           f"例如「读书班 {name} 报名 张伟 李秀英」。{_known(ctx)}")
    klass = committee.reading_class(ctx.session, name=name, now=ctx.now)
    if rest_:
        names = rest_[1:]
        if not names:
            return Reply.error(usage_text(COMMAND_CLASS, "请写出报名的党员姓名"))
        members, unknown = [], []
        for who in names:
            found = org.members_by_name_or_staff_no(ctx.session, text=who)
            (members.append(found[0]) if len(found) == 1 else unknown.append(who))
        if unknown:
            return Reply.error(usage_text(COMMAND_CLASS,
                                          f"名册中找不到或有重名：{'、'.join(unknown)}（重名请用编号）"))
        added = committee.enroll(ctx.session, class_id=klass.id,  # type: ignore[arg-type]
                                 member_ids=[m.id for m in members],  # type: ignore[misc]
                                 now=ctx.now)
        ctx.audit("reading_class.enroll", target=name, detail={"added": added})
    line = class_line(ctx.session, klass.id, klass.name, ctx.now)  # type: ignore[arg-type]
    return Reply(f"读书班「{klass.name}」：报名 {line.enrolled} 人，已开课 {line.sessions} 次，"
                 f"参训率 {rate_text(line.participation_rate)}。\n开课时发送「开始 读书班 {klass.name}」。")


def _known(ctx: Ctx) -> str:
    names = committee.class_names(ctx.session)
    return f"现有：{'、'.join(names)}。" if names else ""


def _overview(ctx: Ctx) -> Reply:
    from datetime import datetime, time

    tz = ctx.settings.tz
    year = ctx.local_now.year
    start = datetime.combine(datetime(year, 1, 1).date(), time(0), tzinfo=tz)
    end = datetime.combine(datetime(year + 1, 1, 1).date(), time(0), tzinfo=tz)
    classes = committee.classes_held(ctx.session, start=start, end=end)
    if not classes:
        return Reply(f"{year} 年还没有开课的读书班。建班：{COMMAND_CLASS.example}")
    lines = [f"{year} 年读书班 {len(classes)} 期："]
    for klass in classes:
        line = class_line(ctx.session, klass.id, klass.name, ctx.now)  # type: ignore[arg-type]
        lines.append(f"· {klass.name}：{line.sessions} 次课，报名 {line.enrolled} 人，"
                     f"参训率 {rate_text(line.participation_rate)}")
    return Reply("\n".join(lines))


COMMAND_CLASS = Command(
    name="读书班",
    summary="读书班按期管理：报名名单、开课次数和每期参训率",
    handler=reading_class,
    args=(word("name", "期名", optional=True), rest("rest", "报名 姓名…", optional=True)),
    roles=LEADERS,
    example="读书班 主题教育第一期 报名 张伟 李秀英",
    capability="reading",
)


def register(registry: CommandRegistry) -> None:
    registry.add(COMMAND_CLASS)
