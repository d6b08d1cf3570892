"""NRPS end to end: a teacher's launch announces the membership service; the class page's comparison reads
it from the real platform (served by uvicorn) over HTTP and reports the differences."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from lms.lti.keys import public_jwks
from lms.lti.models import LtiPlatform
from lms.lti.services_token import default_cache
from tests.conftest import RosterCity
from tests.lti.conftest import launch
from tests.lti.platform import INSTRUCTOR, LEARNER, LaunchSpec, TestPlatform
from tests.lti.services_platform import Member
from tests.lti.test_deep_linking_flow import CLASS, follow

NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"


def test_the_launch_announces_the_membership_and_the_page_reports_differences(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    default_cache.clear()  # tokens of earlier tests' platforms on the same port
    platform.services.tool_jwks = public_jwks(db_session)
    db_session.commit()
    platform.services.members = [
        Member("portal-s1", [LEARNER], name="ポータル 一郎", lis_person_sourcedid="stu-es-1"),
        Member("portal-t1", [INSTRUCTOR], name="ポータル 先生", lis_person_sourcedid="tch-es-1"),
        Member("portal-new", [LEARNER], name="転入 太郎"),
    ]
    spec = LaunchSpec(
        sub="portal-t1",
        roles=[INSTRUCTOR],
        context_id=CLASS,
        lis={"person_sourcedid": "tch-es-1"},
        extra_claims={
            NRPS: {"context_memberships_url": platform.services.memberships_url, "service_versions": ["2.0"]}
        },
    )
    landed = follow(client, launch(client, platform, spec).response)
    assert landed.status_code == 200
    klass = roster_city.klass(CLASS)
    page = client.get(f"/classes/{klass.id}/lti/roster")
    assert page.status_code == 200, page.text[:500]
    only_portal = page.text.split('id="only-in-portal"')[1].split("</table>")[0]
    only_here = page.text.split('id="only-here"')[1].split("</table>")[0]
    assert "転入 太郎" in only_portal and "ポータル 一郎" not in only_portal
    assert roster_city.user("stu-es-2").username in only_here
    assert roster_city.user("stu-es-1").username not in only_here
    assert platform.services.token_requests == 1
