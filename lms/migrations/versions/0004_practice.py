"""practice overrides and online item calibration: practice_override, item_calibration

Revision ID: 0004_practice
Revises: 0003_assessments
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0004_practice"
down_revision: str | None = "0003_assessments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practice_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_practice_override_student_id"), "practice_override", ["student_id"], unique=False
    )
    op.create_index(
        op.f("ix_practice_override_created_by_id"), "practice_override", ["created_by_id"], unique=False
    )
    op.create_table(
        "item_calibration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=8), nullable=False),
        sa.Column("a", sa.Float(), nullable=False),
        sa.Column("b", sa.Float(), nullable=False),
        sa.Column("c", sa.Float(), nullable=False),
        sa.Column("se_a", sa.Float(), nullable=True),
        sa.Column("se_b", sa.Float(), nullable=True),
        sa.Column("se_c", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_students", sa.Integer(), nullable=False),
        sa.Column("anchored", sa.Boolean(), nullable=False),
        sa.Column("n_anchors", sa.Integer(), nullable=False),
        sa.Column("latent_mean", sa.Float(), nullable=False),
        sa.Column("latent_sd", sa.Float(), nullable=False),
        sa.Column("loglik", sa.Float(), nullable=True),
        sa.Column("fit_chi2", sa.Float(), nullable=True),
        sa.Column("fit_df", sa.Integer(), nullable=True),
        sa.Column("fit_p", sa.Float(), nullable=True),
        sa.Column("fit_rmsd", sa.Float(), nullable=True),
        sa.Column("infit", sa.Float(), nullable=True),
        sa.Column("outfit", sa.Float(), nullable=True),
        sa.Column("misfit", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("calibrated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("calibrated_by_id", sa.Integer(), nullable=True),
        sa.Column("promoted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("promoted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["calibrated_by_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["promoted_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_item_calibration_item_id"), "item_calibration", ["item_id"], unique=False)
    op.create_index(op.f("ix_item_calibration_status"), "item_calibration", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_item_calibration_status"), table_name="item_calibration")
    op.drop_index(op.f("ix_item_calibration_item_id"), table_name="item_calibration")
    op.drop_table("item_calibration")
    op.drop_index(op.f("ix_practice_override_created_by_id"), table_name="practice_override")
    op.drop_index(op.f("ix_practice_override_student_id"), table_name="practice_override")
    op.drop_table("practice_override")
