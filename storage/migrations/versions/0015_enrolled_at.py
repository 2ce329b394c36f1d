"""figures: when a member was enrolled in a 读书班

A class's 参训率 expected every enrolled member at every session, so one enrolled after
the first sessions was counted absent from them. `enrolled_at` says when; enrolments made
before this revision have none and are expected at every session, as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 18:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('readingclassenrollment',
                  sa.Column('enrolled_at', storage.types.UTCDateTime(timezone=True),
                            nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('readingclassenrollment', schema=None) as batch_op:
        batch_op.drop_column('enrolled_at')
