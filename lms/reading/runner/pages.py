"""Student pages: the test runner shell (``/test/{id}``) and the results page (``/results/{id}``).

The runner page is a small HTML shell; ``/static/runner.js`` starts or resumes the attempt through the JSON
API (`lms.reading.routes`) and keeps answers on the device until the server acknowledges them. The
results page renders `lms.reading.results.results` (scores, advice, history, practice) on the server.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lms import authz
from lms.auth.deps import ClockDep, PageUser, SettingsDep, client_ip
from lms.core.db import SessionDep
from lms.core.errors import Conflict
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.reading import results
from lms.reading.models import Assignment
from lms.reading.routes import make_xapi_context
from lms.reading.runner.queries import (
    accommodation_for,
    assignment_for_student,
    is_practice,
    latest_attempt,
    runner_words,
)
from lms.reading.runner.results import (
    growth_svg,
    history_points,
    in_skill_order,
    practice_summary,
    range_bar_svg,
)
from lms.reading.skill_words import in_child_words

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


@router.get("/test/{assignment_id}")
def test_page(request: Request, assignment_id: int, session: SessionDep, user: PageUser) -> Response:
    """The runner shell for the student the assignment is given to (another student: 404; staff: 403)."""
    assignment = assignment_for_student(session, assignment_id=assignment_id, student=user)
    student_id = user.id or 0
    attempt = latest_attempt(session, assignment_id=assignment_id, student_id=student_id)
    accommodation = accommodation_for(session, assignment_id=assignment_id, student_id=student_id)
    words_json, words = runner_words(session, assignment, user, accommodation)
    return render(
        request,
        "runner_test.html",
        {
            "assignment": assignment,
            "attempt": attempt,
            "read_aloud": bool(accommodation and accommodation.read_aloud),
            "large_text": bool(accommodation and accommodation.large_text),
            "practice": is_practice(session, assignment),
            "runner_words": words_json,
            "w": words,
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
    attempt, student = authz.load_attempt_results(
        session=session, viewer=user, attempt_id=attempt_id, audit="results.view", ip=client_ip(request)
    )
    try:
        data = results.results(session=session, viewer=user, attempt_id=attempt_id, now=clock.now(), ctx=ctx)
    except Conflict:  # not finished yet: say so (permission was checked before the status)
        data = None
    points = history_points(data.get("history") or []) if data else []
    overall = data.get("overall") if data else None
    is_self = user.id == attempt.student_id
    practice = practice_summary(data.get("practice") or []) if data else []
    if is_self and data:  # the child reads its own words, not the teachers' technical skill names
        practice = [(in_child_words(reason, student.grades), n) for reason, n in practice]
        if overall:
            overall = {**overall, "advice": in_child_words(overall["advice"], student.grades)}
            data = {**data, "overall": overall}
    return render(
        request,
        "runner_results.html",
        {
            "attempt": attempt,
            "assignment": session.get(Assignment, attempt.assignment_id),
            "student": student,
            "is_self": is_self,
            "data": data,
            "skills": in_skill_order(data.get("skills") or []) if data else [],
            "practice": practice,
            "growth": data.get("growth") if data else None,
            "growth_svg": growth_svg(points, current_attempt_id=attempt_id),
            "range_svg": range_bar_svg(overall["child_lower"], overall["child_upper"]) if overall else "",
        },
    )
