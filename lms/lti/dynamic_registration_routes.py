"""``/lti/register``: LTI Dynamic Registration started from the portal's tool-registration screen.

Row of the permission matrix: admin. Registering a platform lets it sign in any roster user it names, so
only a signed-in system administrator may do it (as the manual registration on ``/admin/lti``), and only
after confirming on the page what the portal's configuration says: a GET never registers (an attacker's
link with their own ``openid_configuration`` must not add their platform behind the admin's back). The
form is CSRF-protected like every page form; the tool talks to the platform server to server.

The portal usually opens this URL in a new window or an iframe of its admin screen; the admin's session
cookie is first-party only, so inside another site's iframe the page asks to sign in and cannot be shown
(``frame-ancestors``): open it in a new window (see docs/lti.md). At the end the page posts
``{subject: "org.imsglobal.lti.close"}`` to ``window.opener`` or ``window.parent`` (spec §3.6).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import col, select

from lms.auth.deps import PageUser, client_ip
from lms.core.db import SessionDep
from lms.core.errors import Conflict, InvalidInput
from lms.lti import dynamic_registration as dr
from lms.lti import tool_messages as msg
from lms.lti.framing import AncestorCache
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.roster.models import Org

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


def get_registration_client() -> Iterator[httpx.Client]:
    """The HTTP client that talks to the platform (tests put a spec-following platform app behind it)."""
    with httpx.Client() as client:
        yield client


RegistrationClient = Annotated[httpx.Client, Depends(get_registration_client)]


def _tool(request: Request) -> dr.ToolUrls:
    return dr.ToolUrls(
        login=str(request.url_for("lti_login")),
        launch=str(request.url_for("lti_launch")),
        jwks=str(request.url_for("lti_jwks")),
    )


def _failed(request: Request, message: str, status_code: int) -> Response:
    return render(
        request, "lti_register.html", {"title": msg.DR_TITLE, "error": message}, status_code=status_code
    )


@router.get("/lti/register", name="lti_register")
def confirm_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    client: RegistrationClient,
    openid_configuration: str = "",
    registration_token: str = "",
) -> Response:
    """Fetch and check the portal's configuration; show what would be registered, with a confirm button."""
    if not openid_configuration:
        return _failed(request, msg.DR_PARAMS_MISSING, 400)
    try:
        config = dr.check_configuration(
            dr.fetch_configuration(client, openid_configuration, registration_token),
            config_url=openid_configuration,
        )
    except dr.RegistrationFailed as failed:
        return _failed(request, failed.message, failed.status_code)
    districts = session.exec(select(Org).where(Org.type == "district").order_by(col(Org.name))).all()
    context = {
        "title": msg.DR_TITLE,
        "config": config,
        "openid_configuration": openid_configuration,
        "registration_token": registration_token,
        "suggested_name": config.product_family_code or (config.issuer.split("//", 1)[-1]),
        "districts": districts,
        "scopes": [s for s in dr.TOOL_SCOPES if s in config.scopes_supported],
    }
    return render(request, "lti_register.html", context)


@router.post("/lti/register")
def register(
    request: Request,
    session: SessionDep,
    user: PageUser,
    client: RegistrationClient,
    openid_configuration: Annotated[str, Form(max_length=1000)] = "",
    registration_token: Annotated[str, Form(max_length=4000)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    district_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Register with the portal and store it; the page then tells the portal to close the registration."""
    if not openid_configuration:
        return _failed(request, msg.DR_PARAMS_MISSING, 400)
    try:
        platform = dr.register(
            session=session,
            client=client,
            config_url=openid_configuration,
            token=registration_token,
            tool=_tool(request),
            name=name.strip(),
            district_id=int(district_id) if district_id.isdigit() else None,
            actor_id=user.id,
            ip=client_ip(request),
        )
    except dr.RegistrationFailed as failed:
        session.rollback()
        return _failed(request, failed.message, failed.status_code)
    except (InvalidInput, Conflict) as error:
        session.rollback()
        return _failed(request, error.message, error.status_code)
    cache: AncestorCache | None = getattr(request.app.state, "lti_frame_ancestors", None)
    if cache is not None:
        cache.invalidate()
    return render(request, "lti_register.html", {"title": msg.DR_DONE_TITLE, "platform": platform})
