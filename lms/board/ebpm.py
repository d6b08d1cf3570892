"""The officer's evidence views (EBPM), computed from releases only: the same grade across school years, the
city's trend, and each school against the city — every difference with its 95 % interval.

Nothing here reads pupils or live figures: the inputs are a release's published means (whole points), SEs
(one decimal; from plausible values by Rubin's rules, so they carry measurement error) and rounded sizes.
A derived figure is a function of published figures only, so it discloses nothing a reader could not work
out from the release itself (the channel tests collect these pages and attack them with the rest).

Intervals of a difference d = a − b, 95 %: d ± 1.96·√V, rounded *outwards* to whole points, where
- different pupils (the same grade in two school years, two terms' cities): V = SE_a² + SE_b²;
- a school against the city it is part of: with w = n_school / n_city (published sizes) the city mean is
  w·school + (1 − w)·rest, so V = (1 − 2w)·SE_school² + SE_city², never below (1 − w)²·SE_school²;
- plus the rounding of the published figures: each mean is within ±0.5 of its unrounded value (variance
  1/12 each) and each SE is taken at the top of its rounding interval (+0.05).
A difference is claimed only when its interval excludes 0; otherwise 「差があるとはいえない」.  With many
schools, about one in twenty shows a "difference" by chance alone — the page says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from lms.board.release_models import BoardRelease
from lms.board.release_view import ReleaseFigure, latest_per_term, release_figures
from lms.board.service import ALL

Z95 = 1.96
NO_DIFFERENCE = "差があるとはいえない"
ROUNDING_VAR = 1 / 12  # a whole-point mean is within ±0.5 of its unrounded value
SE_ROUNDING = 0.05  # an SE published to one decimal


@dataclass(frozen=True)
class Point:
    """One published group × skill of one release (``mean is None``: not published)."""

    school_year: int
    term: int
    release: int
    school_id: int | None
    grade: str
    n: int | None
    mean: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    held: bool

    @property
    def published(self) -> bool:
        return self.mean is not None and self.se is not None


@dataclass(frozen=True)
class Difference:
    """a − b with its 95 % interval (whole points, rounded outwards) and what may be said about it."""

    value: int
    low: int
    high: int
    verdict: str  # 「高い」「低い」 or 「差があるとはいえない」

    @property
    def claimed(self) -> bool:
        return self.verdict != NO_DIFFERENCE


def _se(se: float) -> float:
    return se + SE_ROUNDING


def difference(
    a: Point, b: Point, *, share_of_b: float | None = None, higher: str = "高い", lower: str = "低い"
) -> Difference | None:
    """a − b; ``share_of_b`` = n_a / n_b when a's pupils are part of b's (a school in its city)."""
    if not (a.published and b.published):
        return None
    assert a.mean is not None and b.mean is not None and a.se is not None and b.se is not None
    sa, sb = _se(a.se), _se(b.se)
    if share_of_b is None:
        var = sa**2 + sb**2
    else:
        w = min(max(share_of_b, 0.0), 1.0)
        var = max((1 - 2 * w) * sa**2 + sb**2, (1 - w) ** 2 * sa**2)
    var += 2 * ROUNDING_VAR
    d = round(a.mean) - round(b.mean)  # the means as shown (a release's are whole points already)
    half = Z95 * math.sqrt(var)
    low, high = math.floor(d - half), math.ceil(d + half)
    verdict = higher if low > 0 else lower if high < 0 else NO_DIFFERENCE
    return Difference(value=round(d), low=low, high=high, verdict=verdict)


def _point(row: BoardRelease, f: ReleaseFigure) -> Point:
    return Point(
        school_year=row.school_year, term=row.term, release=row.number, school_id=f.school_id,
        grade=f.grade, n=f.n, mean=f.mean, se=f.se_mean, ci_low=f.ci_low, ci_high=f.ci_high, held=f.held,
    )  # fmt: skip


def _find(row: BoardRelease, skill: str, school_id: int | None, grade: str) -> Point | None:
    f = next((x for x in release_figures(row, skill) if x.school_id == school_id and x.grade == grade), None)
    return None if f is None else _point(row, f)


@dataclass(frozen=True)
class YearRow:
    """The same grade and term in one school year: the city (and a school), and the change from the
    previous school year shown."""

    school_year: int
    city: Point | None
    change: Difference | None
    school: Point | None
    school_change: Difference | None


def same_grade_across_years(
    session: Session, *, grade: str, skill: str, term: int, school_id: int | None = None
) -> list[YearRow]:
    """Grade ``grade`` in term ``term`` of every school year with a release (different pupils each year)."""
    rows: list[YearRow] = []
    prev_city: Point | None = None
    prev_school: Point | None = None
    for (year, t), release in sorted(latest_per_term(session).items()):
        if t != term:
            continue
        city = _find(release, skill, None, grade)
        school = _find(release, skill, school_id, grade) if school_id is not None else None
        if city is None and school is None:
            continue
        change = (
            difference(city, prev_city, higher="前年より高い", lower="前年より低い")
            if city and prev_city
            else None
        )
        school_change = (
            difference(school, prev_school, higher="前年より高い", lower="前年より低い")
            if school and prev_school
            else None
        )
        rows.append(YearRow(year, city, change, school, school_change))
        prev_city = city if city is not None and city.published else prev_city
        prev_school = school if school is not None and school.published else prev_school
    return rows


def city_trend(session: Session, *, grade: str, skill: str) -> list[Point]:
    """The city's figure for ``grade`` in the latest release of every school year and term."""
    points = []
    for _period, release in sorted(latest_per_term(session).items()):
        point = _find(release, skill, None, grade)
        if point is not None:
            points.append(point)
    return points


@dataclass(frozen=True)
class SchoolRow:
    school_id: int
    point: Point  # hidden groups too: the page says 「非公表」
    versus_city: Difference | None


def school_vs_city(
    release: BoardRelease, *, grade: str, skill: str, school_ids: Sequence[int]
) -> list[SchoolRow]:
    """Every school of ``school_ids`` with a group in ``release``: its figure minus the city's."""
    city = _find(release, skill, None, grade)
    rows = []
    for school_id in school_ids:
        point = _find(release, skill, school_id, grade)
        if point is None:
            continue
        versus = None
        if city is not None and point.published and point.n and city.n:
            versus = difference(
                point, city, share_of_b=point.n / city.n, higher="市より高い", lower="市より低い"
            )
        rows.append(SchoolRow(school_id, point, versus))
    return rows


def default_grade(session: Session, *, skill: str, term: int) -> str:
    """The grade published for the city in the most school years of ``term`` (the first such, in order)."""
    from lms.board.aggregates import GRADES

    counts = {g: 0 for g in GRADES}
    for (_year, t), release in latest_per_term(session).items():
        if t != term:
            continue
        for f in release_figures(release, skill):
            if f.school_id is None and f.grade in counts and not f.hidden:
                counts[f.grade] += 1
    best = max(counts.values(), default=0)
    return next((g for g in GRADES if counts[g] == best), ALL) if best else ALL
