"""Tables of the reading-test delivery (issue 4 contract).

``assessment`` defines a test (CAT settings or a fixed form), ``assignment`` gives it to a class (optionally
only to some students, ``assignment_target``) with a window and per-student ``accommodation``.  An
``attempt`` is prepared when the assignment is created (CAT state and first items chosen), so that starting
is one cheap UPDATE.  ``attempt_item`` lists every item the server chose for (and may send to) an attempt;
``response`` holds one answer per item, idempotent by ``client_event_id``.  ``skill_estimate`` keeps the
scores of a finished attempt, and ``xapi_outbox`` the learning-record statements written in the same
transaction as the answer they describe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now

ASSESSMENT_KINDS = ("cat", "fixed", "practice")
ASSIGNMENT_STATUSES = ("open", "closed")
ATTEMPT_STATUSES = ("created", "in_progress", "submitted", "expired", "reset")
OPEN_ATTEMPT_STATUSES = ("created", "in_progress")


class Assessment(SQLModel, table=True):
    """A test definition: an adaptive test over some skills, a fixed form, or a practice set."""

    __tablename__ = "assessment"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=255)
    kind: str = Field(default="cat", max_length=16, description="|".join(ASSESSMENT_KINDS))
    skills: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    min_items: int = Field(default=5)
    max_items: int = Field(default=15)
    se_target: float | None = Field(default=None)
    item_ids: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    time_limit_s: int | None = Field(default=None)
    pilot_rate: float = Field(default=0.0, description="share of pilot items mixed in (unscored)")
    created_by_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class Assignment(SQLModel, table=True):
    """An assessment given to a class (or some of its students) within a window."""

    __tablename__ = "assignment"

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    class_id: int = Field(foreign_key="schoolclass.id", index=True)
    title: str = Field(max_length=255)
    opens_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="open", max_length=16, description="|".join(ASSIGNMENT_STATUSES))
    created_by_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class AssignmentTarget(SQLModel, table=True):
    """A student an assignment is given to; an assignment without targets goes to the whole class."""

    __tablename__ = "assignment_target"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id", name="uq_assignment_target"),)

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)


class Accommodation(SQLModel, table=True):
    """One student's accommodations for one assignment."""

    __tablename__ = "accommodation"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id", name="uq_accommodation"),)

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    ruby_level: str | None = Field(
        default=None, max_length=8, description='grade code (P1–J3) whose kanji get no ruby, "all" or "none"'
    )
    extra_time_pct: int = Field(default=0, description="extra time in percent of the time limit")
    read_aloud: bool = Field(default=False)
    large_text: bool = Field(default=False)


class Attempt(SQLModel, table=True):
    """One student's attempt at an assignment (created → in_progress → submitted | expired; or reset)."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("assignment_id", "student_id", "attempt_no", name="uq_attempt_student_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    student_id: int = Field(foreign_key="user.id", index=True)
    attempt_no: int = Field(default=1)
    status: str = Field(default="created", max_length=16, description="|".join(ATTEMPT_STATUSES))
    cat_state: str = Field(default="{}", sa_type=Text, description="JSON: CAT session, queue, pilot items")
    prepared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deadline_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    position: int = Field(default=0, description="number of answers stored")
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    theta: float | None = Field(default=None)
    se: float | None = Field(default=None)
    device_hint: str | None = Field(default=None, max_length=255)


class AttemptItem(SQLModel, table=True):
    """An item the server chose for an attempt (and may have sent to the device)."""

    __tablename__ = "attempt_item"
    __table_args__ = (UniqueConstraint("attempt_id", "item_id", name="uq_attempt_item"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="attempt.id", index=True)
    item_id: str = Field(max_length=32)
    position: int = Field(description="position in the test at which it was first planned")
    offered_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class Response(SQLModel, table=True):
    """One stored answer (idempotent by ``client_event_id``)."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("attempt_id", "item_id", name="uq_response_attempt_item"),
        UniqueConstraint("client_event_id", name="uq_response_client_event_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="attempt.id", index=True)
    item_id: str = Field(max_length=32, index=True)
    position: int
    answer: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    correct: bool
    response_time_ms: int | None = Field(default=None)
    theta_after: float | None = Field(default=None)
    se_after: float | None = Field(default=None)
    accommodations: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    device_hint: str | None = Field(default=None, max_length=255)
    client_event_id: str = Field(max_length=64)
    pilot: bool = Field(default=False, description="a pilot item: stored for calibration, not scored")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class SkillEstimate(SQLModel, table=True):
    """A student's score in one skill (``"ALL"`` for the overall reading score) from one attempt."""

    __tablename__ = "skill_estimate"

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="user.id", index=True)
    attempt_id: int = Field(foreign_key="attempt.id", index=True)
    skill: str = Field(max_length=16)
    theta: float
    se: float
    scale_score: int
    band: int
    guessing: bool = Field(default=False)
    n_items: int = Field(default=0)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class XapiOutbox(SQLModel, table=True):
    """An xAPI statement waiting to be sent to the learning record store."""

    __tablename__ = "xapi_outbox"

    id: int | None = Field(default=None, primary_key=True)
    statement: str = Field(sa_type=Text, description="the xAPI 1.0.3 statement as JSON text")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    tries: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=Text)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
