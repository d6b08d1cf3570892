"""board_term_state: the fingerprint of each term's board aggregates (incremental refresh, issue 22)

Revision ID: 0016_board_term_state
Revises: 0015b_notebook_deadlines
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lms.core.db import UTCDateTime

revision: str = "0016_board_term_state"
down_revision: str | None = "0015b_notebook_deadlines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_term_state",
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("refreshed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_year", "term"),
    )


def downgrade() -> None:
    op.drop_table("board_term_state")
