"""The points ledger: append-only entries, each naming its rule, rules version and event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from storage.models import PointEntry, RuleSet


def insert_ignoring_duplicates(session: Session, model, values: dict) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on both databases; True when a row was written."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING rather than rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING.
    primary_key = next(iter(model.__table__.primary_key.columns))
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(primary_key)
    return session.execute(statement).first() is not None


def post(
    session: Session,
    *,
    member_id: int,
    branch_id: int | None,
    points: int,
    rule: str,
    source_kind: str,
    source_id: str | int,
    occurred_at: datetime,
    now: datetime,
    ruleset_id: int | None = None,
    note: str | None = None,
) -> bool:
    """Add one ledger entry; posting the same (event, rule) twice writes nothing the second time."""
    return insert_ignoring_duplicates(
        session,
        PointEntry,
        dict(
            member_id=member_id,
            branch_id=branch_id,
            points=points,
            rule=rule,
            source_kind=source_kind,
            source_id=str(source_id),
            occurred_at=occurred_at,
            created_at=now,
            ruleset_id=ruleset_id,
            note=note,
        ),
    )


def ruleset_id(session: Session, *, digest: str) -> int | None:
    row = session.exec(select(RuleSet.id).where(RuleSet.digest == digest)).first()
    return row
