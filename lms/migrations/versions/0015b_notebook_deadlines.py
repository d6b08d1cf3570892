"""notebook_deadlines: due dates and per-child extensions of notebook assignments, lateness on grades (issue 19)

Revision ID: 0015b_notebook_deadlines
Revises: 0015_qr_cards
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0015b_notebook_deadlines"
down_revision: str | None = "0015_qr_cards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notebook_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("assignment_name", sa.String(length=100), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["notebook_course.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "assignment_name"),
    )
    op.create_index(op.f("ix_notebook_deadline_course_id"), "notebook_deadline", ["course_id"], unique=False)
    op.create_table(
        "notebook_extension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("assignment_name", sa.String(length=100), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["notebook_course.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "assignment_name", "student_id"),
    )
    op.create_index(
        op.f("ix_notebook_extension_course_id"), "notebook_extension", ["course_id"], unique=False
    )
    op.create_index(
        op.f("ix_notebook_extension_student_id"), "notebook_extension", ["student_id"], unique=False
    )
    with op.batch_alter_table("notebook_grade") as batch:
        batch.add_column(sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("seconds_late", sa.Float(), nullable=True))
        batch.add_column(sa.Column("extension_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notebook_grade") as batch:
        batch.drop_column("extension_minutes")
        batch.drop_column("seconds_late")
        batch.drop_column("submitted_at")
    op.drop_index(op.f("ix_notebook_extension_student_id"), table_name="notebook_extension")
    op.drop_index(op.f("ix_notebook_extension_course_id"), table_name="notebook_extension")
    op.drop_table("notebook_extension")
    op.drop_index(op.f("ix_notebook_deadline_course_id"), table_name="notebook_deadline")
    op.drop_table("notebook_deadline")
