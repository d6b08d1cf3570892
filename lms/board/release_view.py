"""The board's dashboard read from releases: the same :class:`Dashboard` the pages render, filled with the
already protected figures of a stored release (lms.board.releases) instead of live ``board_figure`` rows.

Board and admin (and open data) see releases; a school admin keeps the live view of their own school.  The
period filters pick a release (the latest one of that school year and term); without filters the landing
page opens on the latest release with data.  Nothing here rounds or suppresses again: a release's figures
are final, so the page, its charts, its CSV and the JSON API show exactly the stored figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from lms.board import messages as msg
from lms.board.aggregates import GRADES, entry_year
from lms.board.disclosure import Share
from lms.board.models import ReferenceValue
from lms.board.release_models import BoardRelease
from lms.board.service import ALL, Dashboard, Filters, visible_schools
from lms.board.settings import get_board_settings
from lms.core.errors import NotFound
from lms.roster.models import Org, User


@dataclass(frozen=True)
class ReleaseFigure:
    """One published group × skill of a release, under the attribute names the pages read."""

    release: int
    school_year: int
    term: int
    skill: str
    school_id: int | None
    grade: str
    entry_year: int | None
    hidden: bool
    held: bool
    n: int | None  # rounded
    mean: float | None
    se_mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    band_shares: tuple[Share, ...] | None  # as published: 5 … 95, 「5%未満」, 「95%以上」
    guessing_share: Share
    hist: tuple[tuple[int, int, float], ...] | None  # (low, high, rounded pupils), coarse merged bins
    refreshed_at: datetime


def release_figures(row: BoardRelease, skill: str) -> list[ReleaseFigure]:
    """Every group of ``row`` for ``skill`` (hidden groups carry no figure)."""
    out = []
    for g in row.figures:
        f = g["skills"].get(skill) if not g["hidden"] else None
        if not g["hidden"] and f is None:
            continue
        grade = g["grade"]
        out.append(
            ReleaseFigure(
                release=row.number, school_year=row.school_year, term=row.term, skill=skill,
                school_id=g["school"], grade=grade,
                entry_year=None if grade == ALL else entry_year(row.school_year, grade),
                hidden=g["hidden"], held=g.get("held", False), n=g["n"],
                mean=None if f is None else f["mean"], se_mean=None if f is None else f["se"],
                sd=None if f is None else f["sd"], ci_low=None if f is None else f["ci_low"],
                ci_high=None if f is None else f["ci_high"],
                band_shares=None if f is None or f["bands"] is None else tuple(f["bands"]),
                guessing_share=None if f is None else f["guessing"],
                hist=None if f is None or f["hist"] is None
                else tuple((int(a), int(b), float(c)) for a, b, c in f["hist"]),
                refreshed_at=row.made_at,
            )
        )  # fmt: skip
    return out


def latest_per_term(session: Session) -> dict[tuple[int, int], BoardRelease]:
    """The newest release with data of every (school year, term)."""
    rows = session.exec(
        select(BoardRelease).where(BoardRelease.pupils_rounded > 0).order_by(col(BoardRelease.number))
    )
    return {(r.school_year, r.term): r for r in rows}


def release_dashboard(*, session: Session, filters: Filters, viewer: User | None = None) -> Dashboard:
    """The dashboard of the board (and admin, and open data) from releases (module docstring)."""
    schools: list[Org] = (
        list(session.exec(select(Org).where(Org.type == "school").order_by(col(Org.identifier))))
        if viewer is None
        else visible_schools(session=session, viewer=viewer)
    )
    if filters.school_id is not None and filters.school_id not in {s.id for s in schools}:
        raise NotFound(msg.SCHOOL_NOT_FOUND)
    school = next((s for s in schools if s.id == filters.school_id), None)
    by_term = latest_per_term(session)
    years = sorted({y for y, _t in by_term})
    if filters.school_year is None and by_term:
        filters.school_year, filters.term = max(by_term, key=lambda yt: by_term[yt].number)
    terms = sorted({t for y, t in by_term if y == filters.school_year})
    if filters.term is None and terms:
        filters.term = terms[-1]
    board = Dashboard(filters=filters, years=years, terms=terms, grades=[], schools=schools, school=school,
                      min_cell_size=get_board_settings().min_cell_size)  # fmt: skip
    row = by_term.get((filters.school_year or 0, filters.term or 0))
    if row is None:
        return board
    visible = {s.id for s in schools}
    table = [f for f in release_figures(row, filters.skill) if f.school_id is None or f.school_id in visible]
    board.table = list(table)
    board.grades = [g for g in GRADES if any(f.grade == g for f in table)]
    board.refreshed_at = row.made_at
    board.focus = board.cell(filters.school_id, filters.grade)
    board.city = board.cell(None, filters.grade)
    order = [s.id for s in schools]
    board.comparison = sorted(
        (f for f in board.table if f.school_id is not None and f.grade == filters.grade),
        key=lambda f: order.index(f.school_id),
    )
    cohort = filters.cohort
    if cohort is None and filters.grade != ALL and filters.school_year is not None:
        cohort = entry_year(filters.school_year, filters.grade)
    board.cohort = cohort
    if cohort is not None:
        growth: list[Any] = []
        for (year, term), r in sorted(by_term.items()):
            figures = [f for f in release_figures(r, filters.skill) if f.entry_year == cohort]
            city = next((f for f in figures if f.school_id is None), None)
            own = next((f for f in figures if f.school_id == filters.school_id), None)
            if city is not None or (filters.school_id is not None and own is not None):
                grade = (city or own).grade  # type: ignore[union-attr]
                growth.append((year, term, grade, own if filters.school_id else None, city))
        board.growth = growth
    refs = select(ReferenceValue).where(
        ReferenceValue.school_year == filters.school_year, ReferenceValue.skill == filters.skill
    )
    if filters.grade != ALL:
        refs = refs.where(ReferenceValue.grade == filters.grade)
    board.references = list(session.exec(refs.order_by(col(ReferenceValue.grade), col(ReferenceValue.id))))
    return board


def reads_releases(viewer: User | None) -> bool:
    """Board and admin (and the public, ``None``) see releases; a school admin keeps the live view."""
    return viewer is None or viewer.role in ("board", "admin")
