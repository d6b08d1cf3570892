"""The portal's membership (NRPS, served by the platform library) compared with the class roster."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from lms.lti import nrps
from lms.lti.keys import tool_signing_key
from lms.lti.services_token import SCOPE_NRPS, TokenCache, TokenEndpoint, TokenRefused, ToolKey
from lms.roster.models import Enrollment, User
from tests.factories import pk
from tests.lti.portal import Portal, register_portal
from tests.lti.services_platform import Member

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def read_members(db_session: Session, portal: Portal, cache: TokenCache | None = None) -> list[nrps.Member]:
    kid, private_key = tool_signing_key(db_session)
    endpoint = TokenEndpoint(token_url=portal.platform.token_url, client_id=portal.row.client_id)
    with TestClient(portal.platform.app) as http:
        token = (cache or TokenCache()).get(
            http, endpoint=endpoint, key=ToolKey(kid, private_key), scopes=[SCOPE_NRPS]
        )
        return nrps.fetch_members(http, url=portal.platform.memberships_url, token=token)


def portal_of_class_a1(db_session: Session, world: Any) -> Portal:
    portal = register_portal(db_session, world.classes["A1"])
    portal.link(db_session, world.users["s-a1"], sub="lti-s-a1")
    world.users["t-a1"].sourced_id = "user-t-a1"
    db_session.add(world.users["t-a1"])
    db_session.commit()
    portal.platform.members = [
        Member("lti-s-a1", [INSTRUCTOR], name="山田 一郎"),  # linked by a launch; the portal says teacher
        Member("lti-t-a1", [INSTRUCTOR], name="先生A", lis_person_sourcedid="user-t-a1"),
        Member("lti-new", [LEARNER], name="転入 太郎"),  # nobody here
        Member("lti-gone", [LEARNER], name="転出 花子", status="Inactive"),  # not a member any more
    ]
    return portal


def test_the_membership_is_read_and_the_differences_reported(db_session: Session, world: Any) -> None:
    portal = portal_of_class_a1(db_session, world)
    members = read_members(db_session, portal)
    assert {m.user_id: m.role for m in members} == {
        "lti-s-a1": "teacher",
        "lti-t-a1": "teacher",
        "lti-new": "student",
        "lti-gone": "student",
    }
    users_before = db_session.exec(select(func.count()).select_from(User)).one()
    enrolments_before = db_session.exec(select(func.count()).select_from(Enrollment)).one()
    result = nrps.reconcile(
        session=db_session, platform_id=pk(portal.row), class_id=pk(world.classes["A1"]), members=members
    )
    assert [m.user_id for m in result.only_in_portal] == ["lti-new"]
    assert [p.user.username for p in result.only_here] == ["s-a1b"]
    assert [(m.user_id, p.user.username, p.role) for m, p in result.role_differs] == [
        ("lti-s-a1", "s-a1", "student")
    ]
    assert result.matched == 2 and not result.in_step
    # report only: nobody created, enrolled or disabled
    assert db_session.exec(select(func.count()).select_from(User)).one() == users_before
    assert db_session.exec(select(func.count()).select_from(Enrollment)).one() == enrolments_before
    assert all(u.enabled for u in db_session.exec(select(User)))


def test_a_refused_token_is_named(db_session: Session, world: Any) -> None:
    portal = portal_of_class_a1(db_session, world)
    portal.platform.refuse_tokens = True
    with pytest.raises(TokenRefused):
        read_members(db_session, portal)
