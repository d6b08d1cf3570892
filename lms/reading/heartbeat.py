"""The runner's heartbeat: an open runner page says "still here" every 30 s, so the live view tells a child
reading one long passage (no answer for 90 s) from a device that went offline (no heartbeat)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from lms.reading import attempts
from lms.reading.models import Attempt
from lms.roster.models import User

INTERVAL_S = 30  # runner.js sends one every INTERVAL_S while the page is open


def beat(*, session: Session, student: User, attempt_id: int, now: datetime) -> dict[str, object]:
    """Mark the child's own in-progress attempt as seen now (a finished one is left as it is)."""
    attempt = attempts.own_attempt_or_404(session, student, attempt_id)
    session.execute(
        update(Attempt)
        .where(col(Attempt.id) == attempt.id, col(Attempt.status) == "in_progress")
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return {"attempt_id": attempt.id, "status": attempt.status, "next_in_s": INTERVAL_S}
