"""Notebook courses: flag a class, compute hub groups from enrolments, upsert grades, build gradebooks.

Rows of the permission matrix: flagging and the gradebook are ``CLASS_RESULTS`` (teacher of the class, school
admin of its school, admin; board 403; students 404); writing grades needs the class's teacher or the admin;
a student reads only their own grades. Services flush, never commit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from lms.notebooks import messages as msg
from lms.notebooks.hub_client import STUDENTS_GROUP
from lms.notebooks.lesson_versions import lesson_version
from lms.notebooks.models import NotebookCourse, NotebookGrade
from lms.notebooks.sanitize import sanitise_html
from lms.permissions import school_ids, taught_class_ids
from lms.roster.models import Enrollment, SchoolClass, User

COURSE_ID_RE = re.compile(r"^[a-z0-9-]{3,40}$")
# the hub's own services: a course is a hub service of its name and would take one's place (and role)
RESERVED_COURSE_IDS = frozenset({"giga-lms", "idle-culler", "jupyterhub-idle-culler"})
STUDENT_GROUP = "nbgrader-{course}"
TEACHER_GROUP = "formgrade-{course}"
GRADER_ACCOUNT = "grader-{course}"


@dataclass(frozen=True)
class GradeIn:
    student: str
    score: float
    max_score: float
    feedback_html: str | None = None
    feedback_url: str | None = None
    submitted_at: datetime | None = None
    seconds_late: float | None = None  # nbgrader's, against due date + extension; None: no due date known
    extension_minutes: int | None = None


@dataclass
class Gradebook:
    course: NotebookCourse
    assignments: list[str]
    rows: list[tuple[User, dict[str, NotebookGrade]]] = field(default_factory=list)


# --- lookups ----------------------------------------------------------------------------------------------


def check_course_id(value: str) -> str:
    if not COURSE_ID_RE.fullmatch(value):
        raise InvalidInput(msg.BAD_COURSE_ID)
    if value in RESERVED_COURSE_IDS:
        raise InvalidInput(msg.RESERVED_COURSE_ID.format(course_id=value))
    return value


def course_for_class(session: Session, class_id: int) -> NotebookCourse | None:
    return session.exec(select(NotebookCourse).where(NotebookCourse.class_id == class_id)).first()


def can_manage(*, session: Session, user: User, class_: SchoolClass) -> bool:
    """Teacher of the class, school admin of its school, or admin (flagging a class)."""
    if user.role == "admin":
        return True
    if user.role == "school_admin":
        return class_.school_id in school_ids(session, user)
    return user.role == "teacher" and class_.id in taught_class_ids(session, user)


def can_write_grades(*, session: Session, user: User, class_: SchoolClass) -> bool:
    """The class's teacher or the admin."""
    return user.role == "admin" or (user.role == "teacher" and class_.id in taught_class_ids(session, user))


def _members(session: Session, class_id: int, role: str) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(Enrollment, col(Enrollment.user_id) == col(User.id))
            .where(
                Enrollment.class_id == class_id,
                Enrollment.role == role,
                Enrollment.status == "active",
                User.status == "active",
            )
            .order_by(col(Enrollment.shusseki_no), col(User.username))
        )
    )


def course_students(session: Session, course: NotebookCourse) -> list[User]:
    return _members(session, course.class_id, "student")


def course_teachers(session: Session, course: NotebookCourse) -> list[User]:
    return _members(session, course.class_id, "teacher")


def hub_groups(session: Session, user: User) -> list[str]:
    """The hub groups of ``user``: ``nbgrader-<course>`` (and the umbrella ``giga-notebook-students``) as a
    student, ``formgrade-<course>`` as a teacher. With ``manage_groups`` the hub replaces a user's groups with
    these at each sign-in, so this is the single source of truth."""
    rows = session.exec(
        select(NotebookCourse.course_id, Enrollment.role)
        .join(Enrollment, col(Enrollment.class_id) == col(NotebookCourse.class_id))
        .where(Enrollment.user_id == user.id, Enrollment.status == "active")
    ).all()
    groups = set()
    for course_id, role in rows:
        if role == "student":
            groups.add(STUDENT_GROUP.format(course=course_id))
            groups.add(STUDENTS_GROUP)
        elif role == "teacher":
            groups.add(TEACHER_GROUP.format(course=course_id))
    return sorted(groups)


def student_name(user: User) -> dict[str, str | None]:
    """The roster's name of one student, for the formgrader's gradebook (family/given, kana when known)."""
    return {
        "username": user.username,
        "family_name": user.family_name,
        "given_name": user.given_name,
        "kana_family_name": user.kana_family_name,
        "kana_given_name": user.kana_given_name,
    }


def all_courses(session: Session) -> list[dict[str, object]]:
    """Every notebook course with its members and lesson version, for provisioning the hub."""
    out: list[dict[str, object]] = []
    grades_of = dict(
        session.exec(
            select(SchoolClass.id, SchoolClass.grades).where(
                col(SchoolClass.id).in_(select(NotebookCourse.class_id))
            )
        ).all()
    )
    for course in session.exec(select(NotebookCourse).order_by(col(NotebookCourse.course_id))):
        out.append(
            {
                "course_id": course.course_id,
                "class_id": course.class_id,
                "students": [u.username for u in course_students(session, course)],
                "teachers": [u.username for u in course_teachers(session, course)],
                "grader": GRADER_ACCOUNT.format(course=course.course_id),
                "student_names": [student_name(u) for u in course_students(session, course)],
                "lesson_version": lesson_version(grades_of.get(course.class_id)),
            }
        )
    return out


# --- changes ----------------------------------------------------------------------------------------------


def flag_course(
    *, session: Session, actor: User, class_: SchoolClass, course_id: str, ip: str | None, now: datetime
) -> tuple[NotebookCourse, bool]:
    """Mark ``class_`` as a notebook course (idempotent for the same slug): (course, created)."""
    check_course_id(course_id)
    if not can_manage(session=session, user=actor, class_=class_):
        raise Forbidden(msg.ONLY_MANAGERS_FLAG)
    if class_.id is None:
        raise NotFound(msg.CLASS_NOT_FOUND)
    existing = course_for_class(session, class_.id)
    if existing is not None:
        if existing.course_id != course_id:
            raise Conflict(msg.CLASS_ALREADY_COURSE.format(course_id=existing.course_id))
        return existing, False
    taken = session.exec(select(NotebookCourse).where(NotebookCourse.course_id == course_id)).first()
    if taken is not None:
        raise Conflict(msg.COURSE_ID_TAKEN.format(course_id=course_id))
    course = NotebookCourse(class_id=class_.id, course_id=course_id, created_by_id=actor.id, created_at=now)
    session.add(course)
    session.flush()
    record_event(
        session=session,
        actor_id=actor.id,
        action="notebook.course_create",
        target_type="class",
        target_id=class_.id,
        ip=ip,
        detail={"course_id": course_id},
    )
    return course, True


def upsert_grades(
    *,
    session: Session,
    actor: User,
    course: NotebookCourse,
    class_: SchoolClass,
    assignment: str,
    grades: list[GradeIn],
    ip: str | None,
    now: datetime,
) -> dict[str, int]:
    """Insert or update one assignment's grades; every student must be enrolled in the class."""
    if not can_write_grades(session=session, user=actor, class_=class_):
        raise Forbidden(msg.ONLY_TEACHERS_GRADE)
    students = {u.username: u for u in course_students(session, course)}
    unknown = sorted({g.student for g in grades} - students.keys())
    if unknown:
        raise InvalidInput(
            msg.NOT_IN_CLASS.format(names=", ".join(unknown[:20])),
            detail={"unknown_students": unknown},
        )
    for grade in grades:
        if grade.max_score < 0 or grade.score < 0 or grade.score > grade.max_score:
            raise InvalidInput(msg.SCORE_OUT_OF_RANGE.format(student=grade.student))
    existing = {
        g.student_id: g
        for g in session.exec(
            select(NotebookGrade).where(
                NotebookGrade.course_id == course.id, NotebookGrade.assignment_name == assignment
            )
        )
    }
    created = updated = 0
    for grade in grades:
        student = students[grade.student]
        assert student.id is not None and course.id is not None
        row = existing.get(student.id)
        if row is None:
            row = NotebookGrade(
                course_id=course.id, assignment_name=assignment, student_id=student.id, score=0, max_score=0
            )
            existing[student.id] = row
            created += 1
        else:
            updated += 1
        row.score = grade.score
        row.max_score = grade.max_score
        row.feedback_html = sanitise_html(grade.feedback_html) if grade.feedback_html else None
        row.feedback_url = grade.feedback_url
        if grade.submitted_at is not None:  # nbgrader's export plugin knows no lateness: keep the pulled one
            row.submitted_at = grade.submitted_at
            row.seconds_late = grade.seconds_late
            row.extension_minutes = grade.extension_minutes
        row.graded_at = now
        session.add(row)
    session.flush()
    record_event(
        session=session,
        actor_id=actor.id,
        action="notebook.grades_write",
        target_type="notebook_course",
        target_id=course.course_id,
        ip=ip,
        detail={"assignment": assignment, "created": created, "updated": updated},
    )
    return {"created": created, "updated": updated}


# --- views ------------------------------------------------------------------------------------------------


def gradebook(*, session: Session, course: NotebookCourse) -> Gradebook:
    """Assignments (columns) × enrolled students (rows) of one course."""
    grades = list(session.exec(select(NotebookGrade).where(NotebookGrade.course_id == course.id)))
    by_student: dict[int, dict[str, NotebookGrade]] = defaultdict(dict)
    for g in grades:
        by_student[g.student_id][g.assignment_name] = g
    assignments = sorted({g.assignment_name for g in grades})
    book = Gradebook(course=course, assignments=assignments)
    for student in course_students(session, course):
        book.rows.append((student, by_student.get(student.id or 0, {})))
    return book


def student_grades(
    *, session: Session, student: User
) -> list[tuple[NotebookCourse, SchoolClass, NotebookGrade]]:
    """The student's own grades, newest first."""
    rows = session.exec(
        select(NotebookGrade, NotebookCourse, SchoolClass)
        .join(NotebookCourse, col(NotebookCourse.id) == col(NotebookGrade.course_id))
        .join(SchoolClass, col(SchoolClass.id) == col(NotebookCourse.class_id))
        .where(NotebookGrade.student_id == student.id)
        .order_by(col(NotebookGrade.graded_at).desc(), col(NotebookGrade.assignment_name))
    ).all()
    return [(course, class_, grade) for grade, course, class_ in rows]
