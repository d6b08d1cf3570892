"""roster_fields: 学習eポータル標準 v3.00 user fields (preferred and middle names, identifier), PublicFlg

Revision ID: 0014_roster_fields
Revises: 0013_attempt_report
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_roster_fields"
down_revision: str | None = "0013_attempt_report"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER_COLUMNS = (
    "middle_name",
    "kana_middle_name",
    "preferred_given_name",
    "preferred_family_name",
    "preferred_middle_name",
    "identifier",
)


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        for name in USER_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=255), nullable=True))
    with op.batch_alter_table("enrollment") as batch:
        batch.add_column(sa.Column("public_flg", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrollment") as batch:
        batch.drop_column("public_flg")
    with op.batch_alter_table("user") as batch:
        for name in USER_COLUMNS:
            batch.drop_column(name)
