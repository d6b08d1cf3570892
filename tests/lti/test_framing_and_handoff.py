"""The tool may be framed by the registered portals only, and only where a launch happened; when the iframe
lost its cookie, a one-time ticket opens the page in a new window."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from lms.lti.models import LtiHandoff, LtiPlatform
from tests.conftest import RosterCity
from tests.lti.conftest import OUR_PAGE, launch
from tests.lti.platform import LaunchSpec, TestPlatform


def test_lti_pages_allow_the_registered_portal_as_frame_ancestor(
    client: Any, platform: TestPlatform, registered: LtiPlatform
) -> None:
    response = client.get("/lti/landing?h=nothing")
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {platform.base_url}" in policy
    assert "x-frame-options" not in response.headers
    # an ordinary page, without the launch's marker cookie, still refuses every frame
    login = client.get("/login")
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert login.headers["x-frame-options"] == "DENY"


def test_after_a_launch_the_pages_may_be_framed_by_the_portal(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity
) -> None:
    launched = launch(client, platform, LaunchSpec(sub="stu-es-1"))
    assert "giga_lti=1" in launched.response.headers.get("set-cookie", "")
    home = client.get("/home")
    assert f"frame-ancestors 'self' {platform.base_url}" in home.headers["content-security-policy"]
    assert "x-frame-options" not in home.headers


def test_without_the_cookie_the_landing_offers_a_new_window_that_signs_in_once(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    launched = launch(client, platform, LaunchSpec(sub="stu-es-1"))
    landing_url = launched.response.headers["location"]
    client.cookies.clear()  # the browser refused the iframe's cookie
    landing = client.get(landing_url)
    assert landing.status_code == 200 and "新しいウィンドウで開く" in landing.text
    ticket = landing_url.split("h=", 1)[1]
    assert f'href="/lti/handoff?h={ticket}"' in landing.text and 'target="_blank"' in landing.text
    opened = client.get(f"/lti/handoff?h={ticket}", headers=OUR_PAGE, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/home"
    cookie = opened.headers["set-cookie"]
    assert "giga_session=" in cookie and "Partitioned" not in cookie  # a first-party window: a normal cookie
    assert client.get("/home").status_code == 200
    db_session.expire_all()
    assert db_session.exec(select(LtiHandoff)).one().used_at is not None
    client.cookies.clear()
    reused = client.get(f"/lti/handoff?h={ticket}", headers=OUR_PAGE, follow_redirects=False)
    assert reused.status_code == 400 and 'data-lti-refusal="handoff_expired"' in reused.text


def test_signing_out_inside_the_portal_says_to_go_back_to_the_portal(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity
) -> None:
    from tests.lms.conftest import csrf_of

    launched = launch(client, platform, LaunchSpec(sub="stu-es-1"))
    home = client.get(launched.response.headers["location"])
    out = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/lti/signed-out"
    page = client.get("/lti/signed-out")
    assert page.status_code == 200 and "学習eポータル" in page.text
    assert client.get("/home", follow_redirects=False).status_code in (302, 303, 307)
