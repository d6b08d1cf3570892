"""Routes of the support view (grant / list / revoke by the admin, use by a board user) and research export.

Rows of the permission matrix: ``ADMIN`` for granting, listing, revoking and the research export;
``SUPPORT`` for using the support view (a board user with an active grant for the school, or the admin;
every use audited as ``support.view``).  Handlers parse, call `lms.board.support` / `lms.board.research`,
and respond.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from lms.auth.deps import ApiPrincipal, ClockDep, PageUser, client_ip
from lms.board import messages as msg
from lms.board import research, responses, support
from lms.core.db import SessionDep
from lms.core.errors import InvalidInput
from lms.core.jst import JST
from lms.pages import render as pages_render
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.permissions import api_gate
from lms.roster.models import Org, User
from lms.teaching import report as rpt

STATE_LABELS = {"active": "有効", "scheduled": "開始前", "expired": "期間終了", "revoked": "取り消し済み"}

api = APIRouter(prefix="/api/v1", tags=["support view"], dependencies=[Depends(api_gate)])
pages = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """Render a support page with the support view's labels (`lms.pages.render.render`)."""
    labels = {"STATE_LABELS": STATE_LABELS, "skill_name": rpt.skill_name}
    return pages_render.render(request, name, {**labels, **context}, status_code=status_code)


class GrantCreate(BaseModel):
    """Body of ``POST /api/v1/support/grants``."""

    board_user_id: int
    school_id: int
    reason: str = Field(min_length=1, max_length=2000, description="why individual data is needed")
    starts_at: datetime = Field(description="ISO 8601 with time zone")
    ends_at: datetime = Field(description="ISO 8601 with time zone")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=JST)


# --- JSON API -----------------------------------------------------------------------------------------------


@api.post(
    "/support/grants",
    status_code=201,
    response_model=responses.SupportGrant,
    summary="Grant a board user the support view of a school (admin)",
)
def api_create_grant(
    body: GrantCreate, request: Request, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> dict[str, Any]:
    data = support.GrantRequest(
        body.board_user_id, body.school_id, body.reason, _aware(body.starts_at), _aware(body.ends_at)
    )
    grant = support.create_grant(
        session=session, actor=principal.user, data=data, now=clock.now(), ip=client_ip(request)
    )
    return support.grant_json(grant, clock.now(), support.display_names(session, [grant]))


@api.get(
    "/support/grants", response_model=responses.SupportGrants, summary="List support-view grants (admin)"
)
def api_list_grants(session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    grants = support.list_grants(session=session)
    names = support.display_names(session, grants)
    return {"grants": [support.grant_json(g, clock.now(), names) for g in grants]}


@api.post(
    "/support/grants/{grant_id}/revoke",
    response_model=responses.SupportGrant,
    summary="Revoke a support-view grant now (admin)",
)
def api_revoke_grant(
    grant_id: int, request: Request, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> dict[str, Any]:
    grant = support.revoke_grant(
        session=session, actor=principal.user, grant_id=grant_id, now=clock.now(), ip=client_ip(request)
    )
    return support.grant_json(grant, clock.now())


@api.get(
    "/support/schools/{school_id}/classes",
    response_model=responses.SupportSchoolClasses,
    summary="Classes of a school under a support grant",
)
def api_school_classes(
    school_id: int, request: Request, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> dict[str, Any]:
    school, classes, grant = support.school_classes(
        session=session, user=principal.user, school_id=school_id, now=clock.now(), ip=client_ip(request)
    )
    return {
        "school_id": school.id,
        "school": school.name,
        "grant_id": grant.id if grant else None,
        "grant_ends_at": grant.ends_at.isoformat() if grant else None,
        "classes": [
            {"id": c.id, "title": c.title, "grades": c.grades, "read_only": c.read_only} for c in classes
        ],
    }


@api.get(
    "/support/classes/{class_id}/report",
    response_model=responses.SupportClassReport,
    summary="A class report under a support grant (audited)",
)
def api_class_report(
    class_id: int, request: Request, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> dict[str, Any]:
    report, school, grant = support.class_report(
        session=session, user=principal.user, class_id=class_id, now=clock.now(), ip=client_ip(request)
    )
    return {**report.as_json(), "school": school.name, "grant_id": grant.id if grant else None}


# --- pages: admin -------------------------------------------------------------------------------------------


def _admin_context(session: SessionDep, now: datetime) -> dict[str, Any]:
    grants = support.list_grants(session=session)
    return {
        "grants": grants,
        "names": support.display_names(session, grants),
        "state": lambda g: support.grant_state(g, now),
        "board_users": list(
            session.exec(select(User).where(User.role == "board").order_by(col(User.username)))
        ),
        "schools": list(session.exec(select(Org).where(Org.type == "school").order_by(col(Org.identifier)))),
        "default_start": now.astimezone(JST).strftime("%Y-%m-%dT%H:%M"),
        "default_end": (now + timedelta(days=14)).astimezone(JST).strftime("%Y-%m-%dT%H:%M"),
    }


@pages.get("/admin/support")
def admin_support_page(request: Request, session: SessionDep, user: PageUser, clock: ClockDep) -> Response:
    return render(request, "support_admin.html", _admin_context(session, clock.now()))


def _parse_local(value: str, label: str) -> datetime:
    try:
        return _aware(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise InvalidInput(msg.BAD_DATETIME.format(label=label)) from None


@pages.post("/admin/support")
def admin_support_grant(
    request: Request,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    board_user_id: Annotated[int, Form()],
    school_id: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    starts_at: Annotated[str, Form()] = "",
    ends_at: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = support.GrantRequest(
            board_user_id,
            school_id,
            reason,
            _parse_local(starts_at, "開始日時"),
            _parse_local(ends_at, "終了日時"),
        )
        support.create_grant(session=session, actor=user, data=data, now=clock.now(), ip=client_ip(request))
    except InvalidInput as error:
        session.rollback()
        context = {**_admin_context(session, clock.now()), "error": error.message}
        return render(request, "support_admin.html", context, status_code=400)
    return RedirectResponse("/admin/support", status_code=303)


@pages.post("/admin/support/{grant_id}/revoke")
def admin_support_revoke(
    grant_id: int, request: Request, session: SessionDep, user: PageUser, clock: ClockDep
) -> Response:
    support.revoke_grant(
        session=session, actor=user, grant_id=grant_id, now=clock.now(), ip=client_ip(request)
    )
    return RedirectResponse("/admin/support", status_code=303)


# --- pages: the board user's support view -------------------------------------------------------------------


@pages.get("/support")
def support_home(request: Request, session: SessionDep, user: PageUser, clock: ClockDep) -> Response:
    grants = support.list_grants(session=session, board_user_id=None if user.role == "admin" else user.id)
    now = clock.now()
    return render(
        request,
        "support_home.html",
        {
            "grants": grants,
            "names": support.display_names(session, grants),
            "state": lambda g: support.grant_state(g, now),
        },
    )


@pages.get("/support/schools/{school_id}")
def support_school(
    school_id: int, request: Request, session: SessionDep, user: PageUser, clock: ClockDep
) -> Response:
    school, classes, grant = support.school_classes(
        session=session, user=user, school_id=school_id, now=clock.now(), ip=client_ip(request)
    )
    return render(request, "support_school.html", {"school": school, "classes": classes, "grant": grant})


@pages.get("/support/classes/{class_id}/report")
def support_class(
    class_id: int, request: Request, session: SessionDep, user: PageUser, clock: ClockDep
) -> Response:
    report, school, grant = support.class_report(
        session=session, user=user, class_id=class_id, now=clock.now(), ip=client_ip(request)
    )
    return render(
        request,
        "support_class.html",
        {"report": report, "school": school, "grant": grant, "now": clock.now()},
    )


# --- pages: the research export (admin) ---------------------------------------------------------------------


@pages.get("/admin/research-export")
def research_page(request: Request, user: PageUser) -> Response:
    return render(request, "support_research.html", {"min_cell_size": research.min_cell_size()})


@pages.post("/admin/research-export")
def research_download(
    request: Request,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    purpose: Annotated[str, Form()] = "",
    recipient: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "research",
) -> Response:
    with tempfile.TemporaryDirectory(prefix="giga-research-") as tmp:
        try:
            result = research.export_research(
                session=session,
                out_dir=Path(tmp),
                actor=user,
                purpose=purpose,
                recipient=recipient,
                now=clock.now(),
                ip=client_ip(request),
                mode=mode,
            )
        except InvalidInput as error:
            session.rollback()
            context = {"min_cell_size": research.min_cell_size(), "error": error.message}
            return render(request, "support_research.html", context, status_code=400)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in result.files:
                archive.write(Path(tmp) / name, arcname=name)
    stamp = datetime.now(UTC).astimezone(JST).strftime("%Y%m%d")
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="research_export_{stamp}.zip"',
            "cache-control": "no-store",
        },
    )
