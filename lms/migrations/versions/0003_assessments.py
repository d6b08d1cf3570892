"""reading-test delivery: assessment, assignment, assignment_target, accommodation, attempt, attempt_item,
response, skill_estimate, xapi_outbox

Revision ID: 0003_assessments
Revises: 0002_auth
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0003_assessments"
down_revision: str | None = "0002_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "xapi_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_xapi_outbox_sent_at"), "xapi_outbox", ["sent_at"], unique=False)
    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("min_items", sa.Integer(), nullable=False),
        sa.Column("max_items", sa.Integer(), nullable=False),
        sa.Column("se_target", sa.Float(), nullable=True),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=True),
        sa.Column("pilot_rate", sa.Float(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_assessment_created_by_id"), "assessment", ["created_by_id"], unique=False)
    op.create_table(
        "assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("opens_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessment.id"]),
        sa.ForeignKeyConstraint(["class_id"], ["schoolclass.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_assignment_assessment_id"), "assignment", ["assessment_id"], unique=False)
    op.create_index(op.f("ix_assignment_class_id"), "assignment", ["class_id"], unique=False)
    op.create_index(op.f("ix_assignment_created_by_id"), "assignment", ["created_by_id"], unique=False)
    op.create_table(
        "accommodation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ruby_level", sa.String(length=8), nullable=True),
        sa.Column("extra_time_pct", sa.Integer(), nullable=False),
        sa.Column("read_aloud", sa.Boolean(), nullable=False),
        sa.Column("large_text", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id", "user_id", name="uq_accommodation"),
    )
    op.create_index(op.f("ix_accommodation_assignment_id"), "accommodation", ["assignment_id"], unique=False)
    op.create_index(op.f("ix_accommodation_user_id"), "accommodation", ["user_id"], unique=False)
    op.create_table(
        "assignment_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id", "user_id", name="uq_assignment_target"),
    )
    op.create_index(
        op.f("ix_assignment_target_assignment_id"), "assignment_target", ["assignment_id"], unique=False
    )
    op.create_index(op.f("ix_assignment_target_user_id"), "assignment_target", ["user_id"], unique=False)
    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cat_state", sa.Text(), nullable=False),
        sa.Column("prepared_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("theta", sa.Float(), nullable=True),
        sa.Column("se", sa.Float(), nullable=True),
        sa.Column("device_hint", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id", "student_id", "attempt_no", name="uq_attempt_student_no"),
    )
    op.create_index(op.f("ix_attempt_assignment_id"), "attempt", ["assignment_id"], unique=False)
    op.create_index(op.f("ix_attempt_student_id"), "attempt", ["student_id"], unique=False)
    op.create_table(
        "attempt_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("offered_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempt.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "item_id", name="uq_attempt_item"),
    )
    op.create_index(op.f("ix_attempt_item_attempt_id"), "attempt_item", ["attempt_id"], unique=False)
    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("response_time_ms", sa.Integer(), nullable=True),
        sa.Column("theta_after", sa.Float(), nullable=True),
        sa.Column("se_after", sa.Float(), nullable=True),
        sa.Column("accommodations", sa.JSON(), nullable=False),
        sa.Column("device_hint", sa.String(length=255), nullable=True),
        sa.Column("client_event_id", sa.String(length=64), nullable=False),
        sa.Column("pilot", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempt.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "item_id", name="uq_response_attempt_item"),
        sa.UniqueConstraint("client_event_id", name="uq_response_client_event_id"),
    )
    op.create_index(op.f("ix_response_attempt_id"), "response", ["attempt_id"], unique=False)
    op.create_index(op.f("ix_response_item_id"), "response", ["item_id"], unique=False)
    op.create_table(
        "skill_estimate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=16), nullable=False),
        sa.Column("theta", sa.Float(), nullable=False),
        sa.Column("se", sa.Float(), nullable=False),
        sa.Column("scale_score", sa.Integer(), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("guessing", sa.Boolean(), nullable=False),
        sa.Column("n_items", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempt.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_skill_estimate_attempt_id"), "skill_estimate", ["attempt_id"], unique=False)
    op.create_index(op.f("ix_skill_estimate_student_id"), "skill_estimate", ["student_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_skill_estimate_student_id"), table_name="skill_estimate")
    op.drop_index(op.f("ix_skill_estimate_attempt_id"), table_name="skill_estimate")
    op.drop_table("skill_estimate")
    op.drop_index(op.f("ix_response_item_id"), table_name="response")
    op.drop_index(op.f("ix_response_attempt_id"), table_name="response")
    op.drop_table("response")
    op.drop_index(op.f("ix_attempt_item_attempt_id"), table_name="attempt_item")
    op.drop_table("attempt_item")
    op.drop_index(op.f("ix_attempt_student_id"), table_name="attempt")
    op.drop_index(op.f("ix_attempt_assignment_id"), table_name="attempt")
    op.drop_table("attempt")
    op.drop_index(op.f("ix_assignment_target_user_id"), table_name="assignment_target")
    op.drop_index(op.f("ix_assignment_target_assignment_id"), table_name="assignment_target")
    op.drop_table("assignment_target")
    op.drop_index(op.f("ix_accommodation_user_id"), table_name="accommodation")
    op.drop_index(op.f("ix_accommodation_assignment_id"), table_name="accommodation")
    op.drop_table("accommodation")
    op.drop_index(op.f("ix_assignment_created_by_id"), table_name="assignment")
    op.drop_index(op.f("ix_assignment_class_id"), table_name="assignment")
    op.drop_index(op.f("ix_assignment_assessment_id"), table_name="assignment")
    op.drop_table("assignment")
    op.drop_index(op.f("ix_assessment_created_by_id"), table_name="assessment")
    op.drop_table("assessment")
    op.drop_index(op.f("ix_xapi_outbox_sent_at"), table_name="xapi_outbox")
    op.drop_table("xapi_outbox")
