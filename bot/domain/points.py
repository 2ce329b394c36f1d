"""Points arithmetic with no database inside: periods in local time, branch scores, tiers.

Periods are half-open [start, end) in the configured time zone; the storage layer
compares them with the aware UTC times it keeps, so the zone only matters here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from fractions import Fraction

from bot.domain.rules import Rules, TierRules


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, local midnight
    end: datetime  # aware, exclusive
    label: str  # how a member says it: 本周, 本月, 2026-W48, 2026-01-01 至 2026-12-31

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    @property
    def exact_days(self) -> Fraction:
        """The length in days, exactly (to the microsecond), for scoring."""
        return Fraction((self.end - self.start) // timedelta(microseconds=1), 86_400_000_000)

    @property
    def last_day(self) -> date:
        """The last calendar day inside the period (end is exclusive)."""
        return (self.end - timedelta(microseconds=1)).date()

    def until(self, moment: datetime) -> "Period":
        """The same period up to and including `moment` (month to date), never empty: what
        starts at this very moment (an activity just opened and ended) has happened."""
        cut = moment + _INSTANT
        if cut >= self.end:
            return self
        return Period(self.start, max(cut, self.start + timedelta(minutes=1)), self.label)


# The clock's resolution (and the database's): a period cut at a moment includes it.
_INSTANT = timedelta(microseconds=1)


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def week_of(now: datetime, tz: tzinfo, label: str = "本周") -> Period:
    """The Monday–Sunday week containing `now`."""
    monday = now.astimezone(tz).date() - timedelta(days=now.astimezone(tz).weekday())
    return Period(_midnight(monday, tz), _midnight(monday + timedelta(days=7), tz), label)


def month_of(now: datetime, tz: tzinfo, label: str = "本月") -> Period:
    local = now.astimezone(tz).date()
    first = local.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(_midnight(first, tz), _midnight(following, tz), label)


def year_of(now: datetime, tz: tzinfo, label: str = "本年") -> Period:
    year = now.astimezone(tz).year
    return Period(_midnight(date(year, 1, 1), tz), _midnight(date(year + 1, 1, 1), tz), label)


NAMED_PERIODS = {"本周": week_of, "本月": month_of, "本年": year_of}


def named_period(name: str, now: datetime, tz: tzinfo) -> Period:
    """本周, 本月 or 本年 as of `now`."""
    return NAMED_PERIODS[name](now, tz, name)


_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def parse_iso_week(text: str, tz: tzinfo) -> Period:
    """'2026-W48' → that ISO week, Monday 00:00 to the next Monday 00:00 local time."""
    match = _ISO_WEEK.match(text.strip())
    if not match:
        raise ValueError(f"周应写成 2026-W48 的形式，收到「{text}」")
    year, week = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValueError(f"{year} 年没有第 {week} 周") from exc
    return Period(_midnight(monday, tz), _midnight(monday + timedelta(days=7), tz), iso_week_label(monday))


def iso_week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(now: datetime, tz: tzinfo) -> Period:
    """The Monday–Sunday week before the one `now` is in."""
    current = week_of(now, tz)
    monday = current.start.date() - timedelta(days=7)
    return Period(_midnight(monday, tz), current.start, iso_week_label(monday))


def date_range(first: date, last: date, tz: tzinfo) -> Period:
    """From the first to the last day inclusive, as given for an annual assessment."""
    if last < first:
        raise ValueError("结束日期不能早于开始日期")
    return Period(_midnight(first, tz), _midnight(last + timedelta(days=1), tz),
                  f"{first.isoformat()} 至 {last.isoformat()}")


def previous_period(period: Period) -> Period:
    """The period of the same shape just before: last week, last month, or the same length."""
    start = period.start
    tz = start.tzinfo
    assert tz is not None
    if start.day == 1 and period.end.day == 1 and period.days >= 28:
        # Calendar months (and years): step back by whole months, not by days.
        months = (period.end.year - start.year) * 12 + period.end.month - start.month
        year, month = divmod(start.year * 12 + start.month - 1 - months, 12)
        prev_start = _midnight(date(year, month + 1, 1), tz)
        return Period(prev_start, start, "上期")
    length = period.end - start
    return Period(_midnight((start - length).date(), tz), start, "上期")


# --- branch score and tiers -----------------------------------------------------------


class Tier(StrEnum):
    RED = "红"
    YELLOW = "黄"
    BLUE = "蓝"


# The tiers' points reference is per 30 days (period "month") or per 7 days ("week");
# a shorter or longer span scales it, so month-to-date on the 5th is judged fairly.
_REFERENCE_DAYS = {"month": 30.0, "week": 7.0}


def points_reference(tiers: TierRules, days: float) -> float:
    return tiers.points_reference * days / _REFERENCE_DAYS[tiers.period]


def branch_score(participation_rate: float | Fraction | None,
                 average_points: float | Fraction | None,
                 tiers: TierRules, days: float | Fraction) -> float | None:
    """Score 0–100 from the participation rate and the average points per member, to one
    decimal rounded half up (四舍五入); the tier is decided on that figure.

    Worked in exact fractions (pass the rate and average as Fractions of their counts):
    in floats, 13/16 and 2.8 points a month come to 59.9499… for what is 59.95 by hand,
    and round() (ties to even, on the float) showed 59.9 and blue where the hand's 60.0
    is yellow. The average, not the sum, so a big branch gains nothing from its size. A
    branch that held no activity in the span has no rate and gets no score.
    """
    if participation_rate is None:
        return None
    reference = (exact(tiers.points_reference) * exact(days)
                 / Fraction(str(_REFERENCE_DAYS[tiers.period])))
    average = exact(average_points or 0)
    points_part = min(Fraction(1), max(Fraction(0), average / reference)) \
        if reference > 0 else Fraction(0)
    score = 100 * (exact(tiers.participation_weight) * exact(participation_rate)
                   + exact(tiers.points_weight) * points_part)
    return half_up(score, 1)


def exact(value: float | Fraction) -> Fraction:
    """A number as the decimal it is written as: 0.6 is 3/5, not the float nearest it."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(repr(value))


def half_up(value: float | Fraction, digits: int = 1) -> float:
    """Rounded half away from zero (四舍五入), as a person checking by hand rounds: 81.25
    → 81.3, 59.95 → 60.0. Python's round() and format() round a tie to even, on the float,
    which is often just below the decimal it stands for."""
    number = exact(value)
    scale = 10 ** digits
    whole = math.floor(abs(number) * scale + Fraction(1, 2))
    return (whole if number >= 0 else -whole) / scale


def percent(rate: float | Fraction | None) -> str:
    """A rate as people write it, to one decimal rounded half up: 13/16 is 81.3%."""
    return "—" if rate is None else f"{half_up(exact(rate) * 100, 1):.1f}%"


def assign_tiers(scores: dict[int, float], tiers: TierRules,
                 ranked: Iterable[int] | None = None) -> dict[int, Tier]:
    """Tier every scored branch: by absolute thresholds, or by quota shares of the ranking
    of `ranked` (all by default). The others are tiered by the same cut-offs but take no
    share: a 临时党支部 that has ended, low in the ranking, would take the blue place of a
    standing branch, and nobody is left to hold its talk (约谈)."""
    if tiers.mode == "absolute":
        return {
            key: Tier.RED if s >= tiers.red_at_least else Tier.BLUE if s < tiers.blue_below
            else Tier.YELLOW
            for key, s in scores.items()
        }
    among = set(scores) if ranked is None else set(ranked) & set(scores)
    ordered = sorted((scores[key] for key in among), reverse=True)
    n = len(ordered)
    # Counts rounded half up, in exact arithmetic (50 × 0.29 is 14.5, and 15 branches; in
    # floats it is 14.4999… and was 14).
    red_n = math.floor(n * exact(tiers.red_share) + Fraction(1, 2))
    blue_n = math.floor(n * exact(tiers.blue_share) + Fraction(1, 2))
    # Ties at a cut-off share the tier; a branch that would be both (all equal) is yellow.
    red_cut = ordered[red_n - 1] if red_n else math.inf
    blue_cut = ordered[n - blue_n] if blue_n else -math.inf
    result: dict[int, Tier] = {}
    for key, s in scores.items():
        red, blue = s >= red_cut, s <= blue_cut
        result[key] = Tier.RED if red and not blue else Tier.BLUE if blue and not red else Tier.YELLOW
    return result


def participation_rate(attended: int, expected: int, leave: int) -> float | None:
    """present+late+makeup ÷ (expected − leave); None when nobody was due."""
    base = expected - leave
    return attended / base if base > 0 else None


def trend_arrow(current: float | None, previous: float | None) -> str:
    if current is None or previous is None:
        return ""
    if abs(current - previous) < 0.05:
        return "→"
    return "↑" if current > previous else "↓"


# --- public boards -----------------------------------------------------------------

# A public board names at most this share of the branch, so those left off cannot be
# worked out by elimination; never fewer than BOARD_MIN (a board of one names one).
BOARD_SHARE = 0.3
BOARD_MIN = 3
BOARD_MAX = 10


def public_board_size(members: int) -> int:
    """How many names a branch's public board may list: the top 30%, at least 3, at most 10."""
    return min(BOARD_MAX, max(BOARD_MIN, math.floor(members * BOARD_SHARE)))


def board_may_name(scored: int) -> bool:
    """Fewer than BOARD_MIN people who scored are not listed by name at all."""
    return scored >= BOARD_MIN


# A tie that a list's cut would split: (rank, how many share it, their points).
Tie = tuple[int, int, int]


def tie_line(tie: Tie, unit: str = " 分", *, after_names: bool = True) -> str:
    """A tie the cut would split, said as a count: naming some of them by name order would
    be arbitrary. 「另有」 only below names; a list that is all one tie names nobody, and
    says 「共」 (a line that starts with a number would read as a place on the list)."""
    rank, count, points = tie
    return f"{'另有' if after_names else '共'} {count} 人并列第 {rank} 名（{points}{unit}）"


# --- ledger text ----------------------------------------------------------


STATUS_LABELS = {"present": "出席", "late": "迟到", "makeup": "补签", "leave": "请假",
                 "absent": "缺席"}
_RULE_LABELS = {"study.per_30min": "自学（每30分钟）"}


def describe_rule(rule: str) -> str:
    """A ledger rule key in words: 'attendance.present.主题党日' → '主题党日 出席'."""
    if rule.startswith("reverse:"):
        # A correction cancels an earlier entry (a make-up after a penalty, say).
        return f"冲销 {describe_rule(rule.removeprefix('reverse:'))}"
    if rule in _RULE_LABELS:
        return _RULE_LABELS[rule]
    parts = rule.split(".")
    if parts[0] == "attendance" and len(parts) >= 2 and parts[1] in STATUS_LABELS:
        what = ".".join(parts[2:]) or "活动"
        return f"{what} {STATUS_LABELS[parts[1]]}"
    if parts[0] == "study":
        return "自学"
    if parts[0] == "correction":
        return "更正"
    return rule


@dataclass(frozen=True)
class LedgerItem:
    """One ledger entry as 积分明细 reads it: its figures and what it was for, in words."""

    id: int
    when: datetime  # occurred_at: the activity's start, the study's time
    points: int
    rule: str
    note: str | None
    label: str | None = None  # 主题党日「学习新党章」, 自学「党章」60分钟; None when unknown
    reverses: int | None = None  # the id of the entry this one reverses
    cancelled: int | None = None  # the activity's id when it was cancelled (取消活动)
    cancel_why: str | None = None  # who cancelled it and why, for a reversal without a note
    by_cancel: bool = False  # the reversal 取消活动 posted
    by_restore: bool = False  # the reversal of that reversal 恢复活动 posted
    # The rules version it was counted by (积分规则's 8 characters), when not the one loaded
    # now: +3 for a theme day beside 积分规则's 出席 +6 is explained by it.
    version: str | None = None


@dataclass(frozen=True)
class LedgerLine:
    when: datetime
    points: int  # the sum of the entries it stands for
    text: str
    entries: int  # how many ledger entries it stands for
    last_id: int = 0  # its newest entry's id: the later of two lines on one date comes first


def item_text(item: LedgerItem, *, label: bool = True) -> str:
    """What an entry was for: 主题党日「学习新党章」出席, 冲销 自学「党章」60分钟, and
    撤回冲销 … for a cancellation's reversal of a reversal (the penalty a 补签 had taken
    back, taken back in turn: the cancelled activity counts nothing either way). Without
    the label, the status alone (冲销缺席), for a line that names the activity once."""
    base = rule_base(item.rule)
    depth = item.rule.count("reverse:")
    prefix = "" if depth == 0 else "冲销 " if depth % 2 else "撤回冲销 "
    if not label:
        return prefix.strip() + describe_rule(base).rsplit(" ", 1)[-1]
    return f"{prefix}{_what(item.label, base)}"


def rule_base(rule: str) -> str:
    return rule.rsplit("reverse:", 1)[-1]


def _what(label: str | None, base: str) -> str:
    words = describe_rule(base)
    if label is None:
        return words
    if base.startswith("attendance."):
        return f"{label}{words.rsplit(' ', 1)[-1]}"  # 主题党日「学习新党章」出席
    return label


def fold_ledger(items: list[LedgerItem]) -> list[LedgerLine]:
    """积分明细's lines, newest first. What nets to nothing is one line that says so, its
    figure the sum of its entries (so the lines still add up to the ledger): everything on
    a cancelled activity, and an entry beside the reversal that cancels it exactly (更正,
    撤销, a 补签's reversal of a penalty). Any other entry is a line of its own, a reversal
    naming what it reverses and why (its note)."""
    by_id = {i.id: i for i in items}
    used: set[int] = set()
    lines: list[LedgerLine] = []

    def add(group: list[LedgerItem], text: str) -> None:
        used.update(i.id for i in group)
        newest = max(group, key=lambda i: (i.when, i.id))
        lines.append(LedgerLine(newest.when, sum(i.points for i in group), text, len(group),
                                newest.id))

    cancelled: dict[int, list[LedgerItem]] = {}
    for item in items:
        if item.cancelled is not None:
            cancelled.setdefault(item.cancelled, []).append(item)
    for group in cancelled.values():
        if len(group) > 1 and sum(i.points for i in group) == 0:
            add(group, _cancelled_text(group))
    for item in sorted(items, key=lambda i: i.id):
        original = by_id.get(item.reverses) if item.reverses is not None else None
        if original is None or item.id in used or original.id in used \
                or item.points != -original.points:
            continue
        why = f"（{item.note}）" if item.note else ""
        add([original, item],
            f"{item_text(original)} {original.points:+d}{_version(original)}，已冲销{why}")
    for item in items:
        if item.id not in used:
            add([item], item_text(item) + (f"（{item.note}）" if item.note else "")
                + _version(item))
    lines.sort(key=lambda line: (line.when, line.last_id), reverse=True)
    return lines


def _version(item: LedgerItem) -> str:
    """Counted by rules other than those loaded now: which, as 积分规则 names a version."""
    return f"（按规则版本 {item.version}）" if item.version else ""


def _cancelled_text(group: list[LedgerItem]) -> str:
    """An activity cancelled after points were posted on it: what had been posted, that
    all of it is reversed, and why."""
    first = min(group, key=lambda i: i.id)
    label = first.label or describe_rule(rule_base(first.rule)).rsplit(" ", 1)[0]
    posted = [i for i in sorted(group, key=lambda i: i.id) if not (i.by_cancel or i.by_restore)]
    parts = "、".join(f"{item_text(i, label=False)} {i.points:+d}" for i in posted)
    # Why it is cancelled now: the latest 取消活动's note (restored and cancelled again).
    why = next((i.note for i in sorted(group, key=lambda i: i.id, reverse=True)
                if i.by_cancel and i.note), None) or first.cancel_why
    return f"{label}已取消：原记 {parts}，已全部冲销，不计分" + (f"（{why}）" if why else "")


def describe_rules(rules: Rules) -> list[str]:
    """The rules loaded now, in words, a line each (积分规则): what each status earns, by
    activity type where that differs, study, and how a branch's tier is scored."""

    def statuses(points: dict[str, int]) -> str:
        shown = [f"{STATUS_LABELS[s]} {points[s]:+d}" for s in STATUS_LABELS if s in points]
        return "，".join(shown)

    lines = [f"活动签到：{statuses(rules.attendance)}"]
    for kind, points in rules.attendance_by_type.items():
        lines.append(f"{kind}：{statuses({**rules.attendance, **points})}")
    lines.append("缺席在确认后才计（书记发送「确认缺席」，或活动结束后自动确认）。")
    if rules.study_points_per_30_minutes:
        lines.append(f"自学：每 30 分钟 {rules.study_points_per_30_minutes:+d}，"
                     f"每天最多 {rules.study_daily_cap} 分。")
    t = rules.tiers
    period = "本月" if t.period == "month" else "本周"
    lines.append(f"支部得分（{period}）= 参与率 × {t.participation_weight:.0%} + "
                 f"人均积分（{t.points_reference:g} 分为满分）× {t.points_weight:.0%}；")
    if t.mode == "quota":
        lines.append(f"得分前 {t.red_share:.0%} 的支部为红档，后 {t.blue_share:.0%} 为蓝档，"
                     "其余黄档。")
    else:
        lines.append(f"{t.red_at_least:g} 分及以上红档，{t.blue_below:g} 分以下蓝档，其余黄档。")
    return lines
