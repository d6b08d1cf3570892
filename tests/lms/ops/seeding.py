"""Demo-ish rows for the operations tests: a test with attempts, responses, estimates, outbox and audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from tests.factories import pk


def seed(session: Session, world: Any) -> dict[str, int]:
    """Demo-ish rows beyond the roster: a test, attempts with responses, estimates, outbox, audit events."""
    from lms.audit.service import record_event
    from lms.reading.models import Assessment, Assignment, Attempt, Response, SkillEstimate, XapiOutbox

    now = datetime(2027, 5, 10, 0, 30, tzinfo=UTC)
    assessment = Assessment(
        title="読解力テスト 5月", kind="cat", skills=["DEP", "ANA"], min_items=3, max_items=4
    )
    session.add(assessment)
    session.flush()
    assignment = Assignment(
        assessment_id=pk(assessment), class_id=world.classes["A1"].id, title="5月のテスト", opens_at=now
    )
    session.add(assignment)
    session.flush()
    ids: dict[str, int] = {}
    for n, username in enumerate(("s-a1", "s-a1b")):
        student = world.users[username]
        attempt = Attempt(
            assignment_id=pk(assignment), student_id=student.id, status="submitted", cat_state='{"cat": {}}',
            started_at=now, finished_at=now + timedelta(minutes=12), position=3, theta=0.3 * n, se=0.41,
        )  # fmt: skip
        session.add(attempt)
        session.flush()
        ids[username] = int(attempt.id or 0)
        for k, item in enumerate(("DEP-001", "ANA-002", "DEP-003")):
            session.add(
                Response(
                    attempt_id=pk(attempt),
                    item_id=item,
                    position=k,
                    answer=["b"],
                    correct=(k + n) % 2 == 0,
                    response_time_ms=4000 + k,
                    accommodations={"read_aloud": k == 1},
                    client_event_id=f"ev-{username}-{k}-abcdef",
                    created_at=now + timedelta(minutes=k),
                )
            )
        session.add(
            SkillEstimate(
                student_id=student.id,
                attempt_id=pk(attempt),
                skill="ALL",
                theta=0.3 * n,
                se=0.41,
                scale_score=500 + 30 * n,
                band=3,
                n_items=3,
            )
        )
        session.add(XapiOutbox(statement='{"verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}}'))
        record_event(
            session=session, actor_id=student.id, action="attempt.submit", target_type="attempt",
            target_id=attempt.id, ip="10.0.0.8", detail={"items": 3},
        )  # fmt: skip
    session.commit()
    return ids
