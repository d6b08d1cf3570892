"""CSRF protection for every form POST of the pages.

The token is an HMAC of the session cookie (or, before sign-in, of a random pre-session cookie) with the
server secret: one token per session, sent in a hidden field ``csrf_token`` and checked by `verify_csrf`,
a dependency of the whole pages router. The JSON API authenticates with bearer tokens and is exempt; a
browser calling the API with its session cookie must send the same token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from lms.auth import messages as msg
from lms.auth.sessions import SESSION_COOKIE
from lms.core.errors import Forbidden
from lms.core.settings import Settings

PRE_SESSION_COOKIE = "giga_pre"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _binding(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_SESSION_COOKIE)


def token_for(binding: str, settings: Settings) -> str:
    return hmac.new(settings.secret_key.encode(), ("csrf:" + binding).encode(), hashlib.sha256).hexdigest()


def ensure_token(request: Request, response: Response, settings: Settings) -> str:
    """The token to embed in a form; sets the pre-session cookie when the browser has no cookie yet."""
    binding = getattr(request.state, "csrf_binding", None) or _binding(request)
    if binding is None:
        binding = secrets.token_urlsafe(32)
        response.set_cookie(
            PRE_SESSION_COOKIE,
            binding,
            httponly=True,
            samesite="lax",
            secure=settings.cookies_secure,
            path="/",
        )
    request.state.csrf_binding = binding
    return token_for(binding, settings)


def check_token(request: Request, supplied: str | None, settings: Settings) -> None:
    """Raise Forbidden unless ``supplied`` is the token of this browser's session."""
    binding = _binding(request)
    if not supplied or binding is None or not hmac.compare_digest(supplied, token_for(binding, settings)):
        raise Forbidden(msg.FORM_EXPIRED)


async def verify_csrf(request: Request) -> None:
    """Dependency of every page router: an unsafe method must carry this session's token in the form."""
    if request.method not in UNSAFE_METHODS:
        return
    settings: Settings = request.app.state.settings
    supplied: str | None = None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        supplied = value if isinstance(value, str) else None
    else:
        supplied = request.headers.get(HEADER)
    check_token(request, supplied, settings)
