"""The object-permission service: turn an id from a URL into a row the caller may see, audit the read.

`lms.permissions` holds the matrix: the route table, the role rules and the per-object predicates
(`check_class_roster`, `check_view_user`).  This module is the one place that *loads* an object for a
route and applies them, so that every loader answers the same way:

- out of scope → 404 with the object's "not found" sentence (never a hint that the id exists);
- a board account asking for an individual → 403, whether the id exists or not;
- a read of somebody else's data, when the caller names an audit action → one audit event
  (``actor``, ``action``, ``target_type``/``target_id``, ``ip``) in the request's transaction.

Fail closed: a kind of object without a rule (403) or a caller whose role is not in the matrix (404) is
refused, and the refusal is written to the audit log as ``authz.refused`` even though the request's
transaction rolls back (`lms.core.errors.DomainError.after_rollback`).

Typed entry points (`load_class`, `load_user`, `load_student`, `load_assignment`, `load_attempt`,
`load_attempt_results`, `load_notebook_course`) for services and handlers; FastAPI dependencies
(`class_dependency`, `user_dependency`, `VisibleClassRoster`, `VisibleUser`) for routes whose path names the
object.  The student's own test (start, answer, finish) checks ownership inside its SQL for speed
(`lms.reading.answers`, `lms.reading.attempts.own_attempt_or_404`): see docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Request
from sqlmodel import Session, select

from lms import permission_messages as msg
from lms.audit.service import record_event
from lms.auth.deps import LoginRequired, Principal, client_ip
from lms.core.db import SessionDep
from lms.core.errors import DomainError, Forbidden, NotFound
from lms.notebooks.models import NotebookCourse
from lms.permissions import check_class_roster, check_view_user
from lms.reading import messages as reading_msg
from lms.reading.models import Assignment, Attempt
from lms.roster.models import PLATFORM_ROLES, SchoolClass, User


class Kind(StrEnum):
    """The kinds of object a route may load by id."""

    CLASS = "class"  # a class: roster, results, practice, notebooks (teacher, school admin, admin)
    USER = "user"  # one person's record (self, own students, own school, admin)
    STUDENT = "student"  # a student's practice (as USER, and the target must be a student)
    ASSIGNMENT = "assignment"  # a test given to a class (the class's rule)
    ATTEMPT = "attempt"  # a student's attempt seen by staff (the class's rule)
    ATTEMPT_RESULTS = "attempt_results"  # a finished attempt's scores (the student's rule; board 403)
    NOTEBOOK_COURSE = "notebook_course"  # a notebook course by its course id (the class's rule)


@dataclass(frozen=True)
class Found:
    """What a rule let through: the object(s), how the audit log names it, and whose it is."""

    value: Any
    target_type: str
    target_id: int | str | None
    owner_id: int | None = None  # reads of one's own data are not audited


Rule = Callable[[Session, User, Any], Found]


def _missing(viewer: User, message: str, board_message: str = msg.BOARD_INDIVIDUAL_MESSAGE) -> NoReturn:
    """A row that does not exist: board 403 (it asks for individuals either way), everyone else 404."""
    if viewer.role == "board":
        raise Forbidden(board_message)
    raise NotFound(message)


def _class(session: Session, viewer: User, class_id: int) -> Found:
    class_ = session.get(SchoolClass, class_id)
    if class_ is None:
        _missing(viewer, msg.CLASS_NOT_FOUND)
    check_class_roster(session, viewer, class_)
    return Found(class_, "class", class_.id)


def _user(session: Session, viewer: User, user_id: int) -> Found:
    target = session.get(User, user_id)
    if target is None:
        if viewer.role == "board" and viewer.id != user_id:
            raise Forbidden(msg.BOARD_INDIVIDUAL_MESSAGE)
        raise NotFound(msg.USER_NOT_FOUND)
    check_view_user(session, viewer, target)
    return Found(target, "user", target.id, owner_id=target.id)


def _student(session: Session, viewer: User, user_id: int) -> Found:
    target = session.get(User, user_id)
    if target is None or target.role != "student":
        _missing(viewer, msg.STUDENT_NOT_FOUND)
    check_view_user(session, viewer, target)
    return Found(target, "user", target.id, owner_id=target.id)


def _within(message: str, rule: Rule, session: Session, viewer: User, object_id: Any) -> Found:
    """Apply the rule of the object something belongs to, answering "not found" in the caller's words."""
    try:
        return rule(session, viewer, object_id)
    except NotFound:
        raise NotFound(message) from None


def _assignment(session: Session, viewer: User, assignment_id: int) -> Found:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        _missing(viewer, msg.ASSIGNMENT_NOT_FOUND)
    class_ = _within(msg.ASSIGNMENT_NOT_FOUND, _class, session, viewer, assignment.class_id).value
    return Found((assignment, class_), "assignment", assignment.id)


def _attempt(session: Session, viewer: User, attempt_id: int) -> Found:
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        _missing(viewer, msg.TEACHER_ATTEMPT_NOT_FOUND)
    found = _within(msg.TEACHER_ATTEMPT_NOT_FOUND, _assignment, session, viewer, attempt.assignment_id)
    assignment, class_ = found.value
    return Found((attempt, assignment, class_), "attempt", attempt.id, owner_id=attempt.student_id)


def _attempt_results(session: Session, viewer: User, attempt_id: int) -> Found:
    if viewer.role == "board":  # before the lookup: no hint whether the attempt exists
        raise Forbidden(msg.BOARD_RESULTS_MESSAGE)
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(reading_msg.ATTEMPT_NOT_FOUND)
    student = _within(reading_msg.ATTEMPT_NOT_FOUND, _user, session, viewer, attempt.student_id).value
    return Found((attempt, student), "attempt", attempt.id, owner_id=attempt.student_id)


def _notebook_course(session: Session, viewer: User, course_id: str) -> Found:
    course = session.exec(select(NotebookCourse).where(NotebookCourse.course_id == course_id)).first()
    class_ = session.get(SchoolClass, course.class_id) if course is not None else None
    if course is None or class_ is None:
        _missing(viewer, msg.COURSE_NOT_FOUND, board_message=msg.BOARD_GRADES_MESSAGE)
    check_class_roster(session, viewer, class_)
    return Found((course, class_), "notebook_course", course.course_id)


RULES: dict[Kind, Rule] = {
    Kind.CLASS: _class,
    Kind.USER: _user,
    Kind.STUDENT: _student,
    Kind.ASSIGNMENT: _assignment,
    Kind.ATTEMPT: _attempt,
    Kind.ATTEMPT_RESULTS: _attempt_results,
    Kind.NOTEBOOK_COURSE: _notebook_course,
}


def _refuse(
    error: DomainError, *, viewer: User, kind: str, object_id: Any, reason: str, ip: str | None
) -> NoReturn:
    """Raise ``error`` and keep an ``authz.refused`` event although the request's transaction rolls back."""

    def keep(session: Session) -> None:
        record_event(
            session=session,
            actor_id=viewer.id,
            action="authz.refused",
            target_type=str(kind),
            target_id=object_id,
            ip=ip,
            detail={"reason": reason, "role": viewer.role},
        )

    error.after_rollback = keep
    raise error


def load(
    kind: Kind,
    object_id: Any,
    *,
    session: Session,
    viewer: User,
    audit: str | None = None,
    ip: str | None = None,
) -> Any:
    """Load an object of ``kind`` that ``viewer`` may see, or raise NotFound / Forbidden.

    With ``audit``, a read of somebody else's object is recorded under that action (own data is not)."""
    if viewer.role not in PLATFORM_ROLES:
        _refuse(NotFound(), viewer=viewer, kind=kind, object_id=object_id, reason="unknown role", ip=ip)
    rule = RULES.get(kind)
    if rule is None:
        _refuse(
            Forbidden(msg.UNKNOWN_KIND_MESSAGE),
            viewer=viewer,
            kind=kind,
            object_id=object_id,
            reason="unknown kind",
            ip=ip,
        )
    found = rule(session, viewer, object_id)
    if audit is not None and (found.owner_id is None or found.owner_id != viewer.id):
        record_event(
            session=session,
            actor_id=viewer.id,
            action=audit,
            target_type=found.target_type,
            target_id=found.target_id,
            ip=ip,
        )
    return found.value


# --- typed entry points ------------------------------------------------------------------------------------


def load_class(
    *, session: Session, viewer: User, class_id: int, audit: str | None = None, ip: str | None = None
) -> SchoolClass:
    """A class whose roster and results ``viewer`` may see: its teacher, its school's admin, admin."""
    class_: SchoolClass = load(Kind.CLASS, class_id, session=session, viewer=viewer, audit=audit, ip=ip)
    return class_


def load_user(
    *, session: Session, viewer: User, user_id: int, audit: str | None = None, ip: str | None = None
) -> User:
    """A person's record: self, a teacher's students, a school admin's school, admin; board 403."""
    user: User = load(Kind.USER, user_id, session=session, viewer=viewer, audit=audit, ip=ip)
    return user


def load_student(
    *, session: Session, viewer: User, user_id: int, audit: str | None = None, ip: str | None = None
) -> User:
    """As `load_user`, and the target must be a student."""
    student: User = load(Kind.STUDENT, user_id, session=session, viewer=viewer, audit=audit, ip=ip)
    return student


def load_assignment(
    *, session: Session, viewer: User, assignment_id: int, audit: str | None = None, ip: str | None = None
) -> tuple[Assignment, SchoolClass]:
    """An assignment and its class, under the class's rule."""
    pair: tuple[Assignment, SchoolClass] = load(
        Kind.ASSIGNMENT, assignment_id, session=session, viewer=viewer, audit=audit, ip=ip
    )
    return pair


def load_attempt(
    *, session: Session, viewer: User, attempt_id: int, audit: str | None = None, ip: str | None = None
) -> tuple[Attempt, Assignment, SchoolClass]:
    """A student's attempt with its assignment and class, for staff of the class."""
    triple: tuple[Attempt, Assignment, SchoolClass] = load(
        Kind.ATTEMPT, attempt_id, session=session, viewer=viewer, audit=audit, ip=ip
    )
    return triple


def load_attempt_results(
    *, session: Session, viewer: User, attempt_id: int, audit: str | None = None, ip: str | None = None
) -> tuple[Attempt, User]:
    """An attempt and its student, for the student, their teachers, school admin, admin; board 403."""
    pair: tuple[Attempt, User] = load(
        Kind.ATTEMPT_RESULTS, attempt_id, session=session, viewer=viewer, audit=audit, ip=ip
    )
    return pair


def load_notebook_course(
    *, session: Session, viewer: User, course_id: str, audit: str | None = None, ip: str | None = None
) -> tuple[NotebookCourse, SchoolClass]:
    """A notebook course and its class, under the class's rule (board: 403 about grades)."""
    pair: tuple[NotebookCourse, SchoolClass] = load(
        Kind.NOTEBOOK_COURSE, course_id, session=session, viewer=viewer, audit=audit, ip=ip
    )
    return pair


# --- FastAPI dependencies ----------------------------------------------------------------------------------


def viewer_of(request: Request) -> User:
    """The caller the route gate let in (API principal or page user)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        return principal.user
    user: User | None = getattr(request.state, "page_user", None)
    if user is None:
        raise LoginRequired()
    return user


def class_dependency(audit: str | None) -> Callable[[int, Request, Session], SchoolClass]:
    """A dependency loading the path's ``class_id`` with `load_class`, audited under ``audit``."""

    def dependency(class_id: int, request: Request, session: SessionDep) -> SchoolClass:
        return load_class(
            session=session, viewer=viewer_of(request), class_id=class_id, audit=audit, ip=client_ip(request)
        )

    return dependency


def user_dependency(
    audit: str | None, *, students_only: bool = False
) -> Callable[[int, Request, Session], User]:
    """A dependency loading the path's ``user_id`` with `load_user` (or `load_student`), audited."""
    loader = load_student if students_only else load_user

    def dependency(user_id: int, request: Request, session: SessionDep) -> User:
        return loader(
            session=session, viewer=viewer_of(request), user_id=user_id, audit=audit, ip=client_ip(request)
        )

    return dependency


VisibleClassRoster = Annotated[SchoolClass, Depends(class_dependency("roster.view"))]
VisibleUser = Annotated[User, Depends(user_dependency("user.view"))]
