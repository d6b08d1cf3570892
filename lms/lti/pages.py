"""The administrator's page ``/admin/lti``: the tool's URLs to paste into the portal, the registered
platforms (their district and ``sub`` setting editable), manual registration and extra deployment ids.

Row of the permission matrix: admin (system administrator). Registering a platform lets it sign in any
roster user it names — the same weight as a roster import, which is the admin's too (DESIGN §3).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from lms.auth.deps import PageUser, client_ip
from lms.core.db import SessionDep
from lms.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from lms.lti import contexts, keys, registration
from lms.lti import messages as msg
from lms.lti.framing import AncestorCache
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.roster.models import Org, User

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)

FORM_FIELDS = (
    "name",
    "issuer",
    "client_id",
    "deployment_ids",
    "auth_login_url",
    "auth_token_url",
    "jwks_url",
)


def _tool_urls(request: Request, kid: str) -> dict[str, str]:
    return {
        "login": str(request.url_for("lti_login")),
        "launch": str(request.url_for("lti_launch")),
        "jwks": str(request.url_for("lti_jwks")),
        "register": str(request.url_for("lti_register")),
        "kid": kid,
    }


def _page(
    request: Request, session: SessionDep, *, form: dict[str, str] | None = None, error: str | None = None
) -> Response:
    districts = session.exec(select(Org).where(Org.type == "district").order_by(col(Org.name))).all()
    rows = [
        {"platform": p, "deployments": deployments}
        for p, deployments in registration.list_platforms(session=session)
    ]
    context: dict[str, Any] = {
        "tool": _tool_urls(request, keys.current_key(session).kid),
        "platforms": rows,
        "contexts": contexts.list_contexts(session=session),
        "districts": districts,
        "form": form or dict.fromkeys((*FORM_FIELDS, "district_id", "sub_is_roster_id"), ""),
        "error": error,
        "notice": msg.ADMIN_NOTICES.get(request.query_params.get("done", "")),
    }
    return render(request, "admin_lti.html", context, status_code=400 if error else 200)


def _district_field(value: str) -> int | None:
    """The form's district: empty is "every school"; anything else must be a whole number (which district
    it names, `registration.check_district` decides). ``str.isdigit`` let "²" through to ``int``: a 500."""
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(msg.DISTRICT_UNKNOWN) from None


def _invalidate_framing(request: Request) -> None:
    cache: AncestorCache | None = getattr(request.app.state, "lti_frame_ancestors", None)
    if cache is not None:
        cache.invalidate()


@router.get("/admin/lti")
def admin_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return _page(request, session)


@router.post("/admin/lti")
def register(
    request: Request,
    session: SessionDep,
    user: PageUser,
    name: Annotated[str, Form(max_length=200)] = "",
    issuer: Annotated[str, Form(max_length=255)] = "",
    client_id: Annotated[str, Form(max_length=255)] = "",
    deployment_ids: Annotated[str, Form(max_length=2000)] = "",
    auth_login_url: Annotated[str, Form(max_length=500)] = "",
    auth_token_url: Annotated[str, Form(max_length=500)] = "",
    jwks_url: Annotated[str, Form(max_length=500)] = "",
    district_id: Annotated[str, Form(max_length=12)] = "",
    sub_is_roster_id: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    form = {
        "name": name,
        "issuer": issuer,
        "client_id": client_id,
        "deployment_ids": deployment_ids,
        "auth_login_url": auth_login_url,
        "auth_token_url": auth_token_url,
        "jwks_url": jwks_url,
        "district_id": district_id,
        "sub_is_roster_id": sub_is_roster_id,
    }
    try:
        data = registration.PlatformInput(
            name=name,
            issuer=issuer,
            client_id=client_id,
            auth_login_url=auth_login_url,
            auth_token_url=auth_token_url,
            jwks_url=jwks_url,
            deployment_ids=tuple(deployment_ids.replace(",", "\n").splitlines()),
            district_id=_district_field(district_id),
            sub_is_roster_id=sub_is_roster_id == "on",
        )
        registration.register_platform(session=session, data=data, actor_id=user.id, ip=client_ip(request))
    except (InvalidInput, Conflict) as error:
        session.rollback()
        return _page(request, session, form=form, error=error.message)
    _invalidate_framing(request)
    return RedirectResponse("/admin/lti?done=added", status_code=303)


@router.post("/admin/lti/{platform_id}/deployments")
def add_deployment(
    request: Request,
    session: SessionDep,
    user: PageUser,
    platform_id: int,
    deployment_id: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    platform = registration.get_platform(session=session, platform_id=platform_id)
    try:
        registration.add_deployment(
            session=session,
            platform=platform,
            deployment_id=deployment_id,
            actor_id=user.id,
            ip=client_ip(request),
        )
    except InvalidInput as error:
        session.rollback()
        return _page(request, session, error=error.message)
    return RedirectResponse("/admin/lti?done=deployment", status_code=303)


@router.post("/admin/lti/{platform_id}/settings")
def update_settings(
    request: Request,
    session: SessionDep,
    user: PageUser,
    platform_id: int,
    district_id: Annotated[str, Form(max_length=12)] = "",
    sub_is_roster_id: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """The district and the ``sub`` setting of a registered platform (e.g. after a second board's roster)."""
    platform = registration.get_platform(session=session, platform_id=platform_id)
    try:
        registration.update_settings(
            session=session,
            platform=platform,
            district_id=_district_field(district_id),
            sub_is_roster_id=sub_is_roster_id == "on",
            actor_id=user.id,
            ip=client_ip(request),
        )
    except InvalidInput as error:
        session.rollback()
        return _page(request, session, error=error.message)
    return RedirectResponse("/admin/lti?done=updated", status_code=303)


@router.post("/admin/lti/{platform_id}/binding")
def set_binding(
    request: Request,
    session: SessionDep,
    user: PageUser,
    platform_id: int,
    required: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Whether a launch must come back to the browser that started the login (default: yes; docs/lti.md)."""
    platform = registration.get_platform(session=session, platform_id=platform_id)
    registration.set_browser_binding(
        session=session, platform=platform, required=required == "on", actor_id=user.id, ip=client_ip(request)
    )
    return RedirectResponse("/admin/lti?done=binding", status_code=303)


@router.post("/admin/lti/contexts/{context_id}")
def link_context(
    request: Request,
    session: SessionDep,
    user: PageUser,
    context_id: int,
    class_sourced_id: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    try:
        contexts.link_context(
            session=session,
            context_id=context_id,
            class_sourced_id=class_sourced_id,
            actor_id=user.id,
            ip=client_ip(request),
        )
    except InvalidInput as error:
        session.rollback()
        return _page(request, session, error=error.message)
    return RedirectResponse("/admin/lti?done=linked", status_code=303)


@router.post("/admin/lti/key/rotate")
def rotate_key(request: Request, session: SessionDep, user: PageUser) -> Response:
    """A new signing key (the old one stays published a day): after a leak, or a new GIGA_SECRET_KEY."""
    keys.rotate_tool_key(session, actor_id=user.id, ip=client_ip(request))
    return RedirectResponse("/admin/lti?done=rotated", status_code=303)


def _teacher(user: User) -> None:
    if user.role == "student":
        raise NotFound(msg.CONTEXT_NOT_FOUND)
    if user.role != "teacher":
        raise Forbidden(msg.TEACHER_LINK_ONLY)


@router.get("/lti/contexts/{context_id}/link")
def teacher_link_page(request: Request, session: SessionDep, user: PageUser, context_id: int) -> Response:
    """After a teacher's first launch from a portal course no class is known for: which class is it?"""
    _teacher(user)
    context = contexts.teacher_context(session=session, user=user, context_id=context_id)
    classes = contexts.linkable_classes(session=session, user=user)
    return render(request, "lti_link_context.html", {"context": context, "classes": classes})


@router.post("/lti/contexts/{context_id}/link")
def teacher_link(
    request: Request,
    session: SessionDep,
    user: PageUser,
    context_id: int,
    class_id: Annotated[int, Form()] = 0,
) -> Response:
    _teacher(user)
    contexts.teacher_links_context(
        session=session, user=user, context_id=context_id, class_id=class_id, ip=client_ip(request)
    )
    return RedirectResponse(f"/classes/{class_id}/report", status_code=303)
