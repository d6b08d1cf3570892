"""attempt_report: the honest report of a finished attempt (issue 13), practice sets' own record

Revision ID: 0013_attempt_report
Revises: 0012_board_release_job
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0013_attempt_report"
down_revision: str | None = "0012_board_release_job"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attempt_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempt.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id"),
    )
    op.create_index(op.f("ix_attempt_report_student_id"), "attempt_report", ["student_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_attempt_report_student_id"), table_name="attempt_report")
    op.drop_table("attempt_report")
