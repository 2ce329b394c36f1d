"""Branches ending: a temporary branch (临时党支部) on its end date, and a standing one
closed when a restructuring leaves it empty. Keyword-only queries that never commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import update
from sqlmodel import Session, select

from storage import corrections, moves
from storage.attendance import CANCELLED
from storage.leave import Changed
from storage.models import (
    Activity,
    AuditEntry,
    Branch,
    BranchPairing,
    Member,
    PastMembership,
    Role,
)

ENDED = "临时党支部已撤销"
CLOSED = "支部已撤销"


@dataclass
class Ended:
    branch: Branch
    moved: list[tuple[str, str | None]] = field(default_factory=list)  # (member, back to)
    # What each move did to the member's leave (storage.leave.refit), to tell them.
    changes: list[Changed] = field(default_factory=list)
    # Its activities planned after its end, taken away (those a group heard of cancelled).
    withdrawn: corrections.Withdrawn = corrections.Withdrawn()


def end_due(session: Session, *, today: date, now: datetime, tz: tzinfo) -> list[Ended]:
    """Close every temporary branch whose end date has passed: it gets no more reminders
    or activities (those already created for later days are taken away), its members go
    back to the branch the roster names (their 原支部, else the one they came from), and
    its history stays (activities, attendance and points keep its id). A 结对 it is in ends
    on its end date, so the partner branch can be paired again."""
    ended = []
    for branch in session.exec(select(Branch).where(
            Branch.temporary == True, Branch.active == True,  # noqa: E712
            Branch.ends_on.is_not(None), Branch.ends_on < today)).all():  # type: ignore[union-attr]
        # Claimed, not just set: another replica's tick that read it as due too may have
        # ended it since (its members home, its audit entry written); ended twice, it was
        # recorded twice.
        claimed = session.execute(
            update(Branch).where(Branch.id == branch.id, Branch.active == True)  # noqa: E712
            .values(active=False).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        branch.active = False
        session.add(branch)
        result = Ended(branch)
        for member in session.exec(select(Member).where(Member.branch_id == branch.id)).all():
            home = home_of(session, member, branch.id)
            back = session.get(Branch, home) if home else None
            # Their spell in the temporary branch is kept: its activities whose absences
            # are not confirmed yet still count them there. They go back as they were there
            # (role, party group): the temporary branch's 书记 is not the home branch's.
            role, group = _as_before(session, member, back.id if back else None)
            changed = moves.change(session, member=member, now=now, tz=tz,
                                   branch_id=back.id if back else None, party_group_id=group,
                                   role=role)
            if changed is not None:
                result.changes.append(changed)
            member.return_branch_id = None
            member.updated_at = now
            session.add(member)
            result.moved.append((member.name, back.name if back else None))
        # After the moves, which already withdrew and told the leave asked for them.
        assert branch.ends_on is not None  # selected above
        after = max(now, datetime.combine(branch.ends_on + timedelta(days=1), time(0),
                                          tzinfo=tz))
        result.withdrawn = _wind_up(session, branch=branch, after=after, now=now, reason=ENDED)
        session.add(AuditEntry(at=now, actor="scheduler", action="branch.end", target=branch.name,
                               detail={"ends_on": branch.ends_on.isoformat() if branch.ends_on else None,
                                       "moved": [{"member": m, "to": b} for m, b in result.moved],
                                       "activities_removed": result.withdrawn.removed,
                                       "activities_cancelled": [
                                           a.id for a in result.withdrawn.cancelled]}))
        ended.append(result)
    session.flush()
    return ended


def close(session: Session, *, branch: Branch, now: datetime, tz: tzinfo) -> Ended:
    """Close a standing branch a restructuring has left empty (its people moved by the
    roster): as a temporary branch ends, from today. No more activities or reminders (those
    created ahead are taken away), out of the rankings and 调研 targets from then on (its
    target is its months' share, visit_target), its history kept. The caller has made sure
    nobody is on its roster."""
    today = now.astimezone(tz).date()
    branch.active, branch.ends_on = False, today
    session.add(branch)
    result = Ended(branch)
    result.withdrawn = _wind_up(session, branch=branch, after=now, now=now, reason=CLOSED)
    session.flush()
    return result


def _wind_up(session: Session, *, branch: Branch, after: datetime, now: datetime,
             reason: str) -> corrections.Withdrawn:
    """What a branch ending on its `ends_on` leaves behind: activities created ahead to start
    after `after`, taken away as a schedule change takes them (not one that has begun: a
    scheduler that comes back late leaves what was held, and checked in to, as it was), and
    its 结对, ended on that day so the partner branch can be paired again."""
    withdrawn = corrections.withdraw(session, activities=list(session.exec(
        select(Activity).where(Activity.branch_id == branch.id, Activity.starts_at > after,
                               Activity.status != CANCELLED)).all()),
        by=None, reason=reason, now=now)
    for pair in session.exec(select(BranchPairing).where(
            BranchPairing.ended_on.is_(None),  # type: ignore[union-attr]
            (BranchPairing.strong_branch_id == branch.id)
            | (BranchPairing.weak_branch_id == branch.id))).all():
        pair.ended_on = branch.ends_on
        session.add(pair)
    return withdrawn


def home_of(session: Session, member: Member, temporary_id: int) -> int | None:
    """The branch a member of a temporary branch goes back to when it ends: the roster's
    原支部, else the one they came from; None when there is neither."""
    return member.return_branch_id or _came_from(session, member, temporary_id)


def awaited(session: Session) -> dict[int, list[tuple[str, str]]]:
    """The branches people away in an open 临时党支部 go back to when it ends (home_of: their
    原支部, else the one they came from), each with who (name, the temporary branch's name).
    Closed meanwhile, such a branch would leave them in none, expected nowhere."""
    found: dict[int, list[tuple[str, str]]] = {}
    for member, branch in session.exec(
            select(Member, Branch).join(Branch, Branch.id == Member.branch_id)
            .where(Member.active == True, Branch.temporary == True,  # noqa: E712
                   Branch.active == True).order_by(Member.id)).all():  # noqa: E712
        home = home_of(session, member, branch.id)  # type: ignore[arg-type]
        if home is not None:
            found.setdefault(home, []).append((member.name, branch.name))
    return found


def _came_from(session: Session, member: Member, temporary_id: int) -> int | None:
    """The branch the member was in before the temporary one, when the roster names no
    原支部 (the template has no such column): the last other branch of theirs still open."""
    latest = PastMembership.until.desc()  # type: ignore[attr-defined]
    return session.exec(select(PastMembership.branch_id)
                        .join(Branch, Branch.id == PastMembership.branch_id)
                        .where(PastMembership.member_id == member.id,
                               PastMembership.branch_id != temporary_id,
                               Branch.active == True)  # noqa: E712
                        .order_by(latest)).first()


def _as_before(session: Session, member: Member, home: int | None) -> tuple[str, int | None]:
    """The role and party group the member had in their home branch before the temporary
    one (its last spell there); with no spell kept (history began after they left it), an
    ordinary member, unless their role is the bureau's (领导, 管理员), which goes with them."""
    spell = session.exec(select(PastMembership).where(
        PastMembership.member_id == member.id, PastMembership.branch_id == home)
        .order_by(PastMembership.until.desc())).first()  # type: ignore[attr-defined]
    if spell is not None:
        return spell.role, spell.party_group_id
    if member.role in (Role.SECRETARY, Role.COMMITTEE):
        return Role.MEMBER, None
    return member.role, None

