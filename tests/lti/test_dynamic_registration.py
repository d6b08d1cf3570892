"""LTI Dynamic Registration 1.0 against a spec-following platform (tests/lti/registration_platform.py;
lti1p3platform has none): the administrator confirms, the tool registers itself, the platform's records hold
the tool's URLs and messages, and the platform + deployment are stored; refusals store nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.lti.dynamic_registration_routes import get_registration_client
from lms.lti.models import LtiDeployment, LtiPlatform
from tests.lms.conftest import csrf_of
from tests.lti.registration_platform import CONFIG_URL, ISSUER, LTI_TOOL, TOKEN, RegistrationPlatform

QUERY = {"openid_configuration": CONFIG_URL, "registration_token": TOKEN}


@pytest.fixture
def portal(app: Any) -> Iterator[RegistrationPlatform]:
    """The platform, reached by the tool's registration client (server to server)."""
    platform = RegistrationPlatform()
    with TestClient(platform.app(), base_url=ISSUER) as http:
        app.dependency_overrides[get_registration_client] = lambda: http
        yield platform
    app.dependency_overrides.pop(get_registration_client, None)


def test_the_admin_confirms_and_the_tool_registers_itself_with_the_portal(
    client: Any, sign_in: Any, portal: RegistrationPlatform, db_session: Session
) -> None:
    sign_in("admin")
    page = client.get("/lti/register", params=QUERY)
    assert page.status_code == 200 and ISSUER in page.text and "kawasemi-portal" in page.text
    assert (
        db_session.exec(select(LtiPlatform)).first() is None and portal.registrations == []
    )  # GET only asks
    done = client.post(
        "/lti/register",
        data={
            **QUERY,
            "name": "かわせみ市 学習eポータル",
            "district_id": "",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert done.status_code == 200 and "を登録しました" in done.text
    assert '<script src="/static/lti_close.js"></script>' in done.text
    assert "org.imsglobal.lti.close" in client.get("/static/lti_close.js").text
    sent = portal.registrations[0]
    assert sent["redirect_uris"] == ["https://testserver/lti/launch"]
    assert sent["initiate_login_uri"] == "https://testserver/lti/login"
    assert sent["jwks_uri"] == "https://testserver/lti/jwks.json"
    assert [m["type"] for m in sent[LTI_TOOL]["messages"]] == [
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    ]
    assert sent[LTI_TOOL]["domain"] == "testserver"
    # only the services the platform offers (it has no result.readonly)
    assert set(sent["scope"].split()) == {
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    }
    db_session.expire_all()
    platform = db_session.exec(select(LtiPlatform)).one()
    assert (platform.name, platform.issuer, platform.client_id) == (
        "かわせみ市 学習eポータル",
        ISSUER,
        "giga-dyn-1",
    )
    assert (platform.auth_login_url, platform.jwks_url) == (ISSUER + "/auth", ISSUER + "/jwks")
    assert db_session.exec(select(LtiDeployment.deployment_id)).one() == "dep-dyn-1"
    assert db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.platform_add")).one()
    # the new platform is framed by the portal from now on, and listed on the admin page
    assert ISSUER in client.get("/lti/signed-out").headers["content-security-policy"]
    assert "giga-dyn-1" in client.get("/admin/lti").text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"issuer": "https://elsewhere.example.jp"}, "別のドメイン", id="issuer-origin"),
        pytest.param({"issuer": "https://portal.example.jp:8443"}, "別のドメイン", id="issuer-port"),
        pytest.param(
            {"registration_endpoint": "http://portal.example.jp/register"}, "registration_endpoint", id="http"
        ),
        pytest.param({"id_token_signing_alg_values_supported": ["HS256"]}, "id_token_signing", id="alg"),
    ],
)
def test_a_configuration_the_spec_forbids_is_refused_before_anything_is_sent(
    client: Any,
    sign_in: Any,
    portal: RegistrationPlatform,
    db_session: Session,
    change: dict[str, Any],
    expected: str,
) -> None:
    sign_in("admin")
    portal.config.update(change)
    page = client.get("/lti/register", params=QUERY)
    assert page.status_code == 400 and expected in page.text and 'id="lti-register-error"' in page.text
    assert 'id="lti-register-form"' not in page.text
    # a forged form post re-fetches the configuration: refused the same way
    admin_page = client.get("/admin/lti")
    forged = client.post("/lti/register", data={**QUERY, "name": "x", "csrf_token": csrf_of(admin_page.text)})
    assert forged.status_code == 400 and expected in forged.text
    assert portal.registrations == [] and db_session.exec(select(LtiPlatform)).first() is None


def test_a_refused_token_and_a_missing_parameter_are_clear_errors(
    client: Any, sign_in: Any, portal: RegistrationPlatform, db_session: Session
) -> None:
    sign_in("admin")
    page = client.get("/lti/register", params={**QUERY, "registration_token": "stale"})
    assert page.status_code == 200  # the configuration is public
    answer = client.post(
        "/lti/register",
        data={
            "openid_configuration": CONFIG_URL,
            "registration_token": "stale",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 502 and "HTTP 401" in answer.text and "もう一度動的登録" in answer.text
    assert db_session.exec(select(LtiPlatform)).first() is None
    missing = client.get("/lti/register")
    assert missing.status_code == 400 and "openid_configuration がありません" in missing.text


def test_only_a_signed_in_system_administrator_may_register(
    client: Any, sign_in: Any, portal: RegistrationPlatform
) -> None:
    anonymous = client.get("/lti/register", params=QUERY, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]
    for username in ("t-a1", "sa-a", "s-a1"):
        client.cookies.clear()
        sign_in(username)
        refused = client.get("/lti/register", params=QUERY, follow_redirects=False)
        assert refused.status_code in (403, 404), username
    assert portal.config_requests == 0 and portal.registrations == []
