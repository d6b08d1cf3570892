"""One pure ASGI middleware for the request metrics and the JSON access log (no BaseHTTPMiddleware: no
extra task, no body buffering; a few microseconds per request).

Per HTTP request: the status is read from ``http.response.start``; when the app returns (or raises: then
500), the route template that Starlette matched (``scope["route"]``) labels the counters.  With JSON logs on,
a request id (the proxy's ``X-Request-ID`` when it is sane, else a new one) is set for the request's log
records, sent back as ``X-Request-ID``, and one access line is written.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from sqlalchemy import inspect as sa_inspect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lms.ops import metrics
from lms.ops.logging import ACCESS_LOGGER, request_id_var, user_hash

UNMATCHED = "<unmatched>"
_REQUEST_ID_RE = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_access = logging.getLogger(ACCESS_LOGGER)


class OpsMiddleware:
    """Count and time every HTTP request by route template; log it as JSON when ``json_logs``."""

    def __init__(self, app: ASGIApp, *, json_logs: bool = False, secret: str = "") -> None:
        self.app = app
        self.json_logs = json_logs
        self.secret = secret
        self._children: dict[tuple[str, str, int], Any] = {}

    def _observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metrics.REQUESTS.labels(method, route, str(status))
        child.observe(seconds)
        if 200 <= status < 300:
            if (method, route) == metrics.ANSWER_ROUTE:
                metrics.ANSWERS_SAVED.inc()
            elif (method, route) == metrics.START_ROUTE:
                metrics.TEST_STARTS.inc()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id: bytes | None = None
        token = None
        if self.json_logs:
            request_id = _incoming_request_id(scope) or os.urandom(8).hex().encode()
            token = request_id_var.set(request_id.decode())

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if request_id is not None:
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            route_obj = scope.get("route")
            route = getattr(route_obj, "path", None) or UNMATCHED
            method = scope["method"]
            self._observe(method, route, status, seconds)
            if self.json_logs:
                self._log(scope, method, route, status, seconds)
                if token is not None:
                    request_id_var.reset(token)

    def _log(self, scope: Scope, method: str, route: str, status: int, seconds: float) -> None:
        fields: dict[str, Any] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        user_id = _user_id(scope)
        if user_id is not None:
            fields["user"] = user_hash(user_id, self.secret)
        level = logging.ERROR if status >= 500 else logging.INFO
        if _access.isEnabledFor(level):  # makeRecord + handle: Logger.log would also walk the stack
            record = _access.makeRecord(
                ACCESS_LOGGER, level, __file__, 0, "%s %s %d", (method, route, status), None,
                extra={"fields": fields},
            )  # fmt: skip
            _access.handle(record)


def _incoming_request_id(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return value if _REQUEST_ID_RE.match(value) else None
    return None


def _user_id(scope: Scope) -> int | None:
    """The signed-in user the app recorded on ``request.state`` (page user or API principal), if any.

    Read without touching the database: the request's session is closed by now, so the ORM object's
    identity key is used, never an attribute load."""
    state = scope.get("state")
    if not state:
        return None
    if state.get("user_id") is not None:  # set by a handler that resolved its caller itself (answers)
        return int(state["user_id"])
    view = state.get("page_user_view")
    if view is not None and getattr(view, "id", None) is not None:
        return int(view.id)
    principal = state.get("principal")
    user = getattr(principal, "user", None) if principal is not None else state.get("page_user")
    if user is None:
        return None
    identity = getattr(sa_inspect(user, raiseerr=False), "identity", None)
    return int(identity[0]) if identity else None
