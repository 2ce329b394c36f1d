"""党建讲师队伍: leaders keep the roster of lecturers; anyone sees it with the year's lectures
(党课 and 党建大讲堂 record their lecturer when opened with「… 主讲 姓名」)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.registry import Command, CommandRegistry, choice, rest, usage_text, word
from storage import committee, org
from storage.models import LEADER_ROLES


def lecturers(ctx: Ctx, args: dict[str, Any]) -> Reply:
    action = args.get("action")
    if action is None and args.get("name"):
        # The parser lets an optional word be skipped; here the first word must be the action.
        return Reply.error(usage_text(COMMAND_LECTURERS,
                                      f"操作只能是 添加、移出，收到「{args['name']}」"))
    if action is not None:
        if ctx.role not in LEADER_ROLES:
            return Reply.error("维护讲师队伍仅限领导、管理员。发送「讲师」查看讲师和授课场次。")
        if not args.get("name"):
            return Reply.error(usage_text(COMMAND_LECTURERS, "请写出讲师姓名"))
        name, title = args["name"], (args.get("title") or None)
        # A 编号 stands for the member's name, which the roster of lecturers keeps (an
        # activity's 主讲 names them by name): 添加 1001 adds 王书记, 移出 1001 removes him.
        members = org.members_by_name_or_staff_no(ctx.session, text=name)
        member = members[0] if len(members) == 1 else None
        if member is not None:
            name = member.name
        elif action == "添加" and name.isdigit():
            # A number is a 编号 nobody on the roster has, not a lecturer's name.
            return Reply.error(usage_text(COMMAND_LECTURERS,
                                          f"名册中没有编号 {name}，请写讲师姓名或正确的编号"))
        if action == "添加":
            committee.add_lecturer(ctx.session, name=name,
                                   member_id=member.id if member else None, title=title,
                                   now=ctx.now)
            ctx.audit("lecturer.add", target=name)
            return Reply(f"已将 {name} 加入党建讲师队伍{f'（{title}）' if title else ''}。")
        roster = committee.lecturers(ctx.session)
        found = [x for x in roster if x.name in (name, args["name"])]
        if not found:
            if not roster:
                return Reply.error(f"讲师队伍中没有「{name}」：还没有党建讲师。\n"
                                   f"例如：{COMMAND_LECTURERS.example}")
            return Reply.error(f"讲师队伍中没有「{name}」。移出请写讲师队伍中的姓名，现有讲师："
                               f"{'、'.join(x.name for x in roster)}。\n"
                               f"例如：讲师 移出 {roster[0].name}")
        found[0].active = False
        ctx.session.add(found[0])
        ctx.audit("lecturer.remove", target=name)
        return Reply(f"已将 {name} 移出讲师队伍（已有的授课记录保留）。")
    tz = ctx.settings.tz
    year = ctx.local_now.year
    counts = committee.lectures_by_lecturer(
        ctx.session, start=datetime.combine(datetime(year, 1, 1).date(), time(0), tzinfo=tz),
        end=datetime.combine(datetime(year + 1, 1, 1).date(), time(0), tzinfo=tz), now=ctx.now)
    roster = committee.lecturers(ctx.session)
    if not roster and not counts:
        return Reply("还没有党建讲师。领导可发送「讲师 添加 姓名 职务」建立讲师队伍。")
    lines = [f"党建讲师队伍 {len(roster)} 人，{year} 年授课（党课、党建大讲堂）："]
    for lecturer in roster:
        title = f"（{lecturer.title}）" if lecturer.title else ""
        lines.append(f"· {lecturer.name}{title}：{counts.pop(lecturer.name, 0)} 场")
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"· {name}（不在讲师队伍）：{n} 场")
    return Reply("\n".join(lines))


COMMAND_LECTURERS = Command(
    name="讲师",
    summary="党建讲师队伍和今年授课场次；领导可添加、移出讲师",
    handler=lecturers,
    args=(choice("action", "添加|移出", ("添加", "移出"), optional=True),
          word("name", "姓名", optional=True), rest("title", "职务", optional=True)),
    example="讲师 添加 王建国 城关派出所党支部书记",
    capability="lecturers",
)


def register(registry: CommandRegistry) -> None:
    registry.add(COMMAND_LECTURERS)
