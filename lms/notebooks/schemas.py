"""Request and response bodies of the notebook API."""

from __future__ import annotations

from typing import Any, Literal

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


# --- responses --------------------------------------------------------------------------------------------


class CourseFlagged(BaseModel):
    course_id: str
    class_id: int
    created: bool = Field(description="false when the class already was this course")
    hub_sync: dict[str, Any] = Field(
        description="what the hub sync did, or {'error': ...} if the hub is away"
    )


class StudentName(BaseModel):
    username: str
    family_name: str = Field(description="姓 as in the roster (may be empty)")
    given_name: str = Field(description="名 as in the roster (may be empty)")
    kana_family_name: str | None = Field(default=None, description="せい in kana, when the roster has it")
    kana_given_name: str | None = Field(default=None, description="めい in kana, when the roster has it")


class CourseMembers(BaseModel):
    course_id: str
    class_id: int
    students: list[str] = Field(description="usernames (= hub user names)")
    teachers: list[str]
    grader: str = Field(description="the course's grader account on the hub")
    student_names: list[StudentName] = Field(
        default_factory=list, description="the students' names for nbgrader's gradebook (formgrader)"
    )
    lesson_version: Literal["shou", "chuu"] = Field(
        default="shou",
        description="the platform lessons this class gets: shou = 小学生版 (furigana), chuu = 中学生版",
    )


class CourseList(BaseModel):
    courses: list[CourseMembers]


class GradesUpserted(BaseModel):
    course_id: str
    assignment: str
    created: int
    updated: int


class Score(BaseModel):
    score: float
    max_score: float


class StudentGrades(BaseModel):
    student: str
    grades: dict[str, Score] = Field(description="by assignment name")


class GradebookOut(BaseModel):
    course_id: str
    assignments: list[str]
    students: list[StudentGrades]


class OwnGrade(BaseModel):
    course_id: str
    class_title: str = Field(serialization_alias="class")
    assignment: str
    score: float
    max_score: float
    feedback_html: str | None
    graded_at: str = Field(description="ISO 8601")


class OwnGrades(BaseModel):
    grades: list[OwnGrade]
