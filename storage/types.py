"""Column types shared by the models."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.types import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite has no time zones, so without this a value read back would be naive
    and comparisons with the clock would fail or, worse, be silently off by 8h.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # SQLite's own DATETIME processor formats a dict with %: with this type's
        # conversion before it, about 4 µs a value. This type's conversion and `isoformat`
        # instead, whose text is the same as that processor's (the stored text is what
        # SQLite compares and sorts).
        return _sqlite_text

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def result_processor(self, dialect, coltype):
        process = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or process is None:
            return process

        # The same text is read again and again (an activity's times, by each of its
        # check-ins; a roster's import time, by each of its members): its time is kept.
        def read(value):
            if type(value) is not str:
                return process(value)
            when = _TIMES.get(value)
            if when is None:
                if len(_TIMES) >= _TIMES_KEPT:
                    _TIMES.clear()
                when = _TIMES[value] = process(value)
            return when

        return read


# The SQLite text of UTC times lately bound, by value. A check-in binds about ten times
# that are four instants (its `now`, its header pair's and its reply's moments, the
# activity's start), each made again by every column's processor. Only UTC times are
# kept: the clock's and the database's. Equal UTC times are the same instant, so one text
# serves all of them; two times of another zone may be equal and not the same instant (a
# repeated hour's fold). A dict's get and set are atomic, so threads may share it.
_TEXTS: dict[datetime, str] = {}
_TEXTS_KEPT = 64
# And the other way: the time a SQLite text reads as (a datetime is immutable).
_TIMES: dict[str, datetime] = {}
_TIMES_KEPT = 256


def _sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    text = _TEXTS.get(value)
    if text is None:
        if len(_TEXTS) >= _TEXTS_KEPT:
            _TEXTS.clear()
        text = _TEXTS[value] = value.replace(tzinfo=None).isoformat(" ", "microseconds")
    return text
