"""Writing to the audit log (append-only)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from lms.audit.models import AuditEvent


def record_event(
    *,
    session: Session,
    actor_id: int | None,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event and flush (the caller's transaction commits it with the work it describes)."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=ip,
        detail=None
        if detail is None
        else json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    session.flush()
    return event
