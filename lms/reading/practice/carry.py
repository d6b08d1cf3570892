"""A child's accommodations carried into practice: the newest ones a teacher set on any of the child's
assignments (read-aloud, large text, ruby level, extra time), so practice reads like the child's tests."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from lms.reading.authoring import AccommodationIn
from lms.reading.models import Accommodation, Assignment


def latest_accommodations(session: Session, student_ids: Sequence[int]) -> dict[int, AccommodationIn]:
    """``{student_id: AccommodationIn}`` from each student's newest accommodation row (none: not listed)."""
    if not student_ids:
        return {}
    rows = session.exec(
        select(Accommodation)
        .join(Assignment, col(Assignment.id) == col(Accommodation.assignment_id))
        .where(col(Accommodation.user_id).in_(list(student_ids)))
        .order_by(col(Assignment.created_at).desc(), col(Accommodation.id).desc())
    )
    out: dict[int, AccommodationIn] = {}
    for row in rows:
        if row.user_id not in out:
            out[row.user_id] = AccommodationIn(
                ruby_level=row.ruby_level,
                extra_time_pct=row.extra_time_pct,
                read_aloud=row.read_aloud,
                large_text=row.large_text,
            )
    return out
