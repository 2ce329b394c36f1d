"""The points ledger: append-only entries, each naming its rule, rules version and event."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Insert, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from storage.models import PointEntry, RuleSet
from storage.prepared import Returned


def insert_ignoring_duplicates(session: Session, model, values: dict) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on both databases; True when a row was written."""
    dialect = session.get_bind().dialect.name
    statement = insert_ignoring_duplicates_statement(model.__table__, dialect)
    return session.execute(statement, values).first() is not None


@cache
def insert_ignoring_duplicates_statement(table: Table, dialect: str) -> Insert:
    # Built once per table and kept: the values travel as parameters, and building a
    # statement costs more CPU than SQLite takes to run it. The table rather than the ORM
    # class, because an append-only row needs no unit of work.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    primary_key = next(iter(table.primary_key.columns))
    # RETURNING rather than rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING.
    return insert(table).on_conflict_do_nothing().returning(primary_key)


@cache
def insert_with_rules_lookup(dialect: str) -> Insert:
    # The rules version is looked up inside the INSERT, by digest: no round trip for it.
    ruleset = select(RuleSet.id).where(RuleSet.digest == bindparam("rules_digest"))
    return insert_ignoring_duplicates_statement(PointEntry.__table__, dialect).values(
        ruleset_id=ruleset.scalar_subquery()
    )


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
    rules_digest: str | None = None,
    note: str | None = None,
) -> bool:
    """Add one ledger entry; posting the same (event, rule) twice writes nothing the second time.

    The rules version is named by `rules_digest` (the rules that earned it, looked up inside
    the INSERT), or by `ruleset_id` for a correction that reverses an entry under the
    rules that made it."""
    values = post_values(member_id=member_id, branch_id=branch_id, points=points, rule=rule,
                         source_kind=source_kind, source_id=source_id,
                         occurred_at=occurred_at, now=now, note=note)
    if rules_digest is None:
        return insert_ignoring_duplicates(session, PointEntry, {**values, "ruleset_id": ruleset_id})
    statement = insert_with_rules_lookup(session.get_bind().dialect.name)
    return session.execute(statement, {**values, "rules_digest": rules_digest}).first() is not None


# The parameters of insert_with_rules_lookup, for a caller that compiles it for exactly them.
POST_KEYS = ("member_id", "branch_id", "points", "rule", "source_kind", "source_id",
             "occurred_at", "created_at", "note", "rules_digest")


def post_values(*, member_id: int, branch_id: int | None, points: int, rule: str,
                source_kind: str, source_id: str | int | Returned, occurred_at: datetime,
                now: datetime, note: str | None = None, rules_digest: str | None = None) -> dict:
    """One ledger entry's column values (rules_digest only when it is looked up); the
    source may be the id an earlier INSERT of the same Writes returns."""
    if not isinstance(source_id, Returned):
        source_id = str(source_id)
    values = dict(member_id=member_id, branch_id=branch_id, points=points, rule=rule,
                  source_kind=source_kind, source_id=source_id, occurred_at=occurred_at,
                  created_at=now, note=note)
    if rules_digest is not None:
        values["rules_digest"] = rules_digest
    return values
