"""Test data in one place: branches, members with platform identities, bound chats."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import count

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.models import Branch, ChatBinding, Identity, Member, PartyGroup, Role

_seq = count(1)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make_branch(session: Session, name: str | None = None, **kw) -> Branch:
    branch = Branch(name=name or f"第{next(_seq)}支部", created_at=T0, **kw)
    session.add(branch)
    session.flush()
    return branch


def make_group(session: Session, branch: Branch, name: str) -> PartyGroup:
    group = PartyGroup(branch_id=branch.id, name=name)
    session.add(group)
    session.flush()
    return group


def make_member(
    session: Session,
    branch: Branch | None,
    name: str | None = None,
    *,
    role: Role = Role.MEMBER,
    wecom: str | None = None,
    dingtalk: str | None = None,
    staff_no: str | None = None,
    **kw,
) -> Member:
    n = next(_seq)
    member = Member(
        name=name or f"党员{n}",
        branch_id=branch.id if branch else None,
        role=role,
        staff_no=staff_no,
        created_at=T0,
        updated_at=T0,
        **kw,
    )
    session.add(member)
    session.flush()
    session.add(Identity(member_id=member.id, platform="wecom", user_id=wecom or f"wx{n}"))
    if dingtalk:
        session.add(Identity(member_id=member.id, platform="dingtalk", user_id=dingtalk))
    session.flush()
    return member


def bind_chat(session: Session, branch: Branch | None, chat_id: str, *, platform: str = "wecom",
              leaders: bool = False) -> ChatBinding:
    binding = ChatBinding(platform=platform, chat_id=chat_id, branch_id=branch.id if branch else None,
                          is_leaders=leaders, bound_at=T0)
    session.add(binding)
    session.flush()
    return binding


def branch_with_a_leader(session: Session) -> Branch:
    """一支部 in group g1 with its 书记 (sec) and one member 甲 (a), and a 领导 (boss) of the
    bureau: the smallest bureau a leader's figures can be read in."""
    branch = make_branch(session, "一支部")
    bind_chat(session, branch, "g1")
    make_member(session, branch, "书记", role=Role.SECRETARY, wecom="sec")
    make_member(session, branch, "甲", wecom="a")
    make_member(session, None, "领导", role=Role.LEADER, wecom="boss")
    return branch


def seed(engine: Engine, fn):
    """Run fn(session) in one committed transaction and return what it returns."""
    with Session(engine, expire_on_commit=False) as session:
        result = fn(session)
        session.commit()
        return result
