"""board of education: pre-aggregated cells and reference values: board_cell, reference_value

Revision ID: 0005_board
Revises: 0004_practice
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0005_board"
down_revision: str | None = "0004_practice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_cell",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("entry_year", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=16), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_guessing", sa.Integer(), nullable=False),
        sa.Column("sum_eap", sa.Float(), nullable=False),
        sa.Column("sumsq_eap", sa.Float(), nullable=False),
        sa.Column("sum_se2", sa.Float(), nullable=False),
        sa.Column("pv_sum", sa.JSON(), nullable=False),
        sa.Column("pv_sumsq", sa.JSON(), nullable=False),
        sa.Column("pv_bands", sa.JSON(), nullable=False),
        sa.Column("pv_hist", sa.JSON(), nullable=False),
        sa.Column("refreshed_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["class_id"], ["schoolclass.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_board_cell_school_id"), "board_cell", ["school_id"], unique=False)
    op.create_index(op.f("ix_board_cell_class_id"), "board_cell", ["class_id"], unique=False)
    op.create_index(op.f("ix_board_cell_grade"), "board_cell", ["grade"], unique=False)
    op.create_index("ix_board_cell_year_skill", "board_cell", ["school_year", "skill", "term"], unique=False)
    op.create_table(
        "board_figure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=16), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("entry_year", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=True),
        sa.Column("se_mean", sa.Float(), nullable=True),
        sa.Column("sd", sa.Float(), nullable=True),
        sa.Column("band_shares", sa.JSON(), nullable=True),
        sa.Column("guessing_share", sa.Float(), nullable=True),
        sa.Column("hist", sa.JSON(), nullable=True),
        sa.Column("min_cell_size", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["org.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_board_figure_school_id"), "board_figure", ["school_id"], unique=False)
    op.create_index(op.f("ix_board_figure_entry_year"), "board_figure", ["entry_year"], unique=False)
    op.create_index("ix_board_figure_table", "board_figure", ["skill", "school_year", "term"], unique=False)
    op.create_table(
        "reference_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("skill", sa.String(length=16), nullable=False),
        sa.Column("mean_scale_score", sa.Float(), nullable=False),
        sa.Column("sd", sa.Float(), nullable=True),
        sa.Column("share_per_band", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entered_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reference_value_school_year"), "reference_value", ["school_year"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reference_value_school_year"), table_name="reference_value")
    op.drop_table("reference_value")
    op.drop_index("ix_board_figure_table", table_name="board_figure")
    op.drop_index(op.f("ix_board_figure_entry_year"), table_name="board_figure")
    op.drop_index(op.f("ix_board_figure_school_id"), table_name="board_figure")
    op.drop_table("board_figure")
    op.drop_index("ix_board_cell_year_skill", table_name="board_cell")
    op.drop_index(op.f("ix_board_cell_grade"), table_name="board_cell")
    op.drop_index(op.f("ix_board_cell_class_id"), table_name="board_cell")
    op.drop_index(op.f("ix_board_cell_school_id"), table_name="board_cell")
    op.drop_table("board_cell")
