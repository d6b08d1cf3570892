"""Per-worker concurrency limits (pure ASGI): nobody can make a worker queue more work than it can finish.

- All requests: at most ``max_concurrent_requests`` at once per worker (its database pool's size); one more
  gets a 503 at once, a Japanese page or JSON, with ``Retry-After`` — instead of waiting for a connection
  or a thread that the requests before it hold.  /healthz and /metrics are never limited, so that health
  checks and monitoring see the worker as it is.
- Sign-ins (POST /login and /login/mfa; each may compute an argon2 hash, 19 MiB and ~25 ms of CPU): per
  client address, ``max_concurrent_sign_ins_per_client`` at once and ``max_queued_sign_ins_per_client``
  waiting for their turn (a class behind one school NAT signs in together); beyond that 429 at once.
  The default of 2 at once was chosen by measurement (docs/performance.md, issue 22): 1 refused a quarter
  of a class of 40, more than the CPUs slowed the other addresses' sign-ins without letting more in.  A flood
  from one address therefore leaves the other addresses' sign-ins untouched.  The address is the one
  uvicorn resolved: the X-Forwarded-For of a trusted proxy only (``GIGA_TRUSTED_PROXIES``).
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Receive, Scope, Send

UNLIMITED_PATHS = frozenset({"/healthz", "/metrics"})
SIGN_IN_PATHS = frozenset({"/login", "/login/mfa"})
SIGN_IN_WAIT_SECONDS = 10.0
RETRY_AFTER_SECONDS = 5

BUSY_MESSAGE = "ただいま混み合っています。少し待ってから、もう一度お試しください。"
SIGN_IN_BUSY_MESSAGE = (
    "この場所からのサインインが集中しています。少し待ってから、もう一度サインインしてください。"
)


def _page(status: int, title: str, message: str) -> bytes:
    return (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="/static/app.css"></head>'
        f'<body><main id="main"><h1>{title}</h1><p>{message}</p>'
        '<p><a href="/">もう一度ためす</a></p></main></body></html>'
    ).encode()


def _wants_json(scope: Scope) -> bool:
    if scope["path"].startswith("/api/"):
        return True
    for name, value in scope.get("headers", ()):
        if name in (b"accept", b"content-type") and b"application/json" in value:
            return True
    return False


async def refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    """Answer ``status`` with ``message`` (JSON for API clients, else a small page) and Retry-After."""
    if _wants_json(scope):
        body = json.dumps({"detail": message}, ensure_ascii=False).encode()
        content_type = b"application/json"
    else:
        title = "いまは使えません" if status == 503 else "しばらく待ってください"
        body = _page(status, title, message)
        content_type = b"text/html; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _ClientGate:
    __slots__ = ("semaphore", "users")

    def __init__(self, running: int) -> None:
        self.semaphore = asyncio.Semaphore(running)
        self.users = 0


class ConcurrencyLimitMiddleware:
    """The two limits above; state is per worker process (no database, no lock held across an await)."""

    def __init__(
        self, app: ASGIApp, *, max_requests: int, sign_ins_per_client: int, queued_sign_ins_per_client: int
    ) -> None:
        self.app = app
        self.max_requests = max_requests
        self.sign_ins_per_client = sign_ins_per_client
        self.queued_sign_ins_per_client = queued_sign_ins_per_client
        self.in_flight = 0
        self._gates: dict[str, _ClientGate] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"] in SIGN_IN_PATHS:
            await self._sign_in(scope, receive, send)
            return
        await self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.max_requests and self.in_flight >= self.max_requests:
            await refuse(scope, send, 503, BUSY_MESSAGE)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _sign_in(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        key = client[0] if client else "unknown"
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = _ClientGate(self.sign_ins_per_client)
        if gate.users >= self.sign_ins_per_client + self.queued_sign_ins_per_client:
            await refuse(scope, send, 429, SIGN_IN_BUSY_MESSAGE)
            return
        gate.users += 1
        try:
            try:
                async with asyncio.timeout(SIGN_IN_WAIT_SECONDS):
                    await gate.semaphore.acquire()
            except TimeoutError:
                await refuse(scope, send, 429, SIGN_IN_BUSY_MESSAGE)
                return
            try:
                await self._limited(scope, receive, send)
            finally:
                gate.semaphore.release()
        finally:
            gate.users -= 1
            if gate.users == 0:
                self._gates.pop(key, None)
