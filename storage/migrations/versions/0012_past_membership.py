"""figures: where a member was before a move or leaving the roster

`member.branch_since` says when a member came to their current branch, and
`pastmembership` keeps the spells that have ended, so an activity whose absences are not
confirmed yet expects whoever was in its branch at its end, not whoever is there now.
Nothing is filled in: the history begins with this revision (a member's current spell
began when they were created).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('member', sa.Column('branch_since', storage.types.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_table(
        'pastmembership',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=True),
        sa.Column('party_group_id', sa.Integer(), nullable=True),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('bureau_committee', sa.Boolean(), nullable=False),
        sa.Column('since', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('until', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
        sa.ForeignKeyConstraint(['party_group_id'], ['partygroup.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_pastmembership_member_id'), 'pastmembership', ['member_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pastmembership_member_id'), table_name='pastmembership')
    op.drop_table('pastmembership')
    with op.batch_alter_table('member') as batch:
        batch.drop_column('branch_since')
