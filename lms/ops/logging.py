"""Structured logs: with ``GIGA_LOG_FORMAT=json`` every log record is one JSON line on stderr.

Fields: ``time`` (UTC, ms), ``level``, ``logger``, ``message``, the ``request_id`` of the request being served
(if any), plus the record's own fields — the access log (`lms.ops.middleware`) adds ``method``, ``route``
(the template, never the raw path), ``status``, ``duration_ms`` and ``user`` (a keyed hash of the user id:
never a name, a path with ids, or an answer).  uvicorn's own access log is switched off in JSON mode, so each
request is logged once.  Text mode leaves logging as uvicorn and Python set it up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("giga_request_id", default=None)
ACCESS_LOGGER = "lms.access"


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record (``ensure_ascii=False``: Japanese messages stay readable)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            out["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"), default=str)


def user_hash(user_id: int, secret: str) -> str:
    """A keyed, stable pseudonym of a user id for logs (HMAC-SHA256, 16 hex digits)."""
    return hmac.new(secret.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


def configure_logging(log_format: str, *, stream: Any = None) -> None:
    """Install the JSON handler on the root logger (``json``); leave everything alone for ``text``."""
    if log_format != "json":
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.set_name("giga-json")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "giga-json":
            root.removeHandler(old)
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own messages, as JSON through the root
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")  # ours replaces it: one line per request, no raw paths
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
