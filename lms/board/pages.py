"""Board dashboard pages: the dashboard, its print layout, its CSV, the open-data download, refresh.

Row of the permission matrix: ``BOARD_AGGREGATES`` — suppressed aggregates only; board and admin see all
schools and the city, a school admin their own school (another school → 404); teachers and students 403.
Publishing open data and refreshing are for the board and the admin (school admin 403).  No page here
reads or shows an individual: only ``board_figure`` rows.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from lms.audit.service import record_event
from lms.auth.deps import PageUser, client_ip
from lms.board import charts
from lms.board import messages as msg
from lms.board.aggregates import GRADE_LABELS, GRADES, HIST_EDGES, TERM_LABELS
from lms.board.ebpm_pages import router as ebpm_router
from lms.board.models import BoardFigure
from lms.board.opendata import write_opendata
from lms.board.present import (
    CITY_LABEL,
    Published,
    grade_label,
    publish,
    share_text,
    skill_label,
)
from lms.board.release_jobs import JOB_LABELS, queue_release, recent_jobs
from lms.board.release_view import ReleaseFigure, reads_releases, release_dashboard
from lms.board.service import (
    ALL,
    SKILL_CODES,
    Dashboard,
    Filters,
    add_reference_value,
    dashboard_data,
)
from lms.board.settings import get_board_settings
from lms.board.term_cache import refresh_changed_terms
from lms.core.db import SessionDep
from lms.core.errors import Forbidden, InvalidInput
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.reading.provisional import bank_is_provisional
from lms.roster.models import User

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


def _render(request: Request, name: str, context: dict[str, Any]) -> Response:
    return render(request, name, context)


def _load(request: Request, session: SessionDep, user: User) -> Dashboard:
    """Board and admin read the latest release (lms.board.release_view); a school admin the live view."""
    filters = Filters.parse(dict(request.query_params))
    if reads_releases(user):
        return release_dashboard(session=session, filters=filters, viewer=user)
    return dashboard_data(session=session, filters=filters, viewer=user)


def _protected_hist(
    board: Dashboard, scope_name: str
) -> list[tuple[str, list[tuple[int, int, float, int]], str]]:
    """A release's histograms (coarse merged bins, rounded counts): (label, [(low, high, pupils, %)], id)."""
    f = board.filters
    picked = [(f"{scope_name}（{grade_label(f.grade)}）", board.focus, "hist-table")]
    if f.school_id:
        picked.append((f"{CITY_LABEL}（{grade_label(f.grade)}）", board.city, "hist-table-city"))
    out: list[tuple[str, list[tuple[int, int, float, int]], str]] = []
    for label, fig, table_id in picked:
        if isinstance(fig, ReleaseFigure) and not fig.hidden and fig.hist:
            total = sum(c for _lo, _hi, c in fig.hist) or 1.0
            out.append((label, [(lo, hi, c, round(100 * c / total)) for lo, hi, c in fig.hist], table_id))
    return out


def _release_label(board: Dashboard) -> str:
    """「第3回公表（2025年度 2学期）」 when the figures come from a release; empty for the live view."""
    shown = board.focus or board.city
    if isinstance(shown, ReleaseFigure):
        return f"第{shown.release}回公表"
    return ""


def _period_label(board: Dashboard) -> str:
    f = board.filters
    if f.school_year is None or f.term is None:
        return "データなし"
    return f"{f.school_year}年度 {TERM_LABELS[f.term]}"


def context_for(board: Dashboard, user: User) -> dict[str, Any]:
    """Everything the template shows, already published (rounded, suppressed)."""
    cfg = get_board_settings()
    r = cfg.count_rounding
    names = {s.id: s.name for s in board.schools}
    f = board.filters
    scope_name = names.get(f.school_id, CITY_LABEL) if f.school_id else CITY_LABEL
    focus = publish(board.focus, school=scope_name, count_rounding=r, grade=f.grade)
    city = publish(board.city, school=CITY_LABEL, count_rounding=r, grade=f.grade) if board.city else None
    # the schools × grades table
    grid_rows: list[tuple[str, int | None, list[Published], Published]] = []
    for school in board.schools:
        if not any(x.school_id == school.id for x in board.table):
            continue
        cells = [publish(board.cell(school.id, g), school=school.name, count_rounding=r, grade=g)
                 for g in board.grades]  # fmt: skip
        total = publish(board.cell(school.id, ALL), school=school.name, count_rounding=r)
        grid_rows.append((school.name, school.id, cells, total))
    city_cells = [
        publish(board.cell(None, g), school=CITY_LABEL, count_rounding=r, grade=g) for g in board.grades
    ]
    city_total = publish(board.cell(None, ALL), school=CITY_LABEL, count_rounding=r)
    show_city = any(x.school_id is None for x in board.table)
    comparison = [
        publish(x, school=names.get(x.school_id or 0, ""), count_rounding=r) for x in board.comparison
    ]
    band_rows: list[tuple[str, list[float | None] | None]] = []
    for p in ([city] if city else []) + comparison:
        band_rows.append(  # 「5%未満」 and the like join the hatched remainder
            (
                p.school,
                None if p.hidden or p.empty else [b / 100 if isinstance(b, int) else None for b in p.bands],
            )
        )
    protected_hist = _protected_hist(board, scope_name)
    hist_series = []
    if isinstance(board.focus, ReleaseFigure):
        pass  # a release: only its protected bins (below)
    elif board.focus is not None and not board.focus.hidden and board.focus.hist:
        hist_series.append((f"{scope_name}（{grade_label(f.grade)}）", board.focus.hist))
    if f.school_id and isinstance(board.city, BoardFigure) and not board.city.hidden and board.city.hist:
        hist_series.append((f"{CITY_LABEL}（{grade_label(f.grade)}）", board.city.hist))
    growth_rows = []
    points = []
    for year, term, grade, school_fig, city_fig in board.growth:
        sp = publish(school_fig, school=scope_name, count_rounding=r) if f.school_id else None
        cp = publish(city_fig, school=CITY_LABEL, count_rounding=r) if city_fig is not None else None
        label = f"{year}年度{term}学期\n{GRADE_LABELS.get(grade, grade)}"
        growth_rows.append((label.replace("\n", " "), sp, cp))
        values: list[tuple[float, float] | None] = []
        for shown in ([sp] if f.school_id else []) + [cp]:
            if shown is None or shown.mean is None or shown.se is None:
                values.append(None)
            else:
                values.append((float(shown.mean), shown.se))
        points.append(charts.GrowthPoint(label, tuple(values)))
    series = ([scope_name] if f.school_id else []) + [CITY_LABEL]
    refs = [
        (ref, publish(board.cell(None, ref.grade), school=CITY_LABEL, count_rounding=r, grade=ref.grade))
        for ref in board.references
    ]
    title_scope = f"{scope_name}・{grade_label(f.grade)}・{skill_label(f.skill)}"
    return {
        "board": board,
        "filters": f,
        "cfg": cfg,
        "period": _period_label(board),
        "scope_name": scope_name,
        "title_scope": title_scope,
        "focus": focus,
        "city": city,
        "grid_rows": grid_rows,
        "city_cells": city_cells,
        "city_total": city_total,
        "show_city": show_city,
        "grade_codes": board.grades,
        "comparison": comparison,
        "growth_rows": growth_rows,
        "refs": refs,
        "hist_edges": [int(e) for e in HIST_EDGES],
        "hist_series": hist_series,
        "protected_hist": protected_hist,
        "hist_svg": charts.binned_histogram_svg(
            [(label, [(lo, hi, c) for lo, hi, c, _p in bins]) for label, bins, _id in protected_hist],
            title=f"得点の分布（{title_scope}）",
        )
        if protected_hist
        else charts.histogram_svg(HIST_EDGES, hist_series, title=f"得点の分布（{title_scope}）")
        if hist_series
        else "",
        "share_text": share_text,
        "release": _release_label(board),
        "bands_svg": charts.bands_svg(
            band_rows, title=f"段階別の割合（{grade_label(f.grade)}・{skill_label(f.skill)}）"
        )
        if band_rows
        else "",
        "growth_svg": charts.growth_svg(points, series, title=f"同じ学年集団の伸び（{board.cohort}年度入学）")
        if points
        else "",
        "SKILL_CODES": SKILL_CODES,
        "skill_label": skill_label,
        "grade_label": grade_label,
        "GRADES": GRADES,
        "TERM_LABELS": TERM_LABELS,
        "can_publish": user.role in ("board", "admin"),
        "can_release": user.role == "admin",
        "provisional": bank_is_provisional(),
        "can_see_city": user.role in ("board", "admin"),
        "csv_query": f.query(),
        "print_query": f.query(),
    }


@router.get("/board")
def dashboard_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    board = _load(request, session, user)
    jobs = recent_jobs(session) if user.role in ("board", "admin") else []
    context = {**context_for(board, user), "printing": False, "jobs": jobs, "job_labels": JOB_LABELS}
    return _render(request, "board_dashboard.html", context)


@router.get("/board/print")
def dashboard_print(request: Request, session: SessionDep, user: PageUser) -> Response:
    board = _load(request, session, user)
    return _render(request, "board_dashboard.html", {**context_for(board, user), "printing": True})


CSV_HEADER = ["表", "学校", "学年", "年度", "学期", "読解スキル", "受検者数（概数）", "平均", "標準誤差",
              "95%区間下限", "95%区間上限", "標準偏差", "段階1(%)", "段階2(%)", "段階3(%)", "段階4(%)",
              "段階5(%)", "取り組み注意(%)", "非公表"]  # fmt: skip


def _csv_line(table: str, p: Published, year: Any, term: Any, skill: str) -> list[Any]:
    def v(x: Any) -> Any:
        return "" if x is None else x

    return [table, p.school, p.grade, year, term, skill_label(skill), v(p.n), v(p.mean), v(p.se), v(p.ci_low),
            v(p.ci_high), v(p.sd), *[v(b) for b in p.bands], v(p.guessing),
            "非公表" if p.hidden else ("データなし" if p.empty else "")]  # fmt: skip


@router.get("/board.csv")
def dashboard_csv(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Exactly the figures on the screen, as CSV (UTF-8 with BOM)."""
    board = _load(request, session, user)
    ctx = context_for(board, user)
    f = board.filters
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerow(_csv_line("選択した区分", ctx["focus"], f.school_year, f.term, f.skill))
    if ctx["city"] is not None and f.school_id:
        writer.writerow(_csv_line("選択した区分（市全体）", ctx["city"], f.school_year, f.term, f.skill))
    for p in ctx["comparison"]:
        writer.writerow(_csv_line("学校別の比較", p, f.school_year, f.term, f.skill))
    for _name, _id, cells, total in ctx["grid_rows"]:
        for p in [*cells, total]:
            writer.writerow(_csv_line("学校×学年", p, f.school_year, f.term, f.skill))
    if ctx["show_city"]:
        for p in [*ctx["city_cells"], ctx["city_total"]]:
            writer.writerow(_csv_line("学校×学年", p, f.school_year, f.term, f.skill))
    for label, sp, cp in ctx["growth_rows"]:
        year_term = label.split(" ")[0]
        for p in (sp, cp):
            if p is not None:
                writer.writerow(
                    _csv_line(f"学年集団の伸び（{board.cohort}年度入学）", p, year_term, "", f.skill)
                )
    body = "\ufeff" + out.getvalue()
    name = f"board_{f.school_year}_{f.term}_{f.skill}_{f.grade}.csv"
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


def _require_publisher(user: User) -> None:
    if user.role not in ("board", "admin"):
        raise Forbidden(msg.ONLY_BOARD_PUBLISHES)


@router.post("/board/opendata")
def opendata_download(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The open data (CSV + metadata.json) as one zip, with suppression applied; audited."""
    _require_publisher(user)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        report = write_opendata(session=session, out_dir=Path(tmp))
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(Path(tmp).iterdir()):
                archive.write(path, path.name)
    detail = {"rows": report.rows, "suppressed": report.suppressed}
    record_event(session=session, actor_id=user.id, action="board.opendata_export", target_type="opendata",
                 detail=detail, ip=client_ip(request))  # fmt: skip
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={
            "content-disposition": 'attachment; filename="opendata_reading.zip"',
            "cache-control": "no-store",
        },
    )


def _float_or_none(value: str, label: str) -> float | None:
    value = value.strip()
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(msg.REFERENCE_NOT_A_NUMBER.format(label=label)) from None


@router.post("/board/reference-values")
async def add_reference(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Store a national / prefectural reference value entered by the board; audited."""
    _require_publisher(user)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    year = (form.get("school_year") or "").strip()
    if not year.isdigit():
        raise InvalidInput(msg.REFERENCE_YEAR_NOT_A_NUMBER)
    rate = _float_or_none(form.get("correct_rate_pct", ""), "平均正答率")
    if rate is None:
        raise InvalidInput(msg.REFERENCE_NO_PERCENT)
    value = add_reference_value(
        session=session,
        actor=user,
        source=form.get("source", ""),
        label=form.get("label", ""),
        school_year=int(year),
        grade=form.get("grade", ""),
        skill=form.get("skill", "ALL"),
        correct_rate_pct=rate,
        note=(form.get("note") or "").strip() or None,
    )
    record_event(
        session=session,
        actor_id=user.id,
        action="board.reference_value",
        target_type="reference_value",
        target_id=value.id,
        ip=client_ip(request),
    )
    query = Filters(school_year=value.school_year, skill=value.skill, grade=value.grade).query()
    return RedirectResponse(f"/board?{query}#ref-heading", status_code=303)


@router.post("/board/refresh")
def refresh_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    _require_publisher(user)
    report = refresh_changed_terms(session=session)
    record_event(session=session, actor_id=user.id, action="board.refresh", target_type="board_figure",
                 detail={"figures": report.figures}, ip=client_ip(request))  # fmt: skip
    return RedirectResponse("/board", status_code=303)


@router.post("/board/releases")
async def release_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    """An admin queues the next release of a term (audited); a background job makes it (the page shows
    its status), so that a large city does not hold this request (lms.board.release_jobs)."""
    if user.role != "admin":
        raise Forbidden(msg.ONLY_ADMIN_CREATES_RELEASE)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    year, term = (form.get("school_year") or "").strip(), (form.get("term") or "").strip()
    if not year.isdigit() or not term.isdigit():
        raise InvalidInput(msg.BAD_YEAR_AND_TERM)
    job = queue_release(session=session, actor=user, school_year=int(year), term=int(term), reason="admin",
                        ip=client_ip(request))  # fmt: skip
    return RedirectResponse(f"/board?job={job.id}#release-jobs", status_code=303)


# the officer's evidence page (lms.board.ebpm_pages) under this router's page dependencies
router.include_router(ebpm_router)
