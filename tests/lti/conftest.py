"""A real LTI 1.3 platform (tests/lti/platform.py) registered with the tool, and a launch driver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from lms.lti import launch as lti_launch
from lms.lti import registration, service_urls
from lms.lti.models import LtiPlatform
from tests.lms.conftest import cheap_password_hashing, clock, sign_in, world  # noqa: F401  (fixtures)
from tests.lti.platform import LaunchSpec, TestPlatform, parse_form_post, running_platform

TOOL_URL = "https://testserver"  # https: the embedded cookies are Secure
# what a browser sends when a page of the tool opens a link (the new-window button): /lti/handoff needs it
OUR_PAGE = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The host names the service-URL check may resolve, and their addresses (the sandbox has no public
    DNS): tests fill the dict; any other name does not resolve."""
    names: dict[str, list[str]] = {}

    def resolve(host: str) -> list[str]:
        if host not in names:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return names[host]

    monkeypatch.setattr(service_urls, "resolver", resolve)
    return names


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    """The tool, reached over https (the launch's cookies are Secure; an http client would drop them)."""
    from fastapi.testclient import TestClient

    with TestClient(app, base_url=TOOL_URL) as test_client:
        yield test_client


@pytest.fixture
def platform() -> Iterator[TestPlatform]:
    lti_launch.jwks_cache.clear()  # each test's platform has its own key and port
    with running_platform(TOOL_URL) as running:
        yield running


@pytest.fixture
def registered(platform: TestPlatform, db_session: Session) -> LtiPlatform:
    row = registration.register_platform(
        session=db_session,
        data=registration.PlatformInput(
            name="かわせみ市 学習eポータル",
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_login_url=platform.auth_login_url,
            auth_token_url=platform.auth_token_url,
            jwks_url=platform.jwks_url,
            deployment_ids=(platform.deployment_id,),
            sub_is_roster_id=True,  # this portal's sub is the roster id (the opaque case: test_launch)
        ),
        actor_id=None,
        ip=None,
    )
    db_session.commit()
    return row


@dataclass
class Launched:
    """The tool's answer to the platform's form post, and the form itself (to replay it)."""

    response: Any
    form: dict[str, str]


def launch(client: Any, platform: TestPlatform, spec: LaunchSpec, *, hint: str = "hint-1") -> Launched:
    """The whole browser round trip: portal link → tool login → platform /auth → form post to the tool."""
    platform.launches[hint] = spec
    login = client.get("/lti/login", params=platform.login_params(hint), follow_redirects=False)
    assert login.status_code == 302, login.text[:500]
    answer = httpx.get(login.headers["location"], timeout=10)
    assert answer.status_code == 200, answer.text[:500]
    action, form = parse_form_post(answer.text)
    assert action == TOOL_URL + "/lti/launch"
    return Launched(client.post("/lti/launch", data=form, follow_redirects=False), form)
