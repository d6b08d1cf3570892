"""Security headers on every response (issue 15), as one pure ASGI middleware (no body buffering).

- Content-Security-Policy: scripts only from this origin (no inline script, no ``javascript:`` URL runs,
  no eval), nothing from elsewhere, no plugins, no framing (``frame-ancestors 'none'``).  Inline *styles*
  stay allowed: a few templates colour cells from data (heat maps); CSS cannot run script.
- X-Frame-Options DENY (older browsers), X-Content-Type-Options nosniff, Referrer-Policy same-origin (URLs
  carry class and student ids: they do not leave for other sites), a Permissions-Policy that turns off the
  device features the LMS never uses, and in production Strict-Transport-Security.
- /docs and /redoc (off in production unless GIGA_API_DOCS) load FastAPI's documentation pages from a CDN
  with an inline start-up script: they get a policy that allows exactly that.
A header the application already set is left as it is.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "midi=(), magnetometer=(), gyroscope=(), accelerometer=(), display-capture=()"
)
HSTS = "max-age=31536000"


def security_headers(*, production: bool, docs: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", (DOCS_POLICY if docs else CONTENT_SECURITY_POLICY).encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    ]
    if production:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.headers = security_headers(production=production)
        self.docs_headers = security_headers(production=production, docs=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs_headers if scope["path"] in DOCS_PATHS else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                message["headers"] = [
                    *message.get("headers", ()),
                    *(header for header in extra if header[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
