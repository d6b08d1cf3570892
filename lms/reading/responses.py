"""Response models of the student JSON API (lms/reading/routes.py): the shapes OpenAPI documents.

Item payloads and the honest report's inner blocks stay ``dict[str, Any]`` here: they are documented where
they are made (reading_tests.delivery payloads; docs/honest-scores.md for overall/skills/growth) and
change with the bank's formats, not with this API.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Accommodations(BaseModel):
    ruby_level: str | None
    extra_time_pct: int
    read_aloud: bool
    large_text: bool


class RunnerView(BaseModel):
    """The runner's state of one's own attempt (start, resume after a reload)."""

    attempt_id: int
    assignment_id: int
    title: str
    status: str
    position: int = Field(description="items answered so far")
    expected_length: int
    deadline_at: str | None = Field(description="ISO 8601, only while the attempt is open")
    server_time: str
    items: list[dict[str, Any]] = Field(description="payloads of the items queued next (ruby by grade)")
    answered: list[str] = Field(description="client_event_ids the server holds (retries are idempotent)")
    accommodations: Accommodations
    results_url: str


class AttemptFinished(BaseModel):
    attempt_id: int
    status: str
    results_url: str


class AttemptResults(BaseModel):
    """A finished attempt: a test's honest report (docs/honest-scores.md) or a practice set's own record.

    Test-only fields are absent for practice and the practice record is absent for a test."""

    attempt_id: int
    title: str
    status: str
    finished_at: str | None
    n_answered: int
    kind: str = Field(description="test | practice")
    practice_record: dict[str, Any] | None = None
    overall: dict[str, Any] | None = Field(default=None, description="scale score, 95 % interval, band")
    skills: list[dict[str, Any]] | None = Field(
        default=None, description="numbers only where they add value over the overall score"
    )
    skills_note_ja: str | None = None
    notes_ja: list[str] | None = None
    provisional: bool | None = Field(default=None, description="item parameters not yet calibrated")
    growth: dict[str, Any] | None = Field(default=None, description="change only beyond its error")
    engagement: dict[str, Any] | None = Field(default=None, description="staff only")
    grade_position: dict[str, Any] | None = Field(default=None, description="staff only")
    history: list[dict[str, Any]] | None = None
    practice: list[Any] | None = Field(default=None, description="recommended practice sets")


class AnswerAck(BaseModel):
    """The acknowledgement of one answer, sent only after the answer is committed.

    Documented here, not checked per answer: the hot path sends pre-serialised JSON (docs/performance.md)."""

    attempt_id: int
    ack: str = Field(description="the answer's client_event_id")
    saved: bool
    duplicate: bool = Field(description="a retry of an answer already stored: nothing changed")
    finished: bool
    status: str
    position: int
    queue: list[str] = Field(description="ids of the planned items, the current one first")
    items: list[dict[str, Any]] = Field(description="payloads of queue items the page said it lacks")


class Heartbeat(BaseModel):
    attempt_id: int
    status: str
    next_in_s: int = Field(description="when the runner should send the next one")


class PracticeFeedback(BaseModel):
    item_id: str
    correct: bool
    key: list[str]
    key_html: list[str] = Field(description="the right option(s) with ruby by the child's grade")
    explanation_html: str
    explanation_speech: str = Field(description="the explanation as read aloud")
