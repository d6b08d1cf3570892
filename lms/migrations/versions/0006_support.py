"""support view grants and the research-export log: support_grant, research_export

Revision ID: 0006_support
Revises: 0005_board
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0006_support"
down_revision: str | None = "0005_board"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("board_user_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["board_user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["granted_by_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_support_grant_board_user_id"), "support_grant", ["board_user_id"], unique=False)
    op.create_index(op.f("ix_support_grant_school_id"), "support_grant", ["school_id"], unique=False)
    op.create_table(
        "research_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("recipient", sa.String(length=255), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("students", sa.Integer(), nullable=False),
        sa.Column("min_cell_size", sa.Integer(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("research_export")
    op.drop_index(op.f("ix_support_grant_school_id"), table_name="support_grant")
    op.drop_index(op.f("ix_support_grant_board_user_id"), table_name="support_grant")
    op.drop_table("support_grant")
