"""「成績をLMSへ送る」: read the autograded scores from the course's formgrader and store them through the
same path as nbgrader's export plugin (``service.upsert_grades``: enrolled students only, audited,
idempotent), with nbgrader's lateness against the LMS's due dates and extensions
(``lms.notebooks.deadlines``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from lms.notebooks import service
from lms.notebooks.models import NotebookCourse, NotebookGrade
from lms.roster.models import SchoolClass, User


def _late(seen: dict[str, Any] | None) -> dict[str, Any]:
    """nbgrader's lateness of one submission (``hub_config.deadlines.lateness``) as GradeIn fields."""
    if not seen:
        return {}
    stamp = datetime.fromisoformat(seen["timestamp"]).replace(tzinfo=UTC) if seen.get("timestamp") else None
    return {
        "submitted_at": stamp,
        "seconds_late": float(seen["seconds_late"]) if seen.get("duedate") else None,
        "extension_minutes": int(seen.get("extension_minutes") or 0),
    }


@dataclass
class PullSummary:
    assignments: list[str] = field(default_factory=list)
    grades: int = 0
    needs_manual_grade: int = 0
    not_enrolled: list[str] = field(default_factory=list)  # on the hub but not in the class (e.g. test users)


def store_pulled_grades(
    *,
    session: Session,
    actor: User,
    course: NotebookCourse,
    class_: SchoolClass,
    fetched: dict[str, list[dict[str, Any]]],
    ip: str | None,
    now: datetime,
    lateness: dict[str, dict[str, dict[str, Any]]] | None = None,
) -> PullSummary:
    """Upsert each assignment's grades of enrolled students; others are reported, never stored. Feedback the
    export plugin sent earlier is kept (the formgrader's listing carries scores only)."""
    students = service.course_students(session, course)
    enrolled = {u.username for u in students}
    name_of = {u.id: u.username for u in students}
    kept = {
        (g.assignment_name, name_of.get(g.student_id)): g
        for g in session.exec(select(NotebookGrade).where(NotebookGrade.course_id == course.id))
    }
    lateness = lateness or {}
    summary = PullSummary()
    strangers: set[str] = set()
    for assignment, rows in sorted(fetched.items()):
        lines = [
            service.GradeIn(
                student=r["student"],
                score=r["score"],
                max_score=r["max_score"],
                feedback_html=getattr(kept.get((assignment, r["student"])), "feedback_html", None),
                feedback_url=getattr(kept.get((assignment, r["student"])), "feedback_url", None),
                **_late(lateness.get(assignment, {}).get(r["student"])),
            )
            for r in rows
            if r["student"] in enrolled and 0 <= r["score"] <= r["max_score"]
        ]
        strangers |= {r["student"] for r in rows if r["student"] not in enrolled}
        if not lines:
            continue
        service.upsert_grades(
            session=session,
            actor=actor,
            course=course,
            class_=class_,
            assignment=assignment,
            grades=lines,
            ip=ip,
            now=now,
        )
        summary.assignments.append(assignment)
        summary.grades += len(lines)
        summary.needs_manual_grade += sum(
            1 for r in rows if r["student"] in enrolled and r["needs_manual_grade"]
        )
    summary.not_enrolled = sorted(strangers)
    return summary
