"""``board_release``: an immutable, numbered set of published figures (lms.board.releases).

The board reads releases, never live figures.  ``figures`` holds exactly what may be shown (rounded,
suppressed; see lms.board.disclosure); ``basis`` holds, per group, the exact size behind its figures — kept
on the server only, to check the next release against this one (a change of fewer than k pupils is
withheld).  Rows are only ever inserted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now

RELEASE_REASONS = ("term_closed", "admin")


class BoardRelease(SQLModel, table=True):
    __tablename__ = "board_release"
    __table_args__ = (UniqueConstraint("number", name="uq_board_release_number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(index=True, description="1, 2, 3 … in the order made")
    school_year: int = Field(index=True)
    term: int
    reason: str = Field(max_length=16, description="|".join(RELEASE_REASONS))
    made_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    made_by_id: int | None = Field(default=None, foreign_key="user.id")
    pupils_rounded: int = Field(description="pupils in the release, rounded like every published count")
    protection: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    figures: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)
    basis: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    audit: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
