"""scale: the outbox's recent sends and key prefixes are read through indexes

Every claim counted the last minute's sends over every row ever kept (no index on
`sent_at`: about 140 ms a claim at 300 000 sent rows), and the look-ups by the start of a
message's key (was it sent, withdraw its unsent rows, its copies to other chats) read
every sent row: on PostgreSQL whose collation is not C LIKE 'prefix%' cannot use the
unique index, and SQLite (reading the prefix as a range, storage.outbox.key_starts)
preferred the status index to a range of the unique one. Every such look-up names the
kind: (kind, key) serves both databases.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 00:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_sent_at', 'outboxmessage', ['sent_at'], unique=False)
    op.create_index('ix_outbox_key_prefix', 'outboxmessage', ['kind', 'dedupe_key'], unique=False,
                    postgresql_ops={'dedupe_key': 'text_pattern_ops'})


def downgrade() -> None:
    op.drop_index('ix_outbox_key_prefix', table_name='outboxmessage')
    op.drop_index('ix_outbox_sent_at', table_name='outboxmessage')
