"""identity: WeCom userids kept lowercase, as WeCom matches them (ignoring case)

A roster imported with ZhangSan left the account that writes as zhangsan a stranger to the
bot, and a later file writing it ZHANGSAN took it for an account handed to someone new.
Userids are now stored as they are looked up (storage.models.user_key). One that another
member already holds in lowercase is left as it is: WeCom cannot have both, and the next
roster import, which gives the account to one of them, says whose it was.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 18:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE identity SET user_id = lower(user_id)"
        " WHERE platform = 'wecom' AND user_id <> lower(user_id)"
        " AND NOT EXISTS (SELECT 1 FROM identity AS other WHERE other.platform = 'wecom'"
        " AND other.id <> identity.id AND lower(other.user_id) = lower(identity.user_id))")


def downgrade() -> None:
    pass  # the case the roster gave is not kept; lowercase is the same WeCom account
