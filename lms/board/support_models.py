"""Tables of the audited support view and the research-export log (issue 6).

``support_grant``: an admin lets one board user (e.g. a 指導主事 helping a school) see the individual-level
class reports of one school between ``starts_at`` and ``ends_at``, for a stated reason; ``revoked_at`` ends it
early.  ``research_export``: one row per pseudonymous export (who, when, what, how many rows) — never the
HMAC key, so pseudonyms cannot be linked back or across exports.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now


class SupportGrant(SQLModel, table=True):
    """A time-limited, per-school permission for a board user to see individual-level class reports."""

    __tablename__ = "support_grant"

    id: int | None = Field(default=None, primary_key=True)
    board_user_id: int = Field(foreign_key="user.id", index=True)
    school_id: int = Field(foreign_key="org.id", index=True)
    granted_by_id: int | None = Field(default=None, foreign_key="user.id")
    reason: str = Field(sa_type=Text, description="why the board user needs individual data (audited)")
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)

    def is_active(self, now: datetime) -> bool:
        """Started, not ended, not revoked."""
        return self.revoked_at is None and self.starts_at <= now < self.ends_at


class ResearchExport(SQLModel, table=True):
    """One pseudonymous research export (the key is not stored)."""

    __tablename__ = "research_export"

    id: int | None = Field(default=None, primary_key=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    purpose: str = Field(default="", sa_type=Text)
    recipient: str = Field(default="", max_length=255)
    rows: int = Field(default=0, description="individual-level rows written")
    students: int = Field(default=0, description="distinct pseudonymous students")
    min_cell_size: int = Field(default=10)
    files: str = Field(default="", sa_type=Text, description="JSON list of file names written")
