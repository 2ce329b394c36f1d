"""学习: a member logs self-study; points per 30 minutes of the day's study, capped per day
(the day in settings.tz)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from bot.context import Ctx
from bot.core import Reply
from bot.registry import Command, CommandRegistry, minutes, rest, usage_text, word
from handlers.attendance import tell_privately
from storage import ledger, outbox
from storage.models import PointEntry, StudyLog

SOURCE_KIND = "study"
RULE = "study.per_30min"
MAX_KIND_CHARS = 10
MAX_MATERIAL_CHARS = 200
MINUTES_IN_A_DAY = 24 * 60
# The same study sent again within this long is the same one sent twice.
SAME_STUDY_WITHIN = timedelta(minutes=10)


# 学习强国 30分钟 names the study app, not 学习 of a kind called 强国.
_APP_NAMED = {"强国": "学习强国"}
# The app said as people say it (看了学习强国30分钟, 学习强国学了半小时, 在学习强国上学习了
# 30分钟): study on it, when a length follows. 学习强国怎么用 is no study, and stays unread.
_ON_THE_APP = re.compile(
    r"(?P<day>今天|今日|昨天|前天)?我?(?:今天|今日)?(?:在|用|上)?(?:看了?|刷了?|学了?|学习了?|用了?)?"
    r"学习强国(?:上|app|APP)?(?:学了?|学习了?|看了?|刷了?)?\s*"
    r"(?P<rest>[0-9零〇一二两三四五六七八九十半].*)")
# 学了 as people say 学习了, a length after it (学了半小时理论, 今天学了一小时业务, 刚学了30分钟
# 党章): it was no command. Only with a length next: 学了什么 asks, 学了半天 complains.
_LEARNT = re.compile(
    r"(?P<day>今天|今日|昨天|前天)?我?(?:今天|今日)?(?:刚刚?|又|也)?学了\s*"
    r"(?P<rest>(?=[0-9零〇一二两三四五六七八九十半.]+\s*个?(?:小时|钟头|分钟|分))\S.*)")
# What is asked in place of a material (学习 理论 45 算吗, 可以吗, 算学习吗, 能加分么): whether
# it counts, not what was read. Short, and ending as a question does.
_ASKED_AS_MATERIAL = re.compile(r"\S{0,8}(?:吗|么|嘛)[啊呀哈]*")


def handle(ctx: Ctx, args: dict[str, Any]) -> Reply:
    kind, minutes, material = args["kind"], args["minutes"], args.get("material")
    today = ctx.local_now.date()
    said = args.get("day")
    if said is not None and said != today:
        # Points and the daily cap are the day's, and the week's figures go out on Monday:
        # a day gone by is not reopened, and 学习 理论 45 昨天 must not pass for today's.
        when = "还没到" if said > today else "已经过去"
        return Reply.error(f"「学习」只记今天的学习，{said.month}月{said.day}日{when}，这次没有记录。"
                           f"今天学的请写：{COMMAND.example}")
    if material and _ASKED_AS_MATERIAL.fullmatch(material):
        return Reply.error(f"「{material}」像是在问，这次没有记录。学了请写：学习 {kind} {minutes}；"
                           "怎么计分请发送「积分规则」。")
    kind = _APP_NAMED.get(kind, kind)
    if len(kind) > MAX_KIND_CHARS:
        return Reply.error(usage_text(COMMAND, f"学习类型请写短一些（不超过 {MAX_KIND_CHARS} 个字）"))
    if material and len(material) > MAX_MATERIAL_CHARS:
        return Reply.error(usage_text(COMMAND, f"材料请写短一些（不超过 {MAX_MATERIAL_CHARS} 个字）"))
    member = ctx.member
    assert member is not None and member.id is not None
    before = minutes_on(ctx.session, member_id=member.id, day=today)
    if before + minutes > MINUTES_IN_A_DAY:
        # The day's minutes go into the year's 学习分钟 and the 先锋党员 shortlist: thirty
        # hours of study in one day would be counted there as if they had been.
        return Reply.error(f"今天已记录学习 {before} 分钟，再记 {minutes} 分钟就超过一天的 24 小时，"
                           "这次没有记录。请核对时长；记错的一条可发送「撤销」撤回。")
    twin = _same_study_just_logged(ctx.session, member_id=member.id, kind=kind, minutes=minutes,
                                   material=material, since=ctx.now - SAME_STUDY_WITHIN)
    if twin is not None:
        # Each message of a double tap, or one sent again when the reply was slow, is a
        # message of its own: 45 minutes of study would count as 90, with their points.
        at = twin.logged_at.astimezone(ctx.settings.tz)
        return Reply.error(f"{at:%H:%M} 已记录同样的学习：{kind} {minutes} 分钟，这次没有重复记录。"
                           f"如果确实又学了一次，请写上这次的材料，例如：学习 {kind} {minutes} 第二章")
    day_start = datetime.combine(today, time(0), tzinfo=ctx.settings.tz)
    already = points_between(ctx.session, member_id=member.id, start=day_start,
                             end=day_start + timedelta(days=1))

    log = StudyLog(member_id=member.id, kind=kind, minutes=minutes, material=material,
                   study_day=today, logged_at=ctx.now)
    ctx.session.add(log)
    ctx.session.flush()
    minutes_today = minutes_on(ctx.session, member_id=member.id, day=today)
    # The half-hours are the day's: 20 and 20 minutes are one, 45 and 45 three, as the
    # reply's 今天累计 and 每满 30 分钟 say; what the day's earlier logs earned is taken off.
    earned = ctx.rules.study_points(minutes_today, already)
    if earned:
        ledger.post(
            ctx.session,
            member_id=member.id,
            branch_id=member.branch_id,
            points=earned,
            rule=RULE,
            source_kind=SOURCE_KIND,
            source_id=log.id,  # type: ignore[arg-type]
            occurred_at=ctx.now,
            now=ctx.now,
            rules_digest=ctx.rules.digest,
            # 积分明细 then explains a short log's point: the day's minutes it completed.
            note=f"当天累计 {minutes_today} 分钟" if before else None,
        )
    cap = ctx.rules.study_daily_cap
    lines = [f"已记录学习：{kind} {minutes} 分钟" + (f"（{material}）" if material else "") + "。",
             f"今天累计学习 {minutes_today} 分钟，本次积分 +{earned}。"]
    if already + earned >= cap:
        lines.append(f"今天的学习积分已达上限 {cap} 分，继续学习仍会记录时长。")
    elif earned == 0:
        lines.append(f"每满 30 分钟记 {ctx.rules.study_points_per_30_minutes} 分。")
    return Reply("\n".join(lines))


def _same_study_just_logged(session: Session, *, member_id: int, kind: str, minutes: int,
                            material: str | None, since: datetime) -> StudyLog | None:
    """The member's study of the same kind, length and material logged since `since` and
    not taken back: the same study sent twice, not a second one (that one ends later)."""
    same_material = (StudyLog.material.is_(None) if material is None  # type: ignore[union-attr]
                     else StudyLog.material == material)
    return session.exec(
        select(StudyLog).where(StudyLog.member_id == member_id, StudyLog.kind == kind,
                               StudyLog.minutes == minutes, same_material,
                               StudyLog.logged_at >= since,
                               StudyLog.withdrawn_at.is_(None))  # type: ignore[union-attr]
        .order_by(StudyLog.logged_at.desc()).limit(1)).first()


def minutes_on(session: Session, *, member_id: int, day: date) -> int:
    """The minutes a member logged for a day, less what 撤销 took back."""
    return int(session.exec(
        select(func.coalesce(func.sum(StudyLog.minutes), 0))
        .where(StudyLog.member_id == member_id, StudyLog.study_day == day,
               StudyLog.withdrawn_at.is_(None))  # type: ignore[union-attr]  (撤销)
    ).one())


def points_between(session: Session, *, member_id: int, start: datetime, end: datetime) -> int:
    """Study points a member still has for [start, end): earned, less what 撤销 reversed
    (dated like the entry it reverses), so a study taken back frees its share of the cap."""
    return int(
        session.exec(
            select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                PointEntry.member_id == member_id,
                or_(PointEntry.source_kind == SOURCE_KIND,
                    and_(PointEntry.source_kind == "correction",
                         PointEntry.rule == f"reverse:{RULE}")),
                PointEntry.occurred_at >= start,
                PointEntry.occurred_at < end,
            )
        ).one()
    )


COMMAND = Command(
    name="学习",
    aliases=("自学",),
    summary="记录自学：类型、分钟数和材料，按时长计积分（每日有上限）",
    handler=handle,
    args=(
        word("kind", "学习类型", hint="如 理论、党史、业务"),
        minutes("minutes", "学习时长", min=1, max=600),
        rest("material", "材料", optional=True),
    ),
    example="学习 理论 45 《习近平谈治国理政》第四卷",
    capability="study",
    # 昨天学习 理论 45: the day first, glued on, as people say it; the handler refuses it.
    said_first=frozenset({"昨天", "昨晚", "前天"}),
    takes_day=True,
    reworded=((_ON_THE_APP, r"学习强国 \g<rest> \g<day>"), (_LEARNT, r"\g<rest> \g<day>")),
)


def my_study(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """我今天学习了多少分钟: the minutes logged today and this week, and how to log more."""
    member = ctx.member
    assert member is not None and member.id is not None
    today = ctx.local_now.date()
    monday = today - timedelta(days=today.weekday())
    week = int(ctx.session.exec(
        select(func.coalesce(func.sum(StudyLog.minutes), 0))
        .where(StudyLog.member_id == member.id, StudyLog.study_day >= monday,
               StudyLog.study_day <= today,
               StudyLog.withdrawn_at.is_(None))  # type: ignore[union-attr]
    ).one())
    # How to log is for one who has not yet this week: after every 我的学习 it was a lesson
    # repeated to someone logging daily.
    text = (f"今天已记录学习 {minutes_on(ctx.session, member_id=member.id, day=today)} 分钟，"
            f"本周 {week} 分钟。" + ("" if week else f"记录学习请写：{COMMAND.example}"))
    # Asked in a group, a week of 0 分钟 would be read out to the branch: it goes privately.
    return Reply(tell_privately(ctx, text, kind=outbox.OWN_STUDY, title="我的学习",
                                key="study.own", told=f"{member.name}，你的学习时长已私聊发给你。",
                                unreached="学习时长请私聊我发送「我的学习」查看。"))


# 我今天学习了多少分钟, 学了多久: asked, never a study of the kind 「了多少分钟」.
_ASKED_HOW_LONG = re.compile(r"我?(?:今天|今日|本周|这周)?(?:一共|总共)?(?:学习|学)了?(?:多少|多久|多长时间|几分钟|"
                             r"几个小时)(?:分钟|时间)?(?:了)?"
                             r"|(?:我的)?学习(?:记录|情况)(?:在哪(?:里|儿)?看|怎么看|怎么查|在哪查|怎么样)")
MINE = Command(
    name="我的学习", aliases=("学习记录", "学习情况", "本周学习时长"),
    summary="查看今天和本周记录的学习时长（在群里发送则私聊回复）", handler=my_study,
    example="我的学习", capability="study",
    reworded=((_ASKED_HOW_LONG, ""),),
)


def register(registry: CommandRegistry) -> None:
    registry.add(COMMAND)
    registry.add(MINE)
