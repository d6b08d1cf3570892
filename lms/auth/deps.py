"""FastAPI dependencies of the sign-in domain: settings, clock, client IP, the current user.

Pages and the JSON API resolve the user differently (pages: session cookie, redirect to the sign-in page;
API: bearer token or session cookie, 401 JSON), so there are two resolvers sharing one session loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from lms.auth import csrf
from lms.auth import messages as msg
from lms.auth.models import ApiToken
from lms.auth.service import authenticate_api_token
from lms.auth.sessions import SESSION_COOKIE, LoadedSession, load_session
from lms.core.clock import Clock, get_clock
from lms.core.db import SessionDep
from lms.core.errors import Forbidden, Unauthorized
from lms.core.settings import Settings
from lms.roster.models import User


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with (``async``: no I/O, so no thread-pool hop)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def client_ip(request: Request) -> str | None:
    """The client address as the server sees it (uvicorn's --proxy-headers fills it in behind a proxy)."""
    return request.client.host if request.client else None


@dataclass(frozen=True)
class UserView:
    """What pages show of the signed-in user: a plain snapshot, still usable after a rollback."""

    id: int | None
    username: str
    role: str
    display_name: str
    given_name: str


def remember_page_user(request: Request, user: User | None) -> None:
    """Record the page's user (and a snapshot of it for the templates and error pages)."""
    request.state.page_user = user
    request.state.page_user_view = (
        None
        if user is None
        else UserView(user.id, user.username, user.role, user.display_name, user.given_name)
    )


class LoginRequired(Unauthorized):
    """A page needs a signed-in user: the error handler redirects (to the sign-in page, or to the pending
    second-factor step) instead of showing 401."""

    def __init__(self, target: str | None = None) -> None:
        super().__init__()
        self.target = target


def pending_step(loaded: LoadedSession | None) -> str | None:
    """Where a half-signed-in session must go next."""
    if loaded is None:
        return None
    return {"mfa": "/login/mfa", "enroll": "/mfa/enroll"}.get(loaded.row.stage)


def current_session(
    request: Request, session: Session, settings: Settings, clock: Clock
) -> LoadedSession | None:
    """The browser's live session (any stage), or None (a plain function: it reads the database)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    loaded = load_session(session=session, raw=raw, settings=settings, now=clock.now())
    if loaded is None:
        request.state.session_expired = True
    return loaded


async def current_session_dep(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> LoadedSession | None:
    """Dependency form of `current_session`: only a request with a session cookie pays the thread-pool hop
    that the database lookup needs."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    return await run_in_threadpool(current_session, request, session, settings, clock)


SessionStateDep = Annotated[LoadedSession | None, Depends(current_session_dep)]


async def page_user(request: Request, loaded: SessionStateDep) -> User:
    """The fully signed-in user of a page request; otherwise redirect to sign-in."""
    if loaded is None or loaded.row.stage != "full":
        raise LoginRequired(pending_step(loaded))
    remember_page_user(request, loaded.user)
    return loaded.user


PageUser = Annotated[User, Depends(page_user)]


@dataclass
class Principal:
    """Who calls the JSON API: a user, through a browser session or an API token (with its scopes)."""

    user: User
    token: ApiToken | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has_scope(self, scope: str) -> bool:
        return self.token is None or scope in self.scopes


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def api_principal(
    request: Request, session: Session, settings: Settings, clock: Clock, loaded: LoadedSession | None
) -> Principal:
    """Bearer token first; else a fully signed-in browser session (unsafe methods need the CSRF header)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = _resolve_principal(request, session, settings, clock, loaded)
    request.state.principal = principal
    return principal


def _resolve_principal(
    request: Request, session: Session, settings: Settings, clock: Clock, loaded: LoadedSession | None
) -> Principal:
    secret = bearer_token(request)
    if secret is not None:
        found = authenticate_api_token(session=session, secret=secret, now=clock.now())
        if found is None:
            raise Unauthorized(msg.BAD_API_TOKEN)
        user, token = found
        return Principal(user=user, token=token, scopes=frozenset(token.scope_list))
    check_browser_session(request, None if loaded is None else loaded.row.stage, settings)
    assert loaded is not None
    return Principal(user=loaded.user)


def check_browser_session(request: Request, stage: str | None, settings: Settings) -> None:
    """The API's rule for a browser session (``stage`` None: no live session): fully signed in, and an
    unsafe method carries the session's CSRF token in its header."""
    if stage != "full":
        raise Unauthorized(msg.SIGN_IN_OR_TOKEN)
    if request.method in csrf.UNSAFE_METHODS:
        csrf.check_token(request, request.headers.get(csrf.HEADER), settings)


async def api_principal_dep(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, loaded: SessionStateDep
) -> Principal:
    """Dependency form of `api_principal`.  The API gate has usually resolved (and cached) the principal
    already; a browser session needs no I/O; only a bearer token is looked up on the thread pool."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    if bearer_token(request) is None:
        return api_principal(request, session, settings, clock, loaded)
    return await run_in_threadpool(api_principal, request, session, settings, clock, loaded)


ApiPrincipal = Annotated[Principal, Depends(api_principal_dep)]


async def require_session_principal(principal: ApiPrincipal) -> Principal:
    """Routes that an API token may not use (e.g. minting more tokens)."""
    if principal.token is not None:
        raise Forbidden(msg.BROWSER_ONLY)
    return principal


__all__ = [
    "ApiPrincipal",
    "ClockDep",
    "LoginRequired",
    "PageUser",
    "Principal",
    "SessionDep",
    "SessionStateDep",
    "SettingsDep",
    "bearer_token",
    "check_browser_session",
    "client_ip",
    "current_session",
    "current_session_dep",
    "page_user",
]
