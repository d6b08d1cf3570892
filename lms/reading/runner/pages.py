"""Student pages: the test runner shell (``/test/{id}``) and the results page (``/results/{id}``).

The runner page is a small HTML shell; ``/static/runner.js`` starts or resumes the attempt through the JSON
API (`lms.reading.routes`) and keeps answers on the device until the server acknowledges them. The
results page renders `lms.reading.results.results` (scores, advice, history, practice) on the server.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lms.audit.service import record_event
from lms.auth.deps import ClockDep, PageUser, SettingsDep, client_ip
from lms.core.db import SessionDep
from lms.core.errors import Conflict
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.reading import results
from lms.reading.models import Assignment, Attempt
from lms.reading.routes import make_xapi_context
from lms.reading.runner.queries import accommodation_for, assignment_for_student, latest_attempt
from lms.reading.runner.results import (
    growth_since_last,
    growth_svg,
    history_points,
    in_skill_order,
    practice_summary,
)
from lms.roster.models import User

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


@router.get("/test/{assignment_id}")
def test_page(request: Request, assignment_id: int, session: SessionDep, user: PageUser) -> Response:
    """The runner shell for the student the assignment is given to (another student: 404; staff: 403)."""
    assignment = assignment_for_student(session, assignment_id=assignment_id, student=user)
    student_id = user.id or 0
    attempt = latest_attempt(session, assignment_id=assignment_id, student_id=student_id)
    accommodation = accommodation_for(session, assignment_id=assignment_id, student_id=student_id)
    return render(
        request,
        "runner_test.html",
        {
            "assignment": assignment,
            "attempt": attempt,
            "read_aloud": bool(accommodation and accommodation.read_aloud),
            "large_text": bool(accommodation and accommodation.large_text),
        },
    )


@router.get("/results/{attempt_id}")
def results_page(
    request: Request,
    attempt_id: int,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Scores of a finished attempt: the student, their teachers, school admin, admin (audited); board 403."""
    ctx = make_xapi_context(request, settings)
    attempt = session.get(Attempt, attempt_id)
    try:
        data = results.results(session=session, viewer=user, attempt_id=attempt_id, now=clock.now(), ctx=ctx)
    except Conflict:  # not finished yet: say so (permission was checked before the status)
        data = None
    assert attempt is not None  # results() raised NotFound otherwise
    student = session.get(User, attempt.student_id)
    if user.id != attempt.student_id:
        record_event(
            session=session,
            actor_id=user.id,
            action="results.view",
            target_type="attempt",
            target_id=attempt.id,
            ip=client_ip(request),
        )
    points = history_points(data["history"]) if data else []
    return render(
        request,
        "runner_results.html",
        {
            "attempt": attempt,
            "assignment": session.get(Assignment, attempt.assignment_id),
            "student": student,
            "is_self": user.id == attempt.student_id,
            "data": data,
            "skills": in_skill_order(data["skills"]) if data else [],
            "practice": practice_summary(data.get("practice") or []) if data else [],
            "growth": growth_since_last(points, attempt_id),
            "growth_svg": growth_svg(points, current_attempt_id=attempt_id),
        },
    )
