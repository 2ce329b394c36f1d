"""figures: leave asked for one kind of activity on a day not planned yet

`请假 主题党日 出差` ten days ahead, or `请假 12月10日 夜学 值班` before the 10th's night study
is planned, is kept as a leave period of that day; `activity_type` says it excuses only
activities of that type (NULL: every activity of its days, as a period always did).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('leaveperiod', sa.Column('activity_type', sqlmodel.sql.sqltypes.AutoString(),
                                           nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('leaveperiod', schema=None) as batch_op:
        batch_op.drop_column('activity_type')
