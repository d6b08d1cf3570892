"""The tool's endpoints a platform and the browser call: ``/lti/jwks.json`` (public keys), ``/lti/login``
(OIDC third-party-initiated login), ``/lti/launch`` (the id_token form post), ``/lti/launch/confirm`` (the
portal storage's proof of the browser), ``/lti/landing`` (did the iframe keep the cookie?) and
``/lti/handoff`` (the new-window fallback).

Row of the permission matrix: public — the platform's signature authenticates the launch, not a session.
No CSRF form token on login and launch: they are cross-site by design; the single-use state, the nonce and
the signed id_token protect them, and the browser binding (`lms.lti.binding`) ties the launch to the browser
that started the login. The confirm post has its own proof instead of the session's token (a browser that
dropped the cookies has no session): a same-origin ``Origin``, the one-time pending launch and the value read
back from the portal's storage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from lms.audit.service import record_event
from lms.auth import service as auth_service
from lms.auth.deps import ClockDep, SessionStateDep, SettingsDep, client_ip
from lms.auth.partitioned import set_partitioned_cookie
from lms.auth.sessions import LoadedSession
from lms.core.db import SessionDep
from lms.core.settings import Settings
from lms.lti import binding, handoff, keys
from lms.lti import claims as c
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
        "relaunch_url": refusal.relaunch_url,
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
    """OIDC third-party-initiated login: store state and nonce, bind them to this browser (a partitioned
    cookie, and the portal's postMessage storage when it offers one), send the browser to the platform."""
    params = await _params(request)
    try:
        start = lti.begin_login(
            session=session,
            params=params,
            redirect_uri=str(request.url_for("lti_launch")),
            now=clock.now(),
            binding=binding.new_value(),
            storage_target=binding.storage_target(params.get("lti_storage_target")),
        )
    except lti.LaunchRefused as refusal:
        return refusal_page(request, refusal)
    response: Response
    if start.storage_target:  # lti.put_data the value into the portal's frame, then go on (lti_storage.js)
        response = render(
            request,
            "lti_storage.html",
            {
                "title": msg.STORAGE_TITLE,
                "mode": "put",
                "key": binding.key_for(start.state),
                "value": start.binding,
                "target": start.storage_target,
                "platform_origin": start.platform_origin,
                "next_url": start.url,
            },
        )
    else:
        response = RedirectResponse(start.url, status_code=302)
    binding.set_cookie(response, state=start.state, value=start.binding)
    return response


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


def _relaunch_url(request: Request, verified: lti.VerifiedLaunch) -> str | None:
    if not verified.login_query:
        return None
    return str(request.url_for("lti_login")) + "?" + verified.login_query


@router.post("/lti/launch", name="lti_launch")
async def launch(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, loaded: SessionStateDep
) -> Response:
    """The platform's form post: verify the id_token and that it comes back to the login's browser, then
    sign the roster user in (or, with only the portal storage to prove it, ask the browser first)."""
    form = await request.form()
    id_token, state = form.get("id_token"), form.get("state")
    state = state if isinstance(state, str) else ""
    now = clock.now()
    try:
        verified = lti.verify_launch(
            session=session,
            id_token=id_token if isinstance(id_token, str) else "",
            state=state,
            now=now,
            message_types=frozenset(LANDINGS),
        )
        if binding.cookie_matches(request, state=state, launch=verified):
            proof = "cookie"
        elif verified.storage_target:
            return _ask_the_portal_storage(request, session, verified, state=state, now=now)
        elif not verified.platform.browser_binding_required:
            proof = "not_required"  # the administrator's choice on /admin/lti (docs/lti.md)
        else:
            raise lti.refuse(
                "browser_not_bound",
                status_code=403,
                platform=verified.platform,
                relaunch_url=_relaunch_url(request, verified),
            )
    except lti.LaunchRefused as refusal:
        # returned, not raised: the spent state and the audit event are committed with the refusal
        _audit_refusal(session, request, refusal)
        return refusal_page(request, refusal)
    response = _sign_in(request, session, settings, loaded, verified, proof=proof, now=now)
    binding.clear_cookie(response, state=state)
    return response


def _ask_the_portal_storage(
    request: Request, session: Session, verified: lti.VerifiedLaunch, *, state: str, now: datetime
) -> Response:
    """The cookie did not come back: keep the verified launch, and let the page read the value back from the
    portal's frame (lti.get_data) and post it to /lti/launch/confirm."""
    token = binding.hold(session=session, launch=verified, now=now)
    return render(
        request,
        "lti_storage.html",
        {
            "title": msg.STORAGE_TITLE,
            "mode": "get",
            "key": binding.key_for(state),
            "target": verified.storage_target,
            "platform_origin": lti.platform_origin(verified.platform),
            "pending": token,
            "relaunch_url": _relaunch_url(request, verified),
        },
    )


@router.post("/lti/launch/confirm", name="lti_launch_confirm")
async def confirm(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, loaded: SessionStateDep
) -> Response:
    """The confirm page's post: the value the portal storage gave back must be the login's binding."""
    form = await request.form()
    pending, value = form.get("pending"), form.get("value")
    now = clock.now()
    try:
        # our own page posts this (same origin); a form on another site cannot send this Origin
        if request.headers.get("origin") != tool_origin(request):
            raise lti.refuse("confirm_cross_site", status_code=403)
        released = binding.release(
            session=session,
            token=pending if isinstance(pending, str) else "",
            value=value if isinstance(value, str) else "",
            now=now,
        )
        if isinstance(released, str):
            raise lti.refuse(released, status_code=403)
    except lti.LaunchRefused as refusal:
        _audit_refusal(session, request, refusal)
        return refusal_page(request, refusal)
    return _sign_in(request, session, settings, loaded, released, proof="portal_storage", now=now)


def _sign_in(
    request: Request,
    session: Session,
    settings: Settings,
    loaded: LoadedSession | None,
    verified: lti.VerifiedLaunch,
    *,
    proof: str,
    now: datetime,
) -> Response:
    """A launch from the login's browser: find the roster user, sign them in, open their page."""
    try:
        user = lti.match_user(session=session, launch=verified, now=now)
        context = lti.sync_context(session=session, launch=verified, actor_id=user.id, ip=client_ip(request))
        # a landing may refuse too (lti-svc: a student's deep-linking launch), before the sign-in
        target = LANDINGS[verified.message_type](session, verified, user, context, tool_origin(request))
    except lti.LaunchRefused as refusal:
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
            "browser_binding": proof,
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


def _opened_by_our_page(request: Request) -> bool:
    """A navigation started by a page of this origin: ``Sec-Fetch-Site: same-origin``; from a browser without
    Fetch Metadata, a Referer of ours (our Referrer-Policy ``same-origin`` sends it there)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() == "same-origin"
    return request.headers.get("referer", "").startswith(tool_origin(request) + "/")


@router.get("/lti/handoff")
def new_window(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    loaded: SessionStateDep,
    h: str = "",
) -> Response:
    """The new window (a first-party page): spend the ticket, sign in with a normal cookie, open the page.

    Only when our own page opened it (the landing's button, the notebook lessons' link): the ticket signs in
    whoever holds it, so an attacker's ticket from their own launch, sent to another browser, would sign that
    browser in as them around the whole browser binding (login CSRF, docs/lti.md)."""
    if not _opened_by_our_page(request):
        refusal = lti.refuse("handoff_cross_site", status_code=403)
        _audit_refusal(session, request, refusal)
        return refusal_page(request, refusal)
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
