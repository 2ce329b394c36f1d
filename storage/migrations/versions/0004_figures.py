"""figures: who is expected, corrections, leave over a period, confirmations

Revision ID: 0004
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision: str = '0004'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _utc(name: str) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=True)


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable integer column referring to target(id). SQLite cannot ALTER in a
    constraint, but it can add a column with REFERENCES inline."""
    if op.get_context().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id"),
                                       nullable=True))


def upgrade() -> None:
    # Plain ADD COLUMN (with its REFERENCES inline): a batch copy of `member` on SQLite
    # would have to drop a table other rows point at.
    op.add_column('member', sa.Column('bureau_committee', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    _add_reference('member', 'return_branch_id', 'branch')
    op.add_column('activity', _utc('cancelled_at'))
    _add_reference('activity', 'cancelled_by', 'member')
    op.add_column('activity', sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(),
                                        nullable=True))
    op.add_column('studylog', _utc('withdrawn_at'))
    op.add_column('researchvisit', _utc('withdrawn_at'))
    _add_reference('researchvisit', 'withdrawn_by', 'member')
    op.add_column('researchvisit', sa.Column('withdraw_reason',
                                             sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    _add_reference('schedule', 'party_group_id', 'partygroup')
    op.add_column('schedule', sa.Column('paused_until', sa.Date(), nullable=True))

    op.create_table('leaveperiod',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('leave_state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('leaveperiod', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leaveperiod_member_id'), ['member_id'], unique=False)

    op.create_table('pendingconfirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pendingconfirmation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pendingconfirmation_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pendingconfirmation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pendingconfirmation_member_id'))
    op.drop_table('pendingconfirmation')
    with op.batch_alter_table('leaveperiod', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leaveperiod_member_id'))
    op.drop_table('leaveperiod')
    for table, columns in (
            ('schedule', ['paused_until', 'party_group_id']),
            ('researchvisit', ['withdraw_reason', 'withdrawn_by', 'withdrawn_at']),
            ('studylog', ['withdrawn_at']),
            ('activity', ['cancel_reason', 'cancelled_by', 'cancelled_at']),
            ('member', ['return_branch_id', 'bureau_committee'])):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
