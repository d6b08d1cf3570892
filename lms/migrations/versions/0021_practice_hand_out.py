"""practice_hand_out: the request key of a class's practice hand-out, so a retry is not a second hand-out
(issue 22)

Revision ID: 0021_practice_hand_out
Revises: 0019_lti_services
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0021_practice_hand_out"
down_revision: str | None = "0019_lti_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practice_hand_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("assignments", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["schoolclass.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id", "request_key", name="uq_practice_hand_out_key"),
    )
    op.create_index("ix_practice_hand_out_class_id", "practice_hand_out", ["class_id"])


def downgrade() -> None:
    op.drop_index("ix_practice_hand_out_class_id", table_name="practice_hand_out")
    op.drop_table("practice_hand_out")
