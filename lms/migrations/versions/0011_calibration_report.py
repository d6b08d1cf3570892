"""Calibration report on each calibration row: converged flag and named warnings (issue 18).

Revision ID: 0011_calibration_report
Revises: 0010_board_release
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011_calibration_report"
down_revision: str | None = "0010_board_release"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "item_calibration", sa.Column("converged", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column("item_calibration", sa.Column("warnings", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("item_calibration", "warnings")
    op.drop_column("item_calibration", "converged")
