"""A class flagged for notebooks, the grades nbgrader sends back, due dates and per-child extensions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now


class NotebookCourse(SQLModel, table=True):
    """An LMS class used as an nbgrader course; ``course_id`` is the hub/nbgrader slug."""

    __tablename__ = "notebook_course"

    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="schoolclass.id", unique=True, index=True)
    course_id: str = Field(max_length=40, unique=True, index=True, description="[a-z0-9-]{3,40}")
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class NotebookGrade(SQLModel, table=True):
    """One student's score on one nbgrader assignment (upserted by the export plugin)."""

    __tablename__ = "notebook_grade"
    __table_args__ = (UniqueConstraint("course_id", "assignment_name", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="notebook_course.id", index=True)
    assignment_name: str = Field(max_length=100)
    student_id: int = Field(foreign_key="user.id", index=True)
    score: float
    max_score: float
    feedback_html: str | None = Field(default=None, sa_type=Text, description="sanitised HTML")
    feedback_url: str | None = Field(default=None, max_length=1024)
    graded_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    submitted_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="nbgrader's timestamp"
    )
    seconds_late: float | None = Field(
        default=None, description="nbgrader's total_seconds_late (due date + extension); None: no due date"
    )
    extension_minutes: int | None = Field(default=None, description="the child's extension when graded")


class NotebookDeadline(SQLModel, table=True):
    """An assignment's due date, set by the teacher in the LMS and sent to nbgrader's gradebook."""

    __tablename__ = "notebook_deadline"
    __table_args__ = (UniqueConstraint("course_id", "assignment_name"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="notebook_course.id", index=True)
    assignment_name: str = Field(max_length=100)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class NotebookExtension(SQLModel, table=True):
    """One child's extension of one assignment's due date (minutes added to it)."""

    __tablename__ = "notebook_extension"
    __table_args__ = (UniqueConstraint("course_id", "assignment_name", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="notebook_course.id", index=True)
    assignment_name: str = Field(max_length=100)
    student_id: int = Field(foreign_key="user.id", index=True)
    minutes: int
