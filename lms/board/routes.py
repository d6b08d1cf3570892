"""Board JSON API: the dashboard's published figures and the refresh.

Row of the permission matrix: ``BOARD_AGGREGATES`` (board and admin: all schools; school admin: own school,
another → 404; teachers and students 403).  Figures are published exactly as on the page (rounded,
suppressed) — for the board and admin the figures of the latest release (issue 14); nothing individual is
ever returned.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from lms.audit.service import record_event
from lms.auth.deps import ApiPrincipal, client_ip
from lms.board import messages as msg
from lms.board import responses
from lms.board.present import figure_row
from lms.board.release_view import ReleaseFigure, reads_releases, release_dashboard
from lms.board.service import Filters, dashboard_data
from lms.board.settings import get_board_settings
from lms.board.term_cache import refresh_changed_terms
from lms.core.db import SessionDep
from lms.core.errors import Forbidden
from lms.permissions import api_gate

router = APIRouter(prefix="/api/v1/board", tags=["board"], dependencies=[Depends(api_gate)])


@router.get(
    "/dashboard",
    response_model=responses.Dashboard,
    summary="Published figures for the filters (row: board aggregates)",
)
def dashboard(request: Request, session: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    filters = Filters.parse(dict(request.query_params))
    board = (  # board and admin: the latest release; a school admin: their school's live view
        release_dashboard(session=session, filters=filters, viewer=principal.user)
        if reads_releases(principal.user)
        else dashboard_data(session=session, filters=filters, viewer=principal.user)
    )
    cfg = get_board_settings()
    schools = {s.id: s for s in board.schools if s.id is not None}

    def row(f: Any) -> dict[str, Any] | None:
        if f is None:
            return None
        return figure_row(f, schools=schools, city_name=cfg.city_name, count_rounding=cfg.count_rounding)

    return {
        "filters": {"year": filters.school_year, "term": filters.term, "skill": filters.skill,
                    "grade": filters.grade, "school": filters.school_id, "cohort": board.cohort},
        "release": next((f.release for f in board.table if isinstance(f, ReleaseFigure)), None),
        "min_cell_size": board.min_cell_size,
        "count_rounding": cfg.count_rounding,
        "focus": row(board.focus),
        "city": row(board.city),
        "table": [row(f) for f in board.table],
        "growth": [
            {"school_year": y, "term": t, "grade": g, "school": row(s), "city": row(c)}
            for y, t, g, s, c in board.growth
        ],
        "references": [
            {"source": r.source, "label": r.label, "school_year": r.school_year, "grade": r.grade,
             "skill": r.skill, "correct_rate_pct": r.correct_rate_pct,
             "mean_scale_score": r.mean_scale_score, "sd": r.sd}
            for r in board.references
        ],
    }  # fmt: skip


@router.post(
    "/refresh", response_model=responses.RefreshCounts, summary="Rebuild the aggregates (board, admin)"
)
def refresh(request: Request, session: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    if principal.user.role not in ("board", "admin"):
        raise Forbidden(msg.ONLY_BOARD_REFRESHES)
    report = refresh_changed_terms(session=session)
    record_event(
        session=session,
        actor_id=principal.user.id,
        action="board.refresh",
        target_type="board_figure",
        detail={"figures": report.figures},
        ip=client_ip(request),
    )
    return {"estimates": report.estimates, "cells": report.cells, "figures": report.figures}
