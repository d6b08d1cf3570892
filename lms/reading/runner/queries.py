"""Read-only queries of the student pages: which assignments a student has, and their attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from lms.core.errors import NotFound
from lms.reading import delivery as dl
from lms.reading import messages as msg
from lms.reading.models import Accommodation, Assessment, Assignment, AssignmentTarget, Attempt
from lms.reading.runner.words import messages_json, page_words
from lms.roster.models import Enrollment, SchoolClass, User
from reading_tests.errors import InvalidInput as EngineInvalidInput
from reading_tests.text import student_grade


@dataclass(frozen=True)
class AssignmentRow:
    """One line of the student's list of tests."""

    assignment: Assignment
    attempt: Attempt | None
    open_now: bool

    @property
    def state(self) -> str:
        """not_started | in_progress | finished | closed."""
        status = self.attempt.status if self.attempt else "created"
        if status in ("submitted", "expired"):
            return "finished"
        if not self.open_now:
            return "closed"
        return "in_progress" if status == "in_progress" else "not_started"


def _student_class_ids(session: Session, student: User) -> set[int]:
    return set(
        session.exec(
            select(Enrollment.class_id).where(
                Enrollment.user_id == student.id, Enrollment.role == "student", Enrollment.status == "active"
            )
        )
    )


def is_given_to(session: Session, assignment: Assignment, student: User) -> bool:
    """Is ``assignment`` given to ``student`` (enrolled in its class; one of its targets when it has any)?"""
    if assignment.class_id not in _student_class_ids(session, student):
        return False
    targets = set(
        session.exec(select(AssignmentTarget.user_id).where(AssignmentTarget.assignment_id == assignment.id))
    )
    return not targets or student.id in targets


def is_open(assignment: Assignment, now: datetime) -> bool:
    """Within its window and not closed by the teacher."""
    if assignment.status != "open" or assignment.opens_at > now:
        return False
    return assignment.closes_at is None or assignment.closes_at > now


def assignment_for_student(session: Session, *, assignment_id: int, student: User) -> Assignment:
    """The assignment if it is given to ``student``; NotFound otherwise (never a hint that it exists)."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or not is_given_to(session, assignment, student):
        raise NotFound(msg.TEST_NOT_GIVEN)
    return assignment


def latest_attempt(session: Session, *, assignment_id: int, student_id: int) -> Attempt | None:
    """The student's newest attempt at an assignment (a reset one counts only when nothing followed it)."""
    return session.exec(
        select(Attempt)
        .where(Attempt.assignment_id == assignment_id, Attempt.student_id == student_id)
        .order_by(col(Attempt.attempt_no).desc())
    ).first()


def accommodation_for(session: Session, *, assignment_id: int, student_id: int) -> Accommodation | None:
    return session.exec(
        select(Accommodation).where(
            Accommodation.assignment_id == assignment_id, Accommodation.user_id == student_id
        )
    ).first()


def student_assignments(
    session: Session, *, student: User, now: datetime, limit: int = 20
) -> list[AssignmentRow]:
    """The student's tests: open ones first (newest first), then recently finished or closed ones."""
    class_ids = _student_class_ids(session, student)
    if not class_ids:
        return []
    assignments = list(
        session.exec(
            select(Assignment)
            .where(col(Assignment.class_id).in_(class_ids), Assignment.opens_at <= now)
            .order_by(col(Assignment.opens_at).desc(), col(Assignment.id).desc())
            .limit(limit * 3)
        )
    )
    ids = [a.id for a in assignments if a.id is not None]
    targets: dict[int, set[int]] = {}
    for assignment_id, user_id in session.exec(
        select(AssignmentTarget.assignment_id, AssignmentTarget.user_id).where(
            col(AssignmentTarget.assignment_id).in_(ids or [-1])
        )
    ):
        targets.setdefault(assignment_id, set()).add(user_id)
    attempts: dict[int, Attempt] = {}
    for attempt in session.exec(
        select(Attempt)
        .where(col(Attempt.assignment_id).in_(ids or [-1]), Attempt.student_id == student.id)
        .order_by(col(Attempt.attempt_no))
    ):
        attempts[attempt.assignment_id] = attempt  # the newest attempt wins
    rows = [
        AssignmentRow(a, attempts.get(a.id or 0), is_open(a, now))
        for a in assignments
        if a.id is not None and (a.id not in targets or student.id in targets[a.id])
    ]
    rows.sort(key=lambda r: (r.state not in ("not_started", "in_progress"),))
    return rows[:limit]


def is_practice(session: Session, assignment: Assignment) -> bool:
    """A practice set (feedback after each item) rather than a test."""
    assessment = session.get(Assessment, assignment.assessment_id)
    return assessment is not None and assessment.kind == "practice"


def runner_words(
    session: Session, assignment: Assignment, student: User, accommodation: Accommodation | None
) -> tuple[str, dict[str, str]]:
    """The runner's messages for this child (JSON for runner.js, and the page's own words): 小学生 or 中学生
    wording, ruby at the child's reading level."""
    klass = session.get(SchoolClass, assignment.class_id)
    grades = student.grades or (klass.grades if klass else None)
    ruby = dl.ruby_grade(accommodation.ruby_level if accommodation else None, grades)
    first = (grades or "").split(",")[0].strip()
    try:
        school = student_grade(first) if first else 1
    except EngineInvalidInput:
        school = 1
    return messages_json(school, ruby), page_words(school, ruby)
