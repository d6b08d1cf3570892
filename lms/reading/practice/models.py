"""A teacher's override of what the platform recommends a student to practise (kept, never deleted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
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


class PracticeHandOut(SQLModel, table=True):
    """One 「クラス全員に配る」 request, by the key its form or API call carried: a retry of the same request
    (a resent form, a double click, a client that lost the answer) gets the stored result instead of a
    second set for every child."""

    __tablename__ = "practice_hand_out"
    __table_args__ = (UniqueConstraint("class_id", "request_key", name="uq_practice_hand_out_key"),)

    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="schoolclass.id", index=True)
    request_key: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    assignments: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON, nullable=False)
