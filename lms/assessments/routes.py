"""The test runner's JSON API (issue 4 contract).  Rows of the permission matrix: `lms.permissions`.

Handlers are thin: parse, call the service, respond.  The request's session (`SessionDep`, scope
"function") commits *before* the response is sent, so an acknowledgement always describes a committed
answer; a failing commit turns into an error response and no ack.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from lms.assessments import service
from lms.assessments.xapi import XapiContext
from lms.auth.deps import ApiPrincipal, ClockDep, SettingsDep
from lms.config import Settings
from lms.db import SessionDep
from lms.permissions import api_gate

router = APIRouter(prefix="/api/v1", tags=["reading tests"], dependencies=[Depends(api_gate)])


def make_xapi_context(request: Request, settings: Settings) -> XapiContext:
    """Statements point at this platform's base URL; actor ids are HMACs with the server secret."""
    return XapiContext(home_page=str(request.base_url).rstrip("/"), secret_key=settings.secret_key)


async def xapi_context(request: Request, settings: SettingsDep) -> XapiContext:
    """The dependency form of `make_xapi_context`.

    ``async`` because it does no I/O: FastAPI runs a sync dependency on its thread pool, and each such
    hop costs more than this whole function (docs/performance.md)."""
    return make_xapi_context(request, settings)


XapiDep = Annotated[XapiContext, Depends(xapi_context)]
ScalarValue = bool | int | float | str | None


class AnswerBody(BaseModel):
    """One answer from the test page."""

    model_config = ConfigDict(extra="ignore")

    client_event_id: str = Field(
        min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="a UUID made on the device"
    )
    item_id: str = Field(min_length=1, max_length=32)
    answer: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(min_length=1, max_length=12)
    response_time_ms: int | None = Field(default=None, ge=0, le=24 * 3600 * 1000)
    position: int | None = Field(default=None, ge=0, le=1000, description="the page's count (informative)")
    accommodations: dict[Annotated[str, Field(max_length=32)], ScalarValue] = Field(
        default_factory=dict, max_length=16
    )
    device_hint: str | None = Field(default=None, max_length=255)


@router.post("/assignments/{assignment_id}/start", summary="Start or resume a test (row: own data)")
def start(
    assignment_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep, ctx: XapiDep
) -> dict[str, Any]:
    return service.start_attempt(
        session=session, student=principal.user, assignment_id=assignment_id, now=clock.now(), ctx=ctx
    )


@router.get("/attempts/{attempt_id}", summary="The runner state of one's own attempt (row: own data)")
def get_attempt(
    attempt_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep, ctx: XapiDep
) -> dict[str, Any]:
    return service.get_attempt(
        session=session, user=principal.user, attempt_id=attempt_id, now=clock.now(), ctx=ctx
    )


@router.post(
    "/attempts/{attempt_id}/answers",
    summary="Store one answer idempotently; acknowledged after commit (row: own data)",
)
def answer(
    attempt_id: int,
    body: AnswerBody,
    session: SessionDep,
    principal: ApiPrincipal,
    clock: ClockDep,
    ctx: XapiDep,
) -> dict[str, Any]:
    return service.submit_answer(
        session=session,
        student=principal.user,
        attempt_id=attempt_id,
        answer=service.AnswerIn(
            client_event_id=body.client_event_id,
            item_id=body.item_id,
            answer=body.answer,
            response_time_ms=body.response_time_ms,
            position=body.position,
            accommodations=body.accommodations,
            device_hint=body.device_hint,
        ),
        now=clock.now(),
        ctx=ctx,
    )


@router.post("/attempts/{attempt_id}/finish", summary="End the test and score it (row: own data)")
def finish(
    attempt_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep, ctx: XapiDep
) -> dict[str, Any]:
    return service.finish_attempt(
        session=session, student=principal.user, attempt_id=attempt_id, now=clock.now(), ctx=ctx
    )


@router.get("/attempts/{attempt_id}/results", summary="Scores, growth and practice (row: individual)")
def results(
    attempt_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep, ctx: XapiDep
) -> dict[str, Any]:
    return service.results(
        session=session, viewer=principal.user, attempt_id=attempt_id, now=clock.now(), ctx=ctx
    )
