"""rectification: the day a 整改 item is to be done by (整改 刑侦 郑国庆 台账不全 12月底前)

A leader recording a problem says by when; the words were kept as part of the problem and
nothing was ever overdue. `due_on` keeps the day, so 整改 and the leaders' 周报 say when an
item is past it, and its owner is told once.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 18:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('rectification', sa.Column('due_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rectification', schema=None) as batch_op:
        batch_op.drop_column('due_on')
