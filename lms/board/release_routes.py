"""Board JSON API over releases: the list, one release's published figures, and an admin's release.

Rows of the permission matrix: reading is ``BOARD_AGGREGATES`` (board and admin: every group; a school admin:
their own school's groups only); making a release is ``ADMIN`` (session only, recorded in the audit log).
Nothing but published, protected figures is returned — never the exact sizes kept to check the next release.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from lms.auth.deps import ApiPrincipal, client_ip
from lms.board import messages as msg
from lms.board import responses
from lms.board.release_jobs import job_view, queue_release
from lms.board.release_models import BoardReleaseJob
from lms.board.releases import get_release, list_releases, public_view
from lms.core.db import SessionDep
from lms.core.errors import Forbidden, NotFound
from lms.permissions import api_gate, school_ids

router = APIRouter(prefix="/api/v1/board/releases", tags=["board"], dependencies=[Depends(api_gate)])


class ReleaseRequest(BaseModel):
    school_year: int = Field(ge=2000, le=2100, description="school year (April–March)")
    term: int = Field(ge=1, le=3, description="1: Apr–Aug, 2: Sep–Dec, 3: Jan–Mar")


@router.get(
    "",
    response_model=list[responses.ReleaseSummary],
    summary="Releases, newest first (row: board aggregates)",
)
def releases(session: SessionDep, principal: ApiPrincipal) -> list[dict[str, Any]]:
    return [
        {"number": r.number, "school_year": r.school_year, "term": r.term, "reason": r.reason,
         "made_at": r.made_at.isoformat(), "pupils": r.pupils_rounded}
        for r in list_releases(session)
    ]  # fmt: skip


@router.get(
    "/latest",
    response_model=responses.Release,
    summary="The latest release with data (row: board aggregates)",
)
def latest(session: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    return _view(get_release(session), session, principal)


@router.get(
    "/{number}",
    response_model=responses.Release,
    summary="One release's published figures (row: board aggregates)",
)
def release(number: int, session: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    return _view(get_release(session, number), session, principal)


@router.post(
    "",
    status_code=202,
    response_model=responses.ReleaseJob,
    summary="Queue a release (admin; audited); made in the background",
)
def create(
    body: ReleaseRequest, request: Request, session: SessionDep, principal: ApiPrincipal
) -> dict[str, Any]:
    """Returns the job at once (``status`` queued); poll ``/jobs/{id}`` until ``done`` (its ``release``)."""
    job = queue_release(session=session, actor=principal.user, school_year=body.school_year, term=body.term,
                        reason="admin", ip=client_ip(request))  # fmt: skip
    return job_view(job)


@router.get(
    "/jobs/{job_id}",
    response_model=responses.ReleaseJob,
    summary="Status of a release job (row: board aggregates; board and admin)",
)
def job(job_id: int, session: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    if principal.user.role not in ("board", "admin"):
        raise Forbidden(msg.ONLY_BOARD_SEES_RELEASE_JOBS)
    row = session.get(BoardReleaseJob, job_id)
    if row is None:
        raise NotFound(msg.RELEASE_JOB_NOT_FOUND)
    return job_view(row)


def _view(row: Any, session: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    user = principal.user
    own = None if user.role in ("board", "admin") else school_ids(session, user)
    return public_view(row, school_ids=own)
