"""The organisation in chat: 绑定 a group to its branch, 我的信息, and 设置角色 for admins."""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.registry import (
    LEADERS,
    MANAGERS,
    Command,
    CommandRegistry,
    branch,
    choice,
    usage_text,
    word,
)
from bot.scheduling.moves import hand_over_from_former, tell_of_move
from storage import moves, org
from storage.models import ROLE_LABELS, Branch, Platform, Role
from storage.roster import ROLE_BY_LABEL

LEADERS_WORDS = ("领导", "领导群")
PLATFORM_LABELS = {Platform.WECOM.value: "企业微信", Platform.DINGTALK.value: "钉钉"}


def bind(ctx: Ctx, args: dict[str, Any]) -> Reply:
    target = args["target"]
    role = ctx.role
    assert ctx.member is not None  # the dispatcher lets only members through
    leaders = target in LEADERS_WORDS
    branch = None
    if leaders:
        if role not in LEADERS:
            return Reply.error("绑定领导群仅限领导、管理员。书记请发送「绑定 本支部名称」。")
        label = "领导群"
    else:
        if role not in MANAGERS:
            return Reply.error("把群绑定到支部仅限书记、委员、管理员；领导可发送「绑定 领导」。")
        branch = org.branch_by_name(ctx.session, name=target)
        if branch is None:
            names = "、".join(b.name for b in org.branches(ctx.session)) or "（还没有支部，请先导入名册）"
            return Reply.error(
                usage_text(COMMAND_BIND, f"没有找到支部「{target}」。现有支部：{names}")
            )
        if role != Role.ADMIN and ctx.member.branch_id != branch.id:
            return Reply.error("你只能把群绑定到你自己的支部。")
        label = f"「{branch.name}」"

    current = ctx.binding
    if current is not None:
        if current.is_leaders == leaders and current.branch_id == (branch.id if branch else None):
            return Reply(f"本群已经绑定到{label}，无需重复绑定。")
        if role != Role.ADMIN:
            shown = org.describe_binding(ctx.session, current)
            return Reply.error(f"本群已绑定到{shown}，改绑请联系管理员。")
    previous = org.describe_binding(ctx.session, current) if current else None
    org.bind(
        ctx.session,
        platform=ctx.message.platform,
        chat_id=ctx.message.chat_id,
        branch_id=branch.id if branch else None,
        leaders=leaders,
        by=ctx.member.id,
        now=ctx.now,
    )
    ctx.audit(
        "bind",
        target=branch.name if branch else "领导群",
        detail={"branch_id": branch.id if branch else None, "leaders": leaders,
                "previous": previous},
    )
    if leaders:
        return Reply("已将本群绑定为领导群：每周汇总和调研提醒会发到这里。")
    moved = f"（原为{previous}）" if previous else ""
    return Reply(f"已将本群绑定到{label}{moved}。党员在群里发送「签到」即可签到，发送「帮助」查看指令。")


def whoami(ctx: Ctx, args: dict[str, Any]) -> Reply:
    member = ctx.member
    assert member is not None
    session = ctx.session
    private = ctx.message.is_private
    # The 编号 (a 警号) and the accounts (a WeCom userid is often a mobile number) are the
    # member's own: said in a group, the whole group reads them.
    name = member.name + (f"（编号 {member.staff_no}）" if member.staff_no and private else "")
    lines = [f"姓名：{name}", f"角色：{ROLE_LABELS[Role(member.role)]}"]
    branch = session.get(Branch, member.branch_id) if member.branch_id else None
    if branch is not None:
        group = org.party_group(session, group_id=member.party_group_id)
        lines.append(f"支部：{branch.name}" + (f" · {group.name}" if group else ""))
    else:
        lines.append("支部：局机关（不属于某个支部）")
    if private:
        ids = [f"{PLATFORM_LABELS.get(i.platform, i.platform)} {i.user_id}"
               for i in org.identities_of(session, member_id=member.id)]  # type: ignore[arg-type]
        lines.append("账号：" + "；".join(ids))
        lines.append("排行榜：" + ("不参与（发送「参与排行」可恢复）" if member.leaderboard_opt_out
                                 else "参与"))
    else:
        lines.append(f"本群：{org.describe_binding(session, ctx.binding)}")
        lines.append("编号、账号和是否参与排行，请私聊我发送「我的信息」查看。")
    return Reply("\n".join(lines))


def set_role(ctx: Ctx, args: dict[str, Any]) -> Reply:
    found = org.members_by_name_or_staff_no(ctx.session, text=args["who"])
    if not found:
        return Reply.error(usage_text(COMMAND_SET_ROLE, f"名册中没有「{args['who']}」"))
    if len(found) > 1:
        names = "；".join(f"{m.name} 编号 {m.staff_no or '无'}" for m in found)
        return Reply.error(f"有 {len(found)} 位「{args['who']}」：{names}。请改用编号。")
    member = found[0]
    new = ROLE_BY_LABEL[args["role"]]
    old = Role(member.role)
    if old == new:
        return Reply(f"{member.name} 已经是{ROLE_LABELS[new]}。")
    if new not in (Role.LEADER, Role.ADMIN) and member.branch_id is None:
        return Reply.error(f"{member.name} 不属于任何支部，不能设为{ROLE_LABELS[new]}。请先在名册中填写支部。")
    # Kept as a spell that has ended: a 支委会 held before still expects them as they were.
    changed = moves.change(ctx.session, member=member, now=ctx.now, tz=ctx.settings.tz,
                           role=new.value)
    member.updated_at = ctx.now
    ctx.audit("role.change", target=member.name,
              detail={"member_id": member.id, "old": old.value, "new": new.value, "via": "chat"})
    told = changed is not None and tell_of_move(
        ctx.session, changed, settings=ctx.settings, now=ctx.now,
        not_before=ctx.after_quiet_hours(), prefer=ctx.message.platform)
    if old in (Role.SECRETARY, Role.COMMITTEE, Role.LEADER):
        # Requests for a leave decision put to them go to whoever decides now.
        hand_over_from_former(ctx.session, settings=ctx.settings, now=ctx.now,
                              not_before=ctx.after_quiet_hours(), prefer=ctx.message.platform)
    withdrawn = ""
    if changed is not None and changed.withdrawn:
        withdrawn = (f"{member.name}请过假的 {len(changed.withdrawn)} 次活动不再需要其参加，"
                     "请假已撤回" + ("，已私信告知本人。" if told else "。"))
    return Reply(
        f"已将 {member.name} 的角色从{ROLE_LABELS[old]}改为{ROLE_LABELS[new]}。{withdrawn}"
        "注意：下次导入名册时以名册为准。"
    )


COMMAND_BIND = Command(
    name="绑定",
    summary="把本群绑定到支部（书记、委员、管理员），或绑定为领导群（领导）",
    handler=bind,
    args=(branch("target", "支部名称", also=LEADERS_WORDS),),
    roles=MANAGERS | LEADERS,
    where="group",
    example="绑定 城关派出所党支部",
    needs_binding=False,
    capability="org",
)

COMMAND_WHOAMI = Command(
    name="我的信息",
    aliases=("我是谁",),
    summary="查看我的名册信息、支部和账号（编号和账号只在私聊中显示）",
    handler=whoami,
    needs_binding=False,
    example="我的信息",
    capability="org",
)

COMMAND_SET_ROLE = Command(
    name="设置角色",
    summary="修改某人的角色（管理员；名册再次导入时以名册为准）",
    handler=set_role,
    args=(word("who", "姓名", hint="姓名或编号"), choice("role", "角色", tuple(ROLE_BY_LABEL))),
    roles=frozenset({Role.ADMIN}),
    example="设置角色 张伟 委员",
    capability="org",
)


def register(registry: CommandRegistry) -> None:
    registry.add(COMMAND_BIND)
    registry.add(COMMAND_WHOAMI)
    registry.add(COMMAND_SET_ROLE)
