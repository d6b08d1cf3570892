"""Due dates and per-child extensions of notebook assignments: set by the teacher (JST), kept in the
LMS, sent to the course's formgrader (``hub_config.formgrader_deadlines`` writes them into nbgrader's
gradebook, whose autograde measures lateness),
and nbgrader's lateness read back with the grades (「成績をLMSへ送る」).

Late work is flagged, not penalised (nbgrader's ``penalty_method = "none"``): the score stays and the LMS
says 「期限後の提出」 with how late, or 「延長して期限内」 when the extension covered it.
Services flush, never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from lms.audit.service import record_event
from lms.core.errors import Forbidden, InvalidInput
from lms.core.jst import JST
from lms.notebooks import messages as msg
from lms.notebooks import service
from lms.notebooks.models import NotebookCourse, NotebookDeadline, NotebookExtension, NotebookGrade
from lms.roster.models import SchoolClass, User

ASSIGNMENT_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
MAX_EXTENSION_MINUTES = 60 * 24 * 60  # 60 days


@dataclass(frozen=True)
class Deadline:
    assignment: str
    due_at: datetime  # aware UTC
    extensions: dict[str, int]  # username -> minutes

    def payload(self) -> dict[str, Any]:
        """What the formgrader extension takes (``PUT giga/deadlines/<assignment>``)."""
        return {"duedate": self.due_at.astimezone(UTC).isoformat(), "extensions": dict(self.extensions)}


def parse_due_jst(text: str) -> datetime:
    """``2026-12-10T17:00`` (a datetime-local field, read as JST) → aware UTC."""
    try:
        local = datetime.fromisoformat(text.strip())
        if local.tzinfo is None:
            local = local.replace(tzinfo=JST)
        return local.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted past the calendar's ends
        raise InvalidInput(msg.BAD_DEADLINE) from None


def set_deadline(
    *,
    session: Session,
    actor: User,
    course: NotebookCourse,
    class_: SchoolClass,
    assignment: str,
    due_at: datetime,
    extensions: dict[str, int],
    ip: str | None,
    now: datetime,
) -> Deadline:
    """Store the due date and exactly these extensions (0 minutes = none); audited."""
    if not service.can_write_grades(session=session, user=actor, class_=class_):
        raise Forbidden(msg.ONLY_TEACHERS_DEADLINE)
    if not ASSIGNMENT_RE.fullmatch(assignment):
        raise InvalidInput(msg.BAD_ASSIGNMENT_NAME)
    students = {u.username: u for u in service.course_students(session, course)}
    unknown = sorted(set(extensions) - students.keys())
    if unknown:
        raise InvalidInput(msg.STUDENTS_NOT_IN_CLASS.format(names=", ".join(unknown[:10])))
    if any(m < 0 or m > MAX_EXTENSION_MINUTES for m in extensions.values()):
        raise InvalidInput(msg.BAD_EXTENSION_DAYS)
    assert course.id is not None
    row = session.exec(
        select(NotebookDeadline).where(
            NotebookDeadline.course_id == course.id, NotebookDeadline.assignment_name == assignment
        )
    ).first() or NotebookDeadline(course_id=course.id, assignment_name=assignment, due_at=due_at)
    row.due_at, row.updated_at = due_at, now
    session.add(row)
    for old in session.exec(
        select(NotebookExtension).where(
            NotebookExtension.course_id == course.id, NotebookExtension.assignment_name == assignment
        )
    ):
        session.delete(old)
    session.flush()
    kept = {name: minutes for name, minutes in extensions.items() if minutes > 0}
    for name, minutes in kept.items():
        student_id = students[name].id
        assert student_id is not None
        session.add(
            NotebookExtension(
                course_id=course.id, assignment_name=assignment, student_id=student_id, minutes=minutes
            )
        )
    session.flush()
    record_event(
        session=session,
        actor_id=actor.id,
        action="notebook.deadline_set",
        target_type="notebook_course",
        target_id=course.course_id,
        ip=ip,
        detail={"assignment": assignment, "due_at": due_at.isoformat(), "extensions": kept},
    )
    return Deadline(assignment=assignment, due_at=due_at, extensions=kept)


def deadlines(session: Session, course: NotebookCourse) -> list[Deadline]:
    """Every assignment's due date with its extensions (by username), ordered by due date."""
    rows = session.exec(select(NotebookDeadline).where(NotebookDeadline.course_id == course.id)).all()
    names = {u.id: u.username for u in service.course_students(session, course)}
    extensions: dict[str, dict[str, int]] = {}
    for ext in session.exec(select(NotebookExtension).where(NotebookExtension.course_id == course.id)):
        if ext.student_id in names:
            extensions.setdefault(ext.assignment_name, {})[names[ext.student_id]] = ext.minutes
    return sorted(
        (
            Deadline(
                assignment=r.assignment_name,
                due_at=r.due_at,
                extensions=extensions.get(r.assignment_name, {}),
            )
            for r in rows
        ),
        key=lambda d: (d.due_at, d.assignment),
    )


def lesson_names(session: Session, course: NotebookCourse) -> list[str]:
    """The lessons the LMS knows of the course: those with a due date or a grade (the hub's own list of
    nbgrader assignments is not read from here), sorted by name."""
    dated = session.exec(
        select(NotebookDeadline.assignment_name).where(NotebookDeadline.course_id == course.id)
    ).all()
    graded = session.exec(
        select(NotebookGrade.assignment_name).where(NotebookGrade.course_id == course.id).distinct()
    ).all()
    return sorted(name for name in {*dated, *graded} if ASSIGNMENT_RE.fullmatch(name))


def lateness_label(seconds_late: float | None, extension_minutes: int | None) -> str:
    """Next to a score: 「期限後の提出（1時間5分おくれ）」, 「延長して期限内」, or ""."""
    if seconds_late is None:
        return ""
    if seconds_late > 0:
        minutes = int(seconds_late // 60) or 1
        hours, rest = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        parts = [f"{days}日" if days else "", f"{hours}時間" if hours else "", f"{rest}分" if rest else ""]
        return f"期限後の提出（{''.join(parts)}おくれ）"
    if extension_minutes:
        return "延長して期限内"
    return ""
