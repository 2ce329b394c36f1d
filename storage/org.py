"""Queries about the organisation: members, branches, chat bindings, the audit trail, visits.

Keyword-only and never committing: the dispatcher or the CLI command owns the transaction.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from storage import committee, membership
from storage.models import (
    AuditEntry,
    Branch,
    ChatBinding,
    Identity,
    Member,
    PartyGroup,
    PushChannel,
    ResearchVisit,
    Role,
)


# Platforms whose user ids ignore case: WeCom's uniqueness check of a userid "会忽略大小写"
# (path/90195), so ZhangSan and zhangsan are one account however a roster spells it.
CASELESS_IDS = frozenset({"wecom"})


def account_key(platform: str, user_id: str) -> str:
    """A user id as the platform compares it (WeCom's in lower case)."""
    return user_id.lower() if platform in CASELESS_IDS else user_id


def holds_account(column: Any, *, platform: str, user_id: str) -> Any:
    """The condition that `column` (a sender, a private chat, a target) is that account."""
    if platform in CASELESS_IDS:
        return func.lower(column) == user_id.lower()
    return column == user_id


def identity_of(session: Session, *, platform: str, user_id: str) -> Identity | None:
    """The identity holding a platform's account: spelt as given, else (WeCom) in any case."""
    exact = session.exec(select(Identity).where(
        Identity.platform == platform, Identity.user_id == user_id)).first()
    if exact is not None or platform not in CASELESS_IDS:
        return exact
    return session.exec(select(Identity).where(
        Identity.platform == platform,
        holds_account(Identity.user_id, platform=platform, user_id=user_id))
        .order_by(Identity.id)).first()


def member_by_identity(session: Session, *, platform: str, user_id: str,
                       include_inactive: bool = False) -> Member | None:
    identity = identity_of(session, platform=platform, user_id=user_id)
    member = session.get(Member, identity.member_id) if identity is not None else None
    if member is None or not (include_inactive or member.active):
        return None
    return member


def identities_of(session: Session, *, member_id: int) -> list[Identity]:
    return list(
        session.exec(
            select(Identity).where(Identity.member_id == member_id).order_by(Identity.platform)
        ).all()
    )


def reach(session: Session, members: list[Member], *,
          prefer: str | None) -> list[tuple[Member, Identity]]:
    """Where to write to each member privately: their account on the `prefer` platform
    when they have one, else their first; members with no account are left out. Without
    `prefer` (a reminder the scheduler writes, not an answer to a message), the platform of
    their branch's group (the leaders' group, for one in no branch): a roster gives many
    both accounts, and a bureau that runs on one platform never hears what djbot queues
    for the other, whose account happened to be recorded first."""
    found: dict[int, list[Identity]] = {}
    groups: dict[int | None, str | None] = {}
    if members:
        for identity in session.exec(select(Identity).where(
                Identity.member_id.in_([m.id for m in members]))  # type: ignore[union-attr]
                .order_by(Identity.id)).all():
            found.setdefault(identity.member_id, []).append(identity)
    reached = []
    for member in members:
        identities = found.get(member.id, [])  # type: ignore[arg-type]
        wanted = prefer
        if wanted is None and len({i.platform for i in identities}) > 1:
            if member.branch_id not in groups:
                groups[member.branch_id] = group_platform(session, branch_id=member.branch_id)
            wanted = groups[member.branch_id]
        chosen = next((i for i in identities if i.platform == wanted), None) or next(
            iter(identities), None)
        if chosen is not None:
            reached.append((member, chosen))
    return reached


def leave_deciders(session: Session, *, branch_id: int | None,
                   asking: int | None = None) -> list[Member]:
    """Who decides a member's leave: the branch's 书记, or its 委员 when it has no other
    (a 书记's own leave); for the bureau's own activities, the leaders. Never the member
    asking."""
    roles = [Role.LEADER] if branch_id is None else [Role.SECRETARY, Role.COMMITTEE]
    for role in roles:
        query = select(Member).where(Member.role == role, Member.active == True)  # noqa: E712
        if asking is not None:
            query = query.where(Member.id != asking)
        if branch_id is not None:
            query = query.where(Member.branch_id == branch_id)
        found = list(session.exec(query.order_by(Member.id)).all())
        if found:
            return found
    return []


def members(session: Session, *, branch_id: int | None = None,
            include_inactive: bool = False) -> list[Member]:
    """Members in roster order (branch, then as imported); one branch when branch_id is given."""
    query = select(Member).where(Member.forgotten == False)  # noqa: E712
    if branch_id is not None:
        query = query.where(Member.branch_id == branch_id)
    if not include_inactive:
        query = query.where(Member.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Member.branch_id, Member.id)).all())


def members_by_name_or_staff_no(session: Session, *, text: str,
                                include_inactive: bool = False) -> list[Member]:
    """Active members whose name (said with 同志 or not) or 编号 is `text` (a name may match
    several); with include_inactive, also those who have left the roster (never the forgotten)."""
    named = membership.names_meant(text) | (Member.staff_no == text)
    on_roster = (Member.forgotten == False if include_inactive  # noqa: E712
                 else Member.active == True)  # noqa: E712
    return list(session.exec(select(Member).where(on_roster, named).order_by(Member.id)).all())


def branches(session: Session, *, include_inactive: bool = False) -> list[Branch]:
    query = select(Branch)
    if not include_inactive:
        query = query.where(Branch.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Branch.id)).all())


def first_roster(session: Session, *, tz: tzinfo) -> date | None:
    """The day djbot's first roster was imported: its earliest standing branch's record.
    A standing branch made in a later month was set up then (bot.domain.visits)."""
    first = session.exec(select(func.min(Branch.created_at)).where(
        Branch.temporary == False)).one()  # noqa: E712
    return first.astimezone(tz).date() if first is not None else None


def branch_by_name(session: Session, *, name: str) -> Branch | None:
    return session.exec(
        select(Branch).where(Branch.name == name, Branch.active == True)  # noqa: E712
    ).first()


def set_push_channel(session: Session, *, platform: str, branch_id: int | None, is_leaders: bool,
                     url: str, secret: str | None, set_by: int | None, now: datetime) -> bool:
    """Create or replace a group's push channel; True when one existed before."""
    existing = session.exec(
        select(PushChannel).where(
            PushChannel.platform == platform,
            PushChannel.branch_id == branch_id,
            PushChannel.is_leaders == is_leaders,
        )
    ).first()
    channel = existing or PushChannel(platform=platform, branch_id=branch_id,
                                      is_leaders=is_leaders, url=url, set_at=now)
    channel.url, channel.secret = url.strip(), secret
    channel.set_by, channel.set_at = set_by, now
    session.add(channel)
    return existing is not None


def party_group(session: Session, *, group_id: int | None) -> PartyGroup | None:
    return session.get(PartyGroup, group_id) if group_id is not None else None


def party_group_by_name(session: Session, *, branch_id: int, name: str) -> PartyGroup | None:
    return session.exec(
        select(PartyGroup).where(PartyGroup.branch_id == branch_id, PartyGroup.name == name)
    ).first()


def binding_for(session: Session, *, platform: str, chat_id: str) -> ChatBinding | None:
    return session.exec(
        select(ChatBinding).where(ChatBinding.platform == platform, ChatBinding.chat_id == chat_id)
    ).first()


def group_platform(session: Session, *, branch_id: int | None) -> str | None:
    """The platform of the first group bound to a branch (to the leaders, for None): where
    its people are written to privately when they have accounts on several."""
    query = select(ChatBinding.platform).order_by(ChatBinding.id)
    if branch_id is None:
        query = query.where(ChatBinding.is_leaders == True)  # noqa: E712
    else:
        query = query.where(ChatBinding.branch_id == branch_id,
                            ChatBinding.is_leaders == False)  # noqa: E712
    return session.exec(query).first()


def bind(session: Session, *, platform: str, chat_id: str, branch_id: int | None,
         leaders: bool, by: int | None, now: datetime) -> tuple[ChatBinding, ChatBinding | None]:
    """Bind a chat to a branch (or the leaders); return the binding and a copy of the old one."""
    binding = binding_for(session, platform=platform, chat_id=chat_id)
    before = None
    if binding is None:
        binding = ChatBinding(platform=platform, chat_id=chat_id)
        session.add(binding)
    else:
        before = ChatBinding(platform=platform, chat_id=chat_id, branch_id=binding.branch_id,
                             is_leaders=binding.is_leaders, bound_by=binding.bound_by,
                             bound_at=binding.bound_at)
    binding.branch_id = None if leaders else branch_id
    binding.is_leaders = leaders
    binding.bound_by = by
    binding.bound_at = now
    session.flush()
    return binding, before


def describe_binding(session: Session, binding: ChatBinding | None) -> str:
    """How a chat's binding reads to a person: 「一支部」, 领导群, or 未绑定."""
    if binding is None:
        return "未绑定"
    if binding.is_leaders:
        return "领导群"
    branch = session.get(Branch, binding.branch_id) if binding.branch_id else None
    return f"「{branch.name}」" if branch else "未绑定"


def audit_entries(session: Session, *, since: datetime | None = None,
                  action: str | None = None, limit: int = 50) -> list[AuditEntry]:
    """Newest first. `action` matches exactly or as a prefix ("leave" finds "leave.revoke")."""
    column = AuditEntry.__table__.c  # type: ignore[attr-defined]
    query = select(AuditEntry)
    if since is not None:
        query = query.where(column.at >= since)
    if action:
        query = query.where((column.action == action) | column.action.startswith(f"{action}."))
    newest_first = query.order_by(column.at.desc(), column.id.desc()).limit(limit)
    return list(session.exec(newest_first).all())


def visits_by_branch(session: Session, *, year: int, tz: tzinfo) -> dict[int, int]:
    """Research visits (调研) per active branch in a calendar year, zeros included.

    `visited_on` is already the visit's local date (in `tz`), so the year is a plain
    date range; `tz` is taken so every period query in djbot is called the same way.
    """
    counts = dict(
        session.exec(
            select(ResearchVisit.branch_id, func.count(ResearchVisit.id))
            .where(ResearchVisit.visited_on >= date(year, 1, 1),
                   ResearchVisit.visited_on < date(year + 1, 1, 1),
                   ResearchVisit.withdrawn_at.is_(None))  # 撤销调研
            .group_by(ResearchVisit.branch_id)
        ).all()
    )
    return {b.id: counts.get(b.id, 0) for b in branches(session)}  # type: ignore[misc]


def visit_totals(session: Session, *, year: int) -> tuple[int, int, int]:
    """(visits, problems found, problems solved) across the bureau in a calendar year; the
    problems as committee.problems_by_branch counts them (整改 items included)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    visits = session.exec(
        select(func.count(ResearchVisit.id)).where(
            ResearchVisit.visited_on >= first, ResearchVisit.visited_on <= last,
            ResearchVisit.withdrawn_at.is_(None))  # type: ignore[union-attr]
    ).one()
    problems = committee.problems_in(session, first=first, last=last)
    return int(visits), problems.found, problems.solved
