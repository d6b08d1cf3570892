"""Membership pages: NRPS 2.0 sends ``Link: <…>; rel="next"`` until the last page; every page is read."""

from __future__ import annotations

import httpx
import pytest

from lms.lti import nrps
from lms.lti.services_token import PlatformUnavailable, TokenRefused

URL = "https://portal.test/memberships"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def paged(request: httpx.Request) -> httpx.Response:
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["Accept"] == nrps.MEMBERSHIP_MEDIA_TYPE
    page = int(request.url.params.get("p", "1"))
    members = [{"user_id": f"u{page}-{i}", "roles": [LEARNER]} for i in range(2)]
    headers = {"Link": f'<{URL}?p={page + 1}>; rel="next"'} if page < 3 else {}
    return httpx.Response(200, json={"id": URL, "members": members}, headers=headers)


def test_every_page_is_read() -> None:
    with httpx.Client(transport=httpx.MockTransport(paged)) as client:
        members = nrps.fetch_members(client, url=URL, token="tok")
    assert [m.user_id for m in members] == ["u1-0", "u1-1", "u2-0", "u2-1", "u3-0", "u3-1"]
    assert {m.role for m in members} == {"student"}


@pytest.mark.parametrize(("status", "error"), [(401, TokenRefused), (503, PlatformUnavailable)])
def test_refusals_and_outages_are_told_apart(status: int, error: type[Exception]) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(status))
    with httpx.Client(transport=transport) as client, pytest.raises(error):
        nrps.fetch_members(client, url=URL, token="tok")
