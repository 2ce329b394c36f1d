"""调研's yearly target for one branch: the bureau's number of visits a branch a year; for a
临时党支部 set up during the year, in proportion to the months it existed (one set up in
November is not two visits short on 31 December). A standing branch was there before djbot
was: its record's date is the roster's import, and it owes the whole year's."""

from __future__ import annotations

from datetime import date, tzinfo
from fractions import Fraction

from bot.domain.points import half_up


def visit_target(per_year: int, *, set_up: date | None, year: int) -> int:
    """The visits a branch set up on `set_up` (None: a standing branch) owes in `year`:
    `per_year` for a branch there all year; for one set up during it, the months from the
    month it was set up to December, as a share of twelve, rounded half up (2 a year: set up
    by October, one; in November or December, none that year)."""
    if set_up is None or set_up.year < year:
        return per_year
    if set_up.year > year:
        return 0
    return int(half_up(Fraction(per_year * (13 - set_up.month), 12), 0))


def target_of(branch, per_year: int, *, year: int, tz: tzinfo) -> int:
    """visit_target for a branch as stored (its `temporary` and `created_at`, UTC)."""
    set_up = branch.created_at.astimezone(tz).date() if branch.temporary else None
    return visit_target(per_year, set_up=set_up, year=year)
