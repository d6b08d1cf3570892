"""The picker's service: a ticket of the teacher, the choices, the assignment made by the teaching service,
the reply the platform verifies — and the refusals (another teacher, a spent ticket, an unknown choice)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.core.db import utc_now
from lms.core.errors import Forbidden, InvalidInput, NotFound
from lms.lti import deep_link_service as dls
from lms.lti.deep_linking import DeepLinkingSettings
from lms.lti.service_models import LtiLineItem
from lms.reading.models import Assessment, Assignment
from tests.factories import pk
from tests.lti.portal import Portal, register_portal
from tests.lti.services_platform import tool_key_and_jwks


def ticket_for(db_session: Session, portal: Portal, user: Any) -> str:
    settings = DeepLinkingSettings(
        return_url=portal.platform.deep_link_return_url, accept_types=("ltiResourceLink",), data="state-9"
    )
    secret = dls.new_ticket(
        session=db_session,
        user=user,
        context=portal.context,
        deployment_id=portal.platform.deployment_id,
        settings=settings,
        now=utc_now(),
    )
    db_session.commit()
    return secret


def test_the_teacher_links_a_practice_set_and_the_platform_accepts_it(
    db_session: Session, world: Any
) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    key, jwks = tool_key_and_jwks()
    portal.platform.tool_jwks = jwks
    teacher = world.users["t-a1"]
    secret = ticket_for(db_session, portal, teacher)
    now = utc_now()
    opened = dls.open_ticket(session=db_session, secret=secret, user=teacher, now=now)
    offered = dls.choices(klass=opened.klass, now=now)
    assert (
        offered[0].key == "test"
        and offered[0].title.startswith("読解力テスト（")
        and "学期）" in offered[0].title
    )
    practice = next(c for c in offered if c.key.startswith("practice-"))
    reply = dls.create_link(
        session=db_session,
        opened=opened,
        user=teacher,
        choice_key=practice.key,
        tool_origin="https://tool.test",
        now=now,
        ip=None,
        key=key,
    )
    db_session.commit()
    assignment = db_session.get(Assignment, reply.assignment_id)
    assert assignment is not None and assignment.class_id == pk(world.classes["A1"])
    assessment = db_session.get(Assessment, assignment.assessment_id)
    assert assessment is not None and assessment.kind == "practice" and assessment.item_ids
    line_item = db_session.exec(select(LtiLineItem)).one()
    assert line_item.score_maximum == len(assessment.item_ids)
    actions = db_session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert "assignment.create" in actions and "lti.deep_link" in actions  # the assign form's audit, and ours
    with TestClient(portal.platform.app) as http:
        assert http.post(reply.return_url, data={"JWT": reply.jwt}).status_code == 200
    [items] = portal.platform.deep_links
    assert items[0]["custom"]["giga_target"] == f"/test/{assignment.id}"
    # the ticket is spent: a second choice is refused
    with pytest.raises(NotFound):
        dls.open_ticket(session=db_session, secret=secret, user=teacher, now=now)


def test_only_the_tickets_teacher_within_its_lifetime(db_session: Session, world: Any) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    secret = ticket_for(db_session, portal, world.users["t-a1"])
    with pytest.raises(Forbidden):
        dls.open_ticket(session=db_session, secret=secret, user=world.users["t-b1"], now=utc_now())
    with pytest.raises(NotFound):
        dls.open_ticket(
            session=db_session, secret=secret, user=world.users["t-a1"], now=utc_now() + timedelta(hours=1)
        )
    with pytest.raises(NotFound):
        dls.open_ticket(session=db_session, secret="guess", user=world.users["t-a1"], now=utc_now())


def test_an_unknown_choice_creates_nothing(db_session: Session, world: Any) -> None:
    portal = register_portal(db_session, world.classes["A1"])
    teacher = world.users["t-a1"]
    opened = dls.open_ticket(
        session=db_session, secret=ticket_for(db_session, portal, teacher), user=teacher, now=utc_now()
    )
    with pytest.raises(InvalidInput):
        dls.create_link(
            session=db_session,
            opened=opened,
            user=teacher,
            choice_key="practice-NOPE",
            tool_origin="https://tool.test",
            now=utc_now(),
            ip=None,
        )
    assert db_session.exec(select(func.count()).select_from(Assignment)).one() == 0
