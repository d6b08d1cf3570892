"""Teacher pages: the class's tests, the assign form, the live view, the class report (screen, print, CSV).

Rows of the permission matrix: every route here is ``CLASS_ROSTER`` (teacher of the class, school admin of its
school, admin; board 403; students 404). Changing things (assigning) needs the class's teacher or the admin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from lms import authz
from lms.audit.service import record_event
from lms.auth.deps import ClockDep, PageUser, client_ip
from lms.core.db import SessionDep
from lms.core.errors import InvalidInput
from lms.core.jst import GRADE_LABELS, GRADES
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.reading.delivery import DELIVERED_STATUSES, adaptive_grade_ceiling, class_grade, item_bank
from lms.roster.models import Org, SchoolClass, User
from lms.teaching import messages as msg
from lms.teaching import report as rpt
from lms.teaching import schemas, service
from lms.teaching.report_links import item_previews, result_attempts
from lms.teaching.rounds import group_rounds
from reading_tests.scoring import BANDS

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)

KIND_LABELS = {"cat": "適応型テスト（CAT）", "fixed": "固定フォーム", "practice": "練習セット"}
DEFAULT_MAX_ITEMS: int = schemas.AssignmentCreate.model_fields["max_items"].default

COMMON: dict[str, Any] = {
    "KIND_LABELS": KIND_LABELS,
    "LIVE_LABELS": rpt.LIVE_LABELS,
    "BANDS": BANDS,
    "BAND_COLOURS": rpt.BAND_COLOURS,
    "skill_name": rpt.skill_name,
    "SKILL_CHOICES": schemas.SKILL_CHOICES,
    "RUBY_LABELS": schemas.RUBY_LABELS,
    "EXTRA_TIME_CHOICES": schemas.EXTRA_TIME_CHOICES,
    # live view: 再開 only for a child whose time ran out; やり直し for a child who has started
    "RESUMABLE": ("expired",),
    "RESETTABLE": ("in_progress", "offline", "finished", "expired"),
}


def parse_assignment_id(value: str | None) -> int | None:
    """The optional ``assignment_id`` query value ("" = none)."""
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise InvalidInput(msg.BAD_ASSIGNMENT_ID)
    return int(value)


@router.get("/classes/{class_id}/assignments")
def assignments_page(request: Request, session: SessionDep, user: PageUser, class_id: int) -> Response:
    class_ = authz.load_class(session=session, viewer=user, class_id=class_id)
    rows = group_rounds(session, service.class_assignments(session=session, class_id=class_id))
    context = {
        "klass": class_,
        "rows": rows,
        "can_assign": service.can_change(session=session, user=user, class_=class_),
    }
    return render(request, "teach_assignments.html", {**COMMON, **context})


def _assign_form(
    request: Request,
    session: SessionDep,
    class_: SchoolClass,
    form: dict[str, Any],
    error: InvalidInput | None,
) -> Response:
    assert class_.id is not None
    # only what a test may deliver: the test pool, reviewed or later (no drafts, no practice items)
    bank = [i for i in item_bank() if i.pool == "test" and i.status in DELIVERED_STATUSES]
    groups: dict[str, list[Any]] = {}
    for item in bank:
        groups.setdefault(rpt.skill_name(item.skill), []).append(item)
    grade = class_grade(class_.grades)
    ceiling = adaptive_grade_ceiling(grade, DEFAULT_MAX_ITEMS) if grade else None
    context = {
        "klass": class_,
        # a class below the bank's lowest reviewed grade gets the nearest easier items, and is told so
        "grade_ceiling": (
            {"class": GRADE_LABELS[GRADES[grade - 1]], "ceiling": GRADE_LABELS[GRADES[ceiling - 1]]}
            if grade and ceiling and ceiling > grade
            else None
        ),
        "default_items": DEFAULT_MAX_ITEMS,
        "students": service.class_students(session=session, class_id=class_.id),
        "bank_items": list(bank),
        "bank_groups": list(groups.items()),
        "form": form,
        "error": error.message if error else None,
        "problems": error.detail if error and isinstance(error.detail, list) else None,
    }
    response = render(request, "teach_assign.html", {**COMMON, **context})
    if error is not None:
        response.status_code = 400
    return response


@router.get("/classes/{class_id}/assignments/new")
def assign_page(request: Request, session: SessionDep, user: PageUser, class_id: int) -> Response:
    class_ = authz.load_class(session=session, viewer=user, class_id=class_id)
    service.check_can_change(session=session, user=user, class_=class_)
    return _assign_form(request, session, class_, {}, None)


@router.post("/classes/{class_id}/assignments")
async def assign_submit(
    request: Request, session: SessionDep, user: PageUser, clock: ClockDep, class_id: int
) -> Response:
    class_ = authz.load_class(session=session, viewer=user, class_id=class_id)
    service.check_can_change(session=session, user=user, class_=class_)
    raw = await request.form()
    form: dict[str, list[str]] = {}
    for key, value in raw.multi_items():
        if isinstance(value, str):
            form.setdefault(key, []).append(value)
    try:
        data = schemas.from_form(form)
        assignment = service.create_assignment(
            session=session, actor=user, class_=class_, data=data, now=clock.now(), ip=client_ip(request)
        )
    except InvalidInput as error:
        session.rollback()
        echo: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
        echo["skills"] = form.get("skills", [])
        echo["item_ids"] = form.get("item_ids", [])
        echo["student_ids"] = [int(v) for v in form.get("student_ids", []) if v.isdigit()]
        echo["opens_at_local"] = (form.get("opens_at") or [""])[0]
        echo["closes_at_local"] = (form.get("closes_at") or [""])[0]
        return _assign_form(request, session, class_, echo, error)
    return RedirectResponse(f"/assignments/{assignment.id}/live", status_code=303)


@router.get("/assignments/{assignment_id}/live")
def live_page(
    request: Request, session: SessionDep, user: PageUser, clock: ClockDep, assignment_id: int
) -> Response:
    assignment, class_ = authz.load_assignment(session=session, viewer=user, assignment_id=assignment_id)
    now = clock.now()
    view = service.live_view(session=session, assignment=assignment, now=now)
    record_event(
        session=session,
        actor_id=user.id,
        action="assignment.live_view",
        target_type="assignment",
        target_id=assignment.id,
        ip=client_ip(request),
    )
    return render(request, "teach_live.html", {**COMMON, "klass": class_, "view": view, "now": now})


def _report_context(
    request: Request,
    session: SessionDep,
    user: User,
    clock: ClockDep,
    class_id: int,
    assignment_id: str | None,
) -> dict[str, Any]:
    class_ = authz.load_class(session=session, viewer=user, class_id=class_id)
    chosen = parse_assignment_id(assignment_id)
    report = service.class_report(session=session, class_=class_, assignment_id=chosen)
    school = session.get(Org, class_.school_id)
    assert class_.id is not None
    return {
        **COMMON,
        "klass": class_,
        "school": school,
        "report": report,
        "result_links": result_attempts(
            session,
            class_id=class_.id,
            student_ids=[row.student.user_id for row in report.grid.rows],
            assignment_id=chosen,
        ),
        "previews": item_previews([s.item_id for s in report.items or []]),
        "svgs": [rpt.distribution_svg(d) for d in report.distributions],
        "now": clock.now(),
        "query": f"?assignment_id={chosen}" if chosen is not None else "",
        "chosen": chosen,
    }


def _audit_report(
    request: Request, session: SessionDep, user: User, action: str, ctx: dict[str, Any]
) -> None:
    record_event(
        session=session,
        actor_id=user.id,
        action=action,
        target_type="class",
        target_id=ctx["klass"].id,
        ip=client_ip(request),
        detail={"assignment_id": ctx["chosen"], "students": len(ctx["report"].grid.rows)},
    )


@router.get("/classes/{class_id}/report")
def report_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    class_id: int,
    assignment_id: str | None = None,
) -> Response:
    ctx = _report_context(request, session, user, clock, class_id, assignment_id)
    _audit_report(request, session, user, "report.view", ctx)
    return render(request, "teach_report.html", {**ctx, "printable": False})


@router.get("/classes/{class_id}/report/print")
def report_print_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    class_id: int,
    assignment_id: str | None = None,
) -> Response:
    ctx = _report_context(request, session, user, clock, class_id, assignment_id)
    _audit_report(request, session, user, "report.print", ctx)
    return render(request, "teach_report.html", {**ctx, "printable": True})


@router.get("/classes/{class_id}/report.csv")
def report_csv(
    request: Request,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    class_id: int,
    assignment_id: str | None = None,
) -> Response:
    ctx = _report_context(request, session, user, clock, class_id, assignment_id)
    _audit_report(request, session, user, "report.export", ctx)
    stamp = (ctx["now"] + timedelta(hours=9)).strftime("%Y%m%d")
    name = f"{ctx['klass'].title}_読解力_{stamp}.csv"
    return Response(
        rpt.report_csv(ctx["report"].grid),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="report_{class_id}_{stamp}.csv"; '
            f"filename*=UTF-8''{quote(name)}",
            "cache-control": "no-store",
        },
    )
