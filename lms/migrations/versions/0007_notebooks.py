"""notebook courses, notebook grades, OAuth provider codes and tokens

Revision ID: 0007_notebooks
Revises: 0006_support
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0007_notebooks"
down_revision: str | None = "0006_support"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notebook_course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.String(length=40), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["schoolclass.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_notebook_course_class_id"), "notebook_course", ["class_id"], unique=True)
    op.create_index(op.f("ix_notebook_course_course_id"), "notebook_course", ["course_id"], unique=True)
    op.create_table(
        "notebook_grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("assignment_name", sa.String(length=100), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("feedback_html", sa.Text(), nullable=True),
        sa.Column("feedback_url", sa.String(length=1024), nullable=True),
        sa.Column("graded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["notebook_course.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "assignment_name", "student_id"),
    )
    op.create_index(op.f("ix_notebook_grade_course_id"), "notebook_grade", ["course_id"], unique=False)
    op.create_index(op.f("ix_notebook_grade_student_id"), "notebook_grade", ["student_id"], unique=False)
    op.create_table(
        "oauth_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1024), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_oauth_code_code_hash"), "oauth_code", ["code_hash"], unique=True)
    op.create_index(op.f("ix_oauth_code_user_id"), "oauth_code", ["user_id"], unique=False)
    op.create_table(
        "oauth_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["code_id"], ["oauth_code.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_oauth_token_token_hash"), "oauth_token", ["token_hash"], unique=True)
    op.create_index(op.f("ix_oauth_token_user_id"), "oauth_token", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("oauth_token")
    op.drop_table("oauth_code")
    op.drop_table("notebook_grade")
    op.drop_table("notebook_course")
