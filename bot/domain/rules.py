"""The points rules (量化积分): loaded from TOML, pure functions from events to points."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.toml")
STATUSES = ("present", "late", "makeup", "leave", "absent")
# The activity types a [attendance.by_type."…"] table may name: storage.models.ActivityType's
# values, written out because the shell's quick report loads this module without the models
# (tests/test_rules.py holds the two the same).
ACTIVITY_TYPES = ("主题党日", "政治夜学", "理论学习中心组", "第一议题", "读书班", "支部党员大会",
                  "支委会", "党小组会", "党课", "党建大讲堂", "事迹报告会")


class RulesError(ValueError):
    """The rules file is not valid; the message says which key is wrong."""


# How the tiers are cut, as people read it (the rules file says absolute or quota).
TIER_MODE_LABELS = {"absolute": "按分数线", "quota": "按比例"}


@dataclass(frozen=True)
class TierRules:
    participation_weight: float = 0.6
    points_weight: float = 0.4
    points_reference: float = 10.0
    period: str = "month"
    mode: str = "absolute"
    red_at_least: float = 85.0
    blue_below: float = 60.0
    red_share: float = 0.2
    blue_share: float = 0.2


@dataclass(frozen=True)
class Rules:
    attendance: dict[str, int]
    attendance_by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    study_points_per_30_minutes: int = 1
    study_daily_cap: int = 4
    # 补签 re-opens a confirmed record only this many days after the activity started.
    makeup_window_days: int = 7
    tiers: TierRules = field(default_factory=TierRules)
    # The exact text loaded and its digest, so each ledger entry names its rules version.
    source: str = ""
    digest: str = ""

    def attendance_points(self, activity_type: str, status: str) -> tuple[int, str]:
        """Points for one attendance status at one activity type, and the rule key used."""
        by_type = self.attendance_by_type.get(activity_type, {})
        if status in by_type:
            return by_type[status], f"attendance.{status}.{activity_type}"
        return self.attendance.get(status, 0), f"attendance.{status}"

    def study_points(self, minutes_today: int, already_today: int) -> int:
        """Points a study log adds: the whole half-hours of the day's minutes (this log's
        with the day's earlier ones), up to the cap, less the points already earned today."""
        earned = (minutes_today // 30) * self.study_points_per_30_minutes
        return max(0, min(earned, self.study_daily_cap) - already_today)


def parse_rules(text: str) -> Rules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"规则文件不是有效的 TOML：{exc}") from exc
    # A key djbot does not know is a typo (red_at_lest, absense) or an alias (by_type."夜学"):
    # ignored, it left the default in force while the file said otherwise.
    _known(data, ("attendance", "study", "tiers", "meetings"), "")
    # A meeting is counted by its activities' type: 支部委员会 (支委会's alias) was tracked
    # as a meeting no activity is ever of, and every branch overdue with it each week.
    _known(data.get("meetings", {}), ACTIVITY_TYPES, "meetings.")
    att = data.get("attendance", {})
    _known(att, (*STATUSES, "makeup_window_days", "by_type"), "attendance.")
    _known(att.get("by_type") or {}, ACTIVITY_TYPES, "attendance.by_type.")
    base = {k: _int(att, k, f"attendance.{k}") for k in STATUSES if k in att}
    makeup_window_days = _int(att, "makeup_window_days", "attendance.makeup_window_days", default=7)
    if makeup_window_days < 0:
        raise RulesError("attendance.makeup_window_days 不能是负数")
    by_type: dict[str, dict[str, int]] = {}
    for type_name, values in (att.get("by_type") or {}).items():
        _known(values, STATUSES, f"attendance.by_type.{type_name}.")
        by_type[type_name] = {
            k: _int(values, k, f"attendance.by_type.{type_name}.{k}")
            for k in STATUSES
            if k in values
        }
    study = data.get("study", {})
    _known(study, ("points_per_30_minutes", "daily_cap"), "study.")
    tiers_raw = data.get("tiers", {})
    defaults = TierRules()
    _known(tiers_raw, tuple(defaults.__dataclass_fields__), "tiers.")
    tiers = TierRules(**{name: _tier_value(defaults, name, tiers_raw[name])
                         for name in defaults.__dataclass_fields__ if name in tiers_raw})
    if tiers.mode not in ("absolute", "quota"):
        raise RulesError("tiers.mode 只能是 absolute 或 quota")
    if tiers.period not in ("month", "week"):
        raise RulesError("tiers.period 只能是 month 或 week")
    for name in ("red_share", "blue_share", "participation_weight", "points_weight"):
        # A share is a fraction: 20 written for 20% named more branches than there are.
        if not 0 <= getattr(tiers, name) <= 1:
            raise RulesError(f"tiers.{name} 应在 0 到 1 之间（如 0.2 表示 20%）")
    # The score is out of 100 only when the weights make a whole: 0.7 with 0.4 left in
    # place scored a full branch 110, and the tier lines meant nothing.
    if Fraction(repr(tiers.participation_weight)) + Fraction(repr(tiers.points_weight)) != 1:
        raise RulesError("tiers.participation_weight 与 tiers.points_weight 之和应为 1"
                         f"（现在是 {tiers.participation_weight:g} + {tiers.points_weight:g}）")
    if tiers.points_reference <= 0:
        raise RulesError("tiers.points_reference 应大于 0（人均积分达到多少算满分）")
    if tiers.blue_below > tiers.red_at_least:
        # Else a score between the two was red and below the blue line at once.
        raise RulesError(f"tiers.blue_below（{tiers.blue_below:g}）不能高于 "
                         f"tiers.red_at_least（{tiers.red_at_least:g}）")
    # The [meetings] table is read where 三会一课 is worked out; a bad value is refused here,
    # at load, rather than there, in a secretary's chat or the weekly summary.
    from bot.domain.meetings import required_meetings

    required_meetings(text)
    per_30 = _int(study, "points_per_30_minutes", "study.points_per_30_minutes", default=1)
    daily_cap = _int(study, "daily_cap", "study.daily_cap", default=4)
    for key, value in (("points_per_30_minutes", per_30), ("daily_cap", daily_cap)):
        if value < 0:
            raise RulesError(f"study.{key} 不能是负数")
    return Rules(
        attendance=base,
        attendance_by_type=by_type,
        study_points_per_30_minutes=per_30,
        study_daily_cap=daily_cap,
        makeup_window_days=makeup_window_days,
        tiers=tiers,
        source=text,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


def load_rules(path: Path | None = None) -> Rules:
    return parse_rules((path or DEFAULT_RULES_PATH).read_text(encoding="utf-8"))


def _tier_value(defaults: TierRules, name: str, value: object) -> object:
    """A [tiers] value as its default's type (a number or a word), or which key is wrong."""
    kind = type(getattr(defaults, name))
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise RulesError(f"tiers.{name} 必须是数字，现在是 {value!r}")
    if kind is str and not isinstance(value, str):
        raise RulesError(f"tiers.{name} 必须是文字，现在是 {value!r}")
    return kind(value)


def _known(table: object, keys: tuple[str, ...], where: str) -> None:
    """Every key of the table is one djbot reads, or which one is not, and what may be."""
    if not isinstance(table, dict):
        raise RulesError(f"{where.rstrip('.') or '规则文件'} 应是一张表（[…]）")
    for key in table:
        if key not in keys:
            raise RulesError(f"{where}{key} 不是规则项（可写：{'、'.join(keys)}）")


def _int(table: dict, key: str, where: str, default: int | None = None) -> int:
    if key not in table:
        if default is None:
            raise RulesError(f"{where} 缺少 {key}")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise RulesError(f"{where} 必须是整数，现在是 {value!r}")
    return value
