"""Board tables: the pre-aggregated cells of reading-test results and board-entered reference values.

``board_cell``: one row per (school, class, grade, entry year, skill, school year, term) holding *sums*
(counts, Σ EAP, Σ EAP², Σ SE², per plausible value Σ PV and Σ PV², band counts of the PVs, a PV histogram),
so that any coarser group (a school, a grade, the city) is the plain sum of its rows and the dashboard reads
a small table.  Rebuilt by :func:`lms.board.service.refresh_aggregates`.  It holds no student ids.

``board_figure``: the published figures after suppression (what pages and open data read).

``reference_value``: national / prefectural figures the board enters (e.g. 全国学力・学習状況調査 results
converted to our scale by the board), shown next to the city's figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now

REFERENCE_SOURCES = ("national", "prefecture", "other")


class BoardCell(SQLModel, table=True):
    """Sufficient statistics of one finest group of students (see the module docstring)."""

    __tablename__ = "board_cell"
    __table_args__ = (Index("ix_board_cell_year_skill", "school_year", "skill", "term"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="org.id", index=True)
    class_id: int = Field(foreign_key="schoolclass.id", index=True)
    grade: str = Field(max_length=8, index=True)
    entry_year: int = Field(description="the school year the cohort entered grade P1 (小1)")
    skill: str = Field(max_length=16)
    school_year: int
    term: int = Field(description="1: Apr–Aug, 2: Sep–Dec, 3: Jan–Mar (JST)")
    n: int
    n_guessing: int
    sum_eap: float
    sumsq_eap: float
    sum_se2: float
    pv_sum: list[float] = Field(default_factory=list, sa_type=JSON, nullable=False)
    pv_sumsq: list[float] = Field(default_factory=list, sa_type=JSON, nullable=False)
    pv_bands: list[list[int]] = Field(
        default_factory=list, sa_type=JSON, nullable=False, description="M × 5 band counts of the PVs"
    )
    pv_hist: list[int] = Field(
        default_factory=list, sa_type=JSON, nullable=False, description="PV counts per 50-point bin"
    )
    refreshed_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class BoardFigure(SQLModel, table=True):
    """A published group after suppression: a school × grade cell, a school's or the city's total.

    ``school_id`` NULL is the city; ``grade`` "ALL" is all grades.  ``n`` is exact and stays on the
    server (pages and exports show ``round_count(n)``); when ``hidden`` every figure is NULL.
    """

    __tablename__ = "board_figure"
    __table_args__ = (Index("ix_board_figure_table", "skill", "school_year", "term"),)

    id: int | None = Field(default=None, primary_key=True)
    skill: str = Field(max_length=16)
    school_year: int
    term: int
    school_id: int | None = Field(default=None, foreign_key="org.id", index=True)
    grade: str = Field(max_length=8)
    entry_year: int | None = Field(default=None, index=True)
    n: int
    hidden: bool
    mean: float | None = None
    se_mean: float | None = None
    sd: float | None = None
    band_shares: list[float | None] | None = Field(default=None, sa_type=JSON)
    guessing_share: float | None = None
    hist: list[float] | None = Field(default=None, sa_type=JSON)
    min_cell_size: int
    refreshed_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class ReferenceValue(SQLModel, table=True):
    """A national or prefectural figure entered by the board, *as published* (平均正答率, %) — context, not a
    comparison: a different test on a different scale.  ``mean_scale_score`` only for a value put on our
    scale by a linking study (named in ``note``); older rows may hold one."""

    __tablename__ = "reference_value"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16, description="|".join(REFERENCE_SOURCES))
    label: str = Field(max_length=255)
    school_year: int = Field(index=True)
    grade: str = Field(max_length=8)
    skill: str = Field(max_length=16)
    mean_scale_score: float | None = Field(default=None)
    correct_rate_pct: float | None = Field(default=None, description="平均正答率 (%) as published")
    sd: float | None = Field(default=None)
    share_per_band: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    note: str | None = Field(default=None, sa_type=Text)
    entered_by_id: int | None = Field(default=None, foreign_key="user.id")
    entered_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class BoardTermState(SQLModel, table=True):
    """What a term's ``board_cell`` / ``board_figure`` rows were computed from (lms.board.term_cache): the
    incremental refresh recomputes a term only when its fingerprint changed (a late answer, a class's school
    or grade corrected, another setting)."""

    __tablename__ = "board_term_state"

    school_year: int = Field(primary_key=True)
    term: int = Field(primary_key=True)
    fingerprint: str = Field(max_length=64)
    refreshed_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
