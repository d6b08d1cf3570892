"""Helpers of the reading-test delivery tests: a class with a CAT assignment, signed-in API calls."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from lms.auth.csrf import token_for
from lms.auth.sessions import SESSION_COOKIE


def make_assignment(
    db_session: Session,
    world: Any,
    clock: Any,
    *,
    class_key: str = "A1",
    kind: str = "cat",
    skills: tuple[str, ...] = ("DEP", "ANA"),
    min_items: int = 3,
    max_items: int = 4,
    item_ids: tuple[str, ...] = (),
    time_limit_s: int | None = None,
    closes_in: timedelta | None = timedelta(hours=1),
    accommodations: dict[int, Any] | None = None,
    student_ids: list[int] | None = None,
) -> Any:
    from lms.reading import authoring

    assessment = authoring.create_assessment(
        session=db_session,
        title="読解力テスト",
        kind=kind,
        skills=skills,
        min_items=min_items,
        max_items=max_items,
        item_ids=item_ids,
        time_limit_s=time_limit_s,
        created_by=world.users["t-a1"],
    )
    now = clock.now()
    assignment = authoring.create_assignment(
        session=db_session,
        assessment=assessment,
        class_=world.classes[class_key],
        now=now,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + closes_in if closes_in else None,
        student_ids=student_ids,
        accommodations=accommodations,
        created_by=world.users["t-a1"],
    )
    db_session.commit()
    return assignment


def csrf_headers(client: Any, settings: Any) -> dict[str, str]:
    return {"X-CSRF-Token": token_for(client.cookies.get(SESSION_COOKIE), settings)}


def new_event_id() -> str:
    return str(uuid.uuid4())


def answer_body(
    item: dict[str, Any], option: str | None = None, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "client_event_id": event_id or new_event_id(),
        "item_id": item["item_id"],
        "answer": [option or item["options"][0]["id"]],
        "response_time_ms": 4200,
        "position": 0,
        "accommodations": {"read_aloud": False},
        "device_hint": "test-chromebook",
    }
