"""board_release_job: releases made in the background, queued by an admin or when a term's tests close
(issue 14)

Revision ID: 0012_board_release_job
Revises: 0011_calibration_report
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0012_board_release_job"
down_revision: str | None = "0011_calibration_report"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_release_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("release_number", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=True),
    )
    op.create_index("ix_board_release_job_school_year", "board_release_job", ["school_year"])
    op.create_index("ix_board_release_job_status", "board_release_job", ["status"])


def downgrade() -> None:
    op.drop_index("ix_board_release_job_status", table_name="board_release_job")
    op.drop_index("ix_board_release_job_school_year", table_name="board_release_job")
    op.drop_table("board_release_job")
