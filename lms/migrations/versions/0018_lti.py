"""lti: LTI 1.3 tool core — platforms, deployments, launch states, contexts, user links, keys (issue 23)

Revision ID: 0018_lti
Revises: 0017_bank_review
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0018_lti"
down_revision: str | None = "0017_bank_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_platform",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("auth_login_url", sa.String(length=500), nullable=False),
        sa.Column("auth_token_url", sa.String(length=500), nullable=False),
        sa.Column("jwks_url", sa.String(length=500), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("sub_is_roster_id", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["district_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "client_id", name="uq_lti_platform_issuer_client"),
    )
    op.create_index(op.f("ix_lti_platform_issuer"), "lti_platform", ["issuer"], unique=False)
    op.create_index(op.f("ix_lti_platform_district_id"), "lti_platform", ["district_id"], unique=False)
    op.create_table(
        "lti_deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployment"),
    )
    op.create_index(op.f("ix_lti_deployment_platform_id"), "lti_deployment", ["platform_id"], unique=False)
    op.create_table(
        "lti_launch_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("target_link_uri", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_lti_launch_state_state_hash"), "lti_launch_state", ["state_hash"], unique=True)
    op.create_index(op.f("ix_lti_launch_state_nonce"), "lti_launch_state", ["nonce"], unique=True)
    op.create_index(
        op.f("ix_lti_launch_state_platform_id"), "lti_launch_state", ["platform_id"], unique=False
    )
    op.create_index(op.f("ix_lti_launch_state_expires_at"), "lti_launch_state", ["expires_at"], unique=False)
    op.create_table(
        "lti_context",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("school_class_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"]),
        sa.ForeignKeyConstraint(["school_class_id"], ["schoolclass.id"]),
        sa.ForeignKeyConstraint(["linked_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "context_id", name="uq_lti_context"),
    )
    op.create_index(op.f("ix_lti_context_platform_id"), "lti_context", ["platform_id"], unique=False)
    op.create_index(op.f("ix_lti_context_school_class_id"), "lti_context", ["school_class_id"], unique=False)
    op.create_table(
        "lti_user_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("sub", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("matched_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_launch_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "sub", name="uq_lti_user_link"),
    )
    op.create_index(op.f("ix_lti_user_link_platform_id"), "lti_user_link", ["platform_id"], unique=False)
    op.create_index(op.f("ix_lti_user_link_user_id"), "lti_user_link", ["user_id"], unique=False)
    op.create_table(
        "lti_tool_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kid"),
    )
    op.create_table(
        "lti_handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_lti_handoff_token_hash"), "lti_handoff", ["token_hash"], unique=True)
    op.create_index(op.f("ix_lti_handoff_user_id"), "lti_handoff", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lti_handoff_user_id"), table_name="lti_handoff")
    op.drop_index(op.f("ix_lti_handoff_token_hash"), table_name="lti_handoff")
    op.drop_table("lti_handoff")
    op.drop_table("lti_tool_key")
    op.drop_index(op.f("ix_lti_user_link_user_id"), table_name="lti_user_link")
    op.drop_index(op.f("ix_lti_user_link_platform_id"), table_name="lti_user_link")
    op.drop_table("lti_user_link")
    op.drop_index(op.f("ix_lti_context_school_class_id"), table_name="lti_context")
    op.drop_index(op.f("ix_lti_context_platform_id"), table_name="lti_context")
    op.drop_table("lti_context")
    op.drop_index(op.f("ix_lti_launch_state_expires_at"), table_name="lti_launch_state")
    op.drop_index(op.f("ix_lti_launch_state_platform_id"), table_name="lti_launch_state")
    op.drop_index(op.f("ix_lti_launch_state_nonce"), table_name="lti_launch_state")
    op.drop_index(op.f("ix_lti_launch_state_state_hash"), table_name="lti_launch_state")
    op.drop_table("lti_launch_state")
    op.drop_index(op.f("ix_lti_deployment_platform_id"), table_name="lti_deployment")
    op.drop_table("lti_deployment")
    op.drop_index(op.f("ix_lti_platform_district_id"), table_name="lti_platform")
    op.drop_index(op.f("ix_lti_platform_issuer"), table_name="lti_platform")
    op.drop_table("lti_platform")
