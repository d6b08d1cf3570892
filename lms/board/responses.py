"""Response models of the board JSON API (lms/board/routes.py, release_routes.py): what OpenAPI documents.

A published figure row keeps the open-data CSV's columns and conventions (docs/disclosure.md: an empty
string where a figure is withheld), so programs read the API and the CSV alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from lms.teaching.responses import ClassReport

FigureRow = dict[str, int | float | str]  # keys: lms.board.present.COLUMNS; "" = withheld


class DashboardFilters(BaseModel):
    year: int | None
    term: int | None
    skill: str | None
    grade: str | None
    school: int | None
    cohort: int | None = Field(description="entry year of the cohort followed (None: the grade's)")


class GrowthPoint(BaseModel):
    school_year: int
    term: int
    grade: str
    school: FigureRow | None
    city: FigureRow | None


class Reference(BaseModel):
    """A published national/prefectural figure shown for comparison (not our data)."""

    source: str
    label: str
    school_year: int
    grade: str
    skill: str
    correct_rate_pct: float | None
    mean_scale_score: float | None
    sd: float | None


class Dashboard(BaseModel):
    filters: DashboardFilters
    release: int | None = Field(description="the release the figures come from (None: a live school view)")
    min_cell_size: int
    count_rounding: int
    focus: FigureRow | None
    city: FigureRow | None
    table: list[FigureRow | None]
    growth: list[GrowthPoint]
    references: list[Reference]


class RefreshCounts(BaseModel):
    estimates: int
    cells: int
    figures: int


class ReleaseSummary(BaseModel):
    number: int
    school_year: int
    term: int
    reason: str
    made_at: str
    pupils: int = Field(description="pupils in the release, rounded like every published count")


class ReleaseRules(BaseModel):
    min_cell: int | None
    rounding: int | None
    share_min: int | None
    share_step: int | None


class Release(ReleaseSummary):
    rules: ReleaseRules
    groups: list[dict[str, Any]] = Field(description="the published groups (docs/disclosure.md)")
    all_grades_code: str


class ReleaseJob(BaseModel):
    id: int
    school_year: int
    term: int
    reason: str
    status: str
    status_label: str
    requested_at: str
    finished_at: str | None
    release: int | None = Field(description="the release's number once the job is done")
    message: str | None


class SupportGrant(BaseModel):
    id: int
    board_user_id: int
    board_user: str | None
    school_id: int
    school: str | None
    reason: str
    starts_at: str
    ends_at: str
    revoked_at: str | None
    state: str = Field(description="active | scheduled | expired | revoked")


class SupportGrants(BaseModel):
    grants: list[SupportGrant]


class SupportClass(BaseModel):
    id: int
    title: str
    grades: str | None
    read_only: bool


class SupportSchoolClasses(BaseModel):
    school_id: int
    school: str
    grant_id: int | None
    grant_ends_at: str | None
    classes: list[SupportClass]


class SupportClassReport(ClassReport):
    """The teacher's class report, seen under a support grant (audited)."""

    school: str
    grant_id: int | None
