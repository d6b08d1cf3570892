"""「ポータルの名簿と照合」: the class page's comparison with the portal's membership, and who may open it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lms.lti.service_routes import http_client
from lms.lti.services_token import default_cache
from tests.factories import pk
from tests.lti.portal import Portal, register_portal
from tests.lti.services_platform import Member

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


@pytest.fixture
def portal(app: Any, db_session: Session, world: Any) -> Iterator[Portal]:
    default_cache.clear()  # tokens of other tests' platforms (same URL, other keys)
    portal = register_portal(db_session, world.classes["A1"])
    portal.link(db_session, world.users["s-a1"], sub="lti-s-a1")
    portal.platform.members = [
        Member("lti-s-a1", [LEARNER], name="山田 一郎"),
        Member("lti-new", [LEARNER], name="転入 太郎"),
    ]
    with TestClient(portal.platform.app) as http:
        app.dependency_overrides[http_client] = lambda: http
        yield portal
    app.dependency_overrides.pop(http_client, None)


def test_the_teacher_sees_the_differences(client: Any, sign_in: Any, world: Any, portal: Portal) -> None:
    sign_in("t-a1")
    klass = pk(world.classes["A1"])
    class_page = client.get(f"/classes/{klass}")
    assert f'href="/classes/{klass}/lti/roster"' in class_page.text  # reachable from the class page
    page = client.get(f"/classes/{klass}/lti/roster")
    assert page.status_code == 200, page.text[:500]
    only_portal = page.text.split('id="only-in-portal"')[1].split("</table>")[0]
    only_here = page.text.split('id="only-here"')[1].split("</table>")[0]
    assert "転入 太郎" in only_portal and "lti-new" in only_portal
    assert "s-a1b" in only_here and "t-a1" in only_here  # the teacher is not in the portal's list either
    assert "山田 一郎" not in only_portal


def test_a_refused_token_is_explained(client: Any, sign_in: Any, world: Any, portal: Portal) -> None:
    portal.platform.refuse_tokens = True
    sign_in("sa-a")  # the school's admin may compare too
    page = client.get(f"/classes/{pk(world.classes['A1'])}/lti/roster")
    assert page.status_code == 200 and "アクセストークンの拒否" in page.text


@pytest.mark.parametrize(("username", "status"), [("t-b1", 404), ("s-a1", 404), ("board", 403)])
def test_others_may_not_compare(
    client: Any, sign_in: Any, world: Any, portal: Portal, username: str, status: int
) -> None:
    sign_in(username)
    assert client.get(f"/classes/{pk(world.classes['A1'])}/lti/roster").status_code == status
    assert portal.platform.token_requests == 0
