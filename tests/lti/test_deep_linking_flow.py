"""Deep linking and grades end to end against the real platform (tests/lti/platform.py, served by uvicorn):
a teacher's deep-linking launch → the picker → the assignment for the context's class → the signed reply the
platform verifies; then a student's launch of that link → the test → the score in the platform's records."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from lms.auth.models import AuthSession
from lms.lti import score_sender
from lms.lti.ags import SCALE_MAXIMUM
from lms.lti.keys import public_jwks
from lms.lti.models import LtiPlatform
from lms.lti.service_models import LtiDeepLinkTicket, LtiLineItem
from lms.lti.services_token import SCOPE_LINEITEM, SCOPE_RESULT_READONLY, SCOPE_SCORE, TokenCache
from lms.reading.models import Assignment
from tests.conftest import RosterCity
from tests.lms.assessments_helpers import answer_body, csrf_headers
from tests.lti.conftest import launch
from tests.lti.platform import INSTRUCTOR, LTI, LaunchSpec, TestPlatform

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLASS = "cls-es-3-1"  # the roster class the portal's context id names (matched by sourcedId)


def deep_linking_spec(platform: TestPlatform, *, sub: str, sourced_id: str, roles: list[str]) -> LaunchSpec:
    return LaunchSpec(
        sub=sub,
        roles=roles,
        context_id=CLASS,
        lis={"person_sourcedid": sourced_id},
        extra_claims={
            LTI + "message_type": "LtiDeepLinkingRequest",
            DL + "deep_linking_settings": {
                "deep_link_return_url": platform.services.deep_link_return_url,
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "data": "portal-state-7",
            },
            AGS: {
                "scope": [SCOPE_LINEITEM, SCOPE_RESULT_READONLY, SCOPE_SCORE],
                "lineitems": platform.services.lineitems_url,
            },
        },
    )


def follow(client: Any, response: Any) -> Any:
    while response.status_code in (302, 303):
        response = client.get(response.headers["location"], follow_redirects=False)
    return response


def open_teacher_picker(client: Any, platform: TestPlatform) -> Any:
    """The teacher tch-es-1's deep-linking launch from the class's context, followed to the picker page."""
    launched = launch(
        client,
        platform,
        deep_linking_spec(platform, sub="portal-t1", sourced_id="tch-es-1", roles=[INSTRUCTOR]),
    )
    picker = follow(client, launched.response)
    assert picker.status_code == 200, picker.text[:500]
    return picker


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TICKET = re.compile(r'name="t" value="([^"]+)"')
RETURN = re.compile(
    r'<form method="post" action="([^"]+)" id="deep-link-return">\s*'
    r'<input type="hidden" name="JWT" value="([^"]+)"'
)


def count(session: Session, model: type[SQLModel]) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_teacher_links_the_term_test_and_the_students_score_reaches_the_portal(
    client: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
    engine: Any,
    settings: Any,
) -> None:
    platform.services.tool_jwks = public_jwks(db_session)  # what the platform read from /lti/jwks.json
    db_session.commit()
    teacher = roster_city.user("tch-es-1")
    picker = open_teacher_picker(client, platform)
    assert "読解力テスト（" in picker.text and "練習セット" in picker.text
    csrf, ticket = CSRF.search(picker.text), TICKET.search(picker.text)
    assert csrf and ticket
    reply = client.post(
        "/lti/deep-link", data={"csrf_token": csrf.group(1), "t": ticket.group(1), "choice": "test"}
    )
    assert reply.status_code == 200, reply.text[:500]
    found = RETURN.search(reply.text)
    assert found is not None, reply.text[:800]
    action, token = unescape(found.group(1)), unescape(found.group(2))
    assert action == platform.services.deep_link_return_url

    # the browser auto-posts the reply: the platform verifies it against the tool's key
    accepted = httpx.post(action, data={"JWT": token}, timeout=10)
    assert accepted.status_code == 200, accepted.text
    [items] = platform.services.deep_links
    klass = roster_city.klass(CLASS)
    assignment = db_session.exec(select(Assignment).order_by(col(Assignment.id).desc())).first()
    assert (
        assignment is not None
        and assignment.class_id == klass.id
        and assignment.title.startswith("読解力テスト（")
    )
    assert assignment.created_by_id == teacher.id
    assert items[0]["custom"]["giga_assignment_id"] == str(assignment.id)
    [line_item] = platform.services.line_items.values()
    assert (
        line_item["resourceId"] == f"giga-assignment-{assignment.id}"
        and line_item["scoreMaximum"] == SCALE_MAXIMUM
    )
    assert db_session.exec(select(LtiLineItem)).one().assignment_id == assignment.id
    assert db_session.exec(select(LtiDeepLinkTicket)).one().used_at is not None

    # a student opens the link in the portal: the launch names the assignment and the line item
    client.cookies.clear()
    student_spec = LaunchSpec(
        sub="portal-s1",
        context_id=CLASS,
        lis={"person_sourcedid": "stu-es-1"},
        custom=items[0]["custom"],
        extra_claims={AGS: {"scope": [SCOPE_SCORE], "lineitem": line_item["id"]}},
    )
    opened = follow(client, launch(client, platform, student_spec, hint="hint-student").response)
    assert opened.status_code == 200
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    while not view.get("finished"):
        view = client.post(
            f"/api/v1/attempts/{view['attempt_id']}/answers",
            json=answer_body(view["items"][0]),
            headers=headers,
        ).json()
    with httpx.Client(timeout=10) as http:
        report = score_sender.send_once(engine=engine, client=http, cache=TokenCache())
    assert (report.sent, report.failed) == (1, 0), report.errors
    [(scored_item, score)] = platform.services.scores
    assert scored_item == line_item["id"] and score["userId"] == "portal-s1"
    assert 0 < score["scoreGiven"] < SCALE_MAXIMUM and "95%の範囲" in score["comment"]


def test_a_students_deep_linking_launch_is_refused_and_creates_nothing(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    before = {m.__name__: count(db_session, m) for m in (Assignment, LtiDeepLinkTicket, AuthSession)}
    spec = deep_linking_spec(
        platform,
        sub="portal-s1",
        sourced_id="stu-es-1",
        roles=["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    )
    refused = launch(client, platform, spec).response
    assert refused.status_code == 403
    assert "先生だけ" in refused.text and 'data-lti-refusal="dl_not_teacher"' in refused.text
    assert {m.__name__: count(db_session, m) for m in (Assignment, LtiDeepLinkTicket, AuthSession)} == before
