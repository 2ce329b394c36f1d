"""Enqueueing outbound messages. The delivery worker lives in bot/outbox.py."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

# The kinds of message (OutboxMessage.kind), in storage.kinds: read here as outbox.DAY_BEFORE.
from storage.kinds import (  # noqa: F401
    DAY_BEFORE,
    GROUP_BEFORE,
    LEADERBOARD,
    LEAVE_ASK,
    LEAVE_LAPSED,
    LEAVE_MOVED,
    MEETINGS_DUE,
    MISSING,
    NUDGE,
    OWN_LEAVE,
    OWN_STUDY,
    PIONEER_SHORTLIST,
    POINTS_LEDGER,
    START,
    SUMMARY,
    SUMMARY_PICTURE,
    VISIT_WITHDRAWN,
)
from storage.ledger import insert_ignoring_duplicates, insert_ignoring_duplicates_statement
from storage.models import Identity, Member, OutboxMessage
from storage.prepared import Prepared, Writes

_KEYS = ("dedupe_key", "platform", "target_kind", "target", "branch_id", "kind", "payload",
         "status", "attempts", "next_attempt_at", "created_at", "sends")
_ENQUEUE_ONCE = Prepared(partial(insert_ignoring_duplicates_statement, OutboxMessage.__table__),
                         keys=_KEYS)


def enqueue(
    session: Session,
    *,
    platform: str,
    target_kind: str,
    target: str,
    payload: dict[str, Any],
    now: datetime,
    kind: str = "message",
    dedupe_key: str | None = None,
    branch_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add a message to the outbox in the caller's transaction.

    With a dedupe_key (kind, target, occurrence time) the row is written at most once,
    however many replicas try: True means this call wrote it.
    """
    values = _values(platform=platform, target_kind=target_kind, target=target, payload=payload,
                     now=now, kind=kind, dedupe_key=dedupe_key, branch_id=branch_id,
                     not_before=not_before)
    if dedupe_key is None:
        session.add(OutboxMessage(**values))
        return True
    return insert_ignoring_duplicates(session, OutboxMessage, values)


def text_payload(text: str, *, title: str | None = None) -> dict[str, Any]:
    """The payload of a plain text message (what every Sender reads)."""
    return {"text": text, "markdown": False, "mentions": [], "is_error": False, "title": title}


def enqueue_private(session: Session, *, reached: list[tuple[Member, Identity]], text: str,
                    title: str, kind: str, key: str, now: datetime, branch_id: int | None,
                    not_before: datetime | None) -> None:
    """One private message to each (member, account) of storage.org.reach, at most once
    each: the dedupe key is `key` and the account."""
    enqueue_payload_privately(session, reached=reached, payload=text_payload(text, title=title),
                              kind=kind, key=key, now=now, branch_id=branch_id,
                              not_before=not_before)


def enqueue_payload_privately(session: Session, *, reached: list[tuple[Member, Identity]],
                              payload: dict[str, Any], kind: str, key: str, now: datetime,
                              branch_id: int | None, not_before: datetime | None) -> None:
    """enqueue_private of a payload already made (a message queued before, put to others)."""
    for _, identity in reached:
        enqueue(session, platform=identity.platform, target_kind="user",
                target=identity.user_id, now=now, kind=kind, branch_id=branch_id,
                dedupe_key=f"{key}|{identity.platform}:{identity.user_id}",
                not_before=not_before, payload=payload)


def enqueue_once_on(writes: Writes, *, platform: str, target_kind: str, target: str,
                    payload: dict[str, Any], now: datetime, kind: str, dedupe_key: str) -> None:
    """enqueue with a dedupe_key, among a message's own writes (the quick lane has no
    session): written with the message's record, in its transaction."""
    writes.add(_ENQUEUE_ONCE, _values(
        platform=platform, target_kind=target_kind, target=target, payload=payload, now=now,
        kind=kind, dedupe_key=dedupe_key, branch_id=None, not_before=None))


def _values(*, platform: str, target_kind: str, target: str, payload: dict[str, Any],
            now: datetime, kind: str, dedupe_key: str | None, branch_id: int | None,
            not_before: datetime | None) -> dict[str, Any]:
    return dict(
        dedupe_key=dedupe_key,
        platform=platform,
        target_kind=target_kind,
        target=target,
        branch_id=branch_id,
        kind=kind,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=not_before or now,
        created_at=now,
        sends=1,
    )


def take_from_payload(session: Session, *, message_id: int, key: str) -> Any:
    """Remove a key from a row's payload and return its value (None if it had none): for
    something good for one use (a one-shot URL), gone from the row before it is used."""
    row = session.get(OutboxMessage, message_id)
    if row is None or key not in (row.payload or {}):
        return None
    value = row.payload[key]
    row.payload = {k: v for k, v in row.payload.items() if k != key}
    session.add(row)
    return value


def same_message(session: Session, *, message_id: int) -> list[OutboxMessage]:
    """The other rows of one message queued once per chat (a reminder to each of a branch's
    groups, an announcement to every group told): the same platform, kind and target kind,
    and keys that differ only in the part naming the chat. A row whose key names no chat
    of its own has none."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return []
    pattern = _key_for_any_chat(row)
    if pattern is None:
        return []
    prefix = pattern[:pattern.index(_ANY_CHAT)]
    candidates = session.exec(select(OutboxMessage).where(
        OutboxMessage.platform == row.platform, OutboxMessage.kind == row.kind,
        OutboxMessage.target_kind == row.target_kind, OutboxMessage.id != row.id,
        key_starts(session, prefix))).all()
    return [other for other in candidates
            if other.target != row.target and _key_for_any_chat(other) == pattern]


_ANY_CHAT = "\x00"  # in no key: keys are typed text


def _key_for_any_chat(row: OutboxMessage) -> str | None:
    """The row's dedupe key with the part naming its chat ("wecom:chat-1" or
    "wecom:group:chat-1", as every per-chat key writes it) replaced by a placeholder. None
    for a follow-up too: what is left for some recipients is no copy of another chat's."""
    if is_follow_up(row.dedupe_key):
        return None
    own = {f"{row.platform}:{row.target}", f"{row.platform}:{row.target_kind}:{row.target}"}
    parts = (row.dedupe_key or "").split("|")
    if not own.intersection(parts):
        return None
    return "|".join(_ANY_CHAT if part in own else part for part in parts)


# A follow-up row (bot.sender.FollowUp: people the platform held back, their own row to go
# later) is keyed by its message's key, then this, the row it left and its first recipient:
# reminder.day_before|dingtalk:user:u1|2026-11-25T19:30:00+08:00|activity:7|follow-up:41:u1.
# So whatever finds a message's rows by its key (withhold_unsent, withdraw_unsent) finds
# them too, a row split again leaves a key of its own, and a try's outcome written twice
# writes its follow-ups once.
FOLLOW_UP = "|follow-up:"


def follow_up_key(parent: OutboxMessage, target: str) -> str:
    """The key of a row's follow-up whose first recipient is `target`. A recipient leaves a
    row at most once, so the row and the target name it among all its message's follow-ups;
    a row without a key stands for its message by its id."""
    origin = message_key(parent.dedupe_key) or f"outbox:{parent.id}"
    return f"{origin}{FOLLOW_UP}{parent.id}:{target}"


def message_key(key: str | None) -> str | None:
    """The key of the message a row is part of: its own, or a follow-up's first row's."""
    return key.split(FOLLOW_UP, 1)[0] if key else key


def is_follow_up(key: str | None) -> bool:
    return FOLLOW_UP in (key or "")




def leave_asks_of(member_id: int) -> str:
    """The start of the keys of a member's requests for a leave decision (LEAVE_ASK); the
    rest names what was asked (attendance:<row id>, period:<id>) and the account."""
    return f"{LEAVE_ASK}|member:{member_id}|"


# Above every character a key is typed with: a key starting with a prefix sorts below
# the prefix followed by it (in code point order, which SQLite's is).
_AFTER_ALL = "\U0010ffff"


def key_starts(session: Session, prefix: str) -> ColumnElement[bool]:
    """Rows whose key starts with `prefix`, in a form an index serves: on PostgreSQL LIKE
    (ix_outbox_key_prefix), on SQLite, whose LIKE ignores case and so no index, a range
    of keys as well."""
    starts = OutboxMessage.dedupe_key.startswith(prefix, autoescape=True)  # type: ignore[union-attr]
    if session.get_bind().dialect.name == "postgresql":
        return starts
    return and_(OutboxMessage.dedupe_key >= prefix,  # type: ignore[operator]
                OutboxMessage.dedupe_key < prefix + _AFTER_ALL, starts)  # type: ignore[operator]


# Queued, going or gone: a message not withdrawn nor given up on.
LIVE = ("pending", "sending", "sent")


def went_out(session: Session, *, kind: str, key_prefix: str, queued: bool = False) -> bool:
    """Whether a message of this kind whose key starts with key_prefix has been sent, or is
    being sent (a delivery worker holds it): read by someone, or about to be; with
    `queued`, or is still waiting to go (asking again would ask twice)."""
    # LIMIT 1, not only first(): the ORM reads every row of a result before handing the
    # first over, and a prefix (a branch's reminders) can match thousands of sent rows.
    return session.exec(select(OutboxMessage.id).where(
        OutboxMessage.kind == kind,
        OutboxMessage.status.in_(LIVE if queued else ("sent", "sending")),  # type: ignore[attr-defined]
        key_starts(session, key_prefix)).limit(1)).first() is not None


def leave_asks_to(session: Session, *, accounts: list[tuple[str, str]] | None
                  ) -> list[OutboxMessage]:
    """The requests for a leave decision queued or sent to these (platform, user id)
    accounts (None: to anyone), not withdrawn."""
    query = select(OutboxMessage).where(
        OutboxMessage.kind == LEAVE_ASK, OutboxMessage.target_kind == "user",
        OutboxMessage.status.in_(LIVE))  # type: ignore[attr-defined]
    if accounts is None:
        return list(session.exec(query.order_by(OutboxMessage.id)).all())
    if not accounts:
        return []
    return [row for row in session.exec(query.where(
        OutboxMessage.target.in_([user for _, user in accounts]))).all()  # type: ignore[attr-defined]
        if (row.platform, row.target) in accounts]


def take_back_untried(session: Session, *, kind: str, dedupe_key: str) -> bool:
    """Delete the row with this key if no worker has tried it yet; True when it was there.
    Compare-and-delete on its status, as the worker claims a row: of the two, one wins."""
    return session.execute(delete(OutboxMessage).where(
        OutboxMessage.kind == kind, OutboxMessage.dedupe_key == dedupe_key,
        OutboxMessage.status == "pending", OutboxMessage.attempts == 0)
        .execution_options(synchronize_session=False)).rowcount > 0


def withdraw_unsent(session: Session, *, kind: str, key_prefix: str,
                    reason: str) -> list[OutboxMessage]:
    """Withdraw the messages of this kind not sent yet whose key starts with key_prefix
    (their follow-ups' keys start with theirs): what they say is no longer so (a leave
    already decided). Returns those rows."""
    rows = session.exec(select(OutboxMessage).where(
        OutboxMessage.kind == kind,
        OutboxMessage.status.in_(("pending", "sending")),  # type: ignore[attr-defined]
        key_starts(session, key_prefix))).all()
    return withdraw_rows(session, rows=list(rows), reason=reason)


def withdraw_rows(session: Session, *, rows: list[OutboxMessage],
                  reason: str) -> list[OutboxMessage]:
    """Withdraw those of `rows` still pending (never claimed by the delivery worker again);
    returns them. Rows in any other state may be passed: one a worker holds (sending, or
    claimed on another replica since it was read) is on its way and stays so, marked to be
    withdrawn if its send fails (withdraw_reason); one sent, dead or withdrawn is left. The
    status of each row not withdrawn is read again, for the caller to see it went out.
    Compare-and-set on the status, as the worker claims a row."""
    if not rows:
        return []
    won = set(session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([row.id for row in rows]),  # type: ignore[union-attr]
               OutboxMessage.status == "pending")
        .values(status="withdrawn", last_error=reason)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)).scalars())
    lost = [row.id for row in rows if row.id not in won]
    if lost:
        # One a worker holds may be on its way (it counts as told), but if its send fails it
        # must not be tried again: the worker withdraws it then (bot.outbox, record).
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(lost),  # type: ignore[union-attr]
                   OutboxMessage.status == "sending")
            .values(withdraw_reason=reason)
            .execution_options(synchronize_session=False))
    now_is = dict(session.execute(select(OutboxMessage.id, OutboxMessage.status).where(
        OutboxMessage.id.in_(lost))).all()) if lost else {}  # type: ignore[union-attr]
    for row in rows:
        if row.id in won:
            set_committed_value(row, "status", "withdrawn")
            set_committed_value(row, "last_error", reason)
        elif row.id in now_is:
            set_committed_value(row, "status", now_is[row.id])
    return [row for row in rows if row.id in won]
