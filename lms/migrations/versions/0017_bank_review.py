"""bank_review: the item-reviewer capability and the stored review decisions (issue 17)

Revision ID: 0017_bank_review
Revises: 0016_board_term_state
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0017_bank_review"
down_revision: str | None = "0016_board_term_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_reviewer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["district_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["granted_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_index(op.f("ix_item_reviewer_district_id"), "item_reviewer", ["district_id"], unique=False)
    op.create_table(
        "item_review_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("item_digest", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_username", sa.String(length=128), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("applied_note", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["reviewer_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_item_review_decision_item_id"), "item_review_decision", ["item_id"], unique=False
    )
    op.create_index(
        op.f("ix_item_review_decision_reviewer_id"), "item_review_decision", ["reviewer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_item_review_decision_reviewer_id"), table_name="item_review_decision")
    op.drop_index(op.f("ix_item_review_decision_item_id"), table_name="item_review_decision")
    op.drop_table("item_review_decision")
    op.drop_index(op.f("ix_item_reviewer_district_id"), table_name="item_reviewer")
    op.drop_table("item_reviewer")
