"""Sign-in pages: password, second factor (TOTP) and its enrolment, OpenID Connect, sign-out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from lms.audit.service import record_event
from lms.auth import oidc, service, throttle, totp
from lms.auth.csrf import PRE_SESSION_COOKIE
from lms.auth.deps import ClockDep, SessionStateDep, SettingsDep, client_ip, remember_page_user
from lms.auth.partitioned import set_partitioned_cookie
from lms.auth.sessions import SESSION_COOKIE, LoadedSession, create_session, end_session, set_stage
from lms.core.db import SessionDep
from lms.core.errors import NotFound
from lms.core.settings import Settings
from lms.lti.framing import EMBED_COOKIE
from lms.pages import messages as msg
from lms.pages.deps import PAGE_DEPENDENCIES, safe_next
from lms.pages.render import render
from lms.roster.models import User

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


def record_sign_in(session: SessionDep, user: User, *, ip: str | None, method: str) -> None:
    """Audit a completed sign-in (every factor passed): one ``auth.login`` event with the way in."""
    record_event(
        session=session,
        actor_id=user.id,
        action="auth.login",
        target_type="user",
        target_id=user.id,
        ip=ip,
        detail={"method": method},
    )


def start_session(
    request: Request,
    *,
    session: SessionDep,
    settings: Settings,
    user: User,
    stage: str,
    now: datetime,
    target: str,
    old: LoadedSession | None,
    embedded: bool = False,
) -> Response:
    """Open a fresh session (a new id: no session fixation) and redirect to the next step.

    ``embedded`` (an LTI launch inside the portal's iframe): the cookie is ``SameSite=None; Secure;
    Partitioned`` (CHIPS), the one kind a cross-site iframe may keep when third-party cookies are blocked.
    """
    if old is not None:
        end_session(session=session, row=old.row)
    _row, raw = create_session(
        session=session,
        user=user,
        stage=stage,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        now=now,
    )
    response = RedirectResponse(target, status_code=303)
    if embedded:
        set_partitioned_cookie(response, SESSION_COOKIE, raw)
    else:
        response.set_cookie(
            SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=settings.cookies_secure, path="/"
        )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


def _after_first_factor(user: User, settings: Settings, next_path: str) -> tuple[str, str]:
    stage = service.next_stage(user, settings)
    if stage == "mfa":
        return stage, "/login/mfa?next=" + next_path
    if stage == "enroll":
        return stage, "/mfa/enroll"
    return stage, next_path


@router.get("/")
def index(loaded: SessionStateDep) -> Response:
    target = "/home" if loaded is not None and loaded.row.stage == "full" else "/login"
    return RedirectResponse(target, status_code=303)


@router.get("/login")
def login_page(
    request: Request, loaded: SessionStateDep, next: str | None = None, expired: int = 0, bye: int = 0
) -> Response:
    if loaded is not None and loaded.row.stage == "full":
        return RedirectResponse(safe_next(next), status_code=303)
    notice = None
    if expired:
        notice = msg.SIGNED_OUT_IDLE
    if bye:
        notice = msg.SIGNED_OUT
    return render(request, "login.html", _login_context(request, next, notice=notice))


def _login_context(request: Request, next_path: str | None, **extra: object) -> dict[str, object]:
    client = getattr(request.app.state, "oidc", None)
    return {
        "next": safe_next(next_path),
        "oidc_label": client.config.label if client is not None else None,
        **extra,
    }


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    loaded: SessionStateDep,
    username: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/home",
) -> Response:
    now = clock.now()
    if not username.strip() or not password:
        context = _login_context(request, next, error=msg.USERNAME_AND_PASSWORD_NEEDED, username=username)
        return render(request, "login.html", context, status_code=400)
    result = service.password_sign_in(
        session=session,
        settings=settings,
        username=username,
        password=password,
        ip=client_ip(request),
        now=now,
    )
    if result.outcome == "locked":
        message = msg.SIGN_IN_LOCKED.format(minutes=result.retry_after_minutes)
        return render(
            request,
            "login.html",
            _login_context(request, next, error=message, username=username),
            status_code=429,
        )
    if result.outcome == "invalid" or result.user is None:
        return render(
            request,
            "login.html",
            _login_context(request, next, error=msg.WRONG_PASSWORD, username=username),
            status_code=401,
        )
    user = result.user
    stage, target = _after_first_factor(user, settings, safe_next(next))
    if stage == "full":
        record_sign_in(session, user, ip=client_ip(request), method="password")
    return start_session(
        request,
        session=session,
        settings=settings,
        user=user,
        stage=stage,
        now=now,
        target=target,
        old=loaded,
    )


@router.get("/login/mfa")
def mfa_page(request: Request, loaded: SessionStateDep, next: str | None = None) -> Response:
    if loaded is None or loaded.row.stage != "mfa":
        return RedirectResponse("/login", status_code=303)
    return render(request, "mfa.html", {"next": safe_next(next)})


def _signed_in_meanwhile(session: Session, loaded: LoadedSession) -> bool:
    """A double click: this browser session's other request passed the second step while this one waited,
    so this one's code counted as reused.  Then its failure is forgotten (rolled back, not counted towards a
    lock-out) and the browser goes on: the session is already signed in.  Only the same session cookie gets
    here; another browser with the same code is still refused."""
    session.refresh(loaded.row)
    if loaded.row.stage != "full":
        return False
    session.rollback()
    return True


@router.post("/login/mfa")
def mfa_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    loaded: SessionStateDep,
    code: Annotated[str, Form(max_length=20)] = "",
    next: Annotated[str, Form()] = "/home",
) -> Response:
    if loaded is not None and loaded.row.stage == "full":  # a second click after the first one signed in
        return RedirectResponse(safe_next(next), status_code=303)
    if loaded is None or loaded.row.stage != "mfa":
        return RedirectResponse("/login", status_code=303)
    now, user, ip = clock.now(), loaded.user, client_ip(request)
    outcome = service.check_totp_code(
        session=session, settings=settings, user=user, code=code, ip=ip, now=now
    )
    if outcome != "accepted":
        if _signed_in_meanwhile(session, loaded):
            return RedirectResponse(safe_next(next), status_code=303)
        locked = throttle.register_failure(
            session=session, settings=settings, username=user.username, ip=ip, now=now
        )
        if locked:
            record_event(
                session=session,
                actor_id=user.id,
                action="auth.lockout",
                target_type="username",
                target_id=user.username,
                ip=ip,
                detail={"minutes": settings.login_lockout_minutes},
            )
            end_session(session=session, row=loaded.row)
            message = msg.SIGN_IN_LOCKED.format(minutes=settings.login_lockout_minutes)
            response = render(
                request, "login.html", _login_context(request, next, error=message), status_code=429
            )
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return render(
            request,
            "mfa.html",
            {"next": safe_next(next), "error": msg.MFA_ERRORS[outcome]},
            status_code=401,
        )
    throttle.reset_account(session=session, username=user.username)
    set_stage(session=session, row=loaded.row, stage="full")
    record_sign_in(session, user, ip=ip, method="password+totp")
    return RedirectResponse(safe_next(next), status_code=303)


def _enrol_context(user: User, secret: str) -> dict[str, object]:
    uri = totp.provisioning_uri(secret, user.username)
    return {"secret": secret, "uri": uri, "qr_svg": totp.qr_svg(uri), "enrolled": user.totp_enabled}


@router.get("/mfa/enroll")
def enrol_page(
    request: Request, session: SessionDep, settings: SettingsDep, loaded: SessionStateDep
) -> Response:
    if loaded is None or loaded.row.stage not in ("enroll", "full"):
        return RedirectResponse("/login", status_code=303)
    user = loaded.user
    remember_page_user(request, user if loaded.row.stage == "full" else None)
    if user.totp_enabled:
        return render(request, "enroll.html", {"enrolled": True})
    secret = service.start_totp_enrolment(session=session, settings=settings, user=user)
    return render(
        request, "enroll.html", {**_enrol_context(user, secret), "forced": loaded.row.stage == "enroll"}
    )


@router.post("/mfa/enroll")
def enrol_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    loaded: SessionStateDep,
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if loaded is None or loaded.row.stage not in ("enroll", "full"):
        return RedirectResponse("/login", status_code=303)
    user, ip, now = loaded.user, client_ip(request), clock.now()
    if user.totp_enabled:
        return RedirectResponse("/home", status_code=303)
    if not service.confirm_totp_enrolment(
        session=session, settings=settings, user=user, code=code, ip=ip, now=now
    ):
        secret = service.start_totp_enrolment(session=session, settings=settings, user=user)
        context = {
            **_enrol_context(user, secret),
            "forced": loaded.row.stage == "enroll",
            "error": msg.WRONG_ENROLMENT_CODE,
        }
        return render(request, "enroll.html", context, status_code=400)
    if loaded.row.stage == "enroll":
        set_stage(session=session, row=loaded.row, stage="full")
        record_sign_in(session, user, ip=ip, method="password+totp-enrolment")
    return RedirectResponse("/home", status_code=303)


@router.post("/logout")
def logout(request: Request, session: SessionDep, loaded: SessionStateDep) -> Response:
    if loaded is not None:
        record_event(
            session=session,
            actor_id=loaded.user.id,
            action="auth.logout",
            target_type="user",
            target_id=loaded.user.id,
            ip=client_ip(request),
        )
        end_session(session=session, row=loaded.row)
    # inside a portal's iframe (LTI) the sign-in page cannot work: say where to go back to instead
    embedded = EMBED_COOKIE in request.cookies
    response = RedirectResponse("/lti/signed-out" if embedded else "/login?bye=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- OpenID Connect --------------------------------------------------------------------------------------


def _oidc(request: Request) -> oidc.OidcClient:
    client: oidc.OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:
        raise NotFound(msg.OIDC_NOT_CONFIGURED)
    return client


def _redirect_uri(request: Request, client: oidc.OidcClient) -> str:
    return client.config.redirect_uri or str(request.url_for("oidc_callback"))


@router.get("/login/oidc")
async def oidc_start(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    client = _oidc(request)
    url, pending = await client.authorization_url(
        redirect_uri=_redirect_uri(request, client), next_path=safe_next(next)
    )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        oidc.STATE_COOKIE,
        oidc.pack_state(pending, settings.secret_key),
        httponly=True,
        samesite="lax",
        secure=settings.cookies_secure,
        path="/login/oidc",
        max_age=oidc.STATE_MAX_AGE_SECONDS,
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
async def oidc_callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    loaded: SessionStateDep,
    code: str = "",
    state: str = "",
) -> Response:
    client = _oidc(request)
    pending = oidc.unpack_state(request.cookies.get(oidc.STATE_COOKIE), settings.secret_key)
    if not code or state != pending.state:
        return render(
            request,
            "login.html",
            _login_context(
                request,
                pending.next_path,
                error=msg.OIDC_BAD_CALLBACK,
            ),
            status_code=400,
        )
    claims = await client.exchange(code=code, redirect_uri=_redirect_uri(request, client), pending=pending)
    user = oidc.match_user(session=session, claims=claims, claim=client.config.user_claim)
    ip = client_ip(request)
    if user is None:
        record_event(
            session=session,
            actor_id=None,
            action="auth.login_failed",
            target_type="oidc_subject",
            target_id=str(claims.get("sub", ""))[:255],
            ip=ip,
            detail={"method": "oidc"},
        )
        return render(
            request,
            "login.html",
            _login_context(
                request,
                pending.next_path,
                error=msg.OIDC_NOT_ON_ROSTER,
            ),
            status_code=403,
        )
    stage, target = _after_first_factor(user, settings, pending.next_path)
    if stage == "full":
        record_sign_in(session, user, ip=ip, method="oidc")
    response = start_session(
        request,
        session=session,
        settings=settings,
        user=user,
        stage=stage,
        now=clock.now(),
        target=target,
        old=loaded,
    )
    response.delete_cookie(oidc.STATE_COOKIE, path="/login/oidc")
    return response
