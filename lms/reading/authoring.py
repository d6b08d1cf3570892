"""Authoring: teachers create an assessment and assign it to a class (with accommodations).

Services flush, never commit: the request's `SessionDep` commits before the response is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import insert
from sqlmodel import Session, col, select

from lms.core.errors import Conflict, InvalidInput
from lms.reading import delivery as dl
from lms.reading import messages as msg
from lms.reading.models import (
    ASSESSMENT_KINDS,
    Accommodation,
    Assessment,
    Assignment,
    AssignmentTarget,
    Attempt,
    AttemptItem,
)
from lms.reading.no_repeat import seen_items
from lms.roster.models import Enrollment, SchoolClass, User
from reading_tests.text import student_grade

OVERALL = "ALL"

# --- inputs and views --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccommodationIn:
    """A student's accommodations for one assignment."""

    ruby_level: str | None = None
    extra_time_pct: int = 0
    read_aloud: bool = False
    large_text: bool = False


@dataclass(frozen=True)
class AnswerIn:
    """One answer as the page sends it."""

    client_event_id: str
    item_id: str
    answer: Sequence[str]
    response_time_ms: int | None = None
    position: int | None = None
    accommodations: Mapping[str, Any] = field(default_factory=dict)
    device_hint: str | None = None
    known: Collection[str] | None = None  # item ids whose payloads the page holds (None: send them all)


class AssessmentSettings(Protocol):
    """The columns of an assessment that determine its delivery (an `Assessment`, or a row of them)."""

    @property
    def kind(self) -> str: ...
    @property
    def skills(self) -> Sequence[str] | None: ...
    @property
    def min_items(self) -> int: ...
    @property
    def max_items(self) -> int: ...
    @property
    def se_target(self) -> float | None: ...
    @property
    def item_ids(self) -> Sequence[str] | None: ...
    @property
    def pilot_rate(self) -> float | None: ...


def spec_of(assessment: AssessmentSettings, class_grades: str | None = None) -> dl.DesignSpec:
    return dl.DesignSpec(
        kind=assessment.kind,
        skills=tuple(assessment.skills or ()),
        min_items=assessment.min_items,
        max_items=assessment.max_items,
        se_target=float(assessment.se_target or 0.0),
        item_ids=tuple(assessment.item_ids or ()),
        pilot_rate=float(assessment.pilot_rate or 0.0),
        grade=dl.class_grade(class_grades) if assessment.kind == "cat" else None,
    )


def delivery_of(assessment: AssessmentSettings, class_grades: str | None = None) -> dl.Delivery:
    """The delivery of an assessment for a class of ``class_grades`` (e.g. "P3")."""
    return dl.delivery_for(spec_of(assessment, class_grades))


# --- teachers: create and assign ---------------------------------------------------------------------------


def create_assessment(
    *,
    session: Session,
    title: str,
    kind: str = "cat",
    skills: Sequence[str] = (),
    min_items: int = 5,
    max_items: int = 15,
    se_target: float | None = None,
    item_ids: Sequence[str] = (),
    time_limit_s: int | None = None,
    pilot_rate: float = 0.0,
    created_by: User | None = None,
) -> Assessment:
    """Create a test definition; the design is built once to refuse settings that cannot be delivered."""
    assessment = new_assessment(
        title=title,
        kind=kind,
        skills=skills,
        min_items=min_items,
        max_items=max_items,
        se_target=se_target,
        item_ids=item_ids,
        time_limit_s=time_limit_s,
        pilot_rate=pilot_rate,
        created_by=created_by,
    )
    session.add(assessment)
    session.flush()
    return assessment


def new_assessment(
    *,
    title: str,
    kind: str = "cat",
    skills: Sequence[str] = (),
    min_items: int = 5,
    max_items: int = 15,
    se_target: float | None = None,
    item_ids: Sequence[str] = (),
    time_limit_s: int | None = None,
    pilot_rate: float = 0.0,
    created_by: User | None = None,
) -> Assessment:
    """A checked, not yet stored test definition (`create_assessment`; bulk writers insert many at once)."""
    if kind not in ASSESSMENT_KINDS:
        raise InvalidInput(msg.BAD_KIND.format(kinds=", ".join(ASSESSMENT_KINDS)))
    if not title.strip():
        raise InvalidInput(msg.NO_TITLE)
    if kind == "cat" and not 1 <= min_items <= max_items <= 100:
        raise InvalidInput(msg.BAD_ITEM_COUNTS)
    if kind != "cat" and not item_ids:
        raise InvalidInput(msg.FIXED_NEEDS_ITEMS)
    if se_target is not None and not 0 <= se_target < 2:
        raise InvalidInput(msg.BAD_SE_TARGET)
    if not 0 <= pilot_rate <= 0.5:
        raise InvalidInput(msg.BAD_PILOT_SHARE)
    if time_limit_s is not None and not 60 <= time_limit_s <= 4 * 3600:
        raise InvalidInput(msg.BAD_TIME_LIMIT)
    assessment = Assessment(
        title=title.strip(),
        kind=kind,
        skills=list(skills),
        min_items=min_items if kind == "cat" else len(item_ids),
        max_items=max_items if kind == "cat" else len(item_ids),
        se_target=se_target,
        item_ids=list(item_ids),
        time_limit_s=time_limit_s,
        pilot_rate=pilot_rate,
        created_by_id=created_by.id if created_by else None,
    )
    delivery_of(assessment)  # raises InvalidInput when the bank cannot deliver it
    return assessment


def class_student_ids(session: Session, class_id: int) -> list[int]:
    """Active students enrolled in a class."""
    return list(
        session.exec(
            select(Enrollment.user_id)
            .where(
                Enrollment.class_id == class_id,
                Enrollment.role == "student",
                Enrollment.status == "active",
            )
            .order_by(col(Enrollment.shusseki_no), col(Enrollment.user_id))
        )
    )


def assignment_student_ids(session: Session, assignment: Assignment) -> list[int]:
    """The students an assignment is given to: its targets, else the whole class."""
    assert assignment.id is not None
    targets = list(
        session.exec(select(AssignmentTarget.user_id).where(AssignmentTarget.assignment_id == assignment.id))
    )
    return targets or class_student_ids(session, assignment.class_id)


def create_assignment(
    *,
    session: Session,
    assessment: Assessment,
    class_: SchoolClass,
    now: datetime,
    title: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    student_ids: Sequence[int] | None = None,
    accommodations: Mapping[int, AccommodationIn] | None = None,
    created_by: User | None = None,
) -> Assignment:
    """Give a test to a class (or to ``student_ids`` of it) and prepare every student's attempt."""
    assert assessment.id is not None and class_.id is not None
    opens = opens_at or now
    check_window(opens, closes_at)
    enrolled = set(class_student_ids(session, class_.id))
    chosen = list(dict.fromkeys(student_ids or []))
    strangers = [s for s in chosen if s not in enrolled]
    if strangers:
        raise InvalidInput(msg.STUDENT_NOT_IN_CLASS)
    for user_id in accommodations or {}:
        if user_id not in (set(chosen) or enrolled):
            raise InvalidInput(msg.ACCOMMODATION_NOT_TARGET)
    assignment = Assignment(
        assessment_id=assessment.id,
        class_id=class_.id,
        title=(title or assessment.title).strip(),
        opens_at=opens,
        closes_at=closes_at,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
    )
    session.add(assignment)
    session.flush()
    assert assignment.id is not None
    for user_id in chosen:
        session.add(AssignmentTarget(assignment_id=assignment.id, user_id=user_id))
    for user_id, acc in (accommodations or {}).items():
        check_accommodation(acc)
        session.add(
            Accommodation(
                assignment_id=assignment.id,
                user_id=user_id,
                ruby_level=acc.ruby_level,
                extra_time_pct=acc.extra_time_pct,
                read_aloud=acc.read_aloud,
                large_text=acc.large_text,
            )
        )
    delivery = delivery_of(assessment, class_.grades)
    students = chosen or sorted(enrolled)
    needs_seen = assessment.kind == "cat" or delivery.design.fixed_form is None
    seen = seen_items(session, students, now) if needs_seen else {}
    session.flush()
    prepare_attempts(
        session=session, assignment=assignment, student_ids=students, now=now, delivery=delivery, seen=seen
    )
    return assignment


def prepare_attempts(
    *,
    session: Session,
    assignment: Assignment,
    student_ids: Sequence[int],
    now: datetime,
    delivery: dl.Delivery,
    seen: Mapping[int, Sequence[str]],
) -> list[int]:
    """`prepare_attempt` for every student of one new assignment (`prepare_new_attempts`).  Returns the new
    attempts' ids in the order of ``student_ids``.  ``seen``: each student's items not to meet again."""
    assert assignment.id is not None
    return prepare_new_attempts(
        session=session,
        attempts=[NewAttempt(assignment.id, s, delivery, tuple(seen.get(s, ()))) for s in student_ids],
        now=now,
    )


@dataclass(frozen=True)
class NewAttempt:
    """A first attempt to prepare: whose, of which (new) assignment, delivered how, avoiding which items."""

    assignment_id: int
    student_id: int
    delivery: dl.Delivery
    seen: Sequence[str] = ()


def prepare_new_attempts(*, session: Session, attempts: Sequence[NewAttempt], now: datetime) -> list[int]:
    """First attempts of new assignments in three statements whatever their number: one INSERT of the
    attempts, one SELECT of their ids (none for a single pupil), one INSERT of their planned items (issue 22:
    two flushes per pupil were most of the teacher's wait).  Returns the ids in the order of ``attempts``."""
    plans = [(new, *dl.new_state(new.delivery, None, new.seen)) for new in attempts]
    if not plans:
        return []
    rows = [
        {
            "assignment_id": new.assignment_id,
            "student_id": new.student_id,
            "attempt_no": 1,
            "status": "created",
            "cat_state": state.dumps(),
            "prepared_at": now,
            "position": 0,
        }
        for new, state, _planned in plans
    ]
    if len(rows) == 1:  # one pupil: RETURNING saves the SELECT
        ids = [int(session.execute(insert(Attempt).values(rows[0]).returning(col(Attempt.id))).scalar_one())]
    else:
        session.execute(insert(Attempt), rows)
        # The assignments are new: their attempts are exactly these (one SELECT is portable; RETURNING in
        # parameter order is not one statement on SQLite).
        assignment_ids = sorted({new.assignment_id for new in attempts})
        id_of = {
            (assignment_id, student_id): attempt_id
            for assignment_id, student_id, attempt_id in session.execute(
                select(Attempt.assignment_id, Attempt.student_id, Attempt.id).where(
                    col(Attempt.assignment_id).in_(assignment_ids)
                )
            ).all()
        }
        ids = [int(id_of[new.assignment_id, new.student_id]) for new, _state, _planned in plans]
    items = [
        {"attempt_id": attempt_id, "item_id": item_id, "position": state.answered + offset, "offered_at": now}
        for attempt_id, (_new, state, planned) in zip(ids, plans, strict=True)
        for offset, item_id in enumerate(planned)
    ]
    if items:
        session.execute(insert(AttemptItem), items)
    return ids


def check_window(opens: datetime, closes: datetime | None) -> None:
    if closes is not None and closes <= opens:
        raise InvalidInput(msg.CLOSES_BEFORE_OPENS)


def check_accommodation(acc: AccommodationIn) -> None:
    if not 0 <= acc.extra_time_pct <= 300:
        raise InvalidInput(msg.BAD_EXTRA_TIME)
    if acc.ruby_level not in (None, "all", "none"):
        try:
            student_grade(acc.ruby_level)
        except Exception:
            raise InvalidInput(msg.BAD_RUBY) from None


def prepare_attempt(
    *,
    session: Session,
    assignment: Assignment,
    student_id: int,
    now: datetime,
    delivery: dl.Delivery | None = None,
    attempt_no: int = 1,
    seed: int | None = None,
    exclude: Sequence[str] | None = None,
) -> Attempt:
    """An attempt in status ``created`` with its CAT session (own seed) and first items chosen.

    ``exclude``: items the student must not meet again (`lms.reading.no_repeat.seen_items`); looked up
    here when not given."""
    assert assignment.id is not None
    if delivery is None:
        assessment = session.get(Assessment, assignment.assessment_id)
        class_ = session.get(SchoolClass, assignment.class_id)
        assert assessment is not None and class_ is not None
        delivery = delivery_of(assessment, class_.grades)
    if exclude is None and delivery.design.fixed_form is None:
        exclude = seen_items(session, [student_id], now).get(student_id, [])
    state, planned = dl.new_state(delivery, seed, exclude or ())
    attempt = Attempt(
        assignment_id=assignment.id,
        student_id=student_id,
        attempt_no=attempt_no,
        status="created",
        cat_state=state.dumps(),
        prepared_at=now,
    )
    session.add(attempt)
    session.flush()
    _add_attempt_items(session, attempt, planned, state.answered, now)
    return attempt


def _add_attempt_items(
    session: Session, attempt: Attempt, item_ids: Iterable[str], position: int, now: datetime
) -> None:
    assert attempt.id is not None
    for offset, item_id in enumerate(item_ids):
        session.add(
            AttemptItem(attempt_id=attempt.id, item_id=item_id, position=position + offset, offered_at=now)
        )


def reset_attempt(*, session: Session, attempt: Attempt, now: datetime) -> Attempt:
    """Teacher: mark ``attempt`` reset and prepare a fresh one (next attempt_no) for the same student."""
    assignment = session.get(Assignment, attempt.assignment_id)
    assert assignment is not None
    if attempt.status != "reset":
        attempt.status = "reset"
        attempt.finished_at = attempt.finished_at or now
        session.add(attempt)
    latest = session.exec(
        select(Attempt.attempt_no)
        .where(Attempt.assignment_id == attempt.assignment_id, Attempt.student_id == attempt.student_id)
        .order_by(col(Attempt.attempt_no).desc())
    ).first()
    return prepare_attempt(
        session=session,
        assignment=assignment,
        student_id=attempt.student_id,
        now=now,
        attempt_no=(latest or attempt.attempt_no) + 1,
    )


def reopen_attempt(*, session: Session, attempt: Attempt, now: datetime, extra_seconds: int = 600) -> Attempt:
    """Teacher: let an expired (time over) attempt continue, with ``extra_seconds`` more from now."""
    if attempt.status not in ("expired", "in_progress"):
        raise Conflict(msg.CANNOT_RESUME)
    attempt.status = "in_progress" if attempt.started_at else "created"
    if attempt.deadline_at is not None:
        attempt.deadline_at = max(attempt.deadline_at, now + timedelta(seconds=extra_seconds))
    attempt.finished_at = None
    session.add(attempt)
    session.flush()
    return attempt
