"""Request bodies of the notebook API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lms.core.urls import StoredUrl


class CourseFlag(BaseModel):
    course_id: str = Field(description="the nbgrader/hub course slug, [a-z0-9-]{3,40}", max_length=40)


class GradeLine(BaseModel):
    student: str = Field(max_length=255, description="the student's LMS username (= hub user name)")
    score: float
    max_score: float
    feedback_html: str | None = Field(default=None, max_length=500_000, description="sanitised on the way in")
    feedback_url: StoredUrl | None = Field(default=None, max_length=1024)


class GradesUpload(BaseModel):
    assignment: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    grades: list[GradeLine] = Field(max_length=2000)
