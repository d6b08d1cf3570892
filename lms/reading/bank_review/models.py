"""Who may review items (a capability granted per district) and every review decision, with who and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now

DECISIONS = ("approve", "send_back")


class ItemReviewer(SQLModel, table=True):
    """The capability to review the bank's draft items, granted by an admin to a staff account of a district.

    Teachers, school admins and board staff may hold it (a city's reading-test committee); students never.
    The grant names the district whose bank the person reviews; an account of another district is refused.
    """

    __tablename__ = "item_reviewer"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True)
    district_id: int = Field(foreign_key="org.id", index=True)
    granted_by_id: int | None = Field(default=None, foreign_key="user.id")
    granted_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class ItemReviewDecision(SQLModel, table=True):
    """One reviewer's decision on one draft item: approve (every check done) or send back with a comment.

    ``item_digest`` fingerprints the item's text as it was reviewed (without the tool-written ``irt`` block
    and the review/status lines), so `giga items apply-reviews` refuses to write an approval into a file
    that changed since.  ``applied_at`` is set when the decision reached the bank (or was superseded).
    """

    __tablename__ = "item_review_decision"

    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(max_length=32, index=True)
    item_digest: str = Field(max_length=64)
    decision: str = Field(max_length=16, description="approve | send_back")
    checks: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    comment: str = Field(default="", max_length=2000)
    reviewer_id: int = Field(foreign_key="user.id", index=True)
    reviewer_username: str = Field(max_length=128)
    decided_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    applied_note: str | None = Field(default=None, max_length=300)
