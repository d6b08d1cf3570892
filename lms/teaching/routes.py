"""Teacher JSON API: assign, the live view, resume / reset an attempt, close a test, the class report.

Row of the permission matrix for all of them: ``CLASS_ROSTER`` (teacher of the class, school admin of its
school, admin; board 403; students 404); changing things needs the class's teacher or the admin.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lms import authz
from lms.audit.service import record_event
from lms.auth.deps import ApiPrincipal, ClockDep, client_ip
from lms.core.db import SessionDep
from lms.permissions import api_gate
from lms.reading.xapi import XapiContext
from lms.teaching import responses, service
from lms.teaching.pages import parse_assignment_id
from lms.teaching.schemas import AssignmentCreate


def xapi_context(request: Request) -> XapiContext:
    """Where the xAPI statements of attempts ended by closing point (same as the runner's)."""
    return XapiContext(
        home_page=str(request.base_url).rstrip("/"), secret_key=request.app.state.settings.secret_key
    )


router = APIRouter(prefix="/api/v1", tags=["teaching"], dependencies=[Depends(api_gate)])


@router.post(
    "/classes/{class_id}/assignments",
    status_code=201,
    response_model=responses.AssignmentCreated,
    summary="Assign a reading test or practice set to a class, a group or students (row: class roster)",
)
def create_assignment(
    class_id: int,
    body: AssignmentCreate,
    request: Request,
    session: SessionDep,
    principal: ApiPrincipal,
    clock: ClockDep,
) -> dict[str, Any]:
    user = principal.user
    class_ = authz.load_class(session=session, viewer=user, class_id=class_id)
    service.check_can_change(session=session, user=user, class_=class_)
    assignment = service.create_assignment(
        session=session, actor=user, class_=class_, data=body, now=clock.now(), ip=client_ip(request)
    )
    view = service.live_view(session=session, assignment=assignment, now=clock.now())
    return {
        "assignment_id": assignment.id,
        "assessment_id": assignment.assessment_id,
        "status": assignment.status,
        "students": len(view.rows),
        "live_url": f"/assignments/{assignment.id}/live",
    }


@router.get(
    "/assignments/{assignment_id}/live",
    response_model=responses.LiveView,
    summary="Live state of every student (row: class roster)",
)
def live(assignment_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep) -> dict[str, Any]:
    assignment, _class = authz.load_assignment(
        session=session, viewer=principal.user, assignment_id=assignment_id
    )
    now = clock.now()
    return service.live_view(session=session, assignment=assignment, now=now).as_json(now)


@router.post(
    "/assignments/{assignment_id}/close",
    response_model=responses.AssignmentClosed,
    summary="Close a test for everyone (row: class roster)",
)
def close(
    assignment_id: int, request: Request, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> dict[str, Any]:
    user = principal.user
    assignment, class_ = authz.load_assignment(session=session, viewer=user, assignment_id=assignment_id)
    service.check_can_change(session=session, user=user, class_=class_)
    closed = service.close_assignment(
        session=session,
        actor=user,
        assignment=assignment,
        now=clock.now(),
        ip=client_ip(request),
        ctx=xapi_context(request),
    )
    return {"assignment_id": assignment.id, "status": assignment.status, "attempts_closed": closed}


@router.post(
    "/attempts/{attempt_id}/reset",
    response_model=responses.AttemptReset,
    summary="Let a student start again (row: class roster)",
)
def reset(
    attempt_id: int, request: Request, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> dict[str, Any]:
    user = principal.user
    attempt, _assignment, class_ = authz.load_attempt(session=session, viewer=user, attempt_id=attempt_id)
    service.check_can_change(session=session, user=user, class_=class_)
    fresh = service.reset_attempt(
        session=session, actor=user, attempt=attempt, now=clock.now(), ip=client_ip(request)
    )
    return {"reset_attempt_id": attempt.id, "attempt_id": fresh.id, "status": fresh.status}


@router.post(
    "/attempts/{attempt_id}/resume",
    response_model=responses.AttemptResumed,
    summary="Let a student continue a stopped attempt (row: class roster)",
)
def resume(
    attempt_id: int, request: Request, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> dict[str, Any]:
    user = principal.user
    attempt, _assignment, class_ = authz.load_attempt(session=session, viewer=user, attempt_id=attempt_id)
    service.check_can_change(session=session, user=user, class_=class_)
    service.resume_attempt(
        session=session, actor=user, attempt=attempt, now=clock.now(), ip=client_ip(request)
    )
    return {"attempt_id": attempt.id, "status": attempt.status, "deadline_at": attempt.deadline_at}


@router.get(
    "/classes/{class_id}/report",
    response_model=responses.ClassReport,
    summary="Class report: heatmap, distributions, items (row: class roster)",
)
def class_report(
    class_id: int,
    request: Request,
    session: SessionDep,
    principal: ApiPrincipal,
    assignment_id: str | None = None,
) -> dict[str, Any]:
    user = principal.user
    class_ = authz.load_class(session=session, viewer=user, class_id=class_id)
    chosen = parse_assignment_id(assignment_id)
    report = service.class_report(session=session, class_=class_, assignment_id=chosen)
    record_event(
        session=session,
        actor_id=user.id,
        action="report.view",
        target_type="class",
        target_id=class_.id,
        ip=client_ip(request),
        detail={"assignment_id": chosen, "students": len(report.grid.rows), "via": "api"},
    )
    return report.as_json()
