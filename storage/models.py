"""djbot's tables, named in the domain's own words.

All times are aware UTC in the database (see UTCDateTime) and shown in the
configured time zone. Enumerations are stored as short strings so reports and
SQL stay readable.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def utc_field(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Role(StrEnum):
    MEMBER = "member"  # 党员
    COMMITTEE = "committee"  # 委员
    SECRETARY = "secretary"  # 书记
    LEADER = "leader"  # 领导
    ADMIN = "admin"  # 管理员


# Who manages a branch's attendance, and who sees the whole bureau.
MANAGER_ROLES = frozenset({Role.SECRETARY, Role.COMMITTEE, Role.ADMIN})
LEADER_ROLES = frozenset({Role.LEADER, Role.ADMIN})

ROLE_LABELS: dict[Role, str] = {
    Role.MEMBER: "党员",
    Role.COMMITTEE: "委员",
    Role.SECRETARY: "书记",
    Role.LEADER: "领导",
    Role.ADMIN: "管理员",
}


class ActivityType(StrEnum):
    THEME_DAY = "主题党日"
    NIGHT_STUDY = "政治夜学"
    CENTRAL_STUDY = "理论学习中心组"
    FIRST_TOPIC = "第一议题"
    READING_CLASS = "读书班"
    GENERAL_MEETING = "支部党员大会"
    COMMITTEE_MEETING = "支委会"
    GROUP_MEETING = "党小组会"
    PARTY_LECTURE = "党课"
    LECTURE_HALL = "党建大讲堂"
    REPORT_MEETING = "事迹报告会"


class AttendanceStatus(StrEnum):
    PRESENT = "present"  # 出席
    LATE = "late"  # 迟到
    LEAVE = "leave"  # 请假 (granted)
    ABSENT = "absent"  # 缺席 (confirmed)
    MAKEUP = "makeup"  # 补签 by a secretary
    # 撤销 by 更正: a check-in or 补签 of someone the activity did not expect. Kept on file
    # (its ledger lines name it) and counted nowhere: storage.attendance.withdraw.
    WITHDRAWN = "withdrawn"


class LeaveState(StrEnum):
    GRANTED = "granted"
    PENDING = "pending"
    REVOKED = "revoked"


class Platform(StrEnum):
    WECOM = "wecom"
    DINGTALK = "dingtalk"


# --- organisation -----------------------------------------------------------------


class Branch(SQLModel, table=True):
    """A 党支部; temporary branches (临时党支部) have an end date."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    temporary: bool = False
    ends_on: date | None = None
    active: bool = True
    created_at: datetime = utc_field()


class PartyGroup(SQLModel, table=True):
    """A 党小组 inside a branch."""

    __table_args__ = (UniqueConstraint("branch_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    name: str


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # 编号: a staff or police number; the stable key when the roster gives one.
    staff_no: str | None = Field(default=None, unique=True, index=True)
    name: str = Field(index=True)
    branch_id: int | None = Field(default=None, foreign_key="branch.id", index=True)
    party_group_id: int | None = Field(default=None, foreign_key="partygroup.id")
    role: str = Field(default=Role.MEMBER)
    active: bool = True
    # Members may leave the public leaderboard and still see their own points.
    leaderboard_opt_out: bool = False
    # Members may turn off their own private nudges (不要提醒我).
    nudges_off: bool = False
    # Set by `djbot forget`: name and identities removed, ledger kept.
    forgotten: bool = False
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    # figures (issue 10): 党委委员, expected at 中心组学习 and 第一议题; and, for a member of a
    # temporary branch, the branch they return to when it ends.
    bureau_committee: bool = False
    return_branch_id: int | None = Field(default=None, foreign_key="branch.id")
    # When the member's current place began (a move, a return from a temporary branch, a
    # new role, party group or 党委委员 mark, back on the roster); None: since created_at.
    # Who an activity expects is read at its end, so nobody is expected at a branch's
    # activities held before they came, nor at a 支委会 held before they were made 委员.
    branch_since: datetime | None = utc_field(nullable=True)


class PastMembership(SQLModel, table=True):
    """A spell a member spent in one place (a branch, or with no branch the bureau; a
    party group, a role, 党委委员 or not) that has ended: they moved to another branch,
    their role, party group or 党委委员 mark changed, or they left the roster. An activity
    that ended within it still expects them as they were then, so until its record is
    confirmed a member whose place changed is counted where they were due, and nowhere
    else. Written by storage.membership."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    branch_id: int | None = Field(default=None, foreign_key="branch.id")
    party_group_id: int | None = Field(default=None, foreign_key="partygroup.id")
    role: str = Field(default=Role.MEMBER)
    bureau_committee: bool = False
    since: datetime = utc_field()
    until: datetime = utc_field()


class Identity(SQLModel, table=True):
    """A member's user id on one platform (WeCom userid, DingTalk staffId)."""

    __table_args__ = (UniqueConstraint("platform", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    platform: str
    user_id: str


class ChatBinding(SQLModel, table=True):
    """Which group chat belongs to which branch, or to the leaders."""

    __table_args__ = (UniqueConstraint("platform", "chat_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    chat_id: str
    branch_id: int | None = Field(default=None, foreign_key="branch.id", index=True)
    is_leaders: bool = False
    bound_by: int | None = Field(default=None, foreign_key="member.id")
    bound_at: datetime = utc_field()


class PushChannel(SQLModel, table=True):
    """A send-only group channel (WeCom group webhook, DingTalk custom robot).

    The key/secret is a credential: set from the CLI or a private chat only,
    never logged and never copied into stored payloads.
    """

    __table_args__ = (UniqueConstraint("platform", "branch_id", "is_leaders"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    branch_id: int | None = Field(default=None, foreign_key="branch.id", index=True)
    is_leaders: bool = False
    url: str  # the webhook URL (or WeCom key)
    secret: str | None = None  # DingTalk custom robot signing secret (SEC…)
    set_by: int | None = Field(default=None, foreign_key="member.id")
    set_at: datetime = utc_field()


# --- activities and attendance -------------------------------------------------


class Activity(SQLModel, table=True):
    """One held (or scheduled) activity: a theme day, a night study, a lecture…"""

    __table_args__ = (UniqueConstraint("schedule_id", "starts_at"),)
    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(index=True)  # ActivityType value
    topic: str = ""
    lecturer: str | None = None
    # Scope: a branch, a party group inside it, or the whole bureau (both None).
    branch_id: int | None = Field(default=None, foreign_key="branch.id", index=True)
    party_group_id: int | None = Field(default=None, foreign_key="partygroup.id")
    starts_at: datetime = utc_field(index=True)
    ends_at: datetime = utc_field()
    checkin_opens_at: datetime = utc_field()
    checkin_closes_at: datetime = utc_field()
    # open: check-in allowed; closed: ended, absences provisional until finalized.
    status: str = "open"
    opened_by: int | None = Field(default=None, foreign_key="member.id")
    closed_at: datetime | None = utc_field(nullable=True)
    closed_by: int | None = Field(default=None, foreign_key="member.id")
    # When absences were confirmed and penalties posted (secretary close or +24h).
    finalized_at: datetime | None = utc_field(nullable=True)
    # How many members were expected: frozen when the activity is finalized.
    expected_count: int | None = None
    schedule_id: int | None = Field(default=None, foreign_key="schedule.id")
    created_at: datetime = utc_field()
    # figures (issue 10): 取消活动 keeps the row (status "cancelled") and says who and why.
    cancelled_at: datetime | None = utc_field(nullable=True)
    cancelled_by: int | None = Field(default=None, foreign_key="member.id")
    cancel_reason: str | None = None
    # Cancelled because its schedule no longer held it (a change of rule, 删除日程, 暂停日程),
    # not by 取消活动: a later change, or the schedule resumed, opens it again before it
    # begins (storage.corrections.reopen).
    schedule_withdrawn: bool = Field(default=False,
                                     sa_column_kwargs={"server_default": false()})
    # expected (issue 10): a bureau-wide lecture's explicit audience (开始 大讲堂 … 对象 城关、交警):
    # the branches whose members it expects; None: the type's own audience.
    audience_branch_ids: list[int] | None = Field(default=None, sa_column=Column(JSON))


class Attendance(SQLModel, table=True):
    """A member's attendance at one activity; at most one row per pair."""

    # The unique key's index begins with activity_id: it serves look-ups by activity too.
    __table_args__ = (UniqueConstraint("activity_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    status: str  # AttendanceStatus value
    checked_in_at: datetime | None = utc_field(nullable=True)
    leave_reason: str | None = None
    leave_state: str | None = None  # LeaveState value, when status is leave
    leave_decided_by: int | None = Field(default=None, foreign_key="member.id")
    made_up_by: int | None = Field(default=None, foreign_key="member.id")
    made_up_at: datetime | None = utc_field(nullable=True)
    makeup_reason: str | None = None
    platform: str | None = None
    message_id: str | None = None
    updated_at: datetime = utc_field()


class Rating(SQLModel, table=True):
    """评价: a member's 1–5 rating of an activity, with an optional comment."""

    # The unique key's index begins with activity_id: it serves look-ups by activity too.
    __table_args__ = (UniqueConstraint("activity_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id")
    member_id: int = Field(foreign_key="member.id")
    score: int
    comment: str | None = None
    rated_at: datetime = utc_field()


class StudyLog(SQLModel, table=True):
    """学习: self-study a member logs."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str
    minutes: int
    material: str | None = None
    study_day: date = Field(index=True)  # local date, for the daily cap
    logged_at: datetime = utc_field()
    withdrawn_at: datetime | None = utc_field(nullable=True)  # 撤销 (issue 10)


class ResearchVisit(SQLModel, table=True):
    """调研: a leader's visit to a branch."""

    id: int | None = Field(default=None, primary_key=True)
    leader_id: int = Field(foreign_key="member.id", index=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    visited_on: date = Field(index=True)
    problems_found: int = 0
    problems_solved: int = 0
    note: str | None = None
    logged_at: datetime = utc_field()
    # figures (issue 10): 撤销 / 撤销调研 keep the row and say who and why.
    withdrawn_at: datetime | None = utc_field(nullable=True)
    withdrawn_by: int | None = Field(default=None, foreign_key="member.id")
    withdraw_reason: str | None = None


# --- points -----------------------------------------------------------------------


class RuleSet(SQLModel, table=True):
    """A version of the points rules, kept so every entry names the rules it used."""

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(unique=True, index=True)
    content: str = Field(sa_column=Column(Text, nullable=False))
    loaded_at: datetime = utc_field()


class PointEntry(SQLModel, table=True):
    """One line of the 量化积分 ledger. Never edited: a correction is a new entry."""

    __table_args__ = (
        # One entry per (event, rule): posting the same event twice is a no-op.
        UniqueConstraint("source_kind", "source_id", "rule"),
        Index("ix_pointentry_member_time", "member_id", "occurred_at"),
        Index("ix_pointentry_branch_time", "branch_id", "occurred_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    branch_id: int | None = Field(default=None, foreign_key="branch.id")
    points: int
    rule: str  # e.g. "attendance.present.主题党日", "study.per_30min", "absence.penalty"
    ruleset_id: int | None = Field(default=None, foreign_key="ruleset.id")
    source_kind: str  # "attendance" | "study" | "absence" | "correction"
    source_id: str  # id of the event that earned it (attendance id, study id, …)
    occurred_at: datetime = utc_field()
    note: str | None = None
    created_at: datetime = utc_field()


# --- audit ------------------------------------------------------------------------


class AuditEntry(SQLModel, table=True):
    """Who did what, when, from which chat: bindings, make-ups, leave, roles, imports, rules."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(index=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    actor: str  # a readable label: a member's name, "cli", "scheduler"
    action: str  # "bind", "makeup", "leave.revoke", "role.change", "roster.import", "rules.change", …
    target: str | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    platform: str | None = None
    chat_id: str | None = None


# --- inbound de-duplication -----------------------------------------------------------


class ProcessedMessage(SQLModel, table=True):
    """A delivered platform message, so a retried delivery counts once and gets the same reply."""

    __table_args__ = (UniqueConstraint("platform", "message_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    message_id: str
    chat_id: str
    sender_id: str
    received_at: datetime = utc_field(index=True)
    reply: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


# --- schedules and outbox -----------------------------------------------------------


class Schedule(SQLModel, table=True):
    """A recurring activity, written the way a secretary says it (每周三 19:30)."""

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int | None = Field(default=None, foreign_key="branch.id", index=True)
    activity_type: str
    rule: str  # the human rule text, e.g. "每月第一个周五 14:30"
    duration_minutes: int = 120
    holiday_policy: str = "skip"  # "skip" | "move"
    topic: str = ""
    active: bool = True
    # figures (issue 10): a 党小组会 schedule is for one party group; 暂停日程 holds no
    # activity of it up to and including paused_until.
    party_group_id: int | None = Field(default=None, foreign_key="partygroup.id")
    paused_until: date | None = None
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class BranchReminderSettings(SQLModel, table=True):
    """Per-branch reminder choices; absent row = the defaults."""

    branch_id: int = Field(foreign_key="branch.id", primary_key=True)
    paused_until: date | None = None
    # Overrides of the default reminder plan, e.g. {"group_before_minutes": 60}.
    plan: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class OutboxMessage(SQLModel, table=True):
    """A message djbot sends on its own initiative, delivered at least once by the worker."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Every claim counts the last minute's sends (bot.outbox._recent_counts), and the
        # housekeeping prunes by it: without it both read every row ever kept.
        Index("ix_outbox_sent_at", "sent_at"),
        # Messages of a kind are found by the start of their key (storage.outbox.key_starts):
        # a PostgreSQL database whose collation is not C cannot use the unique index for
        # LIKE 'prefix%', and SQLite, reading the prefix as a range, took the status index
        # (every sent row) over a range of the unique one.
        Index("ix_outbox_key_prefix", "kind", "dedupe_key",
              postgresql_ops={"dedupe_key": "text_pattern_ops"}),
    )
    id: int | None = Field(default=None, primary_key=True)
    # (kind, target, occurrence time): the unique key that makes enqueueing exactly-once.
    dedupe_key: str | None = Field(default=None, unique=True)
    platform: str
    target_kind: str  # "group" | "user" | "leaders"
    target: str  # chat id, platform user id, or branch id for group channels
    branch_id: int | None = Field(default=None, foreign_key="branch.id")
    kind: str = "message"  # "reminder.group", "nudge", "leaderboard", "summary", "reply", …
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending")  # pending | sending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = utc_field()
    claimed_by: str | None = None
    claimed_at: datetime | None = utc_field(nullable=True)
    last_error: str | None = None
    sent_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()
    # How many of the platform's messages its last send took (a long text goes in parts):
    # what each destination's rate counts (bot.outbox, RATE_LIMITS).
    sends: int = Field(default=1, sa_column_kwargs={"server_default": text("1")})
    # Why it was withdrawn while a worker held it (sending): if that send fails, the row is
    # withdrawn instead of tried again (storage.outbox.withdraw_rows).
    withdraw_reason: str | None = None


class Lease(SQLModel, table=True):
    """A named lease, so exactly one replica holds a long connection at a time."""

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = utc_field()


# --- the party committee's loop (三会一课, 约谈, 结对帮扶, 先锋党员, 整改, 讲师, 读书班) ---------


class Talk(SQLModel, table=True):
    """约谈: a leader's talk with a branch, with the problems named and the 整改 asked for."""

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    leader_id: int = Field(foreign_key="member.id")
    talked_on: date = Field(index=True)
    # The branch's tier when the talk was recorded (e.g. 蓝), kept so the before/after is traceable.
    tier_then: str | None = None
    problems: str = Field(default="", sa_column=Column(Text, nullable=False))
    remedy: str = Field(default="", sa_column=Column(Text, nullable=False))
    logged_at: datetime = utc_field()
    # 撤销约谈: the row is kept and counts nowhere, with who took it back and why.
    withdrawn_at: datetime | None = utc_field(nullable=True)
    withdrawn_by: int | None = Field(default=None, foreign_key="member.id")
    withdraw_reason: str | None = None


class BranchPairing(SQLModel, table=True):
    """结对帮扶: a strong branch paired with a weak one; ended pairs are kept."""

    id: int | None = Field(default=None, primary_key=True)
    strong_branch_id: int = Field(foreign_key="branch.id", index=True)
    weak_branch_id: int = Field(foreign_key="branch.id", index=True)
    paired_on: date
    ended_on: date | None = None
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = utc_field()


class JointActivity(SQLModel, table=True):
    """An activity a pair held together: it counts for both branches."""

    activity_id: int = Field(foreign_key="activity.id", primary_key=True)
    pairing_id: int = Field(foreign_key="branchpairing.id", index=True)


class PioneerNomination(SQLModel, table=True):
    """月度先锋党员: a secretary's nomination with its 事迹, confirmed by a leader."""

    __table_args__ = (UniqueConstraint("member_id", "month"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    branch_id: int | None = Field(default=None, foreign_key="branch.id", index=True)
    month: date = Field(index=True)  # the first day of the month honoured
    deeds: str = Field(sa_column=Column(Text, nullable=False))
    nominated_by: int | None = Field(default=None, foreign_key="member.id")
    nominated_at: datetime = utc_field()
    confirmed_by: int | None = Field(default=None, foreign_key="member.id")
    confirmed_at: datetime | None = utc_field(nullable=True)


class Rectification(SQLModel, table=True):
    """整改: one problem found on a visit, with an owner, open until 整改完成."""

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    visit_id: int | None = Field(default=None, foreign_key="researchvisit.id")
    problem: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: int | None = Field(default=None, foreign_key="member.id")
    owner_name: str
    found_on: date
    recorded_by: int | None = Field(default=None, foreign_key="member.id")
    recorded_at: datetime = utc_field()
    closed_on: date | None = Field(default=None, index=True)
    closed_by: int | None = Field(default=None, foreign_key="member.id")
    closing_note: str | None = None
    # 整改 … 12月底前: the day it is to be done by, when the leader said one.
    due_on: date | None = None
    # 撤销整改: an item recorded in error is kept and counts nowhere (neither open nor solved).
    withdrawn_at: datetime | None = utc_field(nullable=True)
    withdrawn_by: int | None = Field(default=None, foreign_key="member.id")
    withdraw_reason: str | None = None


class Lecturer(SQLModel, table=True):
    """党建讲师队伍: the roster of lecturers; Activity.lecturer names one of them."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    title: str | None = None  # e.g. 局党委书记, 支部书记
    active: bool = True
    added_at: datetime = utc_field()


class ReadingClass(SQLModel, table=True):
    """读书班: one class (期) held over several sessions for an enrolled list."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    created_at: datetime = utc_field()


class ReadingClassSession(SQLModel, table=True):
    activity_id: int = Field(foreign_key="activity.id", primary_key=True)
    class_id: int = Field(foreign_key="readingclass.id", index=True)


class ReadingClassEnrollment(SQLModel, table=True):
    class_id: int = Field(foreign_key="readingclass.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    # When the member was enrolled: the sessions held before count for them only if they
    # came. None for those enrolled before this was kept: every session counts.
    enrolled_at: datetime | None = utc_field(nullable=True)


# --- dashboard (看板) -------------------------------------------------------------------
# The dashboard's figure cache (storage/dashboard.py) asks which activities' attendance
# changed since it last looked: a range on updated_at, which this index answers.
Index("ix_attendance_updated_at", Attendance.__table__.c.updated_at)  # type: ignore[attr-defined]

# --- hardening: who answered a message, and which DingTalk header pairs were used -------


class MessageAnswer(SQLModel, table=True):
    """A message that has been answered, so no replica answers it a second time.

    The passive answer to a first delivery needs no row; a row is written when a repeated
    delivery or a stream refresh is answered, and by a replica that posts a late reply to
    the one-shot response_url or queues the app's (only when its insert wins). A retry that
    takes an app's late reply back unsent makes it "passive". A DingTalk message delivered
    again soon after it came records the one time it is answered again ("repeat").
    """

    __tablename__ = "message_answers"
    platform: str = Field(primary_key=True)
    message_id: str = Field(primary_key=True)
    via: str  # "passive" (HTTP answer) | "late" (response_url, message/send) | "repeat"
    answered_at: datetime = utc_field()


class CallbackSignature(SQLModel, table=True):
    """A DingTalk (timestamp, sign) header pair already accepted, with a body it came with.

    DingTalk's sign covers only the timestamp, so the pair is usable with any body for the
    freshness window; kept that long, it may come back only with a body it came with (a
    retry). Two genuine callbacks sent in the same millisecond share a pair: `ordinal`
    numbers the bodies a pair was accepted with (storage.callbacks.HeaderPair).
    """

    __tablename__ = "callback_signatures"
    platform: str = Field(primary_key=True)
    timestamp: str = Field(primary_key=True)
    signature: str = Field(primary_key=True)
    ordinal: int = Field(default=0, primary_key=True)
    body_sha256: str
    seen_at: datetime = utc_field(index=True)

# --- figures (issue 10): leave over a period, confirmations ---------------------------


class LeavePeriod(SQLModel, table=True):
    """请假 over days (12月4日至12月18日): excuses every activity the member is expected at
    in the range, including those created later; or only those of `activity_type`, for
    leave asked for one kind of activity before it was planned (请假 主题党日 出差)."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    first_day: date
    last_day: date
    reason: str
    activity_type: str | None = None
    leave_state: str = LeaveState.GRANTED
    platform: str | None = None
    message_id: str | None = None
    created_at: datetime = utc_field()


class PendingConfirmation(SQLModel, table=True):
    """Something a member must confirm with 「确认」 within a few minutes (a bureau-wide
    activity for several branches, a second 调研 the same day)."""

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    chat_id: str
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str  # "activity.open" | "visit.log"
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field()
    done_at: datetime | None = utc_field(nullable=True)
