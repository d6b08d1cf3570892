"""Response models of the teacher JSON API (lms/teaching/routes.py): the shapes OpenAPI documents.

The handlers build plain dicts (``LiveView.as_json``, ``ClassReport.as_json``); FastAPI checks them against
these models, so a field dropped or renamed by accident fails the API tests instead of reaching a program.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AssignmentCreated(BaseModel):
    assignment_id: int
    assessment_id: int
    status: str
    students: int = Field(description="students the assignment targets")
    live_url: str


class AssignmentClosed(BaseModel):
    assignment_id: int
    status: str
    attempts_closed: int


class AttemptReset(BaseModel):
    reset_attempt_id: int
    attempt_id: int = Field(description="the fresh attempt the student starts")
    status: str


class AttemptResumed(BaseModel):
    attempt_id: int
    status: str
    deadline_at: datetime | None


class LiveStudent(BaseModel):
    student_id: int
    shusseki_no: int | None
    name: str
    state: str = Field(description="not_started | in_progress | quiet | offline | finished | …")
    label: str = Field(description="the state in Japanese, as the live page shows it")
    position: int = Field(description="items answered so far")
    attempt_id: int | None
    last_seen_at: str | None = Field(description="ISO 8601, the runner's last heartbeat or answer")


class LiveView(BaseModel):
    assignment_id: int
    status: str
    server_time: str
    expected_length: int | None
    counts: dict[str, int]
    students: list[LiveStudent]


class ReportSkill(BaseModel):
    skill: str
    name_ja: str


class ReportCell(BaseModel):
    scale_score: int | None = Field(description="shown only when the evidence allows; else null")
    se: int | None = Field(description="standard error on the reporting scale")
    lower: int | None
    upper: int | None
    band: int | None
    band_label: str | None
    band_text_ja: str | None
    relative_text_ja: str | None
    grade_position_ja: str | None
    n_items: int


class ReportStudent(BaseModel):
    student_id: int
    shusseki_no: int | None
    name: str
    scores: dict[str, ReportCell]
    engagement_note_ja: str | None


class ReportDistribution(BaseModel):
    skill: str
    n: int
    mean: float | None
    sd: float | None
    bands: dict[str, int]
    without_number: int


class ReportOption(BaseModel):
    id: str
    rate: float
    count: int
    key: bool


class ReportItem(BaseModel):
    item_id: str
    skill: str
    n: int
    facility: float | None
    options: list[ReportOption]


class ClassReport(BaseModel):
    class_id: int
    class_title: str
    assignment_id: int | None
    skills: list[ReportSkill]
    notes_ja: list[str]
    students: list[ReportStudent]
    distribution: list[ReportDistribution]
    items: list[ReportItem] | None = Field(description="item analysis; only for one chosen assignment")
