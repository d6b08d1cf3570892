"""The test runner's JSON API (issue 4 contract).  Rows of the permission matrix: `lms.permissions`.

Handlers are thin: parse, call the service, respond.  The request's session (`SessionDep`, scope
"function") commits *before* the response is sent, so an acknowledgement always describes a committed
answer; a failing commit turns into an error response and no ack.

The answer route is the platform's hot path (issue 4: ≥ 1,000 answers/s), so it does not use the sync
dependencies (each is a thread-pool hop that costs more than the work inside it): an ``async`` handler
runs the session lookup, the API gate (sign-in, CSRF, row), the answer and the commit in one thread-pool
call (`lms.reading.answer_route`), and returns the acknowledgement after the commit.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from lms.auth.deps import ApiPrincipal, ClockDep, SettingsDep
from lms.core.clock import Clock, get_clock
from lms.core.db import SessionDep
from lms.core.settings import Settings
from lms.permissions import api_gate
from lms.reading import attempts, authoring, responses
from lms.reading.answer_route import answer_in_one_call
from lms.reading.results import results as attempt_results
from lms.reading.xapi import XapiContext

router = APIRouter(prefix="/api/v1", tags=["reading tests"])
# Every route but the answer route takes the gate as a dependency; the answer route calls it itself.
GATED = [Depends(api_gate)]


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
    known: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None,
        max_length=64,
        description="ids of the items whose payloads the page already holds: the ack leaves them out",
    )


@router.post(
    "/assignments/{assignment_id}/start",
    response_model=responses.RunnerView,
    summary="Start or resume a test (row: own data)",
    dependencies=GATED,
)
def start(
    assignment_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep, ctx: XapiDep
) -> dict[str, Any]:
    return attempts.start_attempt(
        session=session, student=principal.user, assignment_id=assignment_id, now=clock.now(), ctx=ctx
    )


@router.get(
    "/attempts/{attempt_id}",
    response_model=responses.RunnerView,
    summary="The runner state of one's own attempt (row: own data)",
    dependencies=GATED,
)
def get_attempt(
    attempt_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep, ctx: XapiDep
) -> dict[str, Any]:
    return attempts.get_attempt(
        session=session, user=principal.user, attempt_id=attempt_id, now=clock.now(), ctx=ctx
    )


@router.post(
    "/attempts/{attempt_id}/answers",
    summary="Store one answer idempotently; acknowledged after commit (row: own data)",
    response_model=None,
    responses={200: {"model": responses.AnswerAck, "description": "stored (or a retry of a stored answer)"}},
)
async def answer(attempt_id: int, body: AnswerBody, request: Request) -> Response:
    # Settings, clock and xAPI context are taken here rather than as dependencies: each dependency costs
    # FastAPI a `solve_dependencies` pass (cookies, headers, query parsed again), more than the work inside.
    settings: Settings = request.app.state.settings
    clock = await _clock(request)
    ctx = make_xapi_context(request, settings)
    answer = authoring.AnswerIn(
        **body.model_dump(exclude={"known"}), known=None if body.known is None else frozenset(body.known)
    )
    ack = await run_in_threadpool(answer_in_one_call, request, attempt_id, answer, settings, clock, ctx)
    # Pre-serialised: the item payloads' JSON is cached per item (no encoding of big dicts per answer).
    return Response(content=ack.to_json(), media_type="application/json")


async def _clock(request: Request) -> Clock:
    """What `get_clock` resolves to for this app, honouring ``dependency_overrides`` (tests freeze time)."""
    override = request.app.dependency_overrides.get(get_clock)
    if override is None:
        return await get_clock()
    clock = override()
    if inspect.isawaitable(clock):
        clock = await clock
    assert isinstance(clock, Clock)
    return clock


@router.post(
    "/attempts/{attempt_id}/finish",
    response_model=responses.AttemptFinished,
    summary="End the test and score it (row: own data)",
    dependencies=GATED,
)
def finish(
    attempt_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep, ctx: XapiDep
) -> dict[str, Any]:
    return attempts.finish_attempt(
        session=session, student=principal.user, attempt_id=attempt_id, now=clock.now(), ctx=ctx
    )


@router.get(
    "/attempts/{attempt_id}/results",
    response_model=responses.AttemptResults,
    response_model_exclude_unset=True,
    summary="Scores, growth and practice (row: individual)",
    dependencies=GATED,
)
def results(
    attempt_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep, ctx: XapiDep
) -> dict[str, Any]:
    return attempt_results(
        session=session, viewer=principal.user, attempt_id=attempt_id, now=clock.now(), ctx=ctx
    )
