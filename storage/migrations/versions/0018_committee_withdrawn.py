"""committee: a 约谈 or a 整改 item recorded in error can be withdrawn (撤销约谈, 撤销整改)

A talk typed for the wrong branch stayed on record for good: counted in 约谈记录, the
bureau page and the 述职报告's 约谈, and taken as the talk that branch owed, so a blue
branch no one talked to dropped off 蓝档待约谈. A 整改 item typed for the wrong branch or
owner could only be closed, which counted it as a problem found and solved. `withdrawn_at`,
`withdrawn_by` and `withdraw_reason` keep the row and say who took it back and why, as a
withdrawn 调研 does.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 15:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('talk', 'rectification')


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('withdrawn_at', storage.types.UTCDateTime(timezone=True),
                                       nullable=True))
        # SQLite cannot ALTER in a constraint, but it can add a column with REFERENCES inline.
        if op.get_context().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} ADD COLUMN withdrawn_by INTEGER REFERENCES member (id)")
        else:
            op.add_column(table, sa.Column('withdrawn_by', sa.Integer(),
                                           sa.ForeignKey('member.id'), nullable=True))
        op.add_column(table, sa.Column('withdraw_reason', sqlmodel.sql.sqltypes.AutoString(),
                                       nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ('withdraw_reason', 'withdrawn_by', 'withdrawn_at'):
                batch_op.drop_column(column)
