"""board_release: immutable, numbered releases of the board's published figures (issue 14);
reference_value: the national figure as published (平均正答率), a scale score only from a linking study

Revision ID: 0010_board_release
Revises: 0009_totp_hardening
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0010_board_release"
down_revision: str | None = "0009_totp_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_release",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("made_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("made_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("pupils_rounded", sa.Integer(), nullable=False),
        sa.Column("protection", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("audit", sa.JSON(), nullable=False),
        sa.UniqueConstraint("number", name="uq_board_release_number"),
    )
    op.create_index("ix_board_release_number", "board_release", ["number"])
    op.create_index("ix_board_release_school_year", "board_release", ["school_year"])
    with op.batch_alter_table("reference_value") as batch:
        batch.add_column(sa.Column("correct_rate_pct", sa.Float(), nullable=True))
        batch.alter_column("mean_scale_score", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM reference_value WHERE mean_scale_score IS NULL")
    with op.batch_alter_table("reference_value") as batch:
        batch.alter_column("mean_scale_score", existing_type=sa.Float(), nullable=False)
        batch.drop_column("correct_rate_pct")
    op.drop_index("ix_board_release_school_year", table_name="board_release")
    op.drop_index("ix_board_release_number", table_name="board_release")
    op.drop_table("board_release")
