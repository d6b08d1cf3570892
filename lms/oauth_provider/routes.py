"""``/oauth/authorize`` (browser, uses the LMS session), ``/api/v1/oauth/token`` and
``/api/v1/oauth/userinfo`` (called by the hub, server to server: JSON API paths, no CSRF form check).

Row of the permission matrix: public (each endpoint authenticates on its own: the browser session, the client
secret, the access token).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from lms.auth.deps import ClockDep, SessionStateDep, remember_page_user
from lms.core.db import SessionDep
from lms.core.settings import get_settings
from lms.notebooks.service import hub_groups
from lms.oauth_provider import service
from lms.oauth_provider.settings import OAuthProviderSettings
from lms.permissions import page_gate

router = APIRouter(dependencies=[Depends(page_gate)], include_in_schema=False)


def get_oauth_settings() -> OAuthProviderSettings:
    """The process's ``oauth`` settings section (tests override the dependency)."""
    return get_settings().oauth


OAuthSettingsDep = Annotated[OAuthProviderSettings, Depends(get_oauth_settings)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(error: service.OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if error.status_code == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status_code,
        headers=headers,
    )


@router.get("/oauth/authorize")
def authorize(
    request: Request,
    session: SessionDep,
    settings: OAuthSettingsDep,
    clock: ClockDep,
    loaded: SessionStateDep,
    client_id: str | None = None,
    redirect_uri: str | None = None,
    response_type: str | None = None,
    state: str | None = None,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> Response:
    checked = service.validate_authorize(
        settings=settings,
        client_id=client_id,
        redirect_uri=redirect_uri,
        response_type=response_type,
        state=state,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
    )
    if loaded is None or loaded.row.stage != "full":
        back = request.url.path + "?" + request.url.query
        return RedirectResponse("/login?next=" + quote(back, safe=""), status_code=303)
    user = loaded.user
    remember_page_user(request, user)
    code = service.issue_code(
        session=session,
        settings=settings,
        request=checked,
        user=user,
        now=clock.now(),
        allowed=bool(hub_groups(session, user)),
    )
    query = urlencode({"code": code, "state": checked.state})
    return RedirectResponse(f"{checked.redirect_uri}?{query}", status_code=303)


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:
        return None, None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else (None, None)


@router.post("/api/v1/oauth/token")
def token(
    request: Request,
    session: SessionDep,
    settings: OAuthSettingsDep,
    clock: ClockDep,
    grant_type: Annotated[str | None, Form()] = None,
    code: Annotated[str | None, Form()] = None,
    redirect_uri: Annotated[str | None, Form()] = None,
    code_verifier: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> Response:
    basic_id, basic_secret = _basic_credentials(request)
    try:
        client = service.authenticate_client(
            settings=settings,
            client_id=basic_id or client_id,
            client_secret=basic_secret if basic_id else client_secret,
        )
        access_token, lifetime = service.exchange_code(
            session=session,
            settings=settings,
            client=client,
            grant_type=grant_type,
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            now=clock.now(),
        )
    except service.OAuthError as error:
        # returned, not raised: the request's session still commits (a failed try burns the code, and a
        # replayed code's tokens stay revoked)
        return _oauth_error(error)
    body: dict[str, Any] = {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime}
    return JSONResponse(body, headers=NO_STORE)


@router.get("/api/v1/oauth/userinfo")
def userinfo(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    try:
        user = service.user_for_token(
            session=session, token=value.strip() if scheme.lower() == "bearer" else None, now=clock.now()
        )
    except service.OAuthError as error:
        return _oauth_error(error)
    body = {"name": user.username, "groups": hub_groups(session, user), "admin": False}
    return JSONResponse(body, headers=NO_STORE)
