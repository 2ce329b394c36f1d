"""三会一课 on time, pure: the required frequencies from the rules file, and a branch's standing.

The rules file's [meetings] table names each required meeting and how often it is due
("month" or "quarter"); 党小组会 is due per party group. A meeting is *done* when one was
held in the current period, *scheduled* when one is planned later in it, *due* when the
period ends this month and neither holds, and *overdue* when the last full period passed
without one (and none has been held since).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from bot.domain.rules import RulesError

DEFAULT_MEETINGS: dict[str, str] = {
    "支部党员大会": "quarter",
    "支委会": "month",
    "党小组会": "month",
    "党课": "quarter",
    "主题党日": "month",
}
PER_GROUP = "党小组会"
FREQUENCY_LABELS = {"month": "每月", "quarter": "每季度"}
# The secretary is reminded this long before a due meeting's period ends.
REMIND_DAYS_BEFORE = 7
REMIND_AT = time(9, 0)


def required_meetings(rules_source: str) -> dict[str, str]:
    """The [meetings] table of the rules text, over the defaults; unknown values refused."""
    try:
        table = tomllib.loads(rules_source or "").get("meetings", {})
    except tomllib.TOMLDecodeError:
        table = {}
    required = dict(DEFAULT_MEETINGS)
    for name, frequency in table.items():
        if frequency in ("", "none", False):
            required.pop(name, None)
            continue
        if frequency not in FREQUENCY_LABELS:
            raise RulesError(f"meetings.{name} 只能是 month、quarter 或 none")
        required[name] = frequency
    return required


@dataclass(frozen=True)
class PeriodSpan:
    first: date
    last: date  # inclusive

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


def period_of(day: date, frequency: str) -> PeriodSpan:
    months = 3 if frequency == "quarter" else 1
    start_month = ((day.month - 1) // months) * months + 1
    first = date(day.year, start_month, 1)
    index = day.year * 12 + start_month - 1 + months
    following = date(index // 12, index % 12 + 1, 1)
    return PeriodSpan(first, following - timedelta(days=1))


def previous_period(span: PeriodSpan, frequency: str) -> PeriodSpan:
    return period_of(span.first - timedelta(days=1), frequency)


@dataclass(frozen=True)
class Held:
    """One meeting of a branch: its type, party group (for 党小组会) and local start day."""

    type: str
    day: date
    party_group: str | None = None
    # Whether it has begun: one at 19:30 today is not held yet at 09:00 (it is 已安排).
    begun: bool = True


@dataclass(frozen=True)
class MeetingStanding:
    type: str
    party_group: str | None
    frequency: str
    period: PeriodSpan
    state: str  # "done" | "scheduled" | "due" | "overdue" | "open"
    last_held: date | None
    planned: date | None = None  # the next one planned in the current period, if any

    @property
    def label(self) -> str:
        return f"{self.type}（{self.party_group}）" if self.party_group else self.type


STATE_LABELS = {"done": "已开", "scheduled": "已安排", "due": "本月到期", "overdue": "逾期",
                "open": "本期未开"}


def standing(required: dict[str, str], meetings: list[Held], groups: list[str],
             today: date, since: date, planned: list[Held] | None = None) -> list[MeetingStanding]:
    """Each required meeting's state for one branch on `today` (its local date); `since` is
    when the branch was set up: a period that began before it cannot make it late.
    `planned` are the fixed schedules' occurrences still to come (today's later ones too):
    like an activity made ahead, one in the current period makes the meeting 已安排."""
    out: list[MeetingStanding] = []
    for type_, frequency in required.items():
        for group in (groups if type_ == PER_GROUP else [None]):
            if type_ == PER_GROUP and group is None:
                continue

            def ours(found: Held) -> bool:
                return found.type == type_ and (group is None or found.party_group == group)

            mine = [m for m in meetings if ours(m)]
            span = period_of(today, frequency)
            held = [m.day for m in mine if m.day < today or (m.day == today and m.begun)]
            last = max(held) if held else None
            to_come = [m.day for m in mine if span.contains(m.day) and m.day >= today
                       and m.day not in held] + [
                p.day for p in planned or () if ours(p) and span.contains(p.day) and p.day >= today]
            if any(span.contains(d) for d in held):
                state = "done"
            elif to_come:
                state = "scheduled"
            elif (previous_period(span, frequency).first >= since
                  and not any(previous_period(span, frequency).contains(d) for d in held)):
                state = "overdue"
            elif span.last.month == today.month and span.last.year == today.year:
                state = "due"
            else:
                state = "open"
            next_one = min(to_come, default=None)
            out.append(MeetingStanding(type_, group, frequency, span, state, last, next_one))
    return out


def due_reminders(standings: list[MeetingStanding], today: date) -> list[MeetingStanding]:
    """Meetings to remind a secretary of today: due within REMIND_DAYS_BEFORE, none planned."""
    return [s for s in standings if s.state in ("due", "open", "overdue")
            and 0 <= (s.period.last - today).days <= REMIND_DAYS_BEFORE]


def remind_at(span: PeriodSpan, tz: tzinfo) -> datetime:
    """When the reminder for a meeting due by the end of `span` is sent (09:00, 7 days before)."""
    return datetime.combine(span.last - timedelta(days=REMIND_DAYS_BEFORE), REMIND_AT, tzinfo=tz)
