"""Online calibration API: list calibrations, promote one (row: item bank — teachers, school admins,
admins; students 404; board 403).  Promotions are audited in the service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from lms.auth.deps import ApiPrincipal, ClockDep, client_ip
from lms.core.db import SessionDep
from lms.permissions import api_gate
from lms.reading.calibration import service
from lms.reading.calibration.models import ItemCalibration

router = APIRouter(prefix="/api/v1", tags=["calibration"], dependencies=[Depends(api_gate)])


class CalibrationOut(BaseModel):
    id: int
    item_id: str
    model: str
    a: float
    b: float
    c: float
    se_a: float | None
    se_b: float | None
    se_c: float | None
    n: int
    n_students: int
    anchored: bool
    n_anchors: int
    latent_mean: float
    latent_sd: float
    fit_chi2: float | None
    fit_df: int | None
    fit_p: float | None
    fit_rmsd: float | None
    infit: float | None
    outfit: float | None
    misfit: bool
    converged: bool
    warnings: list[dict[str, object]]
    promotable: bool
    status: str
    calibrated_at: datetime
    promoted_at: datetime | None
    promoted_by_id: int | None


def _out(row: ItemCalibration) -> CalibrationOut:
    fields = row.model_dump()
    fields["promotable"] = service.promotable(row) is None
    return CalibrationOut.model_validate(fields)


@router.get("/calibrations", summary="Calibrations of pilot items, newest first (row: item bank)")
def list_calibrations(
    session: SessionDep,
    status: Annotated[Literal["candidate", "promoted", "superseded"] | None, Query()] = None,
) -> list[CalibrationOut]:
    return [_out(row) for row in service.list_calibrations(session=session, status=status)]


@router.post(
    "/calibrations/{calibration_id}/promote",
    summary="Make the item operational (row: item bank); 409 when the calibration has a blocking warning",
)
def promote(
    calibration_id: int, request: Request, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> CalibrationOut:
    row = service.promote_by_id(
        session=session,
        calibration_id=calibration_id,
        actor=principal.user,
        now=clock.now(),
        ip=client_ip(request),
    )
    return _out(row)
