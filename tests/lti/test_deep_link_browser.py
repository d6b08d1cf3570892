"""Real browser: a teacher adds the term's reading test from the portal's page, with the tool in an iframe
and third-party cookies blocked (the fixtures of test_iframe_browser.py): the picker's form works on the
partitioned cookie, the signed reply auto-posts to the portal, which verifies it; the assignment is the
context's class's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select

from lms.lti.keys import public_jwks
from lms.reading.models import Assignment
from tests.lms.conftest import cheap_password_hashing, world  # noqa: F401
from tests.lti.platform import INSTRUCTOR, LaunchSpec, TestPlatform
from tests.lti.test_deep_linking_flow import AGS, DL
from tests.lti.test_iframe_browser import BROWSER_TIMEOUT_MS, certificate, chromium, portal, tool_server  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_teacher_picks_the_test_inside_the_iframe_and_the_portal_gets_the_link(
    chromium: Any,  # noqa: F811
    portal: TestPlatform,  # noqa: F811
    world: Any,  # noqa: F811
    db_session: Session,
) -> None:
    teacher = world.users["t-a1"]
    teacher.sourced_id = "tch-a1"
    db_session.add(teacher)
    portal.services.tool_jwks = public_jwks(db_session)  # what the portal read from /lti/jwks.json
    db_session.commit()
    portal.launches["hint-dl"] = LaunchSpec(
        sub="portal-teacher-1",
        roles=[INSTRUCTOR],
        context_id="class-A1",  # the roster class's sourcedId
        lis={"person_sourcedid": "tch-a1"},
        extra_claims={
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingRequest",
            DL + "deep_linking_settings": {
                "deep_link_return_url": portal.services.deep_link_return_url,
                "accept_types": ["ltiResourceLink"],
            },
            AGS: {
                "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"],
                "lineitems": portal.services.lineitems_url,
            },
        },
    )
    context = chromium.new_context(ignore_https_errors=True, locale="ja-JP")
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{portal.base_url}/course/hint-dl")
    frame = page.frame_locator("#tool")
    frame.get_by_role("button", name="この教材を追加する").click()
    frame.get_by_text("保存しました").wait_for()  # the portal's answer to the auto-posted reply
    [items] = portal.services.deep_links
    db_session.rollback()
    assignment = db_session.exec(select(Assignment).order_by(col(Assignment.id).desc())).first()
    assert assignment is not None and assignment.class_id == world.classes["A1"].id
    assert items[0]["custom"]["giga_assignment_id"] == str(assignment.id)
    assert items[0]["title"].startswith("読解力テスト（")
    context.close()
