"""lti_browser_binding: bind an LTI login to the browser that started it (login CSRF, issue 23)

The state row keeps the SHA-256 of a random binding value (a partitioned cookie or the portal's postMessage
storage holds the value), the login's ``lti_storage_target`` and parameters; a pending launch waits for the
storage proof; each platform says whether the binding is required (default: yes).

Revision ID: 0022_lti_browser_binding
Revises: 0021_practice_hand_out
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0022_lti_browser_binding"
down_revision: str | None = "0021_practice_hand_out"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "lti_platform",
        sa.Column("browser_binding_required", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "lti_launch_state",
        sa.Column("binding_hash", sa.String(length=64), nullable=False, server_default=""),
    )
    op.add_column(
        "lti_launch_state",
        sa.Column("storage_target", sa.String(length=100), nullable=False, server_default=""),
    )
    op.add_column(
        "lti_launch_state",
        sa.Column("login_query", sa.String(length=2000), nullable=False, server_default=""),
    )
    op.create_table(
        "lti_pending_launch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_row_id", sa.Integer(), nullable=False),
        sa.Column("binding_hash", sa.String(length=64), nullable=False),
        sa.Column("claims", sa.Text(), nullable=False),
        sa.Column("message_type", sa.String(length=64), nullable=False),
        sa.Column("target_link_uri", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"]),
        sa.ForeignKeyConstraint(["deployment_row_id"], ["lti_deployment.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_lti_pending_launch_token_hash"), "lti_pending_launch", ["token_hash"], unique=True
    )
    op.create_index(op.f("ix_lti_pending_launch_platform_id"), "lti_pending_launch", ["platform_id"])
    op.create_index(op.f("ix_lti_pending_launch_expires_at"), "lti_pending_launch", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_lti_pending_launch_expires_at"), table_name="lti_pending_launch")
    op.drop_index(op.f("ix_lti_pending_launch_platform_id"), table_name="lti_pending_launch")
    op.drop_index(op.f("ix_lti_pending_launch_token_hash"), table_name="lti_pending_launch")
    op.drop_table("lti_pending_launch")
    op.drop_column("lti_launch_state", "login_query")
    op.drop_column("lti_launch_state", "storage_target")
    op.drop_column("lti_launch_state", "binding_hash")
    op.drop_column("lti_platform", "browser_binding_required")
