"""Attendance arithmetic, free of the database: activity names, times, status and rates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.domain.points import percent
from bot.domain.text import simplified
from storage.models import ActivityType, AttendanceStatus, Role

# What people actually type for each activity type, besides its full name.
ACTIVITY_ALIASES: dict[str, ActivityType] = {
    "党日": ActivityType.THEME_DAY,
    "夜学": ActivityType.NIGHT_STUDY,
    "中心组": ActivityType.CENTRAL_STUDY,
    "中心组学习": ActivityType.CENTRAL_STUDY,
    "党员大会": ActivityType.GENERAL_MEETING,
    "支部委员会": ActivityType.COMMITTEE_MEETING,
    "小组会": ActivityType.GROUP_MEETING,
    "大讲堂": ActivityType.LECTURE_HALL,
    "报告会": ActivityType.REPORT_MEETING,
}

# Every word that names an activity type: its full name or an alias (said before a command
# word, 夜学请假, 夜学取消, or after it and adding nothing, 签到 主题党日).
ACTIVITY_WORDS = frozenset({*(t.value for t in ActivityType), *ACTIVITY_ALIASES})

DEFAULT_DURATION = timedelta(hours=2)
DURATIONS: dict[ActivityType, timedelta] = {ActivityType.NIGHT_STUDY: timedelta(minutes=90)}

# Committee activities: held bureau-wide they expect the 党委 (the members the roster marks
# as 党委委员), not every member; held in a branch, the branch committee.
COMMITTEE_TYPES = frozenset({ActivityType.CENTRAL_STUDY, ActivityType.FIRST_TOPIC})
# How the scope of the bureau's own schedules (COMMITTEE_TYPES held bureau-wide) is named.
BUREAU_SCOPE = "局党委"
# Held in a branch, these expect only the branch committee: the roster's 书记 and 委员.
BRANCH_COMMITTEE_TYPES = COMMITTEE_TYPES | {ActivityType.COMMITTEE_MEETING}
BRANCH_COMMITTEE_ROLES = frozenset({Role.SECRETARY, Role.COMMITTEE})

# Who an activity expects (docs/points.md has the table).
BRANCH = "branch"
BRANCH_COMMITTEE = "branch_committee"
PARTY_GROUP = "party_group"
BUREAU_COMMITTEE = "bureau_committee"
EVERYONE = "everyone"
AUDIENCE_LABELS = {
    BRANCH: "本支部全体党员",
    BRANCH_COMMITTEE: "支部委员会（书记、委员）",
    PARTY_GROUP: "本党小组党员",
    BUREAU_COMMITTEE: "党委委员",
    EVERYONE: "全局党员",
}


def audience(activity_type: str, *, branch_id: int | None, party_group_id: int | None) -> str:
    """Who an activity of this type and scope expects: part of the type, not of the opener."""
    if branch_id is None:
        return BUREAU_COMMITTEE if activity_type in COMMITTEE_TYPES else EVERYONE
    if party_group_id is not None:
        return PARTY_GROUP
    if activity_type in BRANCH_COMMITTEE_TYPES:
        return BRANCH_COMMITTEE
    return BRANCH

# A member may rate an activity for this long after it started.
RATING_WINDOW = timedelta(days=7)

# Statuses that count as having taken part.
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.MAKEUP)

STATUS_LABELS: dict[str, str] = {
    AttendanceStatus.PRESENT: "出席",
    AttendanceStatus.LATE: "迟到",
    AttendanceStatus.LEAVE: "请假",
    AttendanceStatus.ABSENT: "缺席",
    AttendanceStatus.MAKEUP: "补签",
}

LECTURER_MARK = "主讲"


def parse_activity_type(text: str) -> ActivityType | None:
    """The activity type a secretary named, by full name or common alias; None if unknown."""
    name = simplified(text.strip())  # 請假 黨日 出差: the theme day, as 党日
    for said in (name, name.removesuffix("活动")):  # 夜学活动: the night study
        try:
            return ActivityType(said)
        except ValueError:
            if said in ACTIVITY_ALIASES:
                return ACTIVITY_ALIASES[said]
    return None


def type_list() -> str:
    return "、".join(t.value for t in ActivityType)


def split_lecturer(topic: str) -> tuple[str, str | None]:
    """'<主题> 主讲 <姓名>' → (主题, 姓名); a topic without 主讲 has no lecturer. 主讲人 王建国,
    主讲：王建国 and 王建国同志 name 王建国 (they recorded 「人 王建国」, 「:王建国」)."""
    before, mark, after = topic.rpartition(LECTURER_MARK)
    name = _LECTURER_SAID.sub("", after.strip()) if mark else ""
    if not name:
        return topic.strip(), None
    return before.strip(), name


# Around the name after 主讲: 人, a colon, @ and 同志 are no part of it.
_LECTURER_SAID = re.compile(r"^(?:人|者)?[\s:：@]*|(?:同志|老师)$")


@dataclass(frozen=True)
class ActivityTimes:
    starts_at: datetime
    ends_at: datetime
    checkin_opens_at: datetime
    checkin_closes_at: datetime


def plan_times(
    activity_type: ActivityType,
    starts_at: datetime,
    *,
    opens_minutes_before: int,
    duration: timedelta | None = None,
) -> ActivityTimes:
    """An activity's end and check-in window: from shortly before the start to the end."""
    ends_at = starts_at + (duration or DURATIONS.get(activity_type, DEFAULT_DURATION))
    return ActivityTimes(
        starts_at=starts_at,
        ends_at=ends_at,
        checkin_opens_at=starts_at - timedelta(minutes=opens_minutes_before),
        checkin_closes_at=ends_at,
    )


def checkin_status(
    checked_in_at: datetime, starts_at: datetime, *, grace_minutes: int
) -> AttendanceStatus:
    """Present up to start + grace (inclusive), late after it."""
    if checked_in_at > starts_at + timedelta(minutes=grace_minutes):
        return AttendanceStatus.LATE
    return AttendanceStatus.PRESENT


def leave_allowed(now: datetime, starts_at: datetime, *, grace_minutes: int) -> bool:
    """Leave may be asked until the activity is really under way, i.e. up to the moment a
    check-in would count as late. 开始 opens an activity at once, so without the grace
    nobody who sees its notice could still excuse themselves."""
    return now <= starts_at + timedelta(minutes=grace_minutes)


@dataclass(frozen=True)
class Participation:
    """One activity's figures. `expected` includes members on leave."""

    expected: int
    present: int = 0
    late: int = 0
    makeup: int = 0
    leave: int = 0

    @property
    def attended(self) -> int:
        return self.present + self.late + self.makeup

    @property
    def counted(self) -> int:
        """The denominator: members expected and not excused."""
        return max(self.expected - self.leave, 0)

    @property
    def missing(self) -> int:
        return max(self.counted - self.attended, 0)

    @property
    def rate(self) -> float | None:
        return participation_rate(
            present=self.present,
            late=self.late,
            makeup=self.makeup,
            expected=self.expected,
            leave=self.leave,
        )

    def summary(self) -> str:
        """'8/9（88.9%）', the way secretaries and reports say it."""
        shown = percent(Fraction(self.attended, self.counted) if self.counted else None)
        return f"{self.attended}/{self.counted}（{shown}）"


def participation_rate(
    *, present: int, late: int, makeup: int, expected: int, leave: int
) -> float | None:
    """(present + late + makeup) ÷ (expected − leave); None when nobody was due."""
    counted = expected - leave
    if counted <= 0:
        return None
    return (present + late + makeup) / counted


def show_time(when: datetime, tz: ZoneInfo, now: datetime | None = None) -> str:
    """'09:05' today, '11月30日 09:00' on another day, in the bureau's time zone."""
    local = when.astimezone(tz)
    if now is not None and now.astimezone(tz).date() == local.date():
        return local.strftime("%H:%M")
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def activity_label(kind: str, topic: str | None, starts_at: datetime, tz: ZoneInfo,
                   now: datetime | None, *, group: str | None = None) -> str:
    """主题党日「…」（14:00）, from plain values: what replies, notices and the audit log call
    an activity (签到's quick lane and the scheduler have no Ctx)."""
    kind = f"{kind}·{group}" if group else kind
    topic = f"「{topic}」" if topic else ""
    return f"{kind}{topic}（{show_time(starts_at, tz, now)}）"
