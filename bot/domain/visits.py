"""调研's yearly target for one branch: the bureau's number of visits a branch a year; for a
临时党支部 set up or ending during the year, in proportion to the months it existed (one set
up in November is not two visits short on 31 December, nor one that ran from March to August
all its months). A standing branch of djbot's first roster was there before djbot was: its
record's date is the roster's import, and it owes the whole year's; one added later was set
up then (set_up_of)."""

from __future__ import annotations

from datetime import date, tzinfo
from fractions import Fraction

from bot.domain.points import half_up


def visit_target(per_year: int, *, set_up: date | None, year: int,
                 ends_on: date | None = None) -> int:
    """The visits a branch set up on `set_up` (None: a standing branch) and ending on
    `ends_on` (None: not set to end) owes in `year`: `per_year` for a branch there all year;
    for one there part of it, the months from the month it was set up (or January) to the
    month it ends (or December), as a share of twelve, rounded half up (2 a year: set up by
    October, one; in November or December, none that year; March to August, one)."""
    if (set_up is not None and set_up.year > year) or (ends_on is not None
                                                       and ends_on.year < year):
        return 0
    first = set_up.month if set_up is not None and set_up.year == year else 1
    last = ends_on.month if ends_on is not None and ends_on.year == year else 12
    if (first, last) == (1, 12):
        return per_year
    return int(half_up(Fraction(per_year * (last - first + 1), 12), 0))


def set_up_of(*, temporary: bool, created: date | None,
              first_roster: date | None) -> date | None:
    """The day a branch began to owe visits, None for all along. A standing branch made
    in a later month than djbot's first roster (`first_roster`: the earliest standing
    branch's record) was set up then, as a 临时党支部 is: a 派出所党支部 added in November
    owed the whole year's, where 三会一课 asks it for nothing before November."""
    if temporary or created is None:
        return created
    if first_roster is not None and (created.year, created.month) > (first_roster.year,
                                                                     first_roster.month):
        return created
    return None


def target_of(branch, per_year: int, *, year: int, tz: tzinfo,
              first_roster: date | None = None) -> int:
    """visit_target for a branch as stored (its `temporary`, `created_at` in UTC and
    `ends_on`: a temporary branch's end, or the day a standing one was closed)."""
    set_up = set_up_of(temporary=branch.temporary, created=branch.created_at.astimezone(tz).date(),
                       first_roster=first_roster)
    return visit_target(per_year, set_up=set_up, year=year, ends_on=branch.ends_on)
