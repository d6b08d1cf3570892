"""Tables of the LTI Advantage services (issue 23): deep-linking tickets, the service endpoints a context's
launches announce, line items of assignments, and the outbox of scores for the platform's gradebook.

A score is written to ``lti_score_outbox`` in the transaction that finishes the attempt and is sent later by
``giga lti scores send`` (`lms.lti.score_sender`), so a portal outage never loses or delays an answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now


class LtiContextServices(SQLModel, table=True):
    """The AGS and NRPS endpoints of a context, as its latest launch announced them."""

    __tablename__ = "lti_context_services"

    id: int | None = Field(default=None, primary_key=True)
    lti_context_id: int = Field(foreign_key="lti_context.id", unique=True)
    deployment_id: str = Field(max_length=255)
    lineitems_url: str | None = Field(default=None, max_length=1000)
    ags_scopes: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    memberships_url: str | None = Field(default=None, max_length=1000)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class LtiDeepLinkTicket(SQLModel, table=True):
    """A verified deep-linking launch waiting for the teacher's choice (single use, 30 minutes).

    The picker's form carries the ticket, so the choice needs no state in cookies; only the SHA-256 of the
    ticket is stored."""

    __tablename__ = "lti_deep_link_ticket"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    lti_context_id: int = Field(foreign_key="lti_context.id", index=True)
    deployment_id: str = Field(max_length=255)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id")


class LtiLineItem(SQLModel, table=True):
    """The platform's grade column for an assignment: scores of its attempts are posted there."""

    __tablename__ = "lti_line_item"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", unique=True)
    lti_context_id: int = Field(foreign_key="lti_context.id", index=True)
    resource_id: str = Field(max_length=255, description="our resourceId, to find the column again")
    lineitem_url: str | None = Field(default=None, max_length=1000, description="None until known")
    label: str = Field(max_length=255)
    score_maximum: float
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class LtiScoreOutbox(SQLModel, table=True):
    """A score waiting to be posted: one per attempt, retried with a backoff, idempotent by its timestamp."""

    __tablename__ = "lti_score_outbox"

    id: int | None = Field(default=None, primary_key=True)
    line_item_id: int = Field(foreign_key="lti_line_item.id", index=True)
    attempt_id: int = Field(foreign_key="attempt.id", unique=True)
    student_id: int = Field(foreign_key="user.id", index=True)
    score: str = Field(sa_type=Text, description="the AGS Score as JSON, without userId (found at sending)")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    tries: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=Text)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
