"""figures: an activity its schedule stopped holding can be held again

A schedule change cancels the activities it no longer holds that someone answered (leave
asked, a group told); a later change that holds them again (19:30 → 20:00 → back to 19:30,
暂停日程 then 恢复日程) found their (schedule, start) taken by a cancelled row, and that day
had no activity at all. `schedule_withdrawn` marks the ones a schedule change cancelled, so
they, and never one cancelled by 取消活动, are opened again before they begin. Rows already
cancelled before this revision are not marked: they stay cancelled, as they always did.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('activity', sa.Column('schedule_withdrawn', sa.Boolean(), nullable=False,
                                        server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_column('schedule_withdrawn')
