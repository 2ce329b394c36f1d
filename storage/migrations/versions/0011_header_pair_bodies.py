"""hardening: a DingTalk header pair may carry the bodies of callbacks sent in its millisecond

DingTalk signs the timestamp alone, so two genuine callbacks sent in the same millisecond
share a (timestamp, sign) pair; the second was refused as a replay. `ordinal` numbers the
bodies a pair was taken with (storage.callbacks.HeaderPair); the rows kept so far are each
their pair's first.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_PAIR = ['platform', 'timestamp', 'signature']


def _rebuild(ordinal: bool) -> None:
    """SQLite changes a primary key by building the table again."""
    kept = [*_PAIR, 'body_sha256', 'seen_at']
    op.create_table(
        'callback_signatures_new',
        sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('timestamp', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        *([sa.Column('ordinal', sa.Integer(), nullable=False)] if ordinal else []),
        sa.Column('body_sha256', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*_PAIR, *(['ordinal'] if ordinal else [])))
    columns = ', '.join(kept + (['ordinal'] if ordinal else []))
    values = ', '.join(kept + (['0'] if ordinal else []))
    op.execute(f'INSERT INTO callback_signatures_new ({columns})'
               f' SELECT {values} FROM callback_signatures')
    op.drop_index('ix_callback_signatures_seen_at', table_name='callback_signatures')
    op.drop_table('callback_signatures')
    op.rename_table('callback_signatures_new', 'callback_signatures')
    op.create_index('ix_callback_signatures_seen_at', 'callback_signatures', ['seen_at'],
                    unique=False)


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        _rebuild(ordinal=True)
        return
    op.add_column('callback_signatures',
                  sa.Column('ordinal', sa.Integer(), nullable=False, server_default='0'))
    op.alter_column('callback_signatures', 'ordinal', server_default=None)
    op.drop_constraint('callback_signatures_pkey', 'callback_signatures', type_='primary')
    op.create_primary_key('callback_signatures_pkey', 'callback_signatures', [*_PAIR, 'ordinal'])


def downgrade() -> None:
    # A pair goes back to one body, its first: the others' callbacks are long answered.
    op.execute('DELETE FROM callback_signatures WHERE ordinal <> 0')
    if op.get_bind().dialect.name != 'postgresql':
        _rebuild(ordinal=False)
        return
    op.drop_constraint('callback_signatures_pkey', 'callback_signatures', type_='primary')
    op.create_primary_key('callback_signatures_pkey', 'callback_signatures', _PAIR)
    op.drop_column('callback_signatures', 'ordinal')
