"""expected: a bureau-wide lecture's explicit audience (the branches it is for)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 19:05:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('activity', sa.Column('audience_branch_ids', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('activity') as batch:
        batch.drop_column('audience_branch_ids')
