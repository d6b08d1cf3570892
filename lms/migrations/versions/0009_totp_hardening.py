"""totp_hardening: the last accepted TOTP time step (no code is used twice), room for encrypted secrets

``user.totp_last_step`` (nullable integer) remembers the newest 30-second step whose code was accepted.
``user.totp_secret`` widens from 64 to 255 characters for a Fernet token (about 140 characters); existing
plaintext secrets stay as they are (no key is needed here) and are encrypted at their next successful check.

SQLite cannot change a column's type, and rebuilding the ``user`` table (Alembic's batch mode) would drop a
table that most others reference while foreign keys are enforced. So on SQLite (3.35 or newer) the column is
replaced in place: add a wide column, copy, drop the old one, rename.

Revision ID: 0009_totp_hardening
Revises: 0008_ops_lock
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_totp_hardening"
down_revision: str | None = "0008_ops_lock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _replace_secret_column_sqlite(length: int) -> None:
    op.execute(f'ALTER TABLE "user" ADD COLUMN totp_secret_new VARCHAR({length})')
    op.execute('UPDATE "user" SET totp_secret_new = totp_secret')
    op.execute('ALTER TABLE "user" DROP COLUMN totp_secret')
    op.execute('ALTER TABLE "user" RENAME COLUMN totp_secret_new TO totp_secret')


def _resize_secret_column(old_length: int, new_length: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace_secret_column_sqlite(new_length)
    else:
        op.alter_column(
            "user",
            "totp_secret",
            existing_type=sa.String(length=old_length),
            type_=sa.String(length=new_length),
            existing_nullable=True,
        )


def upgrade() -> None:
    op.add_column("user", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    _resize_secret_column(64, 255)


def downgrade() -> None:
    # The older code reads only base32 plaintext: an encrypted secret is useless to it, so those accounts
    # lose their second factor and must set it up again (board and admin are forced to at sign-in).
    op.execute(
        "UPDATE \"user\" SET totp_secret = NULL, totp_enabled = false WHERE totp_secret LIKE 'gAAAAA%'"
    )
    _resize_secret_column(255, 64)
    op.execute('ALTER TABLE "user" DROP COLUMN totp_last_step')
