"""``GET /board/ebpm``: the officer's evidence page (lms.board.ebpm), from releases only.

Row of the permission matrix: ``BOARD_AGGREGATES``, and within it board and admin only (a school admin
sees no city figures of a release: 403 with a sentence).  The router has no dependencies of its own: it is
included into lms.board.pages' router, whose page dependencies (session, CSRF, route policy) apply.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from lms.auth.deps import PageUser
from lms.board import charts, ebpm
from lms.board import messages as msg
from lms.board.aggregates import GRADES, TERM_LABELS
from lms.board.present import CITY_LABEL, grade_label, skill_label
from lms.board.release_view import latest_per_term
from lms.board.service import SKILL_CODES
from lms.board.settings import get_board_settings
from lms.core.db import SessionDep
from lms.core.errors import Forbidden, InvalidInput
from lms.roster.models import Org

router = APIRouter(include_in_schema=False)


def _int(value: str | None, label: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    if not value.strip().isdigit():
        raise InvalidInput(msg.EBPM_NOT_A_NUMBER.format(label=label))
    return int(value)


def _ci(point: ebpm.Point | None) -> str:
    if point is None or not point.published or point.ci_low is None or point.ci_high is None:
        return ""
    return f"{round(point.ci_low)}〜{round(point.ci_high)}"


@router.get("/board/ebpm")
def ebpm_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    from lms.board.pages import _render

    if user.role not in ("board", "admin"):
        raise Forbidden(msg.EBPM_BOARD_ONLY)
    q = request.query_params
    skill = q.get("skill") or "ALL"
    if skill not in SKILL_CODES:
        raise InvalidInput(msg.EBPM_CHOOSE_SKILL)
    by_term = latest_per_term(session)
    latest = max(by_term, key=lambda yt: by_term[yt].number) if by_term else None
    year = _int(q.get("year"), "年度") or (latest[0] if latest else None)
    term = _int(q.get("term"), "学期") or (latest[1] if latest else 1)
    if term not in (1, 2, 3):
        raise InvalidInput(msg.EBPM_BAD_TERM)
    grade = q.get("grade") or ""
    if grade not in ("ALL", *GRADES):
        grade = ebpm.default_grade(session, skill=skill, term=term)
    schools = list(session.exec(select(Org).where(Org.type == "school").order_by(col(Org.identifier))))
    names = {s.id: s.name for s in schools}
    school_id = _int(q.get("school"), "学校")
    if school_id is not None and school_id not in names:
        school_id = None
    years = ebpm.same_grade_across_years(session, grade=grade, skill=skill, term=term, school_id=school_id)
    trend = ebpm.city_trend(session, grade=grade, skill=skill)
    release = by_term.get((year or 0, term))
    versus = (
        ebpm.school_vs_city(release, grade=grade, skill=skill, school_ids=[s.id for s in schools if s.id])
        if release is not None
        else []
    )
    city_now = next((p for p in trend if (p.school_year, p.term) == (year, term)), None)
    points = [
        charts.GrowthPoint(
            f"{p.school_year}年度\n{p.term}学期",
            ((float(p.mean), float(p.se)),)
            if p.published and p.mean is not None and p.se is not None
            else (None,),
        )
        for p in trend
    ]
    title = f"市全体の推移（{grade_label(grade)}・{skill_label(skill)}、平均と95%信頼区間）"
    context: dict[str, Any] = {
        "cfg": get_board_settings(),
        "skill": skill,
        "grade": grade,
        "term": term,
        "year": year,
        "school_id": school_id,
        "schools": schools,
        "names": names,
        "years": years,
        "trend": trend,
        "trend_svg": charts.growth_svg(points, [CITY_LABEL], title=title, chart_id="trend") if points else "",
        "versus": versus,
        "release": release,
        "city_now": city_now,
        "periods": sorted(by_term),
        "ci": _ci,
        "NO_DIFFERENCE": ebpm.NO_DIFFERENCE,
        "SKILL_CODES": SKILL_CODES,
        "GRADES": GRADES,
        "TERM_LABELS": TERM_LABELS,
        "skill_label": skill_label,
        "grade_label": grade_label,
        "CITY_LABEL": CITY_LABEL,
    }
    return _render(request, "board_ebpm.html", context)
