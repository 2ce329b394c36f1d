"""speed: drop attendance's and rating's indexes on activity_id alone

Each table's unique (activity_id, member_id) index begins with activity_id and answers every
look-up by activity as well; the second index only cost each check-in (and rating) one more
page to write.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 13:30:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.drop_index('ix_attendance_activity_id', table_name='attendance')
    op.drop_index('ix_rating_activity_id', table_name='rating')


def downgrade() -> None:
    op.create_index('ix_attendance_activity_id', 'attendance', ['activity_id'], unique=False)
    op.create_index('ix_rating_activity_id', 'rating', ['activity_id'], unique=False)
