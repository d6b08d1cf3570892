"""signin_card: printable QR sign-in cards for children (issue 19)

Revision ID: 0015_qr_cards
Revises: 0014_roster_fields
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0015_qr_cards"
down_revision: str | None = "0014_roster_fields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signin_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["class_id"], ["schoolclass.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_signin_card_user_id"), "signin_card", ["user_id"], unique=False)
    op.create_index(op.f("ix_signin_card_class_id"), "signin_card", ["class_id"], unique=False)
    op.create_index(op.f("ix_signin_card_secret_hash"), "signin_card", ["secret_hash"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_signin_card_secret_hash"), table_name="signin_card")
    op.drop_index(op.f("ix_signin_card_class_id"), table_name="signin_card")
    op.drop_index(op.f("ix_signin_card_user_id"), table_name="signin_card")
    op.drop_table("signin_card")
