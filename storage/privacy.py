"""One member's own data: everything djbot holds about them (export), and forgetting them.

Forgetting pseudonymises: the person's name, staff number, platform identities and
free-text notes go; their attendance and ledger rows stay under a neutral label, so a
branch's totals and past reports do not change when someone leaves.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, SQLModel, select

from storage import moves, org, outbox
from storage.models import (
    Activity,
    Attendance,
    AuditEntry,
    Branch,
    Identity,
    LeavePeriod,
    Lecturer,
    Member,
    OutboxMessage,
    PastMembership,
    PendingConfirmation,
    PioneerNomination,
    PointEntry,
    ProcessedMessage,
    Rating,
    ReadingClass,
    ReadingClassEnrollment,
    Rectification,
    ResearchVisit,
    StudyLog,
    Talk,
)

# What people typed into a detail (a leave reason, 事迹): it may name the member or others.
_FREE_TEXT = frozenset({"reason", "deeds", "was", "comment", "material", "text",
                        "cancel_reason"})
# Joined names in one target (委员 张三、李四; a pairing 一支部↔二支部).
_TARGET_PARTS = re.compile(r"(、|↔)")
# How a ledger line's note names who corrected it: f"{by.name}更正为…" (storage.attendance,
# storage.corrections); the word after the name tells it from a longer namesake's.
_LEDGER_ACTS = ("批准请假", "更正为", "撤销", "取消活动", "恢复活动")


class MemberNotFound(Exception):
    pass


class AmbiguousMember(Exception):
    def __init__(self, candidates: list[Member]) -> None:
        self.candidates = candidates
        super().__init__(", ".join(f"#{m.id}" for m in candidates))


def pseudonym(member_id: int) -> str:
    return f"已注销成员#{member_id}"


def find_member(session: Session, *, key: str) -> Member:
    """The member whose 编号 (staff number) or name is `key`; 编号 wins, a shared name is refused."""
    key = key.strip()
    by_number = session.exec(select(Member).where(Member.staff_no == key)).first()
    if by_number is not None:
        return by_number
    named = list(session.exec(select(Member).where(Member.name == key).order_by(Member.id)))
    if not named and key.startswith("#") and key[1:].isdigit():
        found = session.get(Member, int(key[1:]))
        named = [found] if found is not None else []
    if not named:
        raise MemberNotFound(key)
    if len(named) > 1:
        raise AmbiguousMember(named)
    return named[0]


def _plain(row: SQLModel, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    data = row.model_dump(exclude=set(without))
    return {k: v.isoformat() if isinstance(v, (datetime, date)) else v for k, v in data.items()}


def export_member(session: Session, *, member: Member) -> dict[str, Any]:
    """Everything djbot stores about this member, as plain JSON-ready data."""
    mid = member.id
    branch = session.get(Branch, member.branch_id) if member.branch_id else None
    attendance = session.exec(
        select(Attendance, Activity)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.member_id == mid)
        .order_by(Activity.starts_at)
    ).all()
    ratings = session.exec(
        select(Rating, Activity)
        .join(Activity, Activity.id == Rating.activity_id)
        .where(Rating.member_id == mid)
        .order_by(Rating.rated_at)
    ).all()
    points = list(session.exec(
        select(PointEntry)
        .where(PointEntry.member_id == mid)
        .order_by(PointEntry.occurred_at, PointEntry.id)
    ))
    identities = session.exec(
        select(Identity).where(Identity.member_id == mid).order_by(Identity.id)
    )
    study = session.exec(
        select(StudyLog).where(StudyLog.member_id == mid).order_by(StudyLog.logged_at)
    )
    periods = session.exec(
        select(LeavePeriod).where(LeavePeriod.member_id == mid).order_by(LeavePeriod.first_day)
    )
    pioneer = session.exec(
        select(PioneerNomination).where(PioneerNomination.member_id == mid)
        .order_by(PioneerNomination.month)
    )
    past = session.exec(
        select(PastMembership).where(PastMembership.member_id == mid)
        .order_by(PastMembership.since)
    )
    classes = session.exec(
        select(ReadingClassEnrollment, ReadingClass)
        .join(ReadingClass, ReadingClass.id == ReadingClassEnrollment.class_id)
        .where(ReadingClassEnrollment.member_id == mid).order_by(ReadingClass.id)
    ).all()
    visits = session.exec(
        select(ResearchVisit).where(ResearchVisit.leader_id == mid).order_by(ResearchVisit.id))
    talks = session.exec(select(Talk).where(Talk.leader_id == mid).order_by(Talk.id))
    owned = session.exec(
        select(Rectification).where(Rectification.owner_id == mid).order_by(Rectification.id))
    lecturer = session.exec(select(Lecturer).where(Lecturer.member_id == mid)).first()
    return {
        "member": _plain(member) | {"branch": branch.name if branch else None},
        "identities": [{"platform": i.platform, "user_id": i.user_id} for i in identities],
        "attendance": [
            _plain(a, without=("id", "member_id")) | {"activity": _activity(act)}
            for a, act in attendance
        ],
        "leave_periods": [_plain(p, without=("member_id",)) for p in periods],
        "study": [_plain(s, without=("member_id",)) for s in study],
        "points": [_plain(p, without=("member_id",)) for p in points],
        "points_total": sum(p.points for p in points),
        "ratings": [
            _plain(r, without=("id", "member_id")) | {"activity": _activity(act)}
            for r, act in ratings
        ],
        "pioneer_nominations": [_plain(n, without=("member_id",)) for n in pioneer],
        "past_memberships": [_plain(m, without=("id", "member_id")) for m in past],
        "reading_classes": [
            {"class": c.name, "enrolled_at": e.enrolled_at.isoformat() if e.enrolled_at else None}
            for e, c in classes
        ],
        "research_visits": [_plain(v) for v in visits],
        "talks": [_plain(t) for t in talks],
        "rectifications": [_plain(r) for r in owned],
        "lecturer": _plain(lecturer, without=("member_id",)) if lecturer else None,
        "audit": _audit_about(session, mid=mid),
    }


def _audit_about(session: Session, *, mid: int) -> list[dict[str, Any]]:
    """Audit entries about the member in full, and what they did themselves with its time only:
    an entry of theirs may name others (委员 张三、李四, another member's 更正), theirs to see."""
    about = []
    for entry in session.exec(select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)):
        if (entry.detail or {}).get("member_id") == mid:
            about.append(_plain(entry, without=("id",)))
        elif entry.actor_id == mid:
            about.append({"at": entry.at.isoformat(), "action": entry.action})
    return about


def _activity(activity: Activity) -> dict[str, str]:
    return {"type": activity.type, "topic": activity.topic,
            "starts_at": activity.starts_at.isoformat()}


def forget_member(session: Session, *, member: Member, now: datetime, actor: str = "cli") -> None:
    """Pseudonymise one member; their ledger rows and attendance stay, nameless."""
    mid = member.id
    assert mid is not None
    member_name = member.name
    known_as = {v for v in (member_name, member.staff_no) if v}
    unique = _unique_names(session, mid, known_as)  # read once, before the name goes
    identities = list(session.exec(select(Identity).where(Identity.member_id == mid)))
    for identity in identities:
        # Stored deliveries and queued private messages carry the platform user id.
        # WeCom's ZS is the roster's zs (org.CASELESS_IDS): its deliveries say ZS.
        account = dict(platform=identity.platform, user_id=identity.user_id)
        session.exec(
            delete(ProcessedMessage).where(
                ProcessedMessage.platform == identity.platform,
                org.holds_account(ProcessedMessage.sender_id, **account),
            )
        )
        _unaddressed(session, **account)
        session.delete(identity)
    # Free text the member wrote may name them or others; the facts (status, score) stay.
    session.exec(
        update(Attendance).where(Attendance.member_id == mid)
        .values(leave_reason=None, makeup_reason=None, message_id=None)
    )
    session.exec(
        update(LeavePeriod).where(LeavePeriod.member_id == mid)
        .values(reason="", message_id=None)  # reason is required: empty, not NULL
    )
    session.exec(
        update(PioneerNomination).where(PioneerNomination.member_id == mid).values(deeds="")
    )
    session.exec(
        update(Rectification).where(Rectification.owner_id == mid)
        .values(owner_name=pseudonym(mid))
    )
    session.exec(update(Rating).where(Rating.member_id == mid).values(comment=None))
    session.exec(update(StudyLog).where(StudyLog.member_id == mid).values(material=None))
    # A ledger line's note carries the reason typed for it (补签：…); the points stay.
    session.exec(update(PointEntry).where(PointEntry.member_id == mid).values(note=None))
    # What they were asked to confirm names what they were doing (and whom): not theirs now.
    session.exec(delete(PendingConfirmation).where(PendingConfirmation.member_id == mid))
    # As a lecturer: the roster's line, and the lectures that name them (counted by name),
    # under the pseudonym; a namesake's lectures keep the name.
    session.exec(update(Lecturer).where(Lecturer.member_id == mid).values(name=pseudonym(mid)))
    if member.name in unique:
        session.exec(update(Activity).where(Activity.lecturer == member.name)
                     .values(lecturer=pseudonym(mid)))

    member.name = pseudonym(mid)
    member.staff_no = None
    moves.leave_roster(session, member=member, now=now)
    member.forgotten = True
    member.updated_at = now
    session.add(member)
    session.flush()
    # After leaving the roster, which may itself withdraw asks and write to the audit trail.
    _scrub_leave_asks(session, mid=mid)
    _scrub_audit(session, mid=mid, known_as=known_as, unique=unique,
                 accounts={(i.platform, org.account_key(i.platform, i.user_id))
                           for i in identities})
    if member_name in unique:
        _scrub_ledger_notes(session, mid=mid, name=member_name)
        _scrub_said(session, mid=mid, name=member_name,
                    user_ids={org.account_key(i.platform, i.user_id) for i in identities})
    session.add(
        AuditEntry(at=now, actor=actor, action="member.forget", target=pseudonym(mid),
                   detail={"member_id": mid, "identities_removed": len(identities)})
    )
    session.flush()


# What a private row of several people lists (DingTalk's batchSend: a row for those it held
# back, addressed to the first of them): the people, those who have a part, those refused.
_PEOPLE = ("user_ids", "reached", "invalid_user_ids")


def _unaddressed(session: Session, *, platform: str, user_id: str) -> None:
    """Private messages to the account go; a row for several people keeps the others, and
    is addressed to the first of them if it was to the account."""
    key = org.account_key(platform, user_id)

    def theirs(value: Any) -> bool:
        return isinstance(value, str) and org.account_key(platform, value) == key

    for row in session.exec(select(OutboxMessage).where(
            OutboxMessage.platform == platform, OutboxMessage.target_kind == "user")):
        listed = row.payload.get("user_ids")
        if not isinstance(listed, list) or not any(theirs(u) for u in listed):
            if theirs(row.target):
                session.delete(row)
            continue
        payload = dict(row.payload)
        for field in _PEOPLE:
            if isinstance(payload.get(field), list):
                payload[field] = [u for u in payload[field] if not theirs(u)]
        if not payload["user_ids"]:
            session.delete(row)
            continue
        row.payload = payload
        if theirs(row.target):
            row.target = payload["user_ids"][0]
        if row.last_error:  # 无效用户…：a、b, 钉钉限流…：a、b (the accounts listed)
            row.last_error = re.sub(rf"(?<=[：、]){re.escape(user_id)}(?=、|；|$)", "已注销成员",
                                    row.last_error,
                                    flags=re.IGNORECASE if platform in org.CASELESS_IDS else 0)
        session.add(row)


def _unique_names(session: Session, mid: int, known_as: set[str]) -> set[str]:
    """Of the member's name and 编号, those nobody else bears: a target or a word equal to one
    of them is about this member, not a namesake."""
    others = session.exec(select(Member.name, Member.staff_no).where(Member.id != mid))
    taken = {v for row in others for v in row if v}
    return known_as - taken


def _scrub_leave_asks(session: Session, *, mid: int) -> None:
    """The member's 【请假待批准】 sit in a decider's queue, naming them and their reason: the
    unsent are withdrawn, and every one (sent ones are kept a while) loses its text."""
    rows = list(session.exec(select(OutboxMessage).where(
        OutboxMessage.kind == outbox.LEAVE_ASK,
        outbox.key_starts(session, outbox.leave_asks_of(mid)))))
    # As every withdrawal is: compare-and-set, so one a worker holds now is left to it.
    outbox.withdraw_rows(session, rows=rows, reason="成员已注销")
    for row in rows:
        row.payload = outbox.text_payload(f"（{pseudonym(mid)}的请假，内容已删除）",
                                          title=row.payload.get("title"))
        session.add(row)


def _scrub_ledger_notes(session: Session, *, mid: int, name: str) -> None:
    """Other members' ledger lines the member corrected as 书记 name them (王书记更正为请假…):
    the pseudonym takes the name's place, so 积分明细 still says a correction was made."""
    for entry in session.exec(select(PointEntry).where(
            PointEntry.member_id != mid,
            PointEntry.note.startswith(name, autoescape=True))):  # type: ignore[union-attr]
        if entry.note[len(name):].startswith(_LEDGER_ACTS):
            entry.note = pseudonym(mid) + entry.note[len(name):]
            session.add(entry)


def _scrub_said(session: Session, *, mid: int, name: str, user_ids: set[str]) -> None:
    """What djbot said naming the member, kept a while (answers to others' messages, so a
    delivery again gets the same; outbox rows, sent or queued to a group): the pseudonym
    takes the name's place, and their accounts leave the @-mentions."""
    others = select(Member.name).where(Member.id != mid)
    longer = list(session.exec(others.where(
        Member.name.contains(name, autoescape=True))))  # type: ignore[attr-defined]

    def unnamed(value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return _renamed_in(value, name, pseudonym(mid), longer)
        if isinstance(value, list):
            # A WeCom account is kept in lower case (org.account_key): ZS is zs.
            kept = [v for v in value if not (key == "mentions" and (
                v in user_ids or (isinstance(v, str) and v.lower() in user_ids)))]
            return [unnamed(v) for v in kept]
        if isinstance(value, dict):
            return {k: unnamed(v, k) for k, v in value.items()}
        return value

    for said in session.exec(select(ProcessedMessage).where(
            ProcessedMessage.reply.is_not(None))):  # type: ignore[union-attr]
        if (reply := unnamed(said.reply)) != said.reply:
            said.reply = reply
            session.add(said)
    for row in session.exec(select(OutboxMessage)):
        if (payload := unnamed(row.payload)) != row.payload:
            row.payload = payload
            session.add(row)


def _renamed_in(text: str, name: str, pseudo: str, longer: list[str]) -> str:
    """`text` with `name` replaced, but not inside a longer name (张三 in 张三丰)."""
    if name not in text:
        return text
    kept = {f"\x00{i}\x00": n for i, n in enumerate(sorted(longer, key=len, reverse=True))}
    for mark, other in kept.items():  # NUL is never in stored text (bot.domain.text drops it)
        text = text.replace(other, mark)
    text = text.replace(name, pseudo)
    for mark, other in kept.items():
        text = text.replace(mark, other)
    return text


def _scrub_audit(session: Session, *, mid: int, known_as: set[str], unique: set[str],
                 accounts: set[tuple[str, str]]) -> None:
    """Entries about the member (by them, naming their id, or naming them where no one else
    bears the name) lose the name and the free text; what was done and when stays. A
    private chat's id is the member's account: what they did there keeps no chat."""
    for entry in session.exec(select(AuditEntry)):
        if entry.chat_id and entry.platform and (
                entry.platform, org.account_key(entry.platform, entry.chat_id)) in accounts:
            entry.chat_id = None
            session.add(entry)
        detail = dict(entry.detail or {})
        parts = _TARGET_PARTS.split(entry.target or "")
        linked = (entry.actor_id == mid or detail.get("member_id") == mid
                  or mid in (detail.get("member_ids") or [])
                  or any(p in unique for p in parts))
        if not linked:
            continue
        mentioned = set(known_as if detail.get("member_id") == mid else unique)
        if entry.actor_id == mid:
            mentioned.add(entry.actor)  # their name when they acted, on their own leave too
            entry.actor = pseudonym(mid)
        entry.target = "".join(pseudonym(mid) if p in mentioned else p for p in parts) \
            if entry.target is not None else None
        entry.detail = {k: _renamed(v, mentioned, mid) for k, v in detail.items()
                        if k not in _FREE_TEXT} if entry.detail is not None else None
        session.add(entry)


def _renamed(value: Any, names: set[str], mid: int) -> Any:
    if isinstance(value, str):
        return pseudonym(mid) if value in names else value
    if isinstance(value, list):
        return [_renamed(v, names, mid) for v in value]
    if isinstance(value, dict):
        return {k: _renamed(v, names, mid) for k, v in value.items()}
    return value
