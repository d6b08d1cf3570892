"""The object-permission service (`lms.authz`) fails closed, and keeps the record of what it refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, select

from lms import authz
from lms.audit.models import AuditEvent
from lms.core.db import SessionDep
from lms.permissions import ROUTE_POLICIES, RoutePolicy, Row, api_gate
from lms.roster.models import User
from tests.factories import bearer_secret


def _refusals(db_session: Session) -> list[AuditEvent]:
    db_session.expire_all()
    return list(db_session.exec(select(AuditEvent).where(AuditEvent.action == "authz.refused")))


def _bearer(db_session: Session, user: User, scopes: str) -> dict[str, str]:
    secret = bearer_secret(db_session, user, scopes, name="probe")
    db_session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_every_kind_has_a_rule() -> None:
    assert set(authz.RULES) == set(authz.Kind)


def test_a_kind_without_a_rule_is_refused_with_403_and_the_refusal_is_kept(
    app: Any, client: Any, world: Any, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = APIRouter(dependencies=[Depends(api_gate)])

    @probe.get("/api/v1/probe/{thing_id}")
    def load_unknown(thing_id: int, request: Request, session: SessionDep) -> dict[str, str]:
        thing = authz.load(
            "gradebook_export",  # type: ignore[arg-type]  # an unknown kind, on purpose
            thing_id,
            session=session,
            viewer=authz.viewer_of(request),
        )
        return {"secret": str(thing)}

    monkeypatch.setitem(ROUTE_POLICIES, ("GET", "/api/v1/probe/{thing_id}"), RoutePolicy(Row.OWN))
    app.include_router(probe)
    admin = world.users["admin"]
    response = client.get("/api/v1/probe/7", headers=_bearer(db_session, admin, "roster:read"))
    assert response.status_code == 403 and "secret" not in response.text
    [event] = _refusals(db_session)
    assert (event.actor_id, event.target_type, event.target_id) == (admin.id, "gradebook_export", "7")
    assert json.loads(event.detail or "{}") == {"reason": "unknown kind", "role": "admin"}


def test_a_role_outside_the_matrix_gets_404_and_the_refusal_is_kept(
    client: Any, world: Any, db_session: Session
) -> None:
    guardian = User(username="guardian-1", role="guardian", given_name="保護者", family_name="山田")
    db_session.add(guardian)
    db_session.commit()
    student = world.users["s-a1"]
    response = client.get(f"/api/v1/users/{student.id}", headers=_bearer(db_session, guardian, "roster:read"))
    assert response.status_code == 404 and "一郎" not in response.text
    [event] = _refusals(db_session)
    assert (event.actor_id, event.target_type, event.target_id) == (guardian.id, "user", str(student.id))
    assert json.loads(event.detail or "{}") == {"reason": "unknown role", "role": "guardian"}
    assert db_session.exec(select(AuditEvent).where(AuditEvent.action == "user.view")).first() is None


def test_an_ordinary_denial_is_not_a_refusal(client: Any, world: Any, db_session: Session) -> None:
    """404 for another school's student is the matrix working, not a gap in it: no authz.refused event."""
    teacher = world.users["t-b1"]
    response = client.get(
        f"/api/v1/users/{world.users['s-a1'].id}", headers=_bearer(db_session, teacher, "roster:read")
    )
    assert response.status_code == 404
    assert _refusals(db_session) == []


@pytest.mark.parametrize(
    ("kind", "object_id"),
    [
        (authz.Kind.CLASS, 999_999),
        (authz.Kind.ASSIGNMENT, 999_999),
        (authz.Kind.ATTEMPT, 999_999),
        (authz.Kind.STUDENT, 999_999),
        (authz.Kind.NOTEBOOK_COURSE, "no-such-course"),
        (authz.Kind.ATTEMPT_RESULTS, 999_999),
    ],
)
def test_board_gets_403_for_individuals_whether_or_not_they_exist(
    world: Any, db_session: Session, kind: authz.Kind, object_id: Any
) -> None:
    from lms.core.errors import Forbidden

    with pytest.raises(Forbidden):
        authz.load(kind, object_id, session=db_session, viewer=world.users["board"])
