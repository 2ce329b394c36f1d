"""dashboard: index attendance.updated_at for the figure cache

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:10:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_attendance_updated_at', 'attendance', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attendance_updated_at', table_name='attendance')
