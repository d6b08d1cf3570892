"""A teacher's override of what the platform recommends a student to practise (kept, never deleted)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now


class PracticeOverride(SQLModel, table=True):
    """Items and/or skills a teacher chose for one student instead of the recommendation.

    Only the newest ``active`` row of a student counts; a new override or a reset deactivates the older
    ones (history stays, and every change is in the audit log).
    """

    __tablename__ = "practice_override"

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="user.id", index=True)
    item_ids: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    skills: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    note: str | None = Field(default=None, max_length=255)
    active: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
