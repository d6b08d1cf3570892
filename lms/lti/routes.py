"""The tool's endpoints a platform and the browser call: ``/lti/jwks.json`` (public keys), ``/lti/login``
(OIDC third-party-initiated login), ``/lti/launch`` (the id_token form post), ``/lti/landing`` (did the
iframe keep the cookie?) and ``/lti/handoff`` (the new-window fallback).

Row of the permission matrix: public — the platform's signature authenticates the launch, not a session.
No CSRF form token on login and launch: they are cross-site by design; the single-use state, the nonce and
the signed id_token protect them instead.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from lms.audit.service import record_event
from lms.auth import service as auth_service
from lms.auth.deps import ClockDep, SessionStateDep, SettingsDep, client_ip
from lms.auth.partitioned import set_partitioned_cookie
from lms.core.db import SessionDep
from lms.lti import claims as c
from lms.lti import handoff, keys
from lms.lti import launch as lti
from lms.lti import messages as msg
from lms.lti.framing import EMBED_COOKIE
from lms.lti.models import LtiContext
from lms.pages.auth_routes import record_sign_in, start_session
from lms.pages.render import render
from lms.permissions import page_gate
from lms.roster.models import User

router = APIRouter(dependencies=[Depends(page_gate)], include_in_schema=False)

# Where a verified launch of each message type opens, after the sign-in (lti-svc adds deep linking).
LandingFor = Callable[[Session, lti.VerifiedLaunch, User, LtiContext | None, str], str]
LANDINGS: dict[str, LandingFor] = {
    c.RESOURCE_LINK_REQUEST: lambda _session, launch, user, context, origin: lti.landing_path(
        user=user, launch=launch, context=context, tool_origin=origin
    ),
}


def tool_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def refusal_page(request: Request, refusal: lti.LaunchRefused) -> Response:
    """The Japanese error page of a refused login or launch: what happened, what to tell the administrator."""
    context = {
        "title": msg.REFUSED_TITLE,
        "refusal": refusal,
        "platform_name": refusal.platform.name if refusal.platform is not None else None,
    }
    return render(request, "lti_refused.html", context, status_code=refusal.status_code)


@router.get("/lti/jwks.json", name="lti_jwks")
def jwks(session: SessionDep) -> JSONResponse:
    """The tool's public keys (RFC 7517), for platforms verifying its client assertions and deep links."""
    return JSONResponse(keys.public_jwks(session), headers={"Cache-Control": "public, max-age=3600"})


async def _params(request: Request) -> dict[str, str]:
    values: dict[str, str] = {k: v for k, v in request.query_params.items()}
    if request.method == "POST":
        form = await request.form()
        values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return values


@router.get("/lti/login", name="lti_login")
@router.post("/lti/login")
async def login(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    """OIDC third-party-initiated login: store state and nonce, send the browser to the platform."""
    params = await _params(request)
    try:
        url = lti.begin_login(
            session=session, params=params, redirect_uri=str(request.url_for("lti_launch")), now=clock.now()
        )
    except lti.LaunchRefused as refusal:
        return refusal_page(request, refusal)
    return RedirectResponse(url, status_code=302)


def _audit_refusal(session: Session, request: Request, refusal: lti.LaunchRefused) -> None:
    record_event(
        session=session,
        actor_id=None,
        action="lti.launch_refused",
        target_type="lti_platform" if refusal.platform is not None else None,
        target_id=refusal.platform.id if refusal.platform is not None else None,
        ip=client_ip(request),
        detail={"reason": refusal.code},
    )


@router.post("/lti/launch", name="lti_launch")
async def launch(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, loaded: SessionStateDep
) -> Response:
    """The platform's form post: verify the id_token, sign the roster user in, open their page."""
    form = await request.form()
    id_token, state = form.get("id_token"), form.get("state")
    now = clock.now()
    try:
        verified = lti.verify_launch(
            session=session,
            id_token=id_token if isinstance(id_token, str) else "",
            state=state if isinstance(state, str) else "",
            now=now,
            message_types=frozenset(LANDINGS),
        )
        user = lti.match_user(session=session, launch=verified, now=now)
        context = lti.sync_context(session=session, launch=verified, actor_id=user.id, ip=client_ip(request))
        # a landing may refuse too (lti-svc: a student's deep-linking launch), before the sign-in
        target = LANDINGS[verified.message_type](session, verified, user, context, tool_origin(request))
    except lti.LaunchRefused as refusal:
        # returned, not raised: the spent state and the audit event are committed with the refusal
        _audit_refusal(session, request, refusal)
        return refusal_page(request, refusal)
    ip = client_ip(request)
    stage = auth_service.next_stage(user, settings)
    if stage == "full":
        record_sign_in(session, user, ip=ip, method="lti")
    elif stage == "mfa":
        target = "/login/mfa?next=" + quote(target, safe="")
    else:
        target = "/mfa/enroll"
    record_event(
        session=session,
        actor_id=user.id,
        action="lti.launch",
        target_type="lti_platform",
        target_id=verified.platform.id,
        ip=ip,
        detail={
            "message_type": verified.message_type,
            "deployment_id": verified.deployment.deployment_id,
            "context_id": context.context_id if context is not None else None,
            "class_id": context.school_class_id if context is not None else None,
            "opens": target,
        },
    )
    ticket = handoff.issue(session=session, user=user, target=target, now=now)
    response = start_session(
        request,
        session=session,
        settings=settings,
        user=user,
        stage=stage,
        now=now,
        target="/lti/landing?h=" + ticket,
        old=loaded,
        embedded=True,
    )
    # the "inside a portal's iframe" marker (framing allowed, sign-out back to the portal): not for a launch
    # the browser says is a top-level window, or every page of that first-party session could be framed
    if request.headers.get("sec-fetch-dest", "").lower() != "document":
        set_partitioned_cookie(response, EMBED_COOKIE, "1")
    return response


@router.get("/lti/landing")
def landing(
    request: Request, session: SessionDep, clock: ClockDep, loaded: SessionStateDep, h: str = ""
) -> Response:
    """After the launch: the session cookie came back → the page; it did not → offer a new window."""
    ticket = handoff.peek(session=session, token=h, now=clock.now())
    if ticket is None:
        return refusal_page(request, lti.LaunchRefused("handoff_expired", msg.HANDOFF_EXPIRED))
    if loaded is not None and loaded.user.id == ticket.user_id:
        handoff.spend(session=session, row=ticket, now=clock.now())
        return RedirectResponse(ticket.target, status_code=303)
    return render(request, "lti_new_window.html", {"title": "新しいウィンドウで開く", "ticket": h})


@router.get("/lti/handoff")
def new_window(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    loaded: SessionStateDep,
    h: str = "",
) -> Response:
    """The new window (a first-party page): spend the ticket, sign in with a normal cookie, open the page."""
    now = clock.now()
    ticket = handoff.peek(session=session, token=h, now=now)
    user = session.get(User, ticket.user_id) if ticket is not None else None
    if (
        ticket is None
        or user is None
        or not user.enabled
        or user.status != "active"
        or not handoff.spend(session=session, row=ticket, now=now)  # another tab spent it meanwhile
    ):
        return refusal_page(request, lti.LaunchRefused("handoff_expired", msg.HANDOFF_EXPIRED))
    stage = auth_service.next_stage(user, settings)
    if stage == "full":  # a second session of the launch's sign-in: audited like the first
        record_sign_in(session, user, ip=client_ip(request), method="lti_new_window")
    return start_session(
        request,
        session=session,
        settings=settings,
        user=user,
        stage=stage,
        now=now,
        target=ticket.target,
        old=loaded,
    )


@router.get("/lti/signed-out")
def signed_out(request: Request) -> Response:
    """After おわる（サインアウト） inside the portal's iframe: back to the portal, not to a sign-in page."""
    return render(request, "lti_signed_out.html", {"title": msg.SIGNED_OUT_TITLE})
