"""Let the registered portals frame the tool (``frame-ancestors``), and nobody else.

The app's security headers forbid framing (``frame-ancestors 'none'``, X-Frame-Options DENY). A response to
a request from inside a portal's iframe — the LTI pages themselves, or any page once a launch has set the
partitioned marker cookie ``giga_lti`` (sent only inside that portal's iframe) — instead allows ``'self'``
and the origins of the registered platforms (issuer and authorization endpoint) plus
``GIGA_LTI_FRAME_ANCESTORS``, and drops X-Frame-Options (it cannot name origins; CSP wins where both exist).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Lock
from urllib.parse import urlsplit

import anyio
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lms.lti.models import LtiPlatform

EMBED_COOKIE = "giga_lti"
REFRESH_SECONDS = 60.0


def origin(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def platform_origins(session: Session) -> set[str]:
    """Origins of every registered platform's issuer and authorization endpoint."""
    found: set[str] = set()
    for issuer, login in session.exec(select(LtiPlatform.issuer, LtiPlatform.auth_login_url)).all():
        found.update(o for o in (origin(issuer), origin(login)) if o)
    return found


class AncestorCache:
    """The allowed origins, read from the database at most once a minute per process."""

    def __init__(self, load: Callable[[], set[str]], extra: str = "") -> None:
        self._load = load
        self._extra = {o for o in (origin(part) for part in extra.split()) if o}
        self._value: tuple[str, ...] = ()
        self._at = -REFRESH_SECONDS
        self._lock = Lock()

    def refresh(self) -> tuple[str, ...]:
        with self._lock:
            if time.monotonic() - self._at >= REFRESH_SECONDS:
                try:
                    loaded = self._load()
                except Exception:
                    loaded = set()
                self._value = tuple(sorted(loaded | self._extra))
                self._at = time.monotonic()
            return self._value

    def invalidate(self) -> None:
        with self._lock:
            self._at = -REFRESH_SECONDS


def engine_loader(engine: Engine) -> Callable[[], set[str]]:
    def load() -> set[str]:
        with Session(engine) as session:
            return platform_origins(session)

    return load


def _embedded(scope: Scope) -> bool:
    if str(scope.get("path", "")).startswith("/lti/"):
        return True
    marker = EMBED_COOKIE.encode() + b"="
    for name, value in scope.get("headers", ()):
        if name == b"cookie" and any(part.strip().startswith(marker) for part in value.split(b";")):
            return True
    return False


class LtiFramingMiddleware:
    """Outermost middleware: rewrites the framing headers of embedded responses on their way out."""

    def __init__(self, app: ASGIApp, *, cache: AncestorCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _embedded(scope):
            await self.app(scope, receive, send)
            return
        ancestors = await anyio.to_thread.run_sync(self.cache.refresh)
        allowed = " ".join(("'self'", *ancestors)).encode()

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for name, value in message.get("headers", ()):
                    if name.lower() == b"x-frame-options":
                        continue
                    if name.lower() == b"content-security-policy":
                        value = value.replace(b"frame-ancestors 'none'", b"frame-ancestors " + allowed)
                    headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, rewrite)
