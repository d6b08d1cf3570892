"""New item parameters estimated from live responses, with their provenance and fit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now

CALIBRATION_STATUSES = ("candidate", "promoted", "superseded")


class ItemCalibration(SQLModel, table=True):
    """One calibration of one pilot item: 3PL-family parameters, SEs, fit, and how they were obtained.

    ``warnings`` (e.g. ``miskey``, ``separation``) and ``converged`` come from the calibration report; a row
    with a blocking warning or from a run that did not converge cannot be promoted.
    ``status``: *candidate* until a teacher or admin promotes it (the item becomes operational with these
    parameters), *superseded* when a newer calibration of the item replaced it.
    """

    __tablename__ = "item_calibration"

    id: int | None = Field(default=None, primary_key=True)
    item_id: str = Field(max_length=32, index=True)
    model: str = Field(max_length=8)
    a: float
    b: float
    c: float = Field(default=0.0)
    se_a: float | None = Field(default=None)
    se_b: float | None = Field(default=None)
    se_c: float | None = Field(default=None)
    n: int = Field(description="responses to this item the estimate is based on")
    n_students: int = Field(default=0, description="students in the calibration sample")
    anchored: bool = Field(description="operational items were held fixed (the scale is theirs)")
    n_anchors: int = Field(default=0)
    latent_mean: float = Field(default=0.0)
    latent_sd: float = Field(default=1.0)
    loglik: float | None = Field(default=None)
    fit_chi2: float | None = Field(default=None)
    fit_df: int | None = Field(default=None)
    fit_p: float | None = Field(default=None)
    fit_rmsd: float | None = Field(default=None)
    infit: float | None = Field(default=None)
    outfit: float | None = Field(default=None)
    misfit: bool = Field(default=False)
    converged: bool = Field(default=True, description="EM converged for this item's format group")
    warnings: list[dict[str, object]] = Field(
        default_factory=list,
        sa_type=JSON,
        nullable=False,
        description="named findings of the calibration report (reading_tests.calibration_report codes)",
    )
    status: str = Field(default="candidate", max_length=16, index=True)
    calibrated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    calibrated_by_id: int | None = Field(default=None, foreign_key="user.id")
    promoted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    promoted_by_id: int | None = Field(default=None, foreign_key="user.id")
