"""Times in the database (storage.types.UTCDateTime): written as UTC, read back aware.

On SQLite a time is text, compared and sorted as text, so the text written now must be
the text SQLAlchemy's own DATETIME wrote for every row already in a bureau's file.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import DateTime
from sqlmodel import select

from storage.db import session_scope
from storage.models import Activity
from storage.types import UTCDateTime

from .factories import make_branch

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIMES = [
    datetime(2026, 12, 6, 9, 30, tzinfo=SHANGHAI),  # no microseconds: still six digits
    datetime(2026, 12, 6, 9, 30, 0, 123, tzinfo=SHANGHAI),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
    datetime(2027, 1, 1, 7, 59, 59, tzinfo=SHANGHAI),  # the day and year before, in UTC
    datetime(999, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=-5))),
]


@pytest.mark.parametrize("when", TIMES, ids=lambda t: t.isoformat())
def test_sqlite_text_is_what_sqlalchemy_wrote_before(when):
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    expected = theirs(when.astimezone(timezone.utc).replace(tzinfo=None))
    assert ours(when) == expected
    assert ours(when) == expected  # the same object again: the kept text
    assert ours(when + timedelta(microseconds=1)) != expected


def test_a_naive_time_is_refused_on_every_dialect(engine):
    dialect = engine.dialect
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    naive = datetime(2026, 12, 6, 9, 30)
    with pytest.raises(ValueError, match="naive"):
        process(naive) if process else UTCDateTime().process_bind_param(naive, dialect)


def test_times_come_back_as_the_same_instants_and_compare_in_order(engine):
    with session_scope(engine) as session:
        branch = make_branch(session, "第一支部")
        for n, when in enumerate(TIMES[:4]):
            session.add(Activity(branch_id=branch.id, type="主题党日", topic=f"t{n}",
                                 starts_at=when, ends_at=when + timedelta(hours=2),
                                 checkin_opens_at=when, checkin_closes_at=when,
                                 created_at=when))
    with session_scope(engine) as session:
        stored = session.exec(select(Activity.starts_at).order_by(Activity.starts_at)).all()
        assert stored == sorted(TIMES[:4])
        assert all(t.tzinfo is not None for t in stored)
        later = session.exec(select(Activity.topic).where(
            Activity.starts_at > datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc))).all()
        assert sorted(later) == ["t2", "t3"]


def test_kept_texts_and_times_stay_right_past_how_many_are_kept():
    """A time's text (and a text's time) is kept for the next column that binds (reads) the
    same instant: never another instant's, however many come and go."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    read = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    start = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
    for round_ in range(2):
        for n in range(300):
            when = start + timedelta(seconds=n, microseconds=round_)
            expected = theirs(when.replace(tzinfo=None))
            assert ours(when) == expected
            # The same instant made again, and said in Beijing time: the same text.
            assert ours(datetime.fromisoformat(when.isoformat())) == expected
            assert ours(when.astimezone(SHANGHAI)) == expected
            back = read(expected)
            assert back == when and back.tzinfo is not None
            assert read(expected) == when
