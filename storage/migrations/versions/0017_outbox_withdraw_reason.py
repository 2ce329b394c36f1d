"""hardening: a row withdrawn while a worker held it is not tried again after a failure

取消活动 (or a schedule change) withdraws the pending reminders about the activity; one a
worker held at that moment (`sending`) counted as told and stayed as it was, so if its
send failed it went back to pending and was sent later, about an activity no longer held.
`withdraw_reason` keeps why it was withdrawn, for the worker to withdraw it instead of
trying it again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('outboxmessage', sa.Column('withdraw_reason', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('withdraw_reason')
