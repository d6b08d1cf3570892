"""Handing out practice to a class (「この内容でクラス全員に配る」) in a fixed number of statements.

Every child gets their own ``practice`` assessment and an assignment targeted at them alone, as before; but
the rows of the whole class go in one statement per table (issue 22: ~8 statements per pupil made the
teacher wait 3.8 s for a class of 40), and the first attempts through `authoring.prepare_new_attempts`,
the same path as assigning a test.  Services flush, never commit (the request commits before answering).

A hand-out can carry a request key (the page's form renders one; the API takes ``request_key``): the key is
claimed before anything is written, so a retry of the same request — a resent form, a double click, a
client that lost the answer after the commit — gets the stored result instead of a second set for every
child; a concurrent duplicate waits for the first one's commit on the key's unique index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lms.core.jst import today_in_japan
from lms.reading import authoring
from lms.reading.models import Accommodation, Assessment, Assignment, AssignmentTarget
from lms.reading.practice import messages as msg
from lms.reading.practice.models import PracticeHandOut
from lms.roster.models import SchoolClass, User


@dataclass(frozen=True)
class AssignedPractice:
    student_id: int
    assignment_id: int
    item_ids: list[str]


def stored_hand_out(session: Session, class_id: int, request_key: str) -> list[AssignedPractice] | None:
    """What an earlier request with this key handed out (None: no such request)."""
    row = session.exec(
        select(PracticeHandOut.assignments).where(
            PracticeHandOut.class_id == class_id, PracticeHandOut.request_key == request_key
        )
    ).first()
    return None if row is None else [AssignedPractice(**a) for a in row]


def claim_key(session: Session, *, class_id: int, request_key: str, actor: User, now: datetime) -> int | None:
    """Claim ``request_key`` for this request: the claim's id, or None when another request holds it."""
    try:
        with session.begin_nested():
            claim_id = session.execute(
                insert(PracticeHandOut)
                .values(
                    class_id=class_id,
                    request_key=request_key,
                    created_by_id=actor.id,
                    created_at=now,
                    assignments=[],
                )
                .returning(col(PracticeHandOut.id))
            ).scalar_one()
    except IntegrityError:
        return None
    return int(claim_id)


def record_result(session: Session, claim_id: int, done: Sequence[AssignedPractice]) -> None:
    session.execute(
        update(PracticeHandOut)
        .where(col(PracticeHandOut.id) == claim_id)
        .values(assignments=[asdict(a) for a in done])
    )


def write_hand_out(
    *,
    session: Session,
    actor: User,
    class_: SchoolClass,
    now: datetime,
    sets: Sequence[tuple[int, Sequence[str]]],
    carried: Mapping[int, authoring.AccommodationIn],
    closes_at: datetime | None = None,
) -> list[AssignedPractice]:
    """Store ``sets`` (student id, item ids) as one practice assessment + assignment + prepared attempt per
    child, with the child's ``carried`` accommodations, in a fixed number of statements."""
    assert class_.id is not None
    authoring.check_window(now, closes_at)
    title = msg.practice_title(today_in_japan(now))
    assessments = [
        authoring.new_assessment(title=title, kind="practice", item_ids=items, created_by=actor)
        for _student, items in sets
    ]
    if not assessments:
        return []
    assessment_ids = _insert_returning_ids(
        session, Assessment, [a.model_dump(exclude={"id"}) for a in assessments]
    )
    assignment_ids = _insert_returning_ids(
        session,
        Assignment,
        [
            {
                "assessment_id": assessment_id,
                "class_id": class_.id,
                "title": title,
                "opens_at": now,
                "closes_at": closes_at,
                "status": "open",
                "created_by_id": actor.id,
                "created_at": now,
            }
            for assessment_id in assessment_ids
        ],
    )
    students = [student_id for student_id, _items in sets]
    session.execute(
        insert(AssignmentTarget),
        [{"assignment_id": a, "user_id": s} for a, s in zip(assignment_ids, students, strict=True)],
    )
    accommodations = [
        {"assignment_id": assignment_id, "user_id": student_id, **_accommodation_row(carried[student_id])}
        for assignment_id, student_id in zip(assignment_ids, students, strict=True)
        if student_id in carried
    ]
    if accommodations:
        session.execute(insert(Accommodation), accommodations)
    authoring.prepare_new_attempts(
        session=session,
        attempts=[
            authoring.NewAttempt(assignment_id, student_id, authoring.delivery_of(assessment, class_.grades))
            for assignment_id, student_id, assessment in zip(
                assignment_ids, students, assessments, strict=True
            )
        ],
        now=now,
    )
    return [
        AssignedPractice(student_id, assignment_id, list(items))
        for assignment_id, (student_id, items) in zip(assignment_ids, sets, strict=True)
    ]


def _accommodation_row(acc: authoring.AccommodationIn) -> dict[str, Any]:
    authoring.check_accommodation(acc)
    return asdict(acc)


def _insert_returning_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """One multi-row INSERT on PostgreSQL (SQLAlchemy's insertmanyvalues; row by row on SQLite, in-process);
    the new ids in the order of ``rows``."""
    ids = session.execute(insert(table).returning(table.id, sort_by_parameter_order=True), rows).scalars()
    return [int(i) for i in ids]
