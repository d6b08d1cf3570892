"""No repeats (issue 13): the items a student must not meet again in an adaptive test.

* every item the student answered since the start of the term ``GIGA_NO_REPEAT_TERMS`` − 1 terms before
  the current one (tests and practice; default 2: this term and the one before), most recent first;
* every item the student ever practised (answered in a practice set, or waiting in an open one): a
  practised item would measure the practice, not the reading.

`lms.reading.delivery.new_state` leaves them out of the new attempt (as many as still leave a full test).
One query per assignment, however many students it has.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from lms.core.jst import school_year_and_term, term_bounds
from lms.core.settings import get_settings
from lms.reading.models import OPEN_ATTEMPT_STATUSES, Assessment, Assignment, Attempt, Response


def window_start(now: datetime, terms: int) -> datetime:
    """Start of the term ``terms − 1`` terms before the one ``now`` is in."""
    year, term = school_year_and_term(now)
    for _ in range(max(terms, 1) - 1):
        year, term = (year, term - 1) if term > 1 else (year - 1, 3)
    return term_bounds(year, term)[0]


def seen_items(
    session: Session, student_ids: Sequence[int], now: datetime, terms: int | None = None
) -> dict[int, list[str]]:
    """Per student: the items to leave out of a new adaptive test, most recent first (``terms``: the
    window, by default the ``no_repeat_terms`` setting)."""
    if not student_ids:
        return {}
    since = window_start(now, get_settings().no_repeat_terms if terms is None else terms)
    practice = col(Assessment.kind) == "practice"
    rows = session.execute(
        select(Attempt.student_id, Response.item_id)
        .join(Attempt, col(Attempt.id) == col(Response.attempt_id))
        .join(Assignment, col(Assignment.id) == col(Attempt.assignment_id))
        .join(Assessment, col(Assessment.id) == col(Assignment.assessment_id))
        .where(col(Attempt.student_id).in_(list(student_ids)))
        .where(or_(col(Response.created_at) >= since, practice))
        .order_by(col(Response.created_at).desc(), col(Response.id).desc())
    ).all()
    out: dict[int, list[str]] = {int(s): [] for s in student_ids}
    for student_id, item_id in rows:
        out[int(student_id)].append(str(item_id))
    open_practice = session.execute(
        select(Attempt.student_id, Assessment.item_ids)
        .join(Assignment, col(Assignment.id) == col(Attempt.assignment_id))
        .join(Assessment, col(Assessment.id) == col(Assignment.assessment_id))
        .where(col(Attempt.student_id).in_(list(student_ids)), practice)
        .where(col(Attempt.status).in_(OPEN_ATTEMPT_STATUSES))
    ).all()
    for student_id, item_ids in open_practice:
        out[int(student_id)].extend(item_ids or [])
    return {s: list(dict.fromkeys(items)) for s, items in out.items()}
