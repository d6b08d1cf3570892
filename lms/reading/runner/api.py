"""The runner's small calls besides answering: the heartbeat and practice feedback (row: own data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from lms.auth.deps import ApiPrincipal, ClockDep
from lms.core.db import SessionDep
from lms.permissions import api_gate
from lms.reading import heartbeat, responses
from lms.reading.practice.feedback import item_feedback

router = APIRouter(prefix="/api/v1", tags=["reading tests"], dependencies=[Depends(api_gate)])


@router.post(
    "/attempts/{attempt_id}/heartbeat",
    response_model=responses.Heartbeat,
    summary="The runner is still open (row: own data)",
)
def post_heartbeat(
    attempt_id: int, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> dict[str, object]:
    return heartbeat.beat(session=session, student=principal.user, attempt_id=attempt_id, now=clock.now())


@router.get(
    "/attempts/{attempt_id}/feedback/{item_id}",
    response_model=responses.PracticeFeedback,
    summary="Right or wrong and the explanation of an answered practice item (row: own data)",
)
def get_feedback(
    attempt_id: int, item_id: str, session: SessionDep, principal: ApiPrincipal
) -> dict[str, Any]:
    return item_feedback(session=session, student=principal.user, attempt_id=attempt_id, item_id=item_id)
