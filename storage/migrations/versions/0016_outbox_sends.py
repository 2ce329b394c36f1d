"""hardening: a destination's rate counts the platform's messages, not the outbox's rows

A long private text goes to WeCom in parts of 2048 bytes, each a message/send, and WeCom
silently drops whatever passes 30 a minute to one member; the outbox counted a row as one
send. `sends` keeps how many messages a row's send took; rows before this revision were
one each.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('outboxmessage', sa.Column('sends', sa.Integer(), nullable=False,
                                             server_default=sa.text('1')))


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('sends')
